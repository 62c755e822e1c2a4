# Shared part of the bench/extension-*.sh scripts (sourced): builds the release pieces once.
# The extension measured is the layer's own binary (musl, built by `make extension-release`
# with cargo-lambda); the lab and the no-op function (`lab-testfn`) are release builds too.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ROLLCALL_BIN="${ROLLCALL_BIN:-$TARGET_DIR/lambda/extensions/rollcall}"
TESTFN_BIN="$TARGET_DIR/release/lab-testfn"
EXT_BENCH="$TARGET_DIR/release/examples/bench"

build_extension_bench() {
    need cargo-lambda "pip install cargo-lambda==1.9.2"
    echo "building the layer's extension (musl) and the release bench..." >&2
    (cd "$ROOT" && make extension-release) >&2
    # Two commands: with `--example`, cargo builds only that target, not lab-testfn's binary.
    (cd "$ROOT" && cargo build --release -p lab-testfn) >&2
    (cd "$ROOT" && cargo build --release -p rollcall-extension --example bench) >&2
}

host_line() {
    echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $(uname -r); $(date -u +%FT%TZ); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
}

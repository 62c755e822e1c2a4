# Shared helpers of the bench/ scripts (sourced, not run). Loopback only, bounded, and every
# process started here is killed on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PROBER="$TARGET_DIR/release/prober"
BENCH_SERVER="$TARGET_DIR/release/examples/bench_server"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rollcall-bench.XXXXXX")"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

need() {
    command -v "$1" >/dev/null || { echo "bench: '$1' is required ($2)" >&2; exit 1; }
}

build() {
    echo "building release prober and bench_server..." >&2
    (cd "$ROOT" && cargo build --release -p prober --bin prober --example bench_server) >&2
}

# start_server [--version V]: starts bench_server on 127.0.0.1:0, sets SERVER_URL and SERVER_PID.
start_server() {
    "$BENCH_SERVER" --addr 127.0.0.1:0 "$@" >"$WORK/server.out" 2>"$WORK/server.err" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    local deadline=$((SECONDS + 10))
    until [[ -s "$WORK/server.out" ]]; do
        if ((SECONDS > deadline)) || ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "bench_server did not start: $(cat "$WORK/server.err")" >&2
            exit 1
        fi
        sleep 0.05
    done
    SERVER_URL="$(head -n1 "$WORK/server.out")"
    echo "bench_server at $SERVER_URL (pid $SERVER_PID)" >&2
}

# cpu_secs PID: user+sys CPU seconds of a live process, from /proc/PID/stat.
cpu_secs() {
    local tck
    tck="$(getconf CLK_TCK)"
    awk -v tck="$tck" '{ sub(/^.*\) /, ""); print ($12 + $13) / tck }' "/proc/$1/stat"
}

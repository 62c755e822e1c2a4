#!/usr/bin/env bash
# Added time to first byte of a streamed HTTP response (issue 13): in one process, a runtime
# (hyper client) streams its response the way lambda_runtime does (JSON prelude, 8 NUL bytes, a
# first body chunk, then the rest once the first arrived) to a minimal Runtime API, directly and
# through the proxy (which holds the prelude until the delimiter, tags it, and forwards the rest
# chunk for chunk); time from the prelude's send to the first body byte at the Runtime API, modes
# alternating every response. The lab is not involved (its front door may buffer streams).
#
#   bench/extension-stream.sh                    # 20,000 streamed responses per mode (+ build)
#   CYCLES=2000 bench/extension-stream.sh        # smoke run
#   CPUS=0 bench/extension-stream.sh             # everything on one CPU (taskset)
#   PROFILE_ENV="CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16" \
#     bench/extension-stream.sh                  # a quicker release build (no LTO)
source "$(dirname "$0")/common.sh"

CYCLES="${CYCLES:-20000}"
CPUS="${CPUS:-}"
PIN=()
if [ -n "$CPUS" ]; then
    need taskset "apt-get install util-linux"
    PIN=(taskset -c "$CPUS")
fi
EXT_BENCH="$TARGET_DIR/release/examples/bench"

echo "building the release bench..." >&2
(cd "$ROOT" && env ${PROFILE_ENV:-} cargo build --release -p rollcall-extension --example bench) >&2
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
echo "cpus: ${CPUS:-all}"
"${PIN[@]}" "$EXT_BENCH" stream --cycles "$CYCLES"

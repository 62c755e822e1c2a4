#!/usr/bin/env bash
# Added latency per invocation (1) in the lab with real processes and (2) the proxy's own cost in
# one process (a /next + /response cycle against a minimal Runtime API, direct vs proxied).
# (1): a no-op function (lab-testfn echoing a small HTTP API 2.0 event)
# in a lab execution environment, without the layer and with it (Runtime API proxy, tagging,
# metrics). Modes alternate every BLOCK invocations (default 1: both modes see the same host
# load); client-visible latency (invoke to response) in HdrHistograms. Target: added p50 < 100 us, added p99 < 500 us.
#
#   bench/extension-latency.sh                       # 20,000 invocations per mode (+ build)
#   INVOCATIONS=2000 CYCLES=5000 bench/extension-latency.sh      # smoke run
#   CPUS=0 bench/extension-latency.sh                # everything on one CPU (taskset), like a
#                                                    # function with 1 vCPU or less
source "$(dirname "$0")/extension-common.sh"

INVOCATIONS="${INVOCATIONS:-20000}"
BLOCK="${BLOCK:-1}"
CYCLES="${CYCLES:-50000}"
CPUS="${CPUS:-}"
PIN=()
if [ -n "$CPUS" ]; then
    need taskset "apt-get install util-linux"
    PIN=(taskset -c "$CPUS")
fi

build_extension_bench
host_line
echo "cpus: ${CPUS:-all}"
"${PIN[@]}" "$EXT_BENCH" --rollcall "$ROLLCALL_BIN" latency --function "$TESTFN_BIN" \
    --invocations "$INVOCATIONS" --block "$BLOCK"
"${PIN[@]}" "$EXT_BENCH" --rollcall "$ROLLCALL_BIN" proxy --cycles "$CYCLES"

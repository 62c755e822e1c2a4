#!/usr/bin/env bash
# Extension start to registered: time from spawning the layer's rollcall binary to its
# `POST /extension/register` arriving at a minimal Extensions API on loopback (the proxy and the
# telemetry listener are bound before registering, so they are included). Target: < 10 ms.
#
#   bench/extension-startup.sh            # 50 starts (+ build)
#   RUNS=10 bench/extension-startup.sh    # smoke run
source "$(dirname "$0")/extension-common.sh"

RUNS="${RUNS:-50}"

build_extension_bench
host_line
"$EXT_BENCH" --rollcall "$ROLLCALL_BIN" startup --runs "$RUNS"

#!/usr/bin/env bash
# Memory of the extension: VmRSS of the rollcall process over 100,000 invocations through the
# proxy (no-op function, metrics on, flushed every 10 s), sampled every 10 %. Target: < 10 MB
# at the end, and flat after the first samples.
#
#   bench/extension-rss.sh                          # 100,000 invocations (+ build)
#   INVOCATIONS=10000 bench/extension-rss.sh        # smoke run
source "$(dirname "$0")/extension-common.sh"

INVOCATIONS="${INVOCATIONS:-100000}"
SAMPLES="${SAMPLES:-10}"

build_extension_bench
host_line
"$EXT_BENCH" --rollcall "$ROLLCALL_BIN" rss --function "$TESTFN_BIN" \
    --invocations "$INVOCATIONS" --samples "$SAMPLES" | tee "$WORK/rss.csv"
awk -F, 'NR == 3 { first = $2 } NR > 1 { last = $2; if ($2 > max) max = $2 }
    END { printf "rss after first sample: %d kB, max: %d kB, end: %d kB, growth after first sample: %d kB\n", first, max, last, last - first }' \
    "$WORK/rss.csv"

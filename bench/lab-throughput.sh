#!/usr/bin/env bash
# Peak throughput of the lab's API front door in front of a warm Rust function (`hello`, no
# injected latency or failure) vs a bare hyper "hello" server (prober/examples/bench_server),
# same load tool (oha, closed loop), same concurrency, same run. The ratio is what the lab
# costs per request: event conversion, alias/pool dispatch, the Runtime API round trip and the
# function's own work. Loopback only; everything started is killed on exit.
#
#   bench/lab-throughput.sh                  # 2 × 20 s (+ release build, + oha install once)
#   DURATION=3 bench/lab-throughput.sh       # smoke run (seconds)
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/lab-common.sh"

DURATION="${DURATION:-20}"          # seconds per target
CONCURRENCY="${CONCURRENCY:-10}"    # connections

# Reserved concurrency above the connection count: a slot frees only when the runtime calls
# /next after responding (the lab frees it within ~10 µs of that call), so at equal counts the
# client's next request, which turns around on loopback faster than the runtime, races it and
# is throttled (as Lambda would throttle it).
LAB_CONCURRENCY="${LAB_CONCURRENCY:-$((CONCURRENCY * 2))}"

need jq "apt-get install jq"
need_oha
build_lab
start_server
start_lab "$LAB_CONCURRENCY"

warm "$LAB_URL" "$CONCURRENCY"
echo "oha -c $CONCURRENCY -z ${DURATION}s -> lab ..." >&2
oha -c "$CONCURRENCY" -z "${DURATION}s" --no-tui "${OHA_JSON[@]}" "$LAB_URL" >"$WORK/lab.json"
echo "oha -c $CONCURRENCY -z ${DURATION}s -> bare server ..." >&2
oha -c "$CONCURRENCY" -z "${DURATION}s" --no-tui "${OHA_JSON[@]}" "$SERVER_URL" >"$WORK/bare.json"

echo
echo "Throughput, ${DURATION}s each, $CONCURRENCY connections, loopback, $(nproc) CPUs (shared by load, lab, function):"
{
    printf 'target\trequests\tnon_2xx\terrors\treq_per_s\tp50_ms\tp99_ms\n'
    oha_row "lab -> hello" "$WORK/lab.json"
    oha_row "bare hyper" "$WORK/bare.json"
} | column -t -s $'\t'
awk -v l="$(jq '.summary.requestsPerSec' "$WORK/lab.json")" -v b="$(jq '.summary.requestsPerSec' "$WORK/bare.json")" \
    'BEGIN { if (l > 0) printf "bare/lab throughput ratio: %.1f\n", b / l }'

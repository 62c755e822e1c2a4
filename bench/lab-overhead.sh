#!/usr/bin/env bash
# Latency the lab adds per invocation at a steady 200 invocations/s: p50/p99 through the API
# front door to a warm `hello`, minus p50/p99 of a bare hyper "hello" server at the same rate,
# same tool (oha -q, with --latency-correction against coordinated omission when available).
# A difference of percentiles, not a percentile of differences: read it as "what a client of
# the lab pays over a plain local HTTP server". Loopback only; everything started is killed.
#
#   bench/lab-overhead.sh                    # 2 × 30 s at 200/s (+ release build)
#   DURATION=3 bench/lab-overhead.sh         # smoke run (seconds)
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/lab-common.sh"

DURATION="${DURATION:-30}"   # seconds per target
RATE="${RATE:-200}"          # invocations per second
CONCURRENCY="${CONCURRENCY:-10}"

# Reserved concurrency above the connection count: a slot frees only when the runtime calls
# /next after responding, so at equal counts the next request races it and is throttled.
LAB_CONCURRENCY="${LAB_CONCURRENCY:-$((CONCURRENCY * 2))}"

need jq "apt-get install jq"
need_oha
build_lab
start_server
start_lab "$LAB_CONCURRENCY"

correction=()
if oha --help 2>/dev/null | grep -q -- '--latency-correction'; then
    correction=(--latency-correction)
fi
warm "$LAB_URL" "$CONCURRENCY"
for target in lab bare; do
    url="$LAB_URL"
    [[ $target == bare ]] && url="$SERVER_URL"
    echo "oha -q $RATE -c $CONCURRENCY -z ${DURATION}s ${correction[*]} -> $target ..." >&2
    oha -q "$RATE" -c "$CONCURRENCY" -z "${DURATION}s" "${correction[@]}" --no-tui "${OHA_JSON[@]}" \
        "$url" >"$WORK/$target.json"
done

echo
echo "Latency at $RATE/s, ${DURATION}s each, loopback, $(nproc) CPUs:"
{
    printf 'target\trequests\tnon_2xx\terrors\treq_per_s\tp50_ms\tp99_ms\n'
    oha_row "lab -> hello" "$WORK/lab.json"
    oha_row "bare hyper" "$WORK/bare.json"
} | column -t -s $'\t'
jq -n --slurpfile l "$WORK/lab.json" --slurpfile b "$WORK/bare.json" -r '
    "lab overhead per invocation: p50 \(((($l[0].latencyPercentiles.p50 - $b[0].latencyPercentiles.p50) * 1e6 | floor) / 1e3)) ms, " +
    "p99 \(((($l[0].latencyPercentiles.p99 - $b[0].latencyPercentiles.p99) * 1e6 | floor) / 1e3)) ms"'

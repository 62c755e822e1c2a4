#!/usr/bin/env bash
# Precision of the prober's time to first byte: bench_server sends the head at once and its body
# (`hello`) a known delay later (timed by a blocking thread's sleep, to the microsecond); the
# prober's TTFB p50/p99/max minus that delay is what the measurement adds (the prober's send lag,
# loopback, the server's wake-up). Total latency and send lag shown beside it.
#
#   bench/prober-ttfb.sh                          # 20 ms and 100 ms, 30 s each at 50 rps
#   DURATION=3s DELAYS="20" bench/prober-ttfb.sh  # smoke run
source "$(dirname "$0")/common.sh"

DURATION="${DURATION:-30s}"
DELAYS="${DELAYS:-20 100}"
RPS="${RPS:-50}"

need jq "apt-get install jq"
build

rows=()
for delay in $DELAYS; do
    rm -f "$WORK/server.out"
    start_server --version 7 --first-byte-after "$delay"
    out="$WORK/ttfb-$delay"
    echo "prober --rps $RPS --duration $DURATION against a first byte after $delay ms ..." >&2
    code=0
    "$PROBER" --url "$SERVER_URL" --rps "$RPS" --duration "$DURATION" --out "$out" --quiet \
        >/dev/null 2>"$out.err" || code=$?
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    if [[ ! -f "$out/report.json" ]]; then
        echo "no report for $delay ms (exit $code): $(cat "$out.err")" >&2
        exit 1
    fi
    rows+=("$(jq -r --argjson d "$delay" --arg code "$code" '
        def r3: . * 1000 | round / 1000;
        .versions["7"] as $v |
        [ $d, $v.requests,
          ($v.ttfb_ms.p50 - $d | r3), ($v.ttfb_ms.p99 - $d | r3), ($v.ttfb_ms.max - $d | r3),
          ($v.latency_ms.p50 - $d | r3), (.totals.send_lag_ms.p99 | r3),
          ((.totals.errors_by_kind | add) // 0), $code ] | @tsv' "$out/report.json")")
done

echo
echo "TTFB minus the server's delay over $DURATION at $RPS rps (loopback, $(nproc) CPUs), ms:"
{
    printf 'delay_ms\tresponses\tttfb_p50-delay\tttfb_p99-delay\tttfb_max-delay\tlatency_p50-delay\tsend_lag_p99\terrors\texit\n'
    printf '%s\n' "${rows[@]}"
} | column -t -s $'\t'

#!/usr/bin/env bash
# Pacing accuracy of the open-loop prober against the local bench_server: achieved rate vs
# target and the p99 lag between intended and actual send, at 50, 1000 and 10000 rps.
#
#   bench/prober-pacing.sh                    # 3 runs of 30 s (~2 min with the build)
#   DURATION=3s RATES="50 1000" bench/prober-pacing.sh   # smoke run
source "$(dirname "$0")/common.sh"

DURATION="${DURATION:-30s}"
RATES="${RATES:-50 1000 10000}"
MAX_IN_FLIGHT="${MAX_IN_FLIGHT:-256}"

need jq "apt-get install jq"
build
start_server --version 7

rows=()
for rps in $RATES; do
    out="$WORK/pacing-$rps"
    echo "prober --rps $rps --duration $DURATION ..." >&2
    code=0
    "$PROBER" --url "$SERVER_URL" --rps "$rps" --duration "$DURATION" \
        --max-in-flight "$MAX_IN_FLIGHT" --out "$out" --quiet >/dev/null 2>"$out.err" || code=$?
    if [[ ! -f "$out/report.json" ]]; then
        echo "no report for $rps rps (exit $code): $(cat "$out.err")" >&2
        exit 1
    fi
    rows+=("$(jq -r --argjson target "$rps" --arg code "$code" '
        [ $target,
          (.totals.achieved_rps * 10 | round / 10),
          (.totals.achieved_rps / $target * 1000 | round / 10),
          .totals.planned, .totals.sent, .totals.late_sends,
          (.totals.send_lag_ms.p50 * 1000 | round / 1000),
          (.totals.send_lag_ms.p99 * 1000 | round / 1000),
          (.totals.send_lag_ms.max * 1000 | round / 1000),
          ((.totals.errors_by_kind | add) // 0), $code ] | @tsv' "$out/report.json")")
done

echo
echo "Pacing over $DURATION per rate (loopback, $(nproc) CPUs):"
{
    printf 'target_rps\tachieved_rps\tachieved_%%\tplanned\tsent\tlate\tlag_p50_ms\tlag_p99_ms\tlag_max_ms\terrors\texit\n'
    printf '%s\n' "${rows[@]}"
} | column -t -s $'\t'

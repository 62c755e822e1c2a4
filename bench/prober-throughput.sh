#!/usr/bin/env bash
# Peak throughput and CPU cost per request: oha (closed loop, C connections) vs the prober
# asked for an unreachable rate with the same cap on requests in flight, both against the same
# release bench_server on loopback.
#
#   bench/prober-throughput.sh                 # 2 runs of 20 s (+ build, + oha install once)
#   DURATION=3 bench/prober-throughput.sh      # smoke run (seconds)
source "$(dirname "$0")/common.sh"

DURATION="${DURATION:-20}"           # seconds
CONCURRENCY="${CONCURRENCY:-50}"
PROBER_RPS="${PROBER_RPS:-1000000}"

need jq "apt-get install jq"
[[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time is required (apt-get install time)" >&2; exit 1; }
if ! command -v oha >/dev/null; then
    echo "installing oha (cargo install oha --locked)..." >&2
    cargo install oha --locked >&2
fi
build
start_server --version 7

# cpu_of TIMEFILE: user+sys seconds from /usr/bin/time -v output.
cpu_of() {
    awk -F': ' '/User time \(seconds\)/ { u = $2 } /System time \(seconds\)/ { s = $2 } END { print u + s }' "$1"
}

echo "oha -c $CONCURRENCY -z ${DURATION}s ..." >&2
oha_json="$WORK/oha.json"
if oha --help 2>/dev/null | grep -q -- '--output-format'; then
    oha_fmt=(--output-format json)
else
    oha_fmt=(--json)
fi
/usr/bin/time -v -o "$WORK/oha.time" \
    oha -c "$CONCURRENCY" -z "${DURATION}s" --no-tui "${oha_fmt[@]}" "$SERVER_URL" >"$oha_json"
oha_requests="$(jq '[.statusCodeDistribution[]] | add // 0' "$oha_json")"
oha_errors="$(jq '[.errorDistribution[]?] | add // 0' "$oha_json")"
oha_rps="$(jq '.summary.requestsPerSec' "$oha_json")"
oha_cpu="$(cpu_of "$WORK/oha.time")"

echo "prober --rps $PROBER_RPS --max-in-flight $CONCURRENCY --duration ${DURATION}s ..." >&2
code=0
/usr/bin/time -v -o "$WORK/prober.time" \
    "$PROBER" --url "$SERVER_URL" --rps "$PROBER_RPS" --max-in-flight "$CONCURRENCY" \
    --duration "${DURATION}s" --out "$WORK/prober" --quiet >/dev/null 2>"$WORK/prober.err" || code=$?
[[ -f "$WORK/prober/report.json" ]] || { echo "prober wrote no report (exit $code): $(cat "$WORK/prober.err")" >&2; exit 1; }
report="$WORK/prober/report.json"
prober_requests="$(jq '.totals.responses' "$report")"
prober_errors="$(jq '(.totals.errors_by_kind | add) // 0' "$report")"
prober_rps="$(jq '.totals.responses / .duration_secs' "$report")"
prober_cpu="$(cpu_of "$WORK/prober.time")"
prober_rss="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/prober.time")"
oha_rss="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/oha.time")"

per_req_us() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", c / n * 1e6; else print "n/a" }'; }

echo
echo "Throughput, ${DURATION}s, $CONCURRENCY in flight, loopback, $(nproc) CPUs (server shares them):"
{
    printf 'tool\trequests\terrors\treq_per_s\tcpu_s\tcpu_us_per_req\tmax_rss_kb\n'
    printf 'oha\t%s\t%s\t%.0f\t%s\t%s\t%s\n' "$oha_requests" "$oha_errors" "$oha_rps" "$oha_cpu" \
        "$(per_req_us "$oha_cpu" "$oha_requests")" "$oha_rss"
    printf 'prober\t%s\t%s\t%.0f\t%s\t%s\t%s\n' "$prober_requests" "$prober_errors" "$prober_rps" \
        "$prober_cpu" "$(per_req_us "$prober_cpu" "$prober_requests")" "$prober_rss"
} | column -t -s $'\t'
echo "(prober exit $code; late sends: $(jq '.totals.late_sends' "$report") — expected at an unreachable rate)"

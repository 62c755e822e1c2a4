#!/usr/bin/env bash
# What --sigv4 costs the pacer: runs without (A) and with (B) `--sigv4 execute-api`, alternated
# A/B/A/B against the local bench_server at the same rate, each reporting the pacing error
# (|achieved - target| / target) and the send lag p99 (`totals.send_lag_ms.p99`). Per pair, B's
# lag p99 relative to A's; the median over the pairs; and the spread of the unsigned runs
# (how much two runs of the same thing differ), without which a difference of a few
# microseconds means nothing. The bench server does not check signatures: the requests carry
# them, which is what costs (credentials are dummies, instance metadata is off).
#
#   bench/prober-sigv4-pacing.sh                        # 2 pairs of 30 s runs at 1000 rps
#   DURATION=3s PAIRS=1 bench/prober-sigv4-pacing.sh    # smoke run
source "$(dirname "$0")/common.sh"

DURATION="${DURATION:-30s}"
RPS="${RPS:-1000}"
PAIRS="${PAIRS:-2}"
MAX_IN_FLIGHT="${MAX_IN_FLIGHT:-256}"

need jq "apt-get install jq"
build
start_server --version 7

# Dummy credentials, no profile, no instance metadata: the SDK's chain finds the environment's.
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE="$WORK/aws-config"
export AWS_SHARED_CREDENTIALS_FILE="$WORK/aws-credentials"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION
touch "$AWS_CONFIG_FILE" "$AWS_SHARED_CREDENTIALS_FILE"

# run NAME [FLAGS...]: one run; prints "error_% lag_p50_ms lag_p99_ms lag_max_ms late sent".
run() {
    local name="$1"
    shift
    local out="$WORK/$name" code=0
    echo "prober --rps $RPS --duration $DURATION $* ..." >&2
    "$PROBER" --url "$SERVER_URL" --rps "$RPS" --duration "$DURATION" \
        --max-in-flight "$MAX_IN_FLIGHT" --out "$out" --quiet "$@" >/dev/null 2>"$out.err" || code=$?
    if [[ ! -f "$out/report.json" ]]; then
        echo "no report for $name (exit $code): $(cat "$out.err")" >&2
        exit 1
    fi
    jq -r --argjson target "$RPS" '
        [ ((.totals.achieved_rps - $target) | fabs) / $target * 100,
          .totals.send_lag_ms.p50, .totals.send_lag_ms.p99, .totals.send_lag_ms.max,
          .totals.late_sends, .totals.sent ] | @tsv' "$out/report.json"
}

rows=()
unsigned_p99=()
ratios=()
error_diffs=()
for ((i = 1; i <= PAIRS; i++)); do
    a="$(run "a$i")"
    b="$(run "b$i" --sigv4 execute-api)"
    rows+=("A$i	unsigned	$a" "B$i	--sigv4	$b")
    a_p99="$(cut -f3 <<<"$a")"
    b_p99="$(cut -f3 <<<"$b")"
    unsigned_p99+=("$a_p99")
    ratios+=("$(awk -v a="$a_p99" -v b="$b_p99" 'BEGIN { printf "%.4f", (a > 0 ? b / a : 0) }')")
    error_diffs+=("$(awk -v a="$(cut -f1 <<<"$a")" -v b="$(cut -f1 <<<"$b")" \
        'BEGIN { printf "%.4f", b - a }')")
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo
echo "--sigv4 execute-api vs unsigned, $PAIRS pairs of $DURATION at $RPS rps (loopback, $(nproc) CPUs):"
{
    printf 'run\tsigning\tpacing_error_%%\tlag_p50_ms\tlag_p99_ms\tlag_max_ms\tlate\tsent\n'
    printf '%s\n' "${rows[@]}"
} | column -t -s $'\t'
echo
echo "median over pairs: lag p99 signed/unsigned = $(median "${ratios[@]}")," \
    "pacing error signed - unsigned = $(median "${error_diffs[@]}") points"
min="$(printf '%s\n' "${unsigned_p99[@]}" | sort -g | head -n1)"
max="$(printf '%s\n' "${unsigned_p99[@]}" | sort -g | tail -n1)"
echo "spread of the unsigned runs' lag p99: $min .. $max ms" \
    "($(awk -v a="$min" -v b="$max" 'BEGIN { printf "%.1f", (a > 0 ? (b - a) / a * 100 : 0) }') %)"

#!/usr/bin/env bash
# Memory over a long run: the prober at 1000 rps for 10 min against the bench_server; RSS
# (VmRSS from /proc/PID/status) after 10 s and at the end, and the growth. Memory must not grow
# with the number of requests (histograms and 0.1 s timeline bins only).
#
#   bench/prober-memory.sh                              # 10 min (+ build)
#   DURATION=30 WARMUP=5 bench/prober-memory.sh         # smoke run (seconds)
source "$(dirname "$0")/common.sh"

DURATION="${DURATION:-600}"   # seconds
WARMUP="${WARMUP:-10}"        # seconds before the first sample
RPS="${RPS:-1000}"

need jq "apt-get install jq"
build
start_server --version 7

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

"$PROBER" --url "$SERVER_URL" --rps "$RPS" --duration "${DURATION}s" --out "$WORK/memory" --quiet \
    >/dev/null 2>"$WORK/prober.err" &
prober_pid=$!
PIDS+=("$prober_pid")

sleep "$WARMUP"
start_kb="$(rss_kb "$prober_pid")"
samples=("$WARMUP $start_kb")
# Sample every 10 % of the run; the last sample is taken just before the scheduled end.
step=$(( (DURATION - WARMUP) / 10 )); ((step > 0)) || step=1
t=$WARMUP
while ((t + step < DURATION)) && kill -0 "$prober_pid" 2>/dev/null; do
    sleep "$step"; t=$((t + step))
    samples+=("$t $(rss_kb "$prober_pid")")
done
end_kb="${samples[-1]#* }"
code=0
wait "$prober_pid" || code=$?

echo
echo "prober RSS at $RPS rps over ${DURATION}s (exit $code):"
printf '%s\n' "t_s rss_kb" "${samples[@]}" | column -t
sent="$(jq '.totals.sent' "$WORK/memory/report.json" 2>/dev/null || echo '?')"
awk -v a="$start_kb" -v b="$end_kb" -v n="$sent" 'BEGIN {
    pct = 0; if (a > 0) pct = (b - a) / a * 100
    printf "start (after warm-up): %d kB\nend: %d kB\ngrowth: %+d kB (%+.1f %%) over %s requests\n",
        a, b, b - a, pct, n }'

#!/usr/bin/env bash
# Memory against a hostile server: every response names a version never sent before
# (bench_server --distinct-versions). The prober at 500 rps for 20 s (10,000 distinct versions):
# peak RSS (VmRSS sampled every 0.5 s), the size of report.json and of the whole --out
# directory, and how many versions were tracked. The first --max-versions (default 16) are
# tracked one by one, the rest counted together in other_versions: memory and artifacts are
# bounded by that cap, not by what the server sends (before the cap: ~630 KB per version,
# 6.35 GB and a 29 MB report.json for 10,000 versions).
#
#   bench/prober-versions-memory.sh
#   RPS=500 DURATION=20 MAX_VERSIONS=16 bench/prober-versions-memory.sh
source "$(dirname "$0")/common.sh"

DURATION="${DURATION:-20}"   # seconds
RPS="${RPS:-500}"
MAX_VERSIONS="${MAX_VERSIONS:-16}"

need jq "apt-get install jq"
build
start_server --distinct-versions

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

"$PROBER" --url "$SERVER_URL" --rps "$RPS" --duration "${DURATION}s" \
    --max-versions "$MAX_VERSIONS" --out "$WORK/versions" --quiet \
    >"$WORK/prober.out" 2>"$WORK/prober.err" &
prober_pid=$!
PIDS+=("$prober_pid")

peak_kb=0
while kill -0 "$prober_pid" 2>/dev/null; do
    kb="$(rss_kb "$prober_pid")"
    ((kb > peak_kb)) && peak_kb=$kb
    sleep 0.5
done
code=0
wait "$prober_pid" || code=$?

report="$WORK/versions/report.json"
echo
echo "prober against $RPS rps of distinct versions for ${DURATION}s, --max-versions $MAX_VERSIONS (exit $code):"
echo "responses:          $(jq '.totals.responses' "$report")"
echo "versions tracked:   $(jq '.versions | length' "$report")"
echo "other_versions:     $(jq '.other_versions.requests' "$report") responses"
echo "peak RSS:           ${peak_kb} kB"
echo "report.json:        $(stat -c %s "$report") bytes"
echo "--out directory:    $(du -sk "$WORK/versions" | cut -f1) kB, $(ls "$WORK/versions" | wc -l) files"
grep -m1 -i "max-versions" "$WORK/prober.err" || true

#!/usr/bin/env bash
# Latency the lab adds per invocation at a steady 200 invocations/s: p50/p99 through the API
# front door to a warm `hello`, minus p50/p99 of a bare hyper "hello" server at the same rate,
# same tool (oha -q, with --latency-correction against coordinated omission when available).
# A difference of percentiles, not a percentile of differences: read it as "what a client of
# the lab pays over a plain local HTTP server". Loopback only; everything started is killed.
#
# BREAKDOWN=1 adds a third run through the lab with RUST_LOG=lab::timing=debug and prints the
# lab's in-process timings (percentiles per phase): what of the overhead is the function's
# own time (`runtime`: event handed over -> answer read) and what is the lab's.
#
#   bench/lab-overhead.sh                    # 2 × 30 s at 200/s (+ release build)
#   DURATION=3 bench/lab-overhead.sh         # smoke run (seconds)
#   BREAKDOWN=1 DURATION=10 bench/lab-overhead.sh
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/lab-common.sh"

DURATION="${DURATION:-30}"   # seconds per target
RATE="${RATE:-200}"          # invocations per second
CONCURRENCY="${CONCURRENCY:-10}"

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

if [[ ${BREAKDOWN:-0} == 1 ]]; then
    kill "$LAB_PID" 2>/dev/null || true
    wait "$LAB_PID" 2>/dev/null || true
    mkdir -p "$WORK/timed"
    WORK_LAB="$WORK"
    WORK="$WORK/timed"
    RUST_LOG="warn,lab::timing=debug" NO_COLOR=1 start_lab "$LAB_CONCURRENCY"
    WORK="$WORK_LAB"
    warm "$LAB_URL" "$CONCURRENCY"
    skip="$(wc -l <"$WORK/timed/lab.err")"
    echo "oha -q $RATE -c $CONCURRENCY -z ${DURATION}s -> lab with lab::timing ..." >&2
    oha -q "$RATE" -c "$CONCURRENCY" -z "${DURATION}s" "${correction[@]}" --no-tui "${OHA_JSON[@]}" \
        "$LAB_URL" >"$WORK/timed.json"
    echo
    echo "In-process timings of the lab at $RATE/s (µs; debug logging on, so slightly slower):"
    tail -n +"$((skip + 1))" "$WORK/timed/lab.err" | sed 's/\x1b\[[0-9;]*m//g' >"$WORK/timing.log"
    {
        printf 'phase\tp50\tp90\tp99\tmeaning\n'
        for f in convert_us:"front door: request head -> event built" \
            to_runtime_us:"environment: invoke start -> runtime's next returned it" \
            runtime_us:"function: event handed over -> answer read (the runtime's own time)" \
            invoked_us:"front door: request head -> outcome back from the pool" \
            next_to_ready_us:"environment: runtime's next -> environment Ready again"; do
            key="${f%%:*}"
            grep -o "\b$key=[0-9]*" "$WORK/timing.log" | cut -d= -f2 | sort -n | awk -v k="${key%_us}" -v m="${f#*:}" '
                { v[NR] = $1 }
                END { if (NR) printf "%s\t%d\t%d\t%d\t%s\n", k, v[int(NR * 0.5) + 1], v[int(NR * 0.9) + 1], v[int(NR * 0.99) + 1], m }'
        done
    } | column -t -s $'\t'
    echo "lab's own share (invoked - runtime, difference of percentiles) excludes the front door's HTTP parse/write."
fi

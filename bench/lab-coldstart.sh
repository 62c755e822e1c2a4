#!/usr/bin/env bash
# Cold start of an execution environment with one external extension (spawn to Ready), and the
# lab's own share of it. Each round starts `rollcall-lab serve` with `hello` as the function and
# `lab-testext` (a lambda-extension extension: registers for INVOKE/SHUTDOWN, subscribes to the
# Telemetry API) in a layer, sends one request (a cold start), reads the lab's Init breakdown
# (RUST_LOG=lab::timing=debug, "environment ready") and stops the lab. Sequential rounds, so
# cold starts do not overlap. Loopback only; everything started is killed.
#
# Breakdown (see crates/lab/src/env/timing.rs): setup (lab: API server, ports, spawning the
# extension) -> extensions (process: start until registered) -> runtime_spawn (lab: notice,
# spawn the runtime) -> processes_to_next (processes: runtime start until everyone called next)
# -> ready (lab: notice). lab = setup + runtime_spawn + ready; "of which fork/exec" is the time
# inside the two process spawns (the kernel's vfork + execve of the extension and the runtime).
#
#   bench/lab-coldstart.sh                   # 30 rounds (+ release build)
#   ROUNDS=5 bench/lab-coldstart.sh          # smoke run
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/lab-common.sh"

ROUNDS="${ROUNDS:-30}"
TESTEXT="$TARGET_DIR/release/lab-testext"

need jq "apt-get install jq"
need curl "apt-get install curl"
build_lab
echo "building release lab-testext..." >&2
(cd "$ROOT" && cargo build --release -p lab-testext --bin lab-testext) >&2

mkdir -p "$WORK/code/v1" "$WORK/layer/extensions"
cp "$HELLO" "$WORK/code/v1/bootstrap"
cp "$TESTEXT" "$WORK/layer/extensions/lab-testext"

: >"$WORK/rows.tsv"
for ((i = 1; i <= ROUNDS; i++)); do
    RUST_LOG="warn,lab::timing=debug" RUST_LOG_STYLE=never NO_COLOR=1 "$LAB" serve \
        --function hello --version "1=$WORK/code/v1" --layer "$WORK/layer" \
        --route 'GET /hello' --api-port 0 --lambda-port 0 --ready-file "$WORK/lab.ready.json" \
        >"$WORK/lab.out" 2>"$WORK/lab.err" &
    pid=$!
    if ! lab_wait_ready "$WORK/lab.ready.json" "$pid" 10; then
        echo "rollcall-lab did not start: $(cat "$WORK/lab.err")" >&2
        exit 1
    fi
    url="$(lab_ready_get "$WORK/lab.ready.json" api_url)/hello"
    cold_ms="$(curl -s -o /dev/null -w '%{time_total}' "$url" | awk '{ printf "%.3f", $1 * 1000 }')"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    line="$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/lab.err" | grep 'environment ready' | head -n1)"
    if [[ -z $line ]]; then
        echo "round $i: no Init breakdown in the lab's log: $(cat "$WORK/lab.err")" >&2
        exit 1
    fi
    field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$line"; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cold_ms" "$(field total_us)" "$(field lab_us)" \
        "$(field spawn_us)" "$(field setup_us)" "$(field extensions_us)" "$(field runtime_spawn_us)" \
        "$(field processes_to_next_us)" "$(field ready_us)" >>"$WORK/rows.tsv"
done

echo
echo "Cold start with one extension, $ROUNDS sequential rounds, loopback, $(nproc) CPUs (ms):"
{
    printf 'measure\tp50\tp90\tmax\n'
    for col in 1 2 3 4 5 6 7 8 9; do
        name=(x "first request (curl)" "init total" "lab share" "  of which fork/exec" \
            "phase: setup (lab)" "phase: extension start" "phase: runtime spawn (lab)" \
            "phase: processes to next" "phase: ready (lab)")
        cut -f"$col" "$WORK/rows.tsv" | sort -g | awk -v name="${name[$col]}" -v us="$((col > 1))" '
            { v[NR] = us ? $1 / 1000 : $1 }
            END {
                p50 = v[int((NR + 1) * 0.5)]; p90 = v[int((NR + 1) * 0.9) > NR ? NR : int((NR + 1) * 0.9)]
                printf "%s\t%.2f\t%.2f\t%.2f\n", name, p50, p90, v[NR]
            }'
    done
} | column -t -s $'\t'

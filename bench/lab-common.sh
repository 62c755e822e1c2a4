# Shared helpers of the bench/lab-*.sh scripts (sourced after common.sh): build the lab and the
# demo function, and start `rollcall-lab serve` on 127.0.0.1:0 with `hello` as a warm function.

# shellcheck source=scripts/lab-ready.sh
. "$ROOT/scripts/lab-ready.sh"

LAB="$TARGET_DIR/release/rollcall-lab"
HELLO="$TARGET_DIR/release/hello"

build_lab() {
    echo "building release rollcall-lab, hello and bench_server..." >&2
    (cd "$ROOT" && cargo build --release -p lab --bin rollcall-lab -p hello --bin hello) >&2
    (cd "$ROOT" && cargo build --release -p prober --example bench_server) >&2
}

need_oha() {
    if ! command -v oha >/dev/null; then
        echo "installing oha (cargo install oha --locked)..." >&2
        cargo install oha --locked >&2
    fi
    if oha --help 2>/dev/null | grep -q -- '--output-format'; then
        OHA_JSON=(--output-format json)
    else
        OHA_JSON=(--json)
    fi
}

# start_lab CONCURRENCY: runs `hello` (as bootstrap in a code dir) behind the lab's API front
# door; sets LAB_URL (route GET /hello) and LAB_PID.
start_lab() {
    mkdir -p "$WORK/code/v1"
    cp "$HELLO" "$WORK/code/v1/bootstrap"
    "$LAB" serve --function hello --version "1=$WORK/code/v1" --concurrency "$1" \
        --route 'GET /hello' --api-port 0 --lambda-port 0 --ready-file "$WORK/lab.ready.json" \
        >"$WORK/lab.out" 2>"$WORK/lab.err" &
    LAB_PID=$!
    PIDS+=("$LAB_PID")
    if ! lab_wait_ready "$WORK/lab.ready.json" "$LAB_PID" 10; then
        echo "rollcall-lab did not start: $(cat "$WORK/lab.err")" >&2
        exit 1
    fi
    LAB_URL="$(lab_ready_get "$WORK/lab.ready.json" api_url)/hello"
    echo "rollcall-lab at $LAB_URL (pid $LAB_PID)" >&2
}

# warm URL CONCURRENCY: enough requests at the same concurrency to start every environment.
warm() {
    oha -c "$2" -n "$(($2 * 50))" --no-tui "${OHA_JSON[@]}" "$1" >/dev/null
}

# oha_row NAME JSONFILE: name, requests, non-2xx, errors, req/s, p50 ms, p99 ms.
oha_row() {
    jq -r --arg name "$1" '[
        $name,
        ([.statusCodeDistribution[]] | add // 0),
        ([.statusCodeDistribution | to_entries[] | select(.key | startswith("2") | not) | .value] | add // 0),
        ([.errorDistribution[]?] | add // 0),
        (.summary.requestsPerSec | floor),
        (.latencyPercentiles.p50 * 1000 * 1000 | floor / 1000),
        (.latencyPercentiles.p99 * 1000 * 1000 | floor / 1000)
    ] | @tsv' "$2"
}

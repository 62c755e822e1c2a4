#!/usr/bin/env bash
# The main job on the embedded default (README "Quick start"): the lab serves two versions of the
# demo function `hello` behind the alias `live` at 90/10 with the rollcall layer attached, and the
# prober probes it at 50 rps for 30 s and prints its summary: the observed split, per-version
# errors, cold starts and latency, the verdict, and where the artifacts are.
#
# Knobs (environment): RPS (50), DURATION (30s), WEIGHTS (1=0.9,2=0.1), SEED (7),
# V2_LATENCY_MS (added latency of version 2, "2..6" by default, so the comparison has something
# to find; empty for none), OUT (out/demo).
set -euo pipefail
cd "$(dirname "$0")/.."

RPS="${RPS:-50}"
DURATION="${DURATION:-30s}"
WEIGHTS="${WEIGHTS:-1=0.9,2=0.1}"
SEED="${SEED:-7}"
V2_LATENCY_MS="${V2_LATENCY_MS-2..6}"
OUT="${OUT:-out/demo}"
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)

echo "== building the lab, the demo function, the extension and the prober" >&2
cargo build --locked --quiet -p lab -p hello -p rollcall-extension -p prober --bins
BIN=target/debug

rm -rf "$OUT" && mkdir -p "$OUT/layer/extensions" "$OUT/code/1" "$OUT/code/2" "$OUT/logs"
# The layer as Lambda mounts it on /opt: the extension plus the wrapper scripts
# (`make layer` builds the same tree from a static musl release binary).
install -m 0755 "$BIN/rollcall" "$OUT/layer/extensions/rollcall"
install -m 0755 extension/layer/bootstrap extension/layer/rollcall-wrapper "$OUT/layer/"
# Two published versions of the same code; the lab sets AWS_LAMBDA_FUNCTION_VERSION per version.
# The function ships under its handler's name; the layer's /opt/bootstrap execs it behind the proxy.
install -m 0755 "$BIN/hello" "$OUT/code/1/hello"
install -m 0755 "$BIN/hello" "$OUT/code/2/hello"

version_env=()
[ -n "$V2_LATENCY_MS" ] && version_env=(--version-env "2:HELLO_LATENCY_MS=$V2_LATENCY_MS")

echo "== starting the lab: alias live at $WEIGHTS (seed $SEED)" >&2
"$BIN/rollcall-lab" serve --function hello --handler hello \
    --version "1=$OUT/code/1" --version "2=$OUT/code/2" "${version_env[@]}" \
    --layer "$OUT/layer" --alias live --weights "$WEIGHTS" --seed "$SEED" \
    --route 'GET /hello' --payload-format 2.0 --api-port 0 --lambda-port 0 \
    --log-dir "$OUT/logs" --ready-file "$OUT/lab.ready.json" >"$OUT/lab.out" 2>"$OUT/lab.err" &
LAB_PID=$!
trap 'kill -TERM "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null || true' EXIT

# Wait (bounded) for the lab to write its ready file (once both front doors serve).
# shellcheck source=scripts/lab-ready.sh
. scripts/lab-ready.sh
lab_wait_ready "$OUT/lab.ready.json" "$LAB_PID" 30 || {
    cat "$OUT/lab.err" >&2
    echo "the lab did not become ready within 30 s" >&2
    exit 1
}
URL=$(lab_ready_get "$OUT/lab.ready.json" api_url)
cat "$OUT/lab.out" >&2

echo "== probing ${URL%/}/hello at $RPS rps for $DURATION (alias live configured at $WEIGHTS)" >&2
set +e
"$BIN/prober" --url "${URL%/}/hello" --rps "$RPS" --duration "$DURATION" --out "$OUT/run"
CODE=$?
set -e
echo "lab logs: $OUT/logs"
exit "$CODE"

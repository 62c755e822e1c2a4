#!/usr/bin/env bash
# The lab running template.yaml (issue 11's figures): RUNS times, the time from
# `rollcall-lab serve --template` to its ready file (the SAM translator, the stack's create), and
# the time from `rollcall-lab deploy` (version 2: hello's HELLO_LATENCY_MS changed, AllAtOnce) to
# the first front-door response from version 2, polled every 5 ms. Prints p50/max of both as JSON.
# Knobs: RUNS (default 5). Needs python3 with aws-sam-translator (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lab-ready.sh
RUNS="${RUNS:-5}"
cargo build --locked --quiet -p lab -p hello -p rollcall-extension -p prober --bins
BIN=target/debug
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT
mkdir -p "$TMP/layer/extensions" "$TMP/code"
install -m 0755 "$BIN/rollcall" "$TMP/layer/extensions/rollcall"
install -m 0755 extension/layer/bootstrap extension/layer/rollcall-wrapper "$TMP/layer/"
install -m 0755 "$BIN/hello" "$TMP/code/hello"
# A short rehearsal writes the template as built, version 1 and version 2 (build/*.json).
"$BIN/rollcall-lab" rehearse --template template.yaml --code "$TMP/code" --layer "$TMP/layer" \
  --prober "$BIN/prober" --out "$TMP/r" --deployment-config AllAtOnce --time-scale 1 \
  --baseline 1s --rps 5 >/dev/null 2>&1 || true
V1="$TMP/r/build/template-v1.json" V2="$TMP/r/build/template-v2.json"
[ -f "$V1" ] && [ -f "$V2" ] || { echo "the rehearsal wrote no build (see rollcall-lab rehearse --template)" >&2; exit 1; }
starts=() deploys=()
for run in $(seq 1 "$RUNS"); do
  ready="$TMP/ready-$run.json"
  t0=$(date +%s.%N)
  "$BIN/rollcall-lab" serve --template "$V1" --api-port 0 --lambda-port 0 --ready-file "$ready" \
    --parameter-overrides DeploymentType=AllAtOnce >"$TMP/serve-$run.log" 2>&1 &
  pid=$!
  lab_wait_ready "$ready" "$pid" 60
  t1=$(date +%s.%N)
  api=$(lab_ready_get "$ready" api_url) lambda=$(lab_ready_get "$ready" lambda_url)
  t2=$(date +%s.%N)
  "$BIN/rollcall-lab" deploy --template "$V2" --endpoint-url "$lambda" \
    --parameter-overrides DeploymentType=AllAtOnce >"$TMP/deploy-$run.log" 2>&1 &
  until curl -s -i "$api/hello" | grep -qi '^x-rollcall-version: 2'; do sleep 0.005; done
  t3=$(date +%s.%N)
  wait %2 2>/dev/null || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  starts+=("$(echo "$t1 - $t0" | bc)") deploys+=("$(echo "$t3 - $t2" | bc)")
done
python3 - "${starts[*]}" "${deploys[*]}" <<'PY'
import json, statistics, sys
s = [float(x) for x in sys.argv[1].split()]; d = [float(x) for x in sys.argv[2].split()]
print(json.dumps({"runs": len(s),
  "serve_template_to_ready_s": {"p50": round(statistics.median(s), 3), "max": round(max(s), 3)},
  "deploy_to_first_v2_response_s": {"p50": round(statistics.median(d), 3), "max": round(max(d), 3)}}))
PY

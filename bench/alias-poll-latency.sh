#!/usr/bin/env bash
# Time from an alias's change (the lab's event log, `routingChanged.timeUs`) to its appearance in
# the prober's report (`control_plane.alias.seen_at_unix_ms`), issue 12's figure: a real
# `rollcall-lab serve` (ports 0, `hello` as versions 1 and 2 behind `live`, route GET /hello,
# CodeDeploy at TIME_SCALE) runs ROUNDS Linear10PercentEvery1Minute deployments (1->2, 2->1, ...)
# created with the AWS CLI while a prober follows the alias (`--alias hello:live --poll POLL`);
# for each POLL, p50/p99/max of the delay over every step, in milliseconds. Both clocks are this
# machine's wall clock. The prober must see a change within one poll plus one GetAlias round
# trip (uniform over the poll when the changes fall at random phases); the figure measures it.
#
#   bench/alias-poll-latency.sh                    # --poll 1s and 200ms, 3 deployments each
#   POLLS="500ms" ROUNDS=5 bench/alias-poll-latency.sh
#   PROFILE=debug bench/alias-poll-latency.sh      # without the release build (slower prober)
source "$(dirname "$0")/common.sh"
# shellcheck source=scripts/lab-ready.sh
. "$ROOT/scripts/lab-ready.sh"

POLLS="${POLLS:-1s 200ms}"
ROUNDS="${ROUNDS:-3}"
# 53, not 60: steps every 60/53 = 1.13 s, so that the changes do not fall at one fixed phase of a
# 1 s or 200 ms poll (at 60 they did: the delay was the same, ~190 ms, for every step).
TIME_SCALE="${TIME_SCALE:-53}"
PROFILE="${PROFILE:-release}"
AWS="${ROLLCALL_AWS:-$HOME/.cache/rollcall/aws-venv/bin/aws}"
need python3 "for the statistics"
[[ -x "$AWS" ]] || { echo "bench: the AWS CLI is required (source scripts/setup.sh)" >&2; exit 1; }

flags=(--release)
[[ "$PROFILE" == release ]] || flags=()
echo "building $PROFILE rollcall-lab, hello and prober..." >&2
(cd "$ROOT" && cargo build "${flags[@]}" -p lab --bin rollcall-lab -p hello --bin hello \
    -p prober --bin prober) >&2
BIN="$TARGET_DIR/$PROFILE"

mkdir -p "$WORK/code/1" "$WORK/code/2" "$WORK/aws"
cp "$BIN/hello" "$WORK/code/1/bootstrap"
cp "$BIN/hello" "$WORK/code/2/bootstrap"
: >"$WORK/aws/config"
: >"$WORK/aws/credentials"
"$BIN/rollcall-lab" serve --function hello --version "1=$WORK/code/1" --version "2=$WORK/code/2" \
    --alias live --weights 1=1 --route 'GET /hello' --payload-format 2.0 --seed 7 \
    --time-scale "$TIME_SCALE" --event-log "$WORK/events.jsonl" \
    --api-port 0 --lambda-port 0 --ready-file "$WORK/lab.ready.json" \
    >"$WORK/lab.out" 2>"$WORK/lab.err" &
PIDS+=($!)
lab_wait_ready "$WORK/lab.ready.json" "${PIDS[-1]}" 20 || {
    echo "rollcall-lab did not start: $(cat "$WORK/lab.err")" >&2
    exit 1
}
API="$(lab_ready_get "$WORK/lab.ready.json" api_url)"
LAMBDA="$(lab_ready_get "$WORK/lab.ready.json" lambda_url)"

# A throwaway AWS environment: the lab's endpoints, dummy keys, no instance metadata.
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE="$WORK/aws/config" \
    AWS_SHARED_CREDENTIALS_FILE="$WORK/aws/credentials" AWS_ENDPOINT_URL="$LAMBDA" \
    AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
    AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN

deploy() { "$AWS" deploy --endpoint-url "$LAMBDA" --output json "$@"; }
deploy create-application --application-name bench --compute-platform Lambda >/dev/null
deploy create-deployment-group --application-name bench --deployment-group-name live \
    --deployment-config-name CodeDeployDefault.LambdaLinear10PercentEvery1Minute \
    --service-role-arn arn:aws:iam::123456789012:role/CodeDeploy \
    --deployment-style deploymentType=BLUE_GREEN,deploymentOption=WITH_TRAFFIC_CONTROL >/dev/null

from=1 to=2 run=0
for poll in $POLLS; do
    : >"$WORK/pairs-$poll.txt"
    for ((r = 0; r < ROUNDS; r++)); do
        run=$((run + 1))
        out="$WORK/run-$run"
        PROBER_LOG=prober::aws=info "$BIN/prober" --url "$API/hello" --version-json /version \
            --alias hello:live --poll "$poll" --rps 50 --timeout 2s --max-duration 120s --quiet \
            --out "$out" >"$WORK/prober-$run.out" 2>"$WORK/prober-$run.err" &
        prober=$!
        PIDS+=("$prober")
        deadline=$((SECONDS + 30))
        until grep -q "first poll of the alias answered" "$WORK/prober-$run.err"; do
            if ((SECONDS > deadline)) || ! kill -0 "$prober" 2>/dev/null; then
                echo "the prober did not start: $(cat "$WORK/prober-$run.err")" >&2
                exit 1
            fi
            sleep 0.05
        done
        spec="{\"version\":0.0,\"Resources\":[{\"hello\":{\"Type\":\"AWS::Lambda::Function\",\"Properties\":{\"Name\":\"hello\",\"Alias\":\"live\",\"CurrentVersion\":\"$from\",\"TargetVersion\":\"$to\"}}}]}"
        revision="$(python3 -c 'import json,sys; print(json.dumps({"revisionType":"AppSpecContent","appSpecContent":{"content":sys.argv[1]}}))' "$spec")"
        deploy create-deployment --application-name bench --deployment-group-name live \
            --revision "$revision" >/dev/null
        wait "$prober" || true
        # Pair the lab's changes during this run with the prober's, in order.
        python3 - "$WORK/events.jsonl" "$out/report.json" >>"$WORK/pairs-$poll.txt" <<'EOF'
import json, sys
report = json.load(open(sys.argv[2]))
alias = report["control_plane"]["alias"]
start = report["started_at_unix_ms"]
lab = [e for e in map(json.loads, open(sys.argv[1]))
       if e["type"] == "routingChanged" and e["timeUs"] / 1000 >= start]
seen = alias["seen_at_unix_ms"][1:]
for event, change, at in zip(lab, alias["changes"][1:], seen):
    after = {"primary": change["routing"]["primary"], "additional": change["routing"]["additional"]}
    if after != event["after"]:
        sys.exit(f"the prober's change {after} is not the lab's {event['after']}")
    print(f"{at - event['timeUs'] / 1000:.3f}")
if len(seen) != len(lab):
    sys.exit(f"the lab made {len(lab)} changes, the prober saw {len(seen)}")
EOF
        t=$from from=$to to=$t
    done
done

echo
echo "Alias change -> prober (ms), $(nproc) CPUs, loopback, time scale $TIME_SCALE, $PROFILE build, load $(cut -d' ' -f1-3 /proc/loadavg):"
for poll in $POLLS; do
    python3 - "$poll" "$WORK/pairs-$poll.txt" <<'EOF'
import math, sys
xs = sorted(float(l) for l in open(sys.argv[2]) if l.strip())
q = lambda p: xs[min(len(xs) - 1, max(0, math.ceil(p * len(xs)) - 1))]
print(f"  --poll {sys.argv[1]:>6}: n={len(xs)} p50 {q(0.5):.1f} p99 {q(0.99):.1f} max {xs[-1]:.1f} min {xs[0]:.1f}")
EOF
done

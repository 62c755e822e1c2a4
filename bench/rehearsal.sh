#!/usr/bin/env bash
# The rehearsal's figures (issue 10): runs the README's main command, `scripts/demo.sh` (a
# debug build, as a newcomer runs it), twice: as it is (Linear10PercentEvery1Minute at time
# scale 10) and with --bad-release, and prints for each
#   - the wall time of the command from a built tree (the build is done first, untimed);
#   - the lab's weight changes: count and lateness against the schedule (p50, max);
#   - both verdicts and whether they agree;
#   - with --bad-release, the alarm's reaction: from the start of the first breaching period
#     (the first EMF datapoint above the threshold) to the alias back at 100 % on version 1,
#     in (time-scaled) periods.
# The wall time from a fresh clone is CI's `.ci/run` minus its tests; see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_BASE="$(mktemp -d "${TMPDIR:-/tmp}/rollcall-rehearsal.XXXXXX")"
trap 'rm -rf "$OUT_BASE"' EXIT

echo "building (untimed)..." >&2
cargo build --locked --quiet -p lab -p hello -p rollcall-extension -p prober --bins

for variant in default bad-release; do
    args=()
    [ "$variant" = bad-release ] && args=(--bad-release)
    out="$OUT_BASE/$variant"
    start=$(date +%s.%N)
    set +e
    OUT="$out" ./scripts/demo.sh "${args[@]}" >"$OUT_BASE/$variant.stdout" 2>"$OUT_BASE/$variant.stderr"
    code=$?
    set -e
    end=$(date +%s.%N)
    python3 - "$out" "$variant" "$code" "$start" "$end" <<'PY'
import json, sys
out, variant, code, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
result = json.load(open(f"{out}/rehearsal.json"))
events = [json.loads(l) for l in open(f"{out}/events.jsonl")]
late = sorted(result["lab"]["lateness_ms"])
print(f"{variant}: exit {code}, wall {end - start:.1f} s; lab {result['lab']['status']} "
      f"(rolled back: {result['lab']['rolled_back']}), {len(late)} weight changes, lateness "
      f"p50 {late[len(late) // 2]:.2f} ms, max {late[-1]:.2f} ms; prober {result['prober']['verdict']}; "
      f"agreement {result['agreement']}")
alarm = next((e for e in events if e["type"] == "alarmTransition" and e["to"] == "ALARM"), None)
if alarm:
    scale = result["plan"]["time_scale"]
    breaching = [d for d in alarm["datapoints"] if d["breaching"]]
    first = min(d["timestampMs"] for d in breaching)
    rollback = next(e for e in events if e["type"] == "routingChanged"
                    and e["after"]["primary"] == "1" and not e["after"]["additional"]
                    and e["timeUs"] / 1e3 > first)
    # The alarm's period: 60 s at the rehearsal's time scale.
    period_ms = 60_000 / scale
    print(f"  alarm reaction: first breaching period starts {first}, alias back on version 1 "
          f"{(rollback['timeUs'] / 1e3 - first):.0f} ms later = "
          f"{(rollback['timeUs'] / 1e3 - first) / period_ms:.2f} periods of {period_ms / 1000:.1f} s")
PY
done

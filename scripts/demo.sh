#!/usr/bin/env bash
# The main job on the embedded default (README "Quick start"): a release rehearsed from both
# ends, from the repository's own SAM template. The lab runs template.yaml as a stack (the real
# SAM translator expands it; this script's builds are the function's and the layer's code):
# `hello` version 1 behind the alias `live` with the rollcall layer, the template's alarms on the
# extension's EMF. Version 2 (a few ms slower: the template's HELLO_* values changed) is deployed
# as `rollcall-lab deploy` deploys it: CloudFormation publishes it and CodeDeploy shifts the alias
# with Linear10PercentEvery1Minute at time scale 10 (about a minute), rolling back on an alarm;
# the prober probes the alias at 50 rps with the matching schedule. At the end: the prober's
# verdict, the lab's deployment status, whether they agree, and where the artifacts and the
# event log are. Without the template (no Python with aws-sam-translator), pass --spec-mode.
#
# Every flag goes to `rollcall-lab rehearse` (`--help` lists them), e.g.
#   ./scripts/demo.sh --bad-release                      # version 2 fails 25 %: alarm, rollback, exit 2
#   ./scripts/demo.sh --deployment-config Canary10Percent5Minutes --time-scale 30
#   ./scripts/demo.sh --post-traffic-hook fail           # (from a lab spec) the Rust hook fails: rollback from 100 %
# OUT (out/rehearsal) is the output directory. Exit code: the prober's (0 followed, 2 rollback,
# ...) when both sides agree, 5 when they do not.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${OUT:-out/rehearsal}"

echo "== building the lab, the demo function, the extension and the prober" >&2
cargo build --locked --quiet -p lab -p hello -p rollcall-extension -p prober --bins
BIN=target/debug
# The Rust post-traffic hook (the AWS SDK for Rust: a longer first build) only when asked for.
case " $* " in
*" --post-traffic-hook"*) cargo build --locked --quiet -p rollcall-hook --bins ;;
esac

INPUTS="$OUT/inputs"
rm -rf "$INPUTS" && mkdir -p "$INPUTS/layer/extensions" "$INPUTS/code"
# The layer as Lambda mounts it on /opt: the extension plus the wrapper scripts
# (`make layer` builds the same tree from a static musl release binary).
install -m 0755 "$BIN/rollcall" "$INPUTS/layer/extensions/rollcall"
install -m 0755 extension/layer/bootstrap extension/layer/rollcall-wrapper "$INPUTS/layer/"
# The function ships under its handler's name; the layer's /opt/bootstrap execs it behind the
# extension's proxy.
install -m 0755 "$BIN/hello" "$INPUTS/code/hello"

# From template.yaml unless --spec-mode (a lab spec the rehearsal writes: custom deployment
# configurations and the Rust post-traffic hook).
FROM=(--template template.yaml)
ARGS=()
for a in "$@"; do
  case "$a" in
  --spec-mode) FROM=() ;;
  --post-traffic-hook*) FROM=(); ARGS+=("$a") ;;
  *) ARGS+=("$a") ;;
  esac
done
if [ ${#FROM[@]} -gt 0 ] && ! python3 -c 'import samtranslator' 2>/dev/null; then
  echo "== installing the SAM translator (aws-sam-translator, PyPI) to read template.yaml" >&2
  python3 -m pip install --quiet 'aws-sam-translator==1.110.0' \
    || { echo "demo.sh: cannot install aws-sam-translator: pass --spec-mode to rehearse from a lab spec instead" >&2; exit 69; }
fi
exec "$BIN/rollcall-lab" rehearse --code "$INPUTS/code" --layer "$INPUTS/layer" \
    --prober "$BIN/prober" --out "$OUT" "${FROM[@]}" "${ARGS[@]}"

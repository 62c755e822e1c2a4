#!/usr/bin/env bash
# The lab's control plane (issue 9's figures), measured by bench/control-plane (a Rust program
# using the AWS SDK for Rust as the Lambda API's client) against a real `rollcall-lab serve`
# (ports 0, `hello` as version 1 behind alias `live`, route GET /hello):
#   1. publish-to-serve: per release (UpdateFunctionConfiguration -> PublishVersion ->
#      UpdateAlias 100 %), UpdateAlias returning -> the first front-door answer from the new
#      version (requests back to back); p50/p99/max over RELEASES;
#   2. front-door latency, open loop at RPS for DURATION s, without and then with LOAD_RELEASES
#      releases spread over the run (each warms its version with one Invoke first); p50/p99
#      and the p99 ratio (target <= 1.10); WARM (1) concurrent Invokes warm each new version
#      before the alias moves to it;
#   3. Lambda API latency from the SDK, CALLS calls each of GetAlias, UpdateAlias,
#      PublishVersion, GetFunctionConfiguration (and UpdateFunctionConfiguration).
#
#   bench/control-plane.sh                                        # 50 releases, 2 x 30 s, 200 calls
#   RELEASES=3 DURATION=2 LOAD_RELEASES=3 CALLS=5 bench/control-plane.sh   # smoke run
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/lab-common.sh"

RELEASES="${RELEASES:-50}"
RPS="${RPS:-200}"
DURATION="${DURATION:-30}"
LOAD_RELEASES="${LOAD_RELEASES:-100}"
CALLS="${CALLS:-200}"
WARM="${WARM:-1}"

echo "building release rollcall-lab and hello..." >&2
(cd "$ROOT" && cargo build --release -p lab --bin rollcall-lab -p hello --bin hello) >&2
# The benchmark client is optimised without LTO: the SDK is large and LTO only slows its build.
echo "building release control-plane (no LTO)..." >&2
(cd "$ROOT" && CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo build --release -p control-plane-bench --bin control-plane) >&2

echo "control-plane: $RELEASES releases; $RPS rps x ${DURATION}s without and with $LOAD_RELEASES releases; $CALLS calls per operation ..." >&2
"$TARGET_DIR/release/control-plane" --lab "$LAB" --hello "$HELLO" --releases "$RELEASES" \
    --rps "$RPS" --duration "$DURATION" --load-releases "$LOAD_RELEASES" --calls "$CALLS" --warm "$WARM" \
    >"$WORK/tables.txt"
echo
echo "Control plane, loopback, $(nproc) CPUs (shared by the client, the lab and the function), load $(cut -d' ' -f1-3 /proc/loadavg):"
# Tab-separated rows go through `column`; titles and notes (no tab) print as they are.
rows=()
flush() {
    if ((${#rows[@]})); then printf '%s\n' "${rows[@]}" | column -t -s $'\t'; fi
    rows=()
}
while IFS= read -r line; do
    if [[ "$line" == *$'\t'* ]]; then rows+=("$line"); else flush; echo "$line"; fi
done <"$WORK/tables.txt"
flush

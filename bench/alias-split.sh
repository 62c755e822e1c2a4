#!/usr/bin/env bash
# The realised split vs the configured weights (issue 10's figure), measured by
# bench/control-plane's `alias-split` (the AWS SDK for Rust as the Lambda API's client) against a
# real `rollcall-lab serve` (ports 0, `hello` as versions 1 and 2, alias `live` on version 1,
# route GET /hello, routing RNG seeded with SEED): for each weight of version 2, UpdateAlias
# (`AdditionalVersionWeights {"2": w}`), then N Invokes of the alias at CONCURRENCY counting
# `ExecutedVersion` (checked against the version in hello's answer) and N GETs of the front door
# counting the body's version (FRONT_DOOR=0 skips them). Per weight and path: the exact two-sided
# binomial p-value (twice the tail beyond the observation, at most 1), the Clopper-Pearson 99 %
# interval; Holm's procedure over all of them at family-wise alpha 0.01; a verdict line.
#
#   bench/alias-split.sh                      # 8 weights x 10,000 answers x 2 paths
#   N=200 bench/alias-split.sh                # smoke run
#   WEIGHTS=0.1,0.9 N=1000 SEED=3 bench/alias-split.sh
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/lab-common.sh"

N="${N:-10000}"
WEIGHTS="${WEIGHTS:-0.01,0.05,0.1,0.25,0.5,0.75,0.9,0.99}"
CONCURRENCY="${CONCURRENCY:-16}"
SEED="${SEED:-1}"
FRONT_DOOR="${FRONT_DOOR:-1}"

echo "building release rollcall-lab and hello..." >&2
(cd "$ROOT" && cargo build --release -p lab --bin rollcall-lab -p hello --bin hello) >&2
# The benchmark client is optimised without LTO: the SDK is large and LTO only slows its build.
echo "building release alias-split (no LTO)..." >&2
(cd "$ROOT" && CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo build --release -p control-plane-bench --bin alias-split) >&2

paths=()
[[ "$FRONT_DOOR" == 0 ]] || paths=(--front-door)
echo "alias-split: weights $WEIGHTS; $N answers per weight and path; $CONCURRENCY in flight; seed $SEED ..." >&2
start=$SECONDS
"$TARGET_DIR/release/alias-split" --lab "$LAB" --hello "$HELLO" --weights "$WEIGHTS" \
    --invocations "$N" --concurrency "$CONCURRENCY" --seed "$SEED" "${paths[@]}" \
    >"$WORK/table.txt"
echo
echo "Alias split, loopback, $(nproc) CPUs (shared by the client, the lab and the function), $((SECONDS - start)) s, load $(cut -d' ' -f1-3 /proc/loadavg), seed $SEED:"
# Tab-separated rows go through `column`; the verdict and notes (no tab) print as they are.
rows=()
flush() {
    if ((${#rows[@]})); then printf '%s\n' "${rows[@]}" | column -t -s $'\t'; fi
    rows=()
}
while IFS= read -r line; do
    if [[ "$line" == *$'\t'* ]]; then rows+=("$line"); else flush; echo "$line"; fi
done <"$WORK/table.txt"
flush

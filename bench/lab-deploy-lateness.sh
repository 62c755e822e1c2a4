#!/usr/bin/env bash
# Weight changes applied vs the schedule's instants (issue 10's figure, target p99 < 5 ms): runs
# DEPLOYMENTS linear deployments of a lab alias at TIME_SCALE with the lab's CodeDeploy engine
# and prints the lateness of every step (p50/p99/max, microseconds) as JSON.
# Knobs: DEPLOYMENTS (default 20), TIME_SCALE (default 600: one-minute steps every 100 ms),
# CONFIG (default CodeDeployDefault.LambdaLinear10PercentEvery1Minute).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p lab-testfn
cargo build --release -q -p lab --example deploy_lateness
"$target/release/examples/deploy_lateness" \
  --bootstrap "$target/release/lab-testfn" \
  --deployments "${DEPLOYMENTS:-20}" \
  --time-scale "${TIME_SCALE:-600}" \
  --config "${CONFIG:-CodeDeployDefault.LambdaLinear10PercentEvery1Minute}"

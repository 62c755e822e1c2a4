#!/usr/bin/env bash
# The project's test command (README "Quick start"): installs what is missing (scripts/setup.sh),
# then formatting, lints, the whole test suite and the doctests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo nextest run --workspace --locked --no-fail-fast
cargo test --workspace --doc --locked
# The layer as SAM and `aws lambda publish-layer-version` get it, for both Lambda architectures:
# build the zips, check their layout, and run the arm64 extension in the lab under qemu-user.
make layer-zip
make layer-zip LAYER_ARCH=arm64
cargo nextest run -p rollcall-extension --test layer --test in_lab_arm64 --locked --run-ignored only
# `sam build` (offline, real SAM CLI) into a scratch directory: the layout Lambda runs; the layer
# step reuses the cargo build above.
CARGO_NET_OFFLINE=true cargo nextest run -p rollcall-e2e --test sam_build --locked --run-ignored only

#!/usr/bin/env bash
# Installs what the tests need and a fresh machine lacks. Idempotent: each step checks first.
# Sourced by scripts/test.sh (it exports ROLLCALL_SAM and ROLLCALL_AWS). Needs pip and, for
# qemu-user-static, apt-get as root or through sudo.
set -euo pipefail

# Toolchain components and targets (present on the stock image; added only if missing).
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
command -v cargo-nextest >/dev/null 2>&1 || cargo install cargo-nextest --locked
# The layer is a static musl binary built by cargo-lambda (Makefile `layer-zip`), for x86_64 and
# arm64 (LAYER_ARCH=arm64).
for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done
cargo lambda --version 2>/dev/null | grep -q "^cargo-lambda 1.9.2" \
  || python3 -m pip install --quiet 'cargo-lambda==1.9.2'
# Zig compiles the extension's one C dependency (mimalloc) for musl; cargo-lambda finds it
# through `python3 -m ziglang`.
[ "$(python3 -m ziglang version 2>/dev/null)" = "0.17.1" ] \
  || python3 -m pip install --quiet 'ziglang==0.17.1'

# qemu-user runs the arm64 layer's extension in the lab (extension/tests/in_lab_arm64.rs).
if ! command -v qemu-aarch64-static >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user-static >/dev/null \
    || { $SUDO apt-get update -q >/dev/null \
         && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user-static >/dev/null; }
fi

# Python runtime interface client, for the lab's conformance test of a non-Rust runtime.
python3 -c 'import awslambdaric' >/dev/null 2>&1 || python3 -m pip install --quiet 'awslambdaric==4.2.2'
# boto3, unchanged, for the lab's tests of functions and hooks calling its APIs through the SDKs'
# standard endpoint variables (crates/lab/tests/lab_events.rs).
python3 -c 'import boto3' >/dev/null 2>&1 || python3 -m pip install --quiet 'boto3==1.43.11'

# AWS's Node.js runtime interface client, for the streamed-response tests with
# `awslambda.streamifyResponse` (extension/tests/stream_front_doors.rs). 3.3.0 is the last
# release for Node.js 20 (4.x needs 22); its install builds a native module (aws-lambda-cpp and
# curl) with cmake and the autotools (~2.5 min).
NODE_RIC_DIR="${NODE_RIC_DIR:-$HOME/.cache/rollcall/node-ric}"
if ! grep -qs '"version": "3.3.0"' "$NODE_RIC_DIR/node_modules/aws-lambda-ric/package.json" \
   || [ ! -f "$NODE_RIC_DIR/node_modules/aws-lambda-ric/dist/rapid-client.node" ]; then
  missing=""
  for tool in cmake autoconf automake libtoolize g++ make; do
    command -v "$tool" >/dev/null 2>&1 || missing="yes"
  done
  if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q cmake autoconf automake libtool g++ make >/dev/null \
      || { $SUDO apt-get update -q >/dev/null \
           && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q cmake autoconf automake libtool g++ make >/dev/null; }
  fi
  mkdir -p "$NODE_RIC_DIR"
  npm install --prefix "$NODE_RIC_DIR" --no-audit --no-fund --loglevel=error 'aws-lambda-ric@3.3.0' >/dev/null
fi
export ROLLCALL_NODE_RIC="$NODE_RIC_DIR/node_modules/.bin/aws-lambda-ric"

# Tools of the rollcall-e2e template tests (tests/tests/template.rs).
# cfn-lint 1.51.x still runs the SAM transform before linting (1.58 no longer does).
if [ "$(cfn-lint --version 2>/dev/null)" != "cfn-lint 1.51.0" ]; then
  python3 -m pip install --quiet 'cfn-lint==1.51.0' 'aws-sam-translator==1.110.0'
fi
# The SAM CLI pins cfn-lint>=1.52, so it gets a virtualenv of its own (~340 MB, ~1 min to install).
SAM_VENV="${SAM_VENV:-$HOME/.cache/rollcall/sam-venv}"
if [ "$("$SAM_VENV/bin/sam" --version 2>/dev/null)" != "SAM CLI, version 1.170.0" ]; then
  python3 -m venv "$SAM_VENV"
  "$SAM_VENV/bin/pip" install --quiet 'aws-sam-cli==1.170.0'
fi
# The AWS CLI (v1 from PyPI) drives the lab's Lambda API in tests/tests/aws_cli.rs; it pins its
# own botocore, so it gets a virtualenv too (~60 MB, ~15 s).
AWS_VENV="${AWS_VENV:-$HOME/.cache/rollcall/aws-venv}"
if ! "$AWS_VENV/bin/aws" --version 2>/dev/null | grep -q '^aws-cli/1\.46\.3 '; then
  python3 -m venv "$AWS_VENV"
  "$AWS_VENV/bin/pip" install --quiet 'awscli==1.46.3'
fi
export ROLLCALL_SAM="$SAM_VENV/bin/sam" SAM_CLI_TELEMETRY=0 ROLLCALL_AWS="$AWS_VENV/bin/aws"

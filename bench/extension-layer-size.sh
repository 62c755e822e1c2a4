#!/usr/bin/env bash
# Size of the layer zip `make layer-zip` builds (static musl extension + two scripts), and of the
# extension binary in it. Target: zip < 3 MB.
source "$(dirname "$0")/common.sh"

need cargo-lambda "pip install cargo-lambda==1.9.2"
need zip "apt-get install zip"
(cd "$ROOT" && make layer-zip) >&2
zip_bytes="$(stat -c %s "$ROOT/out/rollcall-layer.zip")"
bin_bytes="$(stat -c %s "$ROOT/out/layer/extensions/rollcall")"
echo "layer zip: $zip_bytes bytes ($(awk -v b="$zip_bytes" 'BEGIN { printf "%.2f", b / 1048576 }') MiB); extension binary: $bin_bytes bytes"
unzip -Z "$ROOT/out/rollcall-layer.zip"

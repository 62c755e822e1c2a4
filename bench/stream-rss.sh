#!/usr/bin/env bash
# Memory while streaming (issue 13): peak RSS (VmHWM) of the lab and of the layer's extension
# while a function streams 1 MiB, then 100 MiB, to a client that discards it (curl to a
# RESPONSE_STREAM function URL), without the layer (`plain`) and behind it (`tagged`). The
# function is the Python custom runtime that writes raw chunks (64 KiB each); the bandwidth cap
# is lifted (`stream_bandwidth_cap: false`) so that 100 MiB take seconds, not 50 s. Bounded
# memory means the peak after 100 MiB is the peak after 1 MiB, give or take a few MB.
#
#   bench/stream-rss.sh                          # 1 MiB then 100 MiB (+ release builds)
#   MIB=20 bench/stream-rss.sh                   # a smaller second stream
#   PROFILE_ENV="CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16" \
#     bench/stream-rss.sh                        # a quicker release build (no LTO)
source "$(dirname "$0")/common.sh"
# shellcheck source=scripts/lab-ready.sh
. "$ROOT/scripts/lab-ready.sh"

MIB="${MIB:-100}"
need curl "apt-get install curl"
echo "building release rollcall-lab and the rollcall extension..." >&2
(cd "$ROOT" && env ${PROFILE_ENV:-} cargo build --release -p lab --bin rollcall-lab \
    -p rollcall-extension --bin rollcall) >&2
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"

FIXTURE="$ROOT/crates/lab/tests/fixtures/python_stream/bootstrap"
mkdir -p "$WORK/plain" "$WORK/tagged" "$WORK/layer/extensions"
cp "$FIXTURE" "$WORK/plain/bootstrap"
cp "$FIXTURE" "$WORK/tagged/streamer"
cp "$ROOT/extension/layer/rollcall-wrapper" "$ROOT/extension/layer/bootstrap" "$WORK/layer/"
cp "$TARGET_DIR/release/rollcall" "$WORK/layer/extensions/rollcall"
cat >"$WORK/lab.yaml" <<EOF
layers:
  rollcall: {content: $WORK/layer}
functions:
  plain:
    code: $WORK/plain
    timeout: 120s
    stream_bandwidth_cap: false
    url: {invoke_mode: RESPONSE_STREAM}
  tagged:
    code: $WORK/tagged
    handler: streamer
    layers: [rollcall]
    timeout: 120s
    environment: {ROLLCALL_FLUSH_INTERVAL: 1h}
    stream_bandwidth_cap: false
    url: {invoke_mode: RESPONSE_STREAM}
EOF
"$TARGET_DIR/release/rollcall-lab" serve --spec "$WORK/lab.yaml" --api-port 0 --lambda-port 0 \
    --ready-file "$WORK/lab.ready.json" >"$WORK/lab.out" 2>"$WORK/lab.err" &
LAB_PID=$!
PIDS+=("$LAB_PID")
lab_wait_ready "$WORK/lab.ready.json" "$LAB_PID" 20 \
    || { echo "rollcall-lab did not start: $(cat "$WORK/lab.err")" >&2; exit 1; }
url() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["functions"][sys.argv[2]]["url"])' \
        "$WORK/lab.ready.json" "$1"
}
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
extension_pid() { pgrep -x rollcall | head -n1 || true; }

# stream FUNCTION MIB: streams MIB MiB of 64 KiB chunks; prints bytes received and seconds.
stream() {
    local repeat=$(($2 * 16))
    python3 -c 'import json, sys; print(json.dumps({"chunks": ["x" * 65536], "repeat": int(sys.argv[1]), "end": "ok", "content_type": "application/octet-stream"}))' \
        "$repeat" >"$WORK/instructions.json"
    curl -sS -o /dev/null -w '%{size_download} %{time_total}\n' --data-binary "@$WORK/instructions.json" \
        -H 'content-type: application/json' "$(url "$1")"
}

printf '%-7s %8s %14s %10s %14s %18s\n' function stream received seconds "lab VmHWM kB" "extension VmHWM kB"
for fn in plain tagged; do
    for mib in 1 "$MIB"; do
        read -r bytes secs < <(stream "$fn" "$mib")
        ext=""
        if [ "$fn" = tagged ]; then
            ext=$(hwm_kb "$(extension_pid)")
        fi
        printf '%-7s %6s MiB %14s %10s %14s %18s\n' "$fn" "$mib" "$bytes" "$secs" "$(hwm_kb "$LAB_PID")" "${ext:--}"
    done
done

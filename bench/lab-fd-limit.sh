#!/usr/bin/env bash
# rollcall-lab at its file-descriptor limit: the lab runs with `ulimit -n $FD_LIMIT` (in a
# subshell) while a loopback client opens $CONNECTIONS connections to its front door and holds
# them, sending nothing, for $DURATION seconds. Reports the lab's CPU time over that window
# (utime+stime from /proc/PID/stat) and what it wrote to stderr (bytes, "accept failed" lines).
#
#   bench/lab-fd-limit.sh                    # 25 s, 1000 connections, ulimit -n 64
#   DURATION=5 bench/lab-fd-limit.sh         # smoke run
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lab-common.sh"

DURATION="${DURATION:-25}"
CONNECTIONS="${CONNECTIONS:-1000}"
FD_LIMIT="${FD_LIMIT:-64}"
need python3 "the loopback client"

echo "building release rollcall-lab..." >&2
(cd "$ROOT" && cargo build --release -p lab --bin rollcall-lab) >&2

mkdir -p "$WORK/code"
printf '#!/bin/sh\nexec sleep 600\n' >"$WORK/code/bootstrap"
chmod +x "$WORK/code/bootstrap"
(
    ulimit -n "$FD_LIMIT"
    exec "$LAB" serve --function idle --version "1=$WORK/code" --api-port 0 --lambda-port 0 \
        --ready-file "$WORK/lab.ready.json"
) >"$WORK/lab.out" 2>"$WORK/lab.err" &
LAB_PID=$!
PIDS+=("$LAB_PID")
if ! lab_wait_ready "$WORK/lab.ready.json" "$LAB_PID" 10; then
    echo "rollcall-lab did not start: $(cat "$WORK/lab.err")" >&2
    exit 1
fi
ADDR="$(lab_ready_get "$WORK/lab.ready.json" api_url)"
ADDR="${ADDR#http://}"
ADDR="${ADDR%/}"

# CPU ticks (utime + stime) of a process.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ="$(getconf CLK_TCK)"

# The client connects (each connect waits at most 2 s; the kernel's backlog takes what the lab
# cannot accept), says "connected N", then holds everything for $DURATION s.
python3 - "$ADDR" "$CONNECTIONS" "$DURATION" >"$WORK/client.out" <<'EOF' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
n, duration = int(sys.argv[2]), float(sys.argv[3])
held = []
for _ in range(n):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, int(port)))
        held.append(s)
    except OSError:
        s.close()
print("connected", len(held), flush=True)
time.sleep(duration)
EOF
CLIENT_PID=$!
PIDS+=("$CLIENT_PID")
until grep -q '^connected' "$WORK/client.out" 2>/dev/null; do
    kill -0 "$CLIENT_PID" 2>/dev/null || { echo "the client failed" >&2; exit 1; }
    sleep 0.05
done
held="$(awk '/^connected/ { print $2 }' "$WORK/client.out")"
start_bytes="$(stat -c %s "$WORK/lab.err")"
start_ticks="$(ticks "$LAB_PID")"
wait "$CLIENT_PID" || true
end_ticks="$(ticks "$LAB_PID")"
end_bytes="$(stat -c %s "$WORK/lab.err")"
kill -0 "$LAB_PID" 2>/dev/null || { echo "rollcall-lab died: $(tail -5 "$WORK/lab.err")" >&2; exit 1; }

cpu="$(awk -v t=$((end_ticks - start_ticks)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')"
share="$(awk -v c="$cpu" -v d="$DURATION" 'BEGIN { printf "%.3f", c / d }')"
window="$(tail -c +"$((start_bytes + 1))" "$WORK/lab.err" | head -c "$((end_bytes - start_bytes))")"
warnings="$(grep -c 'accept failed' <<<"$window" || true)"
printf 'fd limit\tconnections held\tseconds\tCPU s\tcores\tstderr bytes\t"accept failed" lines\n'
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$FD_LIMIT" "$held/$CONNECTIONS" "$DURATION" "$cpu" "$share" \
    "$((end_bytes - start_bytes))" "$warnings"
echo "last warning: $(grep 'accept failed' "$WORK/lab.err" | tail -1)" >&2

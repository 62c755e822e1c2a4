#!/usr/bin/env bash
# Time to the first diagnosis against a target that never answers: the prober without
# --duration (it would otherwise send for the 2 h --max-duration) against a refused loopback
# port, then an unresolvable host. Prints the wall time to exit, the exit code and the verdict
# line, which names the cause with counts.
#
#   bench/prober-unreachable.sh
source "$(dirname "$0")/common.sh"

build
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

diagnose() {
    local url="$1" start end code=0
    start="$(date +%s.%N)"
    "$PROBER" --url "$url" --rps 50 --quiet >"$WORK/out" 2>"$WORK/err" || code=$?
    end="$(date +%s.%N)"
    printf '%s: exit %d after %.2f s\n  %s\n' "$url" "$code" "$(echo "$end - $start" | bc)" \
        "$(cat "$WORK/out")"
}

diagnose "http://127.0.0.1:$port/"
diagnose "http://rollcall-bench.invalid/"

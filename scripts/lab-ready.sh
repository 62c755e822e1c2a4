# Helpers for scripts that start `rollcall-lab serve --ready-file FILE` (source this file).
# The lab writes FILE atomically once both its listeners serve (a JSON document: api_url,
# lambda_url, pid, functions, routes; see crates/lab/src/ready.rs) and removes it on exit.

# lab_wait_ready FILE PID [SECONDS]: waits (at most SECONDS, 30 by default) until the lab PID has
# written FILE; fails if the lab exits first or the time is up.
lab_wait_ready() {
    local file=$1 pid=$2 deadline=$((SECONDS + ${3:-30}))
    until [ -e "$file" ]; do
        if ((SECONDS > deadline)) || ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.05
    done
}

# lab_ready_get FILE KEY: prints a top-level field of the ready file (api_url, lambda_url, pid).
lab_ready_get() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

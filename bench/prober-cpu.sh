#!/usr/bin/env bash
# CPU per request at a fixed rate: `oha -q RATE` vs `prober --rps RATE`, one after the other
# against the same nginx (installed with apt-get if missing) on loopback, at each rate. CPU is
# user+sys of the finished process from getrusage (microseconds; /usr/bin/time rounds to 10 ms,
# too coarse at 50 rps), and so are the voluntary context switches (a thread going to sleep:
# about one per wake-up); the prober's send-lag p50/p99 shows that its open-loop precision is
# kept (oha reports none).
#
#   bench/prober-cpu.sh                          # 4 rates x 2 tools x 10 s (+ build, + installs)
#   DURATION=3 RATES="50 5000" bench/prober-cpu.sh    # smoke run (seconds)
#   PROBER_BIN=/path/to/old/prober bench/prober-cpu.sh   # another prober binary (before/after)
source "$(dirname "$0")/common.sh"
PROBER="${PROBER_BIN:-$PROBER}"

DURATION="${DURATION:-10}"            # seconds per tool and rate
RATES="${RATES:-50 1000 5000 10000}"
CONCURRENCY="${CONCURRENCY:-50}"      # oha -c, prober --max-in-flight

need jq "apt-get install jq"
need python3 "apt-get install python3"
if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
    echo "installing nginx (apt-get install -y nginx)..." >&2
    apt-get install -y nginx >&2 || { echo "bench: nginx is required and could not be installed: run 'apt-get update && apt-get install -y nginx' (as root)" >&2; exit 1; }
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
if ! command -v oha >/dev/null; then
    echo "installing oha (cargo install oha --locked)..." >&2
    cargo install oha --locked >&2
fi
build

# start_nginx: a private nginx (its own prefix, config, pid and logs under $WORK) answering
# "hello" with the version header on a free loopback port; sets NGINX_URL.
start_nginx() {
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    mkdir -p "$WORK/nginx/logs"
    cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        location / {
            add_header x-rollcall-version 7 always;
            return 200 "hello\n";
        }
    }
}
EOF
    "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/stdout" 2>&1 &
    PIDS+=("$!")
    NGINX_URL="http://127.0.0.1:$port/"
    local deadline=$((SECONDS + 10))
    until curl -fsS -o /dev/null "$NGINX_URL" 2>/dev/null; do
        if ((SECONDS > deadline)); then
            echo "nginx did not start: $(cat "$WORK/nginx/stdout" "$WORK/nginx/logs/error.log" 2>/dev/null)" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "nginx at $NGINX_URL" >&2
}
need curl "apt-get install curl"
start_nginx

if oha --help 2>/dev/null | grep -q -- '--output-format'; then
    oha_fmt=(--output-format json)
else
    oha_fmt=(--json)
fi

# measure USAGEFILE CMD...: runs CMD (stdout and stderr as given) and writes its user and system
# CPU seconds and voluntary context switches to USAGEFILE; returns CMD's exit code.
measure() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write(f"{r.ru_utime:.3f} {r.ru_stime:.3f} {r.ru_nvcsw}\n")
sys.exit(code)
PY
}
# usage_field FILE N: field N (1 user, 2 system, 3 voluntary context switches) of a USAGEFILE.
usage_field() { awk -v n="$2" '{ print $n }' "$1"; }
per_req_us() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", c / n * 1e6; else print "n/a" }'; }
per_req() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", c / n; else print "n/a" }'; }

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
rows=()
for rps in $RATES; do
    echo "oha -q $rps -c $CONCURRENCY -z ${DURATION}s ..." >&2
    measure "$WORK/oha-$rps.usage" \
        oha -q "$rps" -c "$CONCURRENCY" -z "${DURATION}s" --no-tui "${oha_fmt[@]}" "$NGINX_URL" \
        >"$WORK/oha-$rps.json"
    requests="$(jq '[.statusCodeDistribution[]] | add // 0' "$WORK/oha-$rps.json")"
    user="$(usage_field "$WORK/oha-$rps.usage" 1)"
    sys="$(usage_field "$WORK/oha-$rps.usage" 2)"
    cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')"
    switches="$(usage_field "$WORK/oha-$rps.usage" 3)"
    rows+=("$(printf '%s\toha\t%s\t%s\t%s\t%s\t%s\t%s\t-\t-' "$rps" "$requests" "$user" "$sys" "$cpu" \
        "$(per_req_us "$cpu" "$requests")" "$(per_req "$switches" "$requests")")")

    echo "prober --rps $rps --max-in-flight $CONCURRENCY --duration ${DURATION}s ..." >&2
    code=0
    measure "$WORK/prober-$rps.usage" \
        "$PROBER" --url "$NGINX_URL" --rps "$rps" --max-in-flight "$CONCURRENCY" \
        --duration "${DURATION}s" --out "$WORK/prober-$rps" --quiet \
        >/dev/null 2>"$WORK/prober-$rps.err" || code=$?
    report="$WORK/prober-$rps/report.json"
    [[ -f "$report" ]] || { echo "prober wrote no report at $rps rps (exit $code): $(cat "$WORK/prober-$rps.err")" >&2; exit 1; }
    requests="$(jq '.totals.responses' "$report")"
    user="$(usage_field "$WORK/prober-$rps.usage" 1)"
    sys="$(usage_field "$WORK/prober-$rps.usage" 2)"
    cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')"
    switches="$(usage_field "$WORK/prober-$rps.usage" 3)"
    rows+=("$(printf '%s\tprober\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$rps" "$requests" "$user" "$sys" "$cpu" \
        "$(per_req_us "$cpu" "$requests")" "$(per_req "$switches" "$requests")" \
        "$(jq '.totals.send_lag_ms.p50 * 1000 | round / 1000' "$report")" \
        "$(jq '.totals.send_lag_ms.p99 * 1000 | round / 1000' "$report")")")
done

echo
echo "Fixed rate ($PROBER), ${DURATION}s per tool and rate, up to $CONCURRENCY in flight, nginx (1 worker) on loopback, $(nproc) CPUs shared, load averages before: $load_before:"
{
    printf 'rps\ttool\tresponses\tuser_s\tsys_s\tcpu_s\tcpu_us_per_req\tvol_cs_per_req\tlag_p50_ms\tlag_p99_ms\n'
    printf '%s\n' "${rows[@]}"
} | column -t -s $'\t'

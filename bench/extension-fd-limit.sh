#!/usr/bin/env bash
# The extension's listeners at the file-descriptor limit: the `rollcall` binary runs with
# `ulimit -n 64` against a stub Extensions API (registers, then waits), and a client keeps 300
# idle connections open to its Runtime API proxy (reopening those the proxy closes). Over 25 s
# the script reports the extension's CPU time (from /proc/<pid>/stat) and the bytes it logged.
# Before the fix the accept loop spun on EMFILE (0.87 of a core, 485 MB of warnings in 25 s).
#
#   bench/extension-fd-limit.sh                   # 25 s (+ release build)
#   SECONDS_RUN=5 bench/extension-fd-limit.sh     # smoke run
#   ROLLCALL_BIN=path/to/rollcall bench/extension-fd-limit.sh
source "$(dirname "$0")/common.sh"

SECONDS_RUN="${SECONDS_RUN:-25}"
FD_LIMIT="${FD_LIMIT:-64}"
CONNECTIONS="${CONNECTIONS:-300}"
ROLLCALL_BIN="${ROLLCALL_BIN:-$TARGET_DIR/release/rollcall}"
need python3 "the stub API and the client are Python 3 (stdlib only)"
if [[ ! -x "$ROLLCALL_BIN" || -n "${BUILD:-}" ]]; then
    echo "building release rollcall..." >&2
    (cd "$ROOT" && cargo build --release -p rollcall-extension --bin rollcall) >&2
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API_PORT="$(free_port)"
PROXY_PORT="$(free_port)"
TELEMETRY_PORT="$(free_port)"

# Stub Extensions API: register answers, next waits for ever, everything else 200.
cat >"$WORK/api.py" <<'EOF'
import http.server, socketserver, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, body=b'{}', headers=()):
        self.send_response(200)
        for k, v in headers: self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.endswith("/extension/register"):
            self.reply(b'{"functionName":"f","functionVersion":"1","handler":"h"}',
                       [("Lambda-Extension-Identifier", "bench")])
        else: self.reply()
    def do_PUT(self):
        self.rfile.read(int(self.headers.get("content-length") or 0)); self.reply(b'"OK"')
    def do_GET(self):
        if self.path.endswith("/event/next"): threading.Event().wait()
        self.reply()
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
python3 "$WORK/api.py" "$API_PORT" &
PIDS+=($!)
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $API_PORT))" 2>/dev/null; do :; done

(
    ulimit -n "$FD_LIMIT"
    exec env -i PATH="$PATH" TMPDIR="$WORK" AWS_LAMBDA_RUNTIME_API="127.0.0.1:$API_PORT" \
        AWS_LAMBDA_FUNCTION_VERSION=1 ROLLCALL_PROXY_PORT="$PROXY_PORT" \
        ROLLCALL_TELEMETRY_PORT="$TELEMETRY_PORT" "$ROLLCALL_BIN"
) >"$WORK/stdout.log" 2>"$WORK/stderr.log" &
EXT_PID=$!
PIDS+=("$EXT_PID")
until [[ -e "$WORK/rollcall-proxy-$PROXY_PORT.ready" ]]; do
    kill -0 "$EXT_PID" 2>/dev/null || { cat "$WORK/stderr.log" >&2; exit 1; }
done

# Client: keep CONNECTIONS idle connections open, reopening any the proxy closes.
cat >"$WORK/client.py" <<'EOF'
import selectors, socket, sys, time
port, want, until = int(sys.argv[1]), int(sys.argv[2]), time.time() + float(sys.argv[3])
sel = selectors.DefaultSelector()
opened = closed = 0
while time.time() < until:
    while len(sel.get_map()) < want:
        s = socket.socket(); s.setblocking(False)
        try: s.connect(("127.0.0.1", port))
        except BlockingIOError: pass
        sel.register(s, selectors.EVENT_READ); opened += 1
    for key, _ in sel.select(timeout=0.5):
        try: data = key.fileobj.recv(1024)
        except OSError: data = b""
        if not data:
            sel.unregister(key.fileobj); key.fileobj.close(); closed += 1
print(f"client: {opened} connections opened, {closed} closed by the server")
EOF
ticks() { awk '{ print $14 + $15 }' "/proc/$EXT_PID/stat"; }
HZ="$(getconf CLK_TCK)"
before_ticks="$(ticks)"
before_log="$(stat -c %s "$WORK/stderr.log")"
python3 "$WORK/client.py" "$PROXY_PORT" "$CONNECTIONS" "$SECONDS_RUN"
after_ticks="$(ticks)"
after_log="$(stat -c %s "$WORK/stderr.log")"
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; $(date -u +%FT%TZ); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
awk -v t=$((after_ticks - before_ticks)) -v hz="$HZ" -v s="$SECONDS_RUN" -v l=$((after_log - before_log)) \
    -v fd="$FD_LIMIT" -v c="$CONNECTIONS" 'BEGIN {
    printf "ulimit -n %d, %d connections held, %d s: extension CPU %.2f s (%.3f of a core), log %d bytes\n",
        fd, c, s, t / hz, t / hz / s, l }'
grep -c "accept failed" "$WORK/stderr.log" | sed 's/^/accept-failed warnings: /'

#!/usr/bin/env bash
# Memory of the extension when a runtime posts a huge chunked `/response` (50 MB by default)
# through the proxy: VmRSS and VmHWM (peak) of the `rollcall` process before and after. The
# stub Runtime API reads the body as it comes and answers 413 past the 6 MB limit, as Lambda
# does. Before the fix the proxy held the whole body (11 -> 124 MB); now it streams a response
# past the limit through, so the peak stays near the 6 MB it may buffer for tagging.
#
#   bench/extension-large-response.sh                 # 50 MB (+ release build)
#   MEGABYTES=200 bench/extension-large-response.sh
#   ROLLCALL_BIN=path/to/rollcall bench/extension-large-response.sh
source "$(dirname "$0")/common.sh"

MEGABYTES="${MEGABYTES:-50}"
ROLLCALL_BIN="${ROLLCALL_BIN:-$TARGET_DIR/release/rollcall}"
need python3 "the stub API and the client are Python 3 (stdlib only)"
if [[ ! -x "$ROLLCALL_BIN" || -n "${BUILD:-}" ]]; then
    echo "building release rollcall..." >&2
    (cd "$ROOT" && cargo build --release -p rollcall-extension --bin rollcall) >&2
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API_PORT="$(free_port)"
PROXY_PORT="$(free_port)"

cat >"$WORK/api.py" <<'EOF'
import http.server, socketserver, sys, threading
EVENT = b'{"httpMethod":"POST","path":"/big","headers":{}}'
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, status=200, body=b'{}', headers=()):
        self.send_response(status)
        for k, v in headers: self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def drain(self):
        n = 0
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline(); return n
                while size:
                    got = len(self.rfile.read(min(size, 1 << 16))); size -= got; n += got
                self.rfile.readline()
        return len(self.rfile.read(int(self.headers.get("content-length") or 0)))
    def do_POST(self):
        n = self.drain()
        if self.path.endswith("/extension/register"):
            self.reply(200, b'{"functionName":"f","functionVersion":"1","handler":"h"}',
                       [("Lambda-Extension-Identifier", "bench")])
        elif self.path.endswith("/response") and n > 6291456:
            self.reply(413, b'{"errorType":"RequestEntityTooLarge","errorMessage":"Exceeded maximum allowed payload size (6291556 bytes)."}')
        else: self.reply(202)
    def do_PUT(self):
        self.drain(); self.reply(200, b'"OK"')
    def do_GET(self):
        if self.path.endswith("/event/next"): threading.Event().wait()
        if self.path.endswith("/invocation/next"):
            self.reply(200, EVENT, [("Lambda-Runtime-Aws-Request-Id", "big-1"),
                                    ("Lambda-Runtime-Deadline-Ms", "4102444800000")])
        else: self.reply()
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
python3 "$WORK/api.py" "$API_PORT" &
PIDS+=($!)
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $API_PORT))" 2>/dev/null; do :; done

env -i PATH="$PATH" TMPDIR="$WORK" AWS_LAMBDA_RUNTIME_API="127.0.0.1:$API_PORT" \
    AWS_LAMBDA_FUNCTION_VERSION=1 ROLLCALL_PROXY_PORT="$PROXY_PORT" ROLLCALL_METRICS=off \
    "$ROLLCALL_BIN" >"$WORK/stdout.log" 2>"$WORK/stderr.log" &
EXT_PID=$!
PIDS+=("$EXT_PID")
until [[ -e "$WORK/rollcall-proxy-$PROXY_PORT.ready" ]]; do
    kill -0 "$EXT_PID" 2>/dev/null || { cat "$WORK/stderr.log" >&2; exit 1; }
done

mem() { awk '/^VmRSS|^VmHWM/ { printf "%s %s kB  ", $1, $2 }' "/proc/$EXT_PID/status"; }
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; $(date -u +%FT%TZ); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
echo "before: $(mem)"
python3 - "$PROXY_PORT" "$MEGABYTES" <<'EOF'
import http.client, sys
port, mb = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("GET", "/2018-06-01/runtime/invocation/next"); r = c.getresponse(); r.read()
rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
chunk = b" " * (1 << 20)
def body():
    for _ in range(mb): yield chunk
c.request("POST", f"/2018-06-01/runtime/invocation/{rid}/response", body=body(),
          encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
r = c.getresponse()
print(f"{mb} MB chunked response: the Runtime API answered {r.status}")
EOF
echo "after:  $(mem)"

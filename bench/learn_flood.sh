#!/usr/bin/env bash
# The learning period under one client's flood (issue 15, item 5): a fresh
# Wafer (learning, default settings) in front of a small Python upstream; one
# client sends N GETs with a large header over one keep-alive connection.
# Prints Wafer's RSS before and after (and its peak), and what the model
# status says of the learning period.
#
# Usage: bench/learn_flood.sh [WAFER=target/debug/wafer] [requests=9900] [header KiB=60]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
exec python3 - "${1:-$ROOT/target/debug/wafer}" "${2:-9900}" "${3:-60}" <<'PY'
import http.server, json, os, socket, subprocess, sys, tempfile, threading, time, urllib.request

wafer, n, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

class Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass

upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
threading.Thread(target=upstream.serve_forever, daemon=True).start()

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p

proxy, admin = free_port(), free_port()
token = "bench-admin-token-0123456789"
data = tempfile.mkdtemp(prefix="learn-flood-")
with open(os.path.join(data, "wafer.toml"), "w") as f:
    f.write(f'[admin]\ntoken = "{token}"\n')
log = open(os.path.join(data, "wafer.log"), "w")
proc = subprocess.Popen([wafer, "run", "-c", os.path.join(data, "wafer.toml"),
    "--listen", f"127.0.0.1:{proxy}", "--upstream", f"http://127.0.0.1:{upstream.server_port}",
    "--events", "none", "--log-level", "warn", "--admin-listen", f"127.0.0.1:{admin}",
    "--data-dir", data], stderr=log, stdout=log)

def status(field):
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    return -1

def model():
    req = urllib.request.Request(f"http://127.0.0.1:{admin}/api/model",
                                 headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req, timeout=10))

class Conn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", proxy))
        self.buf = b""
    def get(self, target, extra=b""):
        self.s.sendall(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: shop.example\r\n"
                       b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0\r\n" + extra + b"\r\n")
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise SystemExit("connection closed by wafer")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(self.buf) < length:
            self.buf += self.s.recv(65536)
        self.buf = self.buf[length:]
        return int(head.split(b" ")[1])

try:
    for _ in range(100):
        try:
            model()
            break
        except Exception:
            time.sleep(0.1)
    c = Conn()
    for i in range(10):
        c.get(f"/products/{i}?ref=home")
    before = status("VmRSS")
    pad = b"X-Pad: " + b"b" * (kib * 1024) + b"\r\n"
    started, codes = time.time(), {}
    for i in range(n):
        code = c.get(f"/products/{1000 + i}?ref=home&page={i % 7}", pad)
        codes[code] = codes.get(code, 0) + 1
    took = time.time() - started
    time.sleep(1)
    m = model()
    print(f"wafer: {wafer}")
    print(f"{n} GETs with a {kib} KiB header from one client in {took:.1f} s; statuses {codes}")
    print(f"RSS before {before} MB, after {status('VmRSS')} MB, peak {status('VmHWM')} MB")
    print(f"model: active {m['active']['info']['version']}, learning {m['learning']}")
    print("learned: " + json.dumps(m.get("learned"), indent=1))
finally:
    proc.terminate()
    proc.wait()
PY

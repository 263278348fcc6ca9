#!/usr/bin/env python3
"""Failover (issue 20): a site with two servers, A and B, under steady traffic
(GETs and POSTs from two client threads); B is killed, then started again.

Measured, for passive ejection alone and with an active health check:
- time from B's death until /metrics says it is out, and from its return
  until it is in again;
- requests that failed meanwhile (GETs are retried on another server when
  the connect fails; a POST is not sent twice, so it can fail).

Usage: bench/failover.py [WAFER=target/debug/wafer]
"""

import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WAFER = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/wafer")
if len(sys.argv) > 2 and sys.argv[1] == "serve":
    WAFER = None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self):
        n = int(self.headers.get("content-length") or 0)
        self.rfile.read(n)
        body = b"ok"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = reply
    do_POST = reply

    def log_message(self, *a):
        pass


def serve(port):
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Quiet)
    httpd.daemon_threads = True
    httpd.serve_forever()


class Server:
    """An upstream in its own process: killed with SIGKILL, its open
    connections die with it, as a crashed server's do."""

    def __init__(self, port):
        self.port = port
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([sys.executable, __file__, "serve", str(self.port)])
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def metric_up(admin, token, server):
    c = http.client.HTTPConnection("127.0.0.1", admin, timeout=2)
    c.request("GET", "/metrics", headers={"authorization": f"Bearer {token}"})
    text = c.getresponse().read().decode()
    for line in text.splitlines():
        if line.startswith("wafer_upstream_server_up{") and f'server="{server}' in line:
            return line.rsplit(" ", 1)[1] == "1"
    raise RuntimeError(f"no wafer_upstream_server_up for {server}")


def run(mode):
    a, b = Server(free_port()), Server(free_port())
    a.start()
    b.start()
    port, admin = free_port(), free_port()
    d = tempfile.mkdtemp(prefix="wafer-failover.")
    health = (
        '[sites.health_check]\npath = "/"\ninterval_secs = 1\ntimeout_secs = 1\nfall = 2\nrise = 2\n'
        if mode in ("active", "both")
        else ""
    )
    eject_after = 0 if mode == "active" else 1
    cfg = f"""listen = "127.0.0.1:{port}"
data_dir = "{d}/data"
default_site = "shop"
[admin]
listen = "127.0.0.1:{admin}"
[events]
output = "none"
[[sites]]
name = "shop"
hosts = ["shop.example"]
servers = [{{ url = "http://127.0.0.1:{a.port}" }}, {{ url = "http://127.0.0.1:{b.port}" }}]
eject_after = {eject_after}
eject_secs = 10
{health}"""
    with open(f"{d}/wafer.toml", "w") as f:
        f.write(cfg)
    proc = subprocess.Popen(
        [WAFER, "run", "--config", f"{d}/wafer.toml", "--log-level", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(0.5)
        token = open(f"{d}/data/admin-token").read().strip()
        stop = threading.Event()
        results = {"GET": [0, 0], "POST": [0, 0]}  # [sent, failed]

        def client(method):
            conn = None
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    body = b'{"item": 7}' if method == "POST" else None
                    conn.request(
                        method,
                        "/cart",
                        body=body,
                        headers={
                            "host": "shop.example",
                            "user-agent": "Mozilla/5.0 Firefox/133.0",
                            "content-type": "application/json",
                        },
                    )
                    r = conn.getresponse()
                    r.read()
                    results[method][0] += 1
                    if r.status != 200:
                        results[method][1] += 1
                except Exception:
                    results[method][0] += 1
                    results[method][1] += 1
                    conn = None
                time.sleep(0.005)

        threads = [threading.Thread(target=client, args=(m,)) for m in ("GET", "POST")]
        for t in threads:
            t.start()
        time.sleep(2)
        b_name = f"http://127.0.0.1:{b.port}"
        killed = time.monotonic()
        b.kill()
        while metric_up(admin, token, b_name):
            time.sleep(0.01)
        out_after = time.monotonic() - killed
        time.sleep(3)
        failed_while_down = {m: results[m][1] for m in results}
        revived = time.monotonic()
        b.start()
        deadline = revived + 30
        while not metric_up(admin, token, b_name) and time.monotonic() < deadline:
            time.sleep(0.01)
        in_after = time.monotonic() - revived
        time.sleep(1)
        stop.set()
        for t in threads:
            t.join()
        return {
            "mode": mode,
            "out_after_s": round(out_after, 3),
            "back_after_s": round(in_after, 3),
            "get_sent": results["GET"][0],
            "get_failed": results["GET"][1],
            "post_sent": results["POST"][0],
            "post_failed": results["POST"][1],
            "failed_while_down": failed_while_down,
        }
    finally:
        proc.terminate()
        proc.wait()
        a.kill()
        b.kill()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
        sys.exit(0)
    # passive: ejected on its first failure (eject_after = 1, for 10 s);
    # active: health checks alone (every 1 s, fall 2, rise 2); both.
    for mode in ("passive", "active", "both"):
        print(json.dumps(run(mode)))

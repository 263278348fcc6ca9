#!/usr/bin/env python3
"""Connection exhaustion, measured from outside (stdlib only): opens N idle
connections to the proxy (sending nothing), then times a fresh request to the
proxy and to the admin listener, then watches how long the idle connections
stay open. Prints one JSON object. Used by bench/exhaustion.sh.

Usage: exhaustion.py PROXY_PORT ADMIN_PORT TOKEN [idle=1100] [watch_secs=30]
"""
import json
import selectors
import socket
import sys
import time


def ask(port, path, headers="", timeout=10.0):
    """Time to the first byte of an answer (s) and its status line, or why none came."""
    start = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.settimeout(timeout - (time.monotonic() - start))
        s.sendall(
            f"GET {path} HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: exhaustion\r\n"
            f"Accept: */*\r\n{headers}Connection: close\r\n\r\n".encode()
        )
        first = s.recv(200)
        s.close()
        took = time.monotonic() - start
        if not first:
            return {"secs": round(took, 3), "answer": "closed without an answer"}
        return {"secs": round(took, 3), "answer": first.split(b"\r\n")[0].decode("latin-1")}
    except OSError as e:
        return {"secs": round(time.monotonic() - start, 3), "answer": f"error: {e}"}


def main():
    proxy, admin, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1100
    watch = float(sys.argv[5]) if len(sys.argv) > 5 else 30.0
    # All at once, non-blocking: a connect the server's full backlog leaves
    # pending counts as failed after 3 s instead of holding up the rest.
    opened_at = time.monotonic()
    pending = selectors.DefaultSelector()
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", proxy))
        pending.register(s, selectors.EVENT_WRITE)
    idle, failed = [], 0
    while pending.get_map() and time.monotonic() < opened_at + 3:
        for key, _ in pending.select(timeout=0.2):
            pending.unregister(key.fileobj)
            if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                idle.append(key.fileobj)
            else:
                failed += 1
                key.fileobj.close()
    for key in list(pending.get_map().values()):
        failed += 1
        key.fileobj.close()
    time.sleep(1.0)
    out = {
        "idle_opened": len(idle),
        "idle_failed": failed,
        "proxy_during": ask(proxy, "/"),
        "admin_during": ask(admin, "/api/info", f"Authorization: Bearer {token}\r\n"),
    }
    # How long the idle connections live: each one's close (EOF or reset) is timed.
    sel = selectors.DefaultSelector()
    for s in idle:
        sel.register(s, selectors.EVENT_READ)
    closed, answers = [], {}
    deadline = opened_at + watch
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data:
                line = data.split(b"\r\n")[0].decode("latin-1")
                answers[line] = answers.get(line, 0) + 1
                continue
            closed.append(time.monotonic() - opened_at)
            sel.unregister(s)
            s.close()
    closed.sort()
    out["idle_closed_within_watch"] = len(closed)
    out["idle_still_open_after_secs"] = [round(watch, 1), len(sel.get_map())]
    if closed:
        out["idle_lifetime_secs"] = {
            "min": round(closed[0], 2),
            "median": round(closed[len(closed) // 2], 2),
            "max": round(closed[-1], 2),
        }
    out["what_idle_connections_got"] = answers
    # The server's side: a connection the client thinks open may never have
    # been accepted (a full backlog, SYN cookies), and so holds nothing there.
    try:
        import subprocess
        ss = subprocess.run(
            ["ss", "-Htn", "state", "established", f"( sport = :{proxy} )"],
            capture_output=True, text=True, check=True,
        ).stdout
        out["server_side_open_at_end"] = len(ss.splitlines())
    except (OSError, subprocess.CalledProcessError):
        pass
    out["proxy_after"] = ask(proxy, "/")
    out["admin_after"] = ask(admin, "/api/info", f"Authorization: Bearer {token}\r\n")
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

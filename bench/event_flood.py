#!/usr/bin/env python3
"""Floods a running Wafer with blocked requests and measures what the events cost.

Used by bench/amplification.sh and bench/killnine.sh. Each client is its own
process with its own source address (127.0.0.N), keeps one connection open,
and sends the same hostile POST as fast as Wafer answers it; it counts the
statuses, and for the kill -9 test writes the time and request id of each 403 it received.

  flood PORT SECONDS CLIENTS PID OUTDIR [--name-bytes N (default 122880)] [--small]
      prints JSON: requests, statuses, RSS samples (MB) of PID, peak
"""
import json
import os
import socket
import sys
import time
from multiprocessing import Process, Queue

TOKENS = ("' UNION SELECT password FROM users-- <script>alert(1)</script> "
          "../../../../etc/passwd ;cat /etc/shadow; ${jndi:ldap://x/a} ")


def pct(s):
    return "".join(c if c.isalnum() else "%%%02X" % ord(c) for c in s)


def form(s):
    return s.replace(" ", "+")


def request(name_bytes, small):
    if small:
        body = "q=" + pct("1' UNION SELECT password FROM users--")
    else:
        # Only spaces need encoding in these tokens (no & = + %), so the body
        # stays within the 128 KiB Wafer parses into named arguments.
        name = (TOKENS * (name_bytes // len(TOKENS) + 1))[:name_bytes]
        body = form(name) + "=" + form(TOKENS * 16)
    body = body.encode()
    head = ("POST /search HTTP/1.1\r\nHost: shop.example\r\n"
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: %d\r\n\r\n" % len(body)).encode()
    return head + body


def read_response(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, close, rid = 0, False, ""
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        k = k.strip().lower()
        if k == b"content-length":
            length = int(v)
        elif k == b"connection" and b"close" in v.lower():
            close = True
        elif k == b"x-request-id":
            rid = v.strip().decode()
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return (status, close, rid), rest[length:]


def client(idx, port, until, req, out, times_path):
    src = "127.0.0.%d" % (idx + 2)
    counts, n = {}, 0
    times = open(times_path, "w") if times_path else None
    sock, buf, fresh = None, b"", False
    while time.time() < until:
        try:
            if sock is None:
                sock = socket.socket()
                sock.bind((src, 0))
                sock.connect(("127.0.0.1", port))
                buf, fresh = b"", True
            sock.sendall(req)
            got, buf = read_response(sock, buf)
            if got is None:
                raise ConnectionError("closed")
            status, close, rid = got
            fresh = False
            n += 1
            counts[status] = counts.get(status, 0) + 1
            if times and status == 403:
                times.write("%.6f %s\n" % (time.time(), rid))
            if close:
                sock.close()
                sock = None
        except OSError:
            # A kept-alive connection Wafer closed after its last answer is
            # simply reopened; a fresh one failing is an error.
            if sock:
                sock.close()
            sock = None
            key = "error" if fresh else "reconnect"
            counts[key] = counts.get(key, 0) + 1
            if fresh:
                time.sleep(0.01)
    if times:
        times.close()
    out.put((n, counts))


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def flood(argv):
    port, secs, nclients, pid, outdir = int(argv[0]), float(argv[1]), int(argv[2]), int(argv[3]), argv[4]
    name_bytes = 120 * 1024
    small = "--small" in argv
    if "--name-bytes" in argv:
        name_bytes = int(argv[argv.index("--name-bytes") + 1])
    req = request(name_bytes, small)
    q = Queue()
    until = time.time() + secs
    procs = [Process(target=client, args=(i, port, until, req, q,
                                          os.path.join(outdir, "403-times.%d" % i)))
             for i in range(nclients)]
    for p in procs:
        p.start()
    samples = []
    while any(p.is_alive() for p in procs):
        r = rss_mb(pid)
        if r is not None:
            samples.append(round(r, 1))
        time.sleep(0.1)
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    statuses = {}
    for _, c in results:
        for k, v in c.items():
            statuses[str(k)] = statuses.get(str(k), 0) + v
    print(json.dumps({
        "request_bytes": len(req),
        "requests": sum(n for n, _ in results),
        "statuses": statuses,
        "rss_start_mb": samples[0] if samples else None,
        "rss_peak_mb": max(samples) if samples else None,
        "rss_samples_mb": samples[:: max(1, len(samples) // 20)],
    }))


def lost(argv):
    """lost OUTDIR KILL_TIME DB: which answered 403s have no stored event, and how
    long before the kill each was answered."""
    import glob
    import sqlite3
    outdir, kill_t, db = argv[0], float(argv[1]), argv[2]
    answered = []
    for path in glob.glob(os.path.join(outdir, "403-times.*")):
        for line in open(path):
            t, _, rid = line.strip().partition(" ")
            if rid:
                answered.append((float(t), rid))
    stored = {r[0] for r in sqlite3.connect(db).execute("SELECT id FROM events")}
    missing = sorted(kill_t - t for t, rid in answered if rid not in stored)
    window = lambda ms: sum(1 for t, _ in answered if kill_t - t <= ms / 1000)
    print(json.dumps({
        "answered_403": len(answered),
        "stored_events": len(stored),
        "lost": len(missing),
        "lost_pct": round(100 * len(missing) / max(1, len(answered)), 3),
        "lost_oldest_ms_before_kill": round(1000 * missing[-1], 1) if missing else None,
        "answered_in_last_100ms": window(100),
        "answered_in_last_200ms": window(200),
        "answered_in_last_500ms": window(500),
        "lost_answered_over_100ms_before_kill": sum(1 for m in missing if m > 0.1),
    }))


if __name__ == "__main__":
    if sys.argv[1] == "flood":
        flood(sys.argv[2:])
    elif sys.argv[1] == "lost":
        lost(sys.argv[2:])
    else:
        sys.exit("usage: event_flood.py flood PORT SECONDS CLIENTS PID OUTDIR [--name-bytes N] [--small]")

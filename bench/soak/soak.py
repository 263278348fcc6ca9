"""The soak driver: starts Redis, PostgreSQL (or SQLite), the upstream and
Wafer; drives mixed traffic, admin queries, SSE and WebSocket clients for
SOAK_MINUTES; restarts Redis, PostgreSQL and Wafer (SIGTERM) on the way; then
checks that every request was answered as its class expects, that every event
published was stored (one per blocked attack), that live clients saw events,
that Wafer's RSS did not grow in the second half, and that Wafer never
panicked. Exit code 1 and the reasons when anything differs.

Run through bench/soak.sh, which builds Wafer and cleans up.
"""

import asyncio
import collections
import json
import os
import random
import re
import sqlite3
import sys
import time

import services
import traffic
import wire

ENV = os.environ
MINUTES = float(ENV.get("SOAK_MINUTES", "30"))
RATE = float(ENV.get("SOAK_RATE", "150"))  # HTTP requests per second through Wafer
STORE = ENV.get("SOAK_STORE", "postgres")
WORK = ENV["SOAK_WORK"]
BINARY = ENV["SOAK_WAFER"]
RSS_TOL_MB = float(ENV.get("SOAK_RSS_TOLERANCE_MB", "20"))
RSS_TOL_PCT = float(ENV.get("SOAK_RSS_TOLERANCE_PCT", "10"))
HTTP_WORKERS = 12
WS_WORKERS = 3
SSE_CLIENTS = 2
TOKEN = "soak-admin-token-" + os.urandom(8).hex()

# When, as a fraction of the run, each fault happens, and how long a service stays down.
AT_REDIS, AT_PG, AT_WAFER = 0.20, 0.30, 0.40
DOWN_SECS = 2.0


class Tally:
    def __init__(self):
        self.http = collections.defaultdict(collections.Counter)  # class -> outcome -> n
        self.kind = {}
        self.attack_ids = set()  # x-request-id of every attack answered 403
        self.wrongly_blocked_ids = set()  # and of every other request answered 403 by inspection
        self.unexpected = []  # (t, class, outcome, detail)
        self.retried = 0
        self.ws = collections.Counter()
        self.ws_blocked_conns = set()
        self.admin = collections.defaultdict(collections.Counter)
        self.sse = [collections.Counter() for _ in range(SSE_CLIENTS)]
        self.sse_ids = [set() for _ in range(SSE_CLIENTS)]
        self.live_ws = collections.Counter()
        self.live_ws_ids = set()
        self.windows = []  # (label, start, end) monotonic seconds
        self.rss = []  # (t, run, kib)


T = Tally()
T0 = time.monotonic()
T0_WALL_MS = time.time() * 1000


def now():
    return time.monotonic() - T0


def in_window(label, t, slack=0.0, until=None):
    """Whether [t, until] (a request from its start to its answer) overlaps the
    fault `label`, or lies within `slack` seconds after it: a request already
    in flight when a service stops is affected as much as one sent after."""
    until = t if until is None else until
    return any(w[0] == label and w[1] <= until and t <= (w[2] if w[2] is not None else 1e18) + slack for w in T.windows)


# --- clients -------------------------------------------------------------


async def http_worker(i, port, deadline):
    rng = random.Random(i)
    host = f"127.0.0.1:{port}"
    conn = None
    period = HTTP_WORKERS / RATE
    next_t = now() + rng.random() * period
    while now() < deadline:
        await asyncio.sleep(max(0.0, next_t - now()))
        next_t = max(next_t + period, now() - 1)
        name, kind, raw, method = traffic.request_for(rng, host)
        T.kind[name] = kind
        start = now()
        resp, err = None, None
        for attempt in range(2):
            reused = False
            try:
                if conn is None or conn.closed or conn.served >= 100:
                    if conn:
                        conn.close()
                    conn = await wire.Conn.open("127.0.0.1", port)
                reused = conn.served > 0
                resp = await conn.request(raw, method)
                break
            except wire.WireError as e:
                err = e
                conn = None
                # A server closing an idle keep-alive connection races the
                # next request on it; every HTTP client retries that once.
                if attempt == 0 and reused and e.kind == "closed before a response":
                    T.retried += 1
                    continue
                break
        end = now()
        if resp is None:
            if in_window("wafer restart", start, 1.0) or in_window("wafer restart", end, 1.0):
                T.http[name]["refused while down"] += 1
            else:
                T.http[name]["error: " + err.kind] += 1
                T.unexpected.append((round(start, 1), name, "error: " + err.kind, str(err)))
            await asyncio.sleep(0.1)
            continue
        T.http[name][str(resp.status)] += 1
        if resp.status not in traffic.EXPECTED[kind]:
            T.unexpected.append((round(start, 1), name, str(resp.status), resp.headers.get("x-request-id", "?")))
            if resp.status == 403:
                T.wrongly_blocked_ids.add(resp.headers.get("x-request-id", "?"))
        elif kind == "attack":
            T.attack_ids.add(resp.headers.get("x-request-id", "?"))
    if conn:
        conn.close()


async def ws_session(rng, port):
    """One WebSocket through Wafer to the upstream echo."""
    conn = await wire.Conn.open("127.0.0.1", port)
    r, w = conn.reader, conn.writer
    try:
        key = wire.ws_key()
        raw = wire.build(
            "GET",
            "/ws/echo",
            f"127.0.0.1:{port}",
            [
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", key),
                ("Sec-WebSocket-Version", "13"),
                ("User-Agent", traffic.UA),
                ("X-Soak-Class", "ws"),
                ("X-Forwarded-For", traffic.benign_ip(rng)),
            ],
        )
        w.write(raw)
        status, headers = await wire._read_head(r, 10)
        if status != 101 or headers.get("sec-websocket-accept") != wire.ws_accept(key):
            return f"upgrade answered {status}"
        T.ws["sessions"] += 1
        conn_id = headers.get("x-request-id", "?")
        for _ in range(rng.randrange(2, 7)):
            msg = traffic.ws_benign(rng)
            w.write(wire.ws_frame(1, msg))
            op, got = await asyncio.wait_for(wire.ws_read_message(r, w), 10)
            if op != 1 or got != msg:
                return f"echo differs (opcode {op})"
            T.ws["echoed"] += 1
            await asyncio.sleep(rng.random() * 0.3)
        if rng.random() < 0.4:
            w.write(wire.ws_frame(1, traffic.ws_attack(rng)))
            op, got = await asyncio.wait_for(wire.ws_read_message(r, w), 10)
            if op != 8 or wire.close_code(got) != 1008:
                return f"attack message not closed with 1008 (opcode {op}, code {wire.close_code(got) if op == 8 else None})"
            T.ws["attacks closed 1008"] += 1
            T.ws_blocked_conns.add(conn_id)
        else:
            w.write(wire.ws_frame(8, b"\x03\xe8"))
            op, got = await asyncio.wait_for(wire.ws_read_message(r, w), 10)
            if op != 8:
                return "no close answered"
            T.ws["closed 1000"] += 1
        return None
    finally:
        conn.close()


async def ws_worker(i, port, deadline):
    rng = random.Random(1000 + i)
    while now() < deadline:
        start = now()
        try:
            problem = await ws_session(rng, port)
        except (wire.WireError, asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, OSError) as e:
            problem = getattr(e, "kind", type(e).__name__)
        if problem:
            if in_window("wafer restart", start, 1.0) or in_window("wafer restart", now(), 1.0):
                T.ws["ended by the wafer restart"] += 1
            else:
                T.ws["error: " + problem] += 1
                T.unexpected.append((round(start, 1), "ws", problem, ""))
        await asyncio.sleep(0.5 + rng.random())


ADMIN_QUERIES = [
    "/api/events?limit=20",
    "/api/events?class=sqli&from=-15m&limit=5",
    "/api/stats?from=-15m&top=5",
    "/metrics",
    "/api/bans",
    "/api/info",
    "/api/events?action=block&sort=-score&limit=10",
]


async def admin_worker(port, deadline):
    i = 0
    while now() < deadline:
        path = ADMIN_QUERIES[i % len(ADMIN_QUERIES)]
        i += 1
        start = now()
        label = path.split("?")[0]
        try:
            conn = await wire.Conn.open("127.0.0.1", port)
            raw = wire.build("GET", path, f"127.0.0.1:{port}", [("Authorization", f"Bearer {TOKEN}"), ("Connection", "close")])
            resp = await conn.request(raw, timeout=20)
            conn.close()
            outcome = str(resp.status)
            ok = resp.status == 200
        except wire.WireError as e:
            outcome, ok = "error: " + e.kind, False
        answered = now()
        if not ok:
            # Queries that read the store may fail while PostgreSQL restarts; nothing answers while Wafer restarts.
            if in_window("wafer restart", start, 1.0, answered):
                outcome = "during wafer restart: " + outcome
            elif in_window("postgres restart", start, 5.0, answered) and label != "/metrics":
                outcome = "during postgres restart: " + outcome
            else:
                T.unexpected.append((round(start, 1), "admin " + label, outcome, ""))
        T.admin[label][outcome] += 1
        await asyncio.sleep(0.5)


async def sse_client(i, port, stop):
    last = None
    c = T.sse[i]
    while not stop.is_set():
        conn = None
        try:
            conn = await wire.Conn.open("127.0.0.1", port)
            hdrs = [("Authorization", f"Bearer {TOKEN}"), ("Accept", "text/event-stream")]
            if last:
                hdrs.append(("Last-Event-ID", last))
            conn.writer.write(wire.build("GET", "/events", f"127.0.0.1:{port}", hdrs))
            status, headers = await wire._read_head(conn.reader, 10)
            if status != 200:
                c[f"connect answered {status}"] += 1
                raise wire.WireError("status")
            c["connects"] += 1
            async for event, eid, data in wire.sse_events(conn.reader, headers):
                if event == "waf":
                    c["events"] += 1
                    T.sse_ids[i].add(eid)
                    last = eid
                elif event == "lagged":
                    c["missed (lagged)"] += json.loads(data).get("missed", 0)
        except (wire.WireError, asyncio.IncompleteReadError, ConnectionError, OSError, ValueError):
            pass
        finally:
            if conn:
                conn.close()
        await asyncio.sleep(0.3)


async def live_ws_client(port, stop):
    while not stop.is_set():
        conn = None
        try:
            conn = await wire.Conn.open("127.0.0.1", port)
            key = wire.ws_key()
            conn.writer.write(
                wire.build(
                    "GET",
                    "/ws",
                    f"127.0.0.1:{port}",
                    [("Authorization", f"Bearer {TOKEN}"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                     ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")],
                )
            )
            status, _ = await wire._read_head(conn.reader, 10)
            if status != 101:
                T.live_ws[f"connect answered {status}"] += 1
                raise wire.WireError("status")
            T.live_ws["connects"] += 1
            while True:
                op, payload = await wire.ws_read_message(conn.reader, conn.writer)
                if op == 8:
                    break
                msg = json.loads(payload)
                if msg.get("type") == "event":
                    T.live_ws["events"] += 1
                    T.live_ws_ids.add(msg["event"]["id"])
                elif msg.get("type") == "lagged":
                    T.live_ws["missed (lagged)"] += msg.get("missed", 0)
                else:
                    T.live_ws["telemetry"] += 1
        except (wire.WireError, asyncio.IncompleteReadError, ConnectionError, OSError, ValueError):
            pass
        finally:
            if conn:
                conn.close()
        await asyncio.sleep(0.3)


async def rss_sampler(wafer, stop):
    while not stop.is_set():
        kib = services.rss_kib(wafer.pid)
        if kib is not None:
            T.rss.append((round(now()), len(wafer.runs), kib))
        try:
            await asyncio.wait_for(stop.wait(), 10)
        except asyncio.TimeoutError:
            pass


# --- faults --------------------------------------------------------------


async def faults(duration, redis, pg, wafer):
    async def at(frac):
        await asyncio.sleep(max(0.0, frac * duration - now()))

    await at(AT_REDIS)
    w = ["redis restart", now(), None]
    T.windows.append(w)
    print(f"[{now():7.1f}s] restarting Redis (shutdown nosave, {DOWN_SECS:.0f} s down)", flush=True)
    await asyncio.to_thread(redis.restart, DOWN_SECS)
    w[2] = now()
    if pg:
        await at(AT_PG)
        w = ["postgres restart", now(), None]
        T.windows.append(w)
        print(f"[{now():7.1f}s] restarting PostgreSQL (fast stop, {DOWN_SECS:.0f} s down)", flush=True)
        await asyncio.to_thread(pg.restart, DOWN_SECS)
        w[2] = now()
    await at(AT_WAFER)
    w = ["wafer restart", now(), None]
    T.windows.append(w)
    print(f"[{now():7.1f}s] SIGTERM to Wafer (pid {wafer.pid})", flush=True)
    code = await asyncio.to_thread(wafer.terminate)
    stopped = now()
    await asyncio.to_thread(wafer.start)
    w[2] = now()
    print(f"[{now():7.1f}s] Wafer exited with {code} after {stopped - w[1]:.1f} s; restarted (pid {wafer.pid}), "
          f"down {w[2] - w[1]:.1f} s", flush=True)
    return code


# --- the run -------------------------------------------------------------


def write_config(path, proxy_port, admin_port, up_port, redis, store_url):
    with open(path, "w") as f:
        f.write(
            f"""listen = "127.0.0.1:{proxy_port}"
upstream = "http://127.0.0.1:{up_port}"
trusted_proxies = ["127.0.0.1"]
data_dir = "{WORK}/wafer-data"
redis_url = "{redis.url}"

[[rate_limits]]          # every request checks a limit in Redis; nobody reaches it
name = "everyone"
rate = "100000/s"
burst = 100000

[[rate_limits]]          # one client is over this one all the time
name = "tight"
path = "/limited/"
rate = "2/s"
burst = 2

[bans]                   # strikes counted in Redis; attackers are spread too wide to earn one
after = 50
within_secs = 60
minutes = 10

[store]
url = "{store_url}"

[events]                 # every blocked attack must have its event: no per-client sampling
sample_per_sec = 0

[admin]
listen = "127.0.0.1:{admin_port}"
token = "{TOKEN}"

[log]
level = "info"
"""
        )


def store_rows(pg, sqlite_path):
    """(id, action, reason, ts_ms) of every stored event."""
    q = "SELECT id, action, {}, ts_ms FROM events"
    if pg:
        rows = pg.sql(q.format("coalesce(doc::json->>'reason', '')"))
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]
    db = sqlite3.connect(sqlite_path)
    try:
        return [(a, b, c or "", d) for a, b, c, d in db.execute(q.format("json_extract(doc, '$.reason')"))]
    finally:
        db.close()


async def main():
    os.makedirs(os.path.join(WORK, "pids"), exist_ok=True)
    duration = MINUTES * 60
    print(f"soak: {MINUTES:g} min, {RATE:g} requests/s, store {STORE}, logs in {WORK}", flush=True)
    redis = services.Redis(WORK)
    redis.start()
    pg = None
    sqlite_path = os.path.join(WORK, "events.db")
    if STORE == "postgres":
        pg = services.Postgres(WORK)
        pg.init()
        store_url = pg.url
    else:
        store_url = "sqlite:" + sqlite_path
    up_port = services.free_port()
    upstream = services.Proc(WORK, "upstream", [sys.executable, os.path.join(services.HERE, "upstream.py"), str(up_port)]).start()
    if not services.wait_port(up_port, 10, upstream.p):
        sys.exit("soak: the upstream did not start")
    proxy_port, admin_port = services.free_port(), services.free_port()
    config = os.path.join(WORK, "wafer.toml")
    write_config(config, proxy_port, admin_port, up_port, redis, store_url)
    wafer = services.Wafer(WORK, BINARY, config, TOKEN, admin_port)
    wafer.start()
    # A ban made through the API, held in Redis: it must outlive the Redis and Wafer restarts.
    import urllib.request

    req = urllib.request.Request(
        f"http://127.0.0.1:{admin_port}/api/bans",
        data=json.dumps({"ip": traffic.BANNED_IP, "minutes": int(MINUTES) + 60, "reason": "soak"}).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(req, timeout=10).read()

    global T0, T0_WALL_MS
    T0, T0_WALL_MS = time.monotonic(), time.time() * 1000
    stop_live = asyncio.Event()
    live = [asyncio.create_task(sse_client(i, admin_port, stop_live)) for i in range(SSE_CLIENTS)]
    live.append(asyncio.create_task(live_ws_client(admin_port, stop_live)))
    live.append(asyncio.create_task(rss_sampler(wafer, stop_live)))
    drivers = [asyncio.create_task(http_worker(i, proxy_port, duration)) for i in range(HTTP_WORKERS)]
    drivers += [asyncio.create_task(ws_worker(i, proxy_port, duration)) for i in range(WS_WORKERS)]
    drivers.append(asyncio.create_task(admin_worker(admin_port, duration)))
    fault_task = asyncio.create_task(faults(duration, redis, pg, wafer))

    async def progress():
        while now() < duration:
            await asyncio.sleep(60)
            sent = sum(sum(c.values()) for c in T.http.values())
            rss = T.rss[-1][2] // 1024 if T.rss else 0
            print(f"[{now():7.1f}s] {sent} requests, {len(T.attack_ids)} attacks blocked, RSS {rss} MiB, "
                  f"{len(T.unexpected)} unexpected", flush=True)

    prog = asyncio.create_task(progress())
    await asyncio.gather(*drivers)
    first_code = await fault_task
    prog.cancel()
    # Let the live clients catch the last events, then the store catch up.
    for _ in range(100):
        try:
            m = wafer.admin("/metrics").decode()
            lag = re.search(r"^wafer_store_lag_events (\d+)", m, re.M)
            if lag and lag.group(1) == "0":
                break
        except OSError:
            pass
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)
    metrics_end = wafer.admin("/metrics").decode()
    api_total = sum(1 for line in wafer.admin("/api/export?format=jsonl", timeout=120).splitlines() if line.strip())
    stop_live.set()
    for t in live:
        t.cancel()
    await asyncio.gather(*live, return_exceptions=True)
    last_code = wafer.terminate()
    up_stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{up_port}/__soak/stats", timeout=10).read())
    upstream.stop()
    rows = store_rows(pg, sqlite_path)
    if pg:
        pg.stop()
    redis.stop()
    return report(wafer, rows, api_total, up_stats, metrics_end, [first_code, last_code], duration)


# --- the summary ---------------------------------------------------------


def metric(text, name):
    m = re.search(rf"^{re.escape(name)} (\d+)", text, re.M)
    return int(m.group(1)) if m else None


def report(wafer, rows, api_total, up_stats, metrics_end, codes, duration):
    fail = []
    out = print
    out("\n==== soak summary ====")
    out(f"duration {duration / 60:g} min; faults: " + ", ".join(f"{w[0]} at {w[1]:.0f}s (down {w[2] - w[1]:.1f} s)" for w in T.windows))

    # Requests by class.
    out("\nrequests through the proxy, by class (expected answer):")
    totals = collections.Counter()
    for name in sorted(T.http, key=lambda n: (T.kind[n], n)):
        c = T.http[name]
        kind = T.kind[name]
        sent = sum(c.values())
        totals["sent"] += sent
        answered = sum(v for k, v in c.items() if k.isdigit())
        totals["answered"] += answered
        totals["down"] += c["refused while down"]
        exp = "/".join(map(str, sorted(traffic.EXPECTED[kind])))
        out(f"  {name:14} {kind:8} expect {exp:8} sent {sent:7}  " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())))
    errors = totals["sent"] - totals["answered"] - totals["down"]
    out(f"  total sent {totals['sent']} = answered {totals['answered']} + refused while Wafer restarted {totals['down']}"
        f" + unanswered {errors}   (keep-alive closes retried once: {T.retried})")
    if errors:
        fail.append(f"{errors} requests unanswered outside the Wafer restart")
    wrong = [u for u in T.unexpected if not u[2].startswith("error")]
    if T.unexpected:
        out(f"\nunexpected answers ({len(T.unexpected)}; first 15):")
        for u in T.unexpected[:15]:
            out(f"  t={u[0]}s {u[1]}: {u[2]} {u[3][:120]!r}")
    if wrong:
        fail.append(f"{len(wrong)} answers not what their class expects")

    # What reached the upstream.
    out("\nreached the upstream: " + ", ".join(f"{k}: {v}" for k, v in sorted(up_stats.items())))
    for name, kind in T.kind.items():
        got = up_stats.get("http." + name, 0)
        if kind in ("attack", "banned") and got:
            fail.append(f"{got} {name} requests reached the upstream")
        want = T.http[name]["200"]
        if kind in ("benign", "limited") and got != want:
            fail.append(f"{name}: {want} answered 200 but {got} reached the upstream")

    # Events.
    runs = wafer.summaries()
    out("\nevents:")
    pub = stored = 0
    for r in runs:
        out(f"  wafer run {r['run']}: published {r['published']}, dropped {r['dropped']}, stored {r['stored']}, "
            f"written to its event file {r['file_lines']}, exit code {codes[r['run'] - 1]}, "
            f"panics {r['panics']}, ERROR lines {r['errors']}")
        if r["published"] is None:
            fail.append(f"wafer run {r['run']} never logged its 'stopped' line (see {r['log']})")
            continue
        pub += r["published"]
        stored += r["stored"]
        if r["dropped"]:
            fail.append(f"wafer run {r['run']} dropped {r['dropped']} events")
        if r["file_lines"] != r["published"]:
            fail.append(f"wafer run {r['run']}: published {r['published']} but its event file has {r['file_lines']}")
        if r["panics"]:
            fail.append(f"wafer run {r['run']} panicked {r['panics']} times (see {r['log']})")
    for i, code in enumerate(codes, 1):
        if code != 0:
            fail.append(f"wafer run {i} exited with {code} on SIGTERM (None: killed after 60 s)")
    failed_store = metric(metrics_end, "wafer_events_store_failed_total")
    by_kind = collections.Counter()
    ids = collections.defaultdict(set)
    for eid, action, reason, _ in rows:
        if reason.startswith("WebSocket message"):
            k = "websocket message blocked" if "blocked" in reason else "websocket other"
        elif reason.startswith("banned"):
            k = "banned client (one a minute)"
        elif reason.startswith("rate limit"):
            k = "rate limited (one a minute)"
        elif reason:
            k = "other: " + reason[:60]
        else:
            k = f"inspected, {action}"
        by_kind[k] += 1
        ids[k].add(eid)
    out(f"  published (both runs) {pub} = stored by Wafer {stored} = rows in the store {len(rows)} "
        f"(through /api/export: {api_total}); run 2's /metrics before its SIGTERM: published "
        f"{metric(metrics_end, 'wafer_events_published_total')}, stored {metric(metrics_end, 'wafer_events_stored_total')}, "
        f"dropped {metric(metrics_end, 'wafer_events_dropped_total')}, store failures {failed_store}")
    out("  stored, by kind: " + ", ".join(f"{k}: {v}" for k, v in sorted(by_kind.items())))
    if failed_store:
        fail.append(f"the store refused {failed_store} events for good")
    if not (pub == stored == len(rows) == api_total):
        fail.append(f"events: published {pub}, stored {stored}, in the store {len(rows)}, exported {api_total}")
    blocked_ids = ids["inspected, block"]
    missing = T.attack_ids - blocked_ids
    extra = blocked_ids - T.attack_ids - T.wrongly_blocked_ids
    out(f"  attack requests answered 403: {len(T.attack_ids)}; their events in the store: {len(T.attack_ids & blocked_ids)};"
        f" missing {len(missing)}; other requests wrongly blocked: {len(T.wrongly_blocked_ids)}, with an event:"
        f" {len(T.wrongly_blocked_ids & blocked_ids)}; block events matching no request the driver saw blocked: {len(extra)}")
    if missing:
        fail.append(f"{len(missing)} blocked attacks have no stored event (e.g. {sorted(missing)[:3]})")
    if extra:
        fail.append(f"{len(extra)} block events match no attack the driver saw blocked (e.g. {sorted(extra)[:3]})")
    ws_events = {r[2].split("connection ")[1].split(":")[0] for r in rows if r[2].startswith("WebSocket message") and "blocked" in r[2]}
    ws_missing = T.ws_blocked_conns - ws_events
    out(f"  WebSocket attack messages closed with 1008: {len(T.ws_blocked_conns)}; with an event: {len(T.ws_blocked_conns & ws_events)}")
    if ws_missing:
        fail.append(f"{len(ws_missing)} blocked WebSocket messages have no event")

    # WebSocket, admin, live clients.
    out("\nWebSocket through Wafer: " + ", ".join(f"{k}: {v}" for k, v in sorted(T.ws.items())))
    if T.ws["sessions"] == 0:
        fail.append("no WebSocket session through Wafer succeeded")
    out("admin API (status: count):")
    for path, c in sorted(T.admin.items()):
        out(f"  {path:14} " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())))
    all_ids = {r[0] for r in rows}
    when = {r[0]: (r[3] - T0_WALL_MS) / 1000 for r in rows}
    reason_of = {r[0]: r[2] or r[1] for r in rows}

    def show(missed):
        return "; ".join(f"{i} at {when[i]:.1f}s ({reason_of[i][:50]})" for i in sorted(missed, key=when.get)[:3])

    for i, c in enumerate(T.sse):
        seen = len(T.sse_ids[i] & all_ids)
        out(f"SSE client {i + 1}: " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items()))
            + f"; distinct stored events seen {seen} of {len(all_ids)}")
        if not c["events"]:
            fail.append(f"SSE client {i + 1} received no events")
        elif seen < len(all_ids) and not c["missed (lagged)"]:
            # It resumes with Last-Event-ID across the restart: it must have seen every one.
            fail.append(f"SSE client {i + 1} missed {len(all_ids) - seen} stored events without being told: "
                        + show(all_ids - T.sse_ids[i]))
    seen = len(T.live_ws_ids & all_ids)
    out("admin WebSocket: " + ", ".join(f"{k}: {v}" for k, v in sorted(T.live_ws.items()))
        + f"; distinct stored events seen {seen} of {len(all_ids)}"
        + (f"; missed (it has no resume): {show(all_ids - T.live_ws_ids)}" if seen < len(all_ids) else ""))
    if not T.live_ws["events"]:
        fail.append("the admin WebSocket received no events")

    # RSS.
    out("\nWafer RSS, MiB, every 10 s (t: MiB; | marks the restart):")
    line, run = [], 1
    for t, r, kib in T.rss:
        if r != run:
            line.append("|")
            run = r
        line.append(f"{t}:{kib / 1024:.0f}")
    out("  " + " ".join(line))
    second = [(t, kib) for t, r, kib in T.rss if t >= duration / 2 and r == len(wafer.runs)]
    if len(second) >= 2:
        head = sum(k for _, k in second[:3]) / len(second[:3])
        tail = sum(k for _, k in second[-3:]) / len(second[-3:])
        growth_mb = (tail - head) / 1024
        pct = 100 * (tail - head) / head
        peak = max(k for _, _, k in T.rss) / 1024
        out(f"  second half: {head / 1024:.1f} -> {tail / 1024:.1f} MiB ({growth_mb:+.1f} MiB, {pct:+.1f} %); peak {peak:.1f} MiB;"
            f" tolerance: {RSS_TOL_PCT:g} % or {RSS_TOL_MB:g} MiB, whichever is larger")
        if growth_mb > max(RSS_TOL_MB, head / 1024 * RSS_TOL_PCT / 100):
            fail.append(f"RSS grew {growth_mb:.1f} MiB ({pct:.1f} %) in the second half")
    else:
        fail.append("too few RSS samples in the second half")

    out("")
    if fail:
        out("SOAK FAILED:")
        for f in fail:
            out("  - " + f)
        out(f"logs: {WORK}")
        return 1
    out(f"SOAK PASSED (logs: {WORK})")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

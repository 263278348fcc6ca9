"""The application behind Wafer during the soak: answers every request with a
small JSON echo, runs a WebSocket echo on /ws/echo, and counts what reached it
by the X-Soak-Class header (so the driver can check that no attack got
through). GET /__soak/stats, asked directly (not through Wafer), gives the counts.

Usage: python3 upstream.py PORT
"""

import asyncio
import collections
import json
import sys

import wire

counts = collections.Counter()


async def read_body(reader, headers):
    if "chunked" in headers.get("transfer-encoding", "").lower():
        n = 0
        while True:
            c = await wire.read_chunk(reader)
            if not c:
                return n
            n += len(c)
    n = int(headers.get("content-length", "0") or 0)
    left = n
    while left:
        got = await reader.read(min(left, 1 << 16))
        if not got:
            raise asyncio.IncompleteReadError(b"", left)
        left -= len(got)
    return n


def respond(writer, status, body, ctype="application/json"):
    writer.write(
        f"HTTP/1.1 {status} OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


async def ws_echo(reader, writer, headers):
    key = headers.get("sec-websocket-key", "")
    writer.write(
        (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {wire.ws_accept(key)}\r\n\r\n"
        ).encode()
    )
    counts["ws.sessions"] += 1
    while True:
        op, payload = await wire.ws_read_message(reader, writer, mask=False)
        if op == 8:
            writer.write(wire.ws_frame(8, payload[:2], mask=False))
            await writer.drain()
            return
        counts["ws.messages"] += 1
        writer.write(wire.ws_frame(op, payload, mask=False))
        await writer.drain()


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target = lines[0].split(" ")[:2]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            if target == "/ws/echo" and headers.get("upgrade", "").lower() == "websocket":
                await ws_echo(reader, writer, headers)
                return
            n = await read_body(reader, headers)
            if target == "/__soak/stats":
                respond(writer, 200, json.dumps(counts).encode())
            else:
                counts["http." + headers.get("x-soak-class", "unlabelled")] += 1
                body = json.dumps({"ok": True, "method": method, "path": target[:200], "body_bytes": n})
                respond(writer, 200, body.encode())
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, OSError, ValueError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(serve, "127.0.0.1", port, limit=1 << 20, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

"""A small server on the websockets library (its asyncio API, websockets 13+).

The "before" half of a migration example; ``server_wsframe.py`` is the same
server on ``wsframe.aio``. It serves:

- ``/echo``: every message back;
- ``/upper``: text upper-cased, binary as it came;
- ``/rooms/<room>``: each text message back as ``"<room>: <message>"``
  (a binary one closes with 1003);
- ``/greet?name=<name>``: one greeting, then a normal close;
- ``/health``: a plain HTTP ``200 OK`` (no WebSocket);
- anything else: ``404``.

Messages over 64 KiB close the connection with 1009.

Run ``python server_websockets.py [PORT]``; it prints the URL it listens on.
"""

from __future__ import annotations

import asyncio
import http
import sys
import urllib.parse
from typing import Any, Optional

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

MAX_SIZE = 64 * 1024


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def upper(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message.upper() if isinstance(message, str) else message)


async def room(ws: ServerConnection, name: str) -> None:
    async for message in ws:
        if not isinstance(message, str):
            await ws.close(1003, "text only")  # unsupported data (RFC 6455 section 7.4.1)
            return
        await ws.send(f"{name}: {message}")


async def greet(ws: ServerConnection, query: "dict[str, list[str]]") -> None:
    await ws.send(f"hello {query.get('name', ['stranger'])[0]}")


def split(path: str) -> "tuple[list[str], dict[str, list[str]]]":
    """Path segments and the parsed query of a request path."""
    parts = urllib.parse.urlsplit(path)
    segments = [urllib.parse.unquote(s) for s in parts.path.split("/")[1:]]
    return segments, urllib.parse.parse_qs(parts.query)


async def handler(ws: ServerConnection) -> None:
    assert ws.request is not None
    segments, query = split(ws.request.path)
    if segments == ["echo"]:
        await echo(ws)
    elif segments == ["upper"]:
        await upper(ws)
    elif len(segments) == 2 and segments[0] == "rooms" and segments[1]:
        await room(ws, segments[1])
    elif segments == ["greet"]:
        await greet(ws, query)


def process_request(connection: ServerConnection, request: Request) -> Optional[Response]:
    segments, _ = split(request.path)
    if segments == ["health"]:
        return connection.respond(http.HTTPStatus.OK, "OK\n")
    known = segments in (["echo"], ["upper"], ["greet"]) or (
        len(segments) == 2 and segments[0] == "rooms" and bool(segments[1])
    )
    if not known:
        return connection.respond(http.HTTPStatus.NOT_FOUND, "not found\n")
    return None


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, process_request=process_request, max_size=MAX_SIZE) as server:
        bound: Any = server.sockets[0].getsockname()[1]
        print(f"listening on ws://127.0.0.1:{bound}/", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8765))
    except KeyboardInterrupt:
        pass

"""The server of ``server_websockets.py``, ported to ``wsframe.aio``.

What changed (see ``docs/from-websockets.md``):

- ``from websockets.asyncio.server import serve`` -> ``from wsframe.aio import serve``;
- the hand-written dispatch on ``ws.request.path`` -> ``route({...})``,
  with ``ws.path_params`` and ``ws.query`` filled in;
- the 404 for unknown paths comes from the router's ``process_request``;
- ``connection.respond(HTTPStatus.OK, "OK\\n")`` -> ``respond(200, "OK\\n")``,
  which builds the ``(status, headers, body)`` tuple a hook returns;
- ``server.sockets[0].getsockname()[1]`` -> ``server.port``.

The handlers themselves (``async for message in ws``, ``await ws.send()``)
did not change.

Run ``python server_wsframe.py [PORT]``; it prints the URL it listens on.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from wsframe.aio import ServerConnection, respond, route, serve
from wsframe.handshake import Request

MAX_SIZE = 64 * 1024


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def upper(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message.upper() if isinstance(message, str) else message)


async def room(ws: Any) -> None:
    name = ws.path_params["room"]
    async for message in ws:
        if not isinstance(message, str):
            await ws.close(1003, "text only")  # unsupported data (RFC 6455 section 7.4.1)
            return
        await ws.send(f"{name}: {message}")


async def greet(ws: Any) -> None:
    await ws.send(f"hello {ws.query.get('name', ['stranger'])[0]}")


def health(connection: ServerConnection, request: Request) -> Any:
    """Runs for every request, before the router's 404."""
    if request.target.split("?")[0] == "/health":
        return respond(200, "OK\n")
    return None


router = route({"/echo": echo, "/upper": upper, "/rooms/{room}": room, "/greet": greet}, process_request=health)


async def main(port: int) -> None:
    async with serve(router, "127.0.0.1", port, process_request=router.process_request, max_size=MAX_SIZE) as server:
        print(f"listening on ws://127.0.0.1:{server.port}/", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8765))
    except KeyboardInterrupt:
        pass

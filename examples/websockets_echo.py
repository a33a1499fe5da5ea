"""A websockets echo server, patched by wsframe or not: Autobahn's target for compat.

Usage: ``python examples/websockets_echo.py [--patch] PORT [HOST]`` (host
127.0.0.1).

websockets' own asyncio ``serve()`` with its defaults (permessage-deflate
offered), except the limits: 64 MiB messages, because the conformance suite
sends 16 MiB ones, and up to 131,072 fragments per message (websockets 17
caps them at 4096 unless ``WEBSOCKETS_MAX_FRAGMENTS`` says otherwise, which
fails cases 9.3.x/9.4.x; set here before websockets is imported, unless
already set). Text comes back as text, binary as binary. With
``--patch``, ``wsframe.compat.patch("websockets")`` runs first, so the same
server runs on wsframe's frame codec; comparing the suite's verdicts with and
without it is the proof that patching changes nothing (docs/compat.md).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any, List

MAX_SIZE = 64 * 1024 * 1024


async def echo(ws: Any) -> None:
    """Send each message back as it came (str stays text, bytes stay binary)."""
    from websockets.exceptions import ConnectionClosed

    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def main(port: int, host: str) -> None:
    from websockets.asyncio.server import serve

    async with serve(echo, host, port, max_size=MAX_SIZE, ping_interval=None) as server:
        bound = list(server.sockets)[0].getsockname()[1]
        print(f"websockets echo server on ws://{host}:{bound}", flush=True)
        await server.serve_forever()


def run(argv: List[str]) -> None:
    """Parse ``[--patch] PORT [HOST]``, patch if asked, serve until interrupted."""
    args = [a for a in argv if a != "--patch"]
    if not args:
        sys.exit("usage: python examples/websockets_echo.py [--patch] PORT [HOST]")
    os.environ.setdefault("WEBSOCKETS_MAX_FRAGMENTS", str(1 << 17))  # read when websockets is imported
    if "--patch" in argv:
        import wsframe.compat

        wsframe.compat.patch("websockets")
        print("wsframe.compat: websockets patched", flush=True)
    try:
        asyncio.run(main(int(args[0]), args[1] if len(args) > 1 else "127.0.0.1"))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    run(sys.argv[1:])

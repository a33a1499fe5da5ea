"""An echo server on wsframe.aio, the one Autobahn|Testsuite runs against.

Usage: ``python examples/echo_server.py PORT [HOST]`` (host 127.0.0.1).

Every text or binary message comes back unchanged. The limits are generous
on purpose (64 MiB messages, 131,072 fragments) because the conformance
suite sends 16 MiB messages and up to 65,536 fragments; a real server should
keep the 1 MiB defaults. examples/autobahn_client.py is the client
counterpart (the suite's fuzzing server against wsframe.aio.connect);
docs/autobahn.md runs both.
"""

from __future__ import annotations

import asyncio
import sys

from wsframe.aio import serve

MAX_SIZE = 64 * 1024 * 1024


async def echo(ws) -> None:
    """Send each message back as it came (text stays text, binary stays binary)."""
    async for message in ws:
        await ws.send(message)


async def main(port: int, host: str) -> None:
    async with serve(
        echo,
        host,
        port,
        max_size=MAX_SIZE,
        compression="deflate",  # permessage-deflate: Autobahn sections 12 and 13
        max_fragments=1 << 17,
        read_buffer_size=256 * 1024,
        ping_interval=None,  # the suite measures us, not the other way round
    ) as server:
        print(f"echo server on ws://{host}:{server.port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python examples/echo_server.py PORT [HOST]")
    try:
        import uvloop  # optional

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"))
    except KeyboardInterrupt:
        pass

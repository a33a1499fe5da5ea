"""An echo server on wsframe.aio's callback API, for Autobahn|Testsuite.

Usage: ``python examples/echo_listener.py PORT [HOST]`` (host 127.0.0.1).

The same server as examples/echo_server.py (same limits, permessage-deflate,
no keepalive pings) written with ``serve_listener``: a listener whose
``on_message`` sends each message back, called straight from the read, with
no task or queue per connection. The limits are generous on purpose (64 MiB
messages, 131,072 fragments) because the conformance suite sends 16 MiB
messages and up to 65,536 fragments; a real server should keep the 1 MiB
defaults. docs/autobahn.md says how to run the suite against a server.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Union

from wsframe.aio import Listener, ListenerConnection, serve_listener

MAX_SIZE = 64 * 1024 * 1024


class Echo(Listener):
    """Send each message back as it came (text stays text, binary stays binary)."""

    def on_message(self, ws: ListenerConnection, message: Union[str, bytes]) -> None:
        ws.send(message)


async def main(port: int, host: str) -> None:
    async with serve_listener(
        Echo,
        host,
        port,
        max_size=MAX_SIZE,
        compression="deflate",  # permessage-deflate: Autobahn sections 12 and 13
        max_fragments=1 << 17,
        read_buffer_size=256 * 1024,
        ping_interval=None,  # the suite measures us, not the other way round
    ) as server:
        print(f"echo listener on ws://{host}:{server.port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python examples/echo_listener.py PORT [HOST]")
    try:
        import uvloop  # optional

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"))
    except KeyboardInterrupt:
        pass

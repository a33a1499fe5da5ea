"""A raw ASGI echo app under uvicorn with wsframe as its WebSocket protocol.

Usage: ``python examples/asgi_echo.py PORT [HOST]`` (host 127.0.0.1).

The uvicorn counterpart of examples/echo_server.py, and what
``AUTOBAHN_SERVER=examples/asgi_echo.py scripts/autobahn.sh`` runs
Autobahn|Testsuite against: every text message comes back as text, every
binary message as binary, through uvicorn
(``ws="wsframe.asgi:UvicornProtocol"``) and the plain ASGI interface, no
framework in between (benchmarks/bench_asgi.py serves the same ``app``
under every ``ws=``). ``ws_max_size`` is 64 MiB
because the suite sends 16 MiB messages (cases 9.x); a real server should
keep uvicorn's default. permessage-deflate is uvicorn's default
(``ws_per_message_deflate``), so sections 12 and 13 are exercised too.
"""

from __future__ import annotations

import sys
from typing import Any, Awaitable, Callable, Dict

MAX_SIZE = 64 * 1024 * 1024

Message = Dict[str, Any]


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Accept every WebSocket and echo its messages until the peer leaves."""
    if scope["type"] != "websocket":
        return  # lifespan is off; plain HTTP is not served here
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return  # websocket.disconnect
        text = message.get("text")
        if text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


def main(port: int, host: str) -> None:
    import uvicorn  # here, so that benchmarks/bench_asgi.py can import the bare app

    print(f"asgi echo server on ws://{host}:{port}", flush=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        ws="wsframe.asgi:UvicornProtocol",  # uvicorn imports it, as from --ws
        ws_max_size=MAX_SIZE,
        ws_ping_interval=None,  # the suite measures us, not the other way round
        lifespan="off",
        log_level="warning",
    )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python examples/asgi_echo.py PORT [HOST]")
    main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1")

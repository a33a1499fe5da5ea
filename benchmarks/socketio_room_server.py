"""A python-socketio room server: the anchor for ``bench_hub.py``'s socketio cells.

The same job as ``python -m wsframe chat`` in the benchmark: a client's
``join`` event puts it in a room (answered with ``joined``), and its ``say``
event is emitted to the whole room, sender included, as ``msg``. With
``--redis URL`` the server uses python-socketio's ``AsyncRedisManager``, so
several of these processes on one Redis form one room, as the chat does with
its Redis hub.

It runs under uvicorn on a socket bound here (``--port 0``: any free port)
and prints ``http://127.0.0.1:PORT/`` on stdout once bound, the line
``bench_hub.Child`` waits for.

    python benchmarks/socketio_room_server.py --port 0 --redis redis://127.0.0.1:6379
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from typing import Any, Optional

import socketio
import uvicorn

ROOM = "bench"


def make_server(redis_url: Optional[str]) -> socketio.AsyncServer:
    """An ``AsyncServer`` with the two bench events; Redis-managed if a URL is given."""
    manager = socketio.AsyncRedisManager(redis_url) if redis_url else None
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager)

    @sio.on("join")  # type: ignore[misc]
    async def join(sid: str, room: Any = None) -> None:
        await sio.enter_room(sid, room or ROOM)
        await sio.emit("joined", room or ROOM, to=sid)

    @sio.on("say")  # type: ignore[misc]
    async def say(sid: str, data: Any) -> None:
        await sio.emit("msg", data, room=ROOM)

    return sio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--redis", default=None, help="Redis URL: use AsyncRedisManager (default: one process, no manager)")
    args = parser.parse_args()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(2048)
    app = socketio.ASGIApp(make_server(args.redis))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    print(f"socketio room server on http://127.0.0.1:{sock.getsockname()[1]}/", flush=True)
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    main()

"""Run a WebSocket echo server on wsframe.aio (``python -m wsframe echo``).

Every text or binary message goes back unchanged; handy to try a client
against. Limits are the library defaults unless given. ``--api callback``
serves the same echo on the callback API (``serve_listener``, the lowest
latency), ``--uvloop`` on uvloop's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from typing import Union

from .connection import WebSocket
from .listener import Listener, ListenerConnection
from .listener_server import serve_listener
from .server import serve

__all__ = ["echo", "EchoListener", "add_arguments", "run"]


async def echo(ws: WebSocket) -> None:
    """Handler: each message back as it came."""
    async for message in ws:
        await ws.send(message)


class EchoListener(Listener):
    """The same echo on the callback API: each message back from ``on_message``."""

    def on_message(self, ws: ListenerConnection, message: Union[str, bytes]) -> None:
        ws.send(message)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``echo`` subcommand."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0 picks one)")
    parser.add_argument("--max-size", type=int, default=1 << 20, help="largest message in bytes (default 1 MiB)")
    parser.add_argument(
        "--api",
        choices=("coroutine", "callback"),
        default="coroutine",
        help="serve() with a handler coroutine (default) or serve_listener() with callbacks",
    )
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop (pip install uvloop)")


async def _main(host: str, port: int, max_size: int, api: str) -> None:
    if api == "callback":
        server = serve_listener(EchoListener, host, port, max_size=max_size)
    else:
        server = serve(echo, host, port, max_size=max_size)
    async with server:
        print(f"wsframe echo ({api} API): ws://{host}:{server.port}/ (Ctrl+C stops)", flush=True)
        await server.serve_forever()


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; the exit code."""
    api = getattr(args, "api", "coroutine")
    run_loop = asyncio.run
    if getattr(args, "uvloop", False):
        try:
            import uvloop
        except ImportError as exc:
            print(f"wsframe echo: --uvloop needs uvloop ({exc})", file=sys.stderr)
            return 1
        run_loop = uvloop.run
    try:
        run_loop(_main(args.host, args.port, args.max_size, api))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"wsframe echo: {exc}", file=sys.stderr)
        return 1
    return 0

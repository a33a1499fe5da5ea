"""Run a WebSocket echo server on wsframe.aio (``python -m wsframe echo``).

Every text or binary message goes back unchanged; handy to try a client
against. Limits are the library defaults unless given.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from .connection import WebSocket
from .server import serve

__all__ = ["echo", "add_arguments", "run"]


async def echo(ws: WebSocket) -> None:
    """Handler: each message back as it came."""
    async for message in ws:
        await ws.send(message)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``echo`` subcommand."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0 picks one)")
    parser.add_argument("--max-size", type=int, default=1 << 20, help="largest message in bytes (default 1 MiB)")


async def _main(host: str, port: int, max_size: int) -> None:
    async with serve(echo, host, port, max_size=max_size) as server:
        print(f"wsframe echo: ws://{host}:{server.port}/ (Ctrl+C stops)", flush=True)
        await server.serve_forever()


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; the exit code."""
    try:
        asyncio.run(_main(args.host, args.port, args.max_size))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"wsframe echo: {exc}", file=sys.stderr)
        return 1
    return 0

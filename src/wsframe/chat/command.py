"""Run the chat demo: a web page and a WebSocket server with rooms, on http://127.0.0.1:8765/ by default.

This is ``python -m wsframe chat``; the server itself is :mod:`wsframe.chat.server`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from .server import ChatServer

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``chat`` subcommand."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0 picks one)")


async def _main(host: str, port: int) -> None:
    async with ChatServer().serve(host, port) as server:
        shown = f"[{host}]" if ":" in host else host
        print(f"wsframe chat: open http://{shown}:{server.port}/ in a browser (Ctrl+C stops)", flush=True)
        await server.serve_forever()


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; the exit code."""
    try:
        asyncio.run(_main(args.host, args.port))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"wsframe chat: {exc}", file=sys.stderr)
        return 1
    return 0

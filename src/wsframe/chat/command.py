"""Run the chat demo: a web page and a WebSocket server with rooms, on http://127.0.0.1:8765/ by default.

This is ``python -m wsframe chat``; the server itself is :mod:`wsframe.chat.server`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from .server import BURST, EMPTY_TTL, HISTORY, MAX_ROOMS, RATE, ChatServer

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``chat`` subcommand."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0 picks one)")
    parser.add_argument("--max-rooms", type=int, default=MAX_ROOMS, help=f"rooms held at once (default {MAX_ROOMS})")
    parser.add_argument("--history", type=int, default=HISTORY, help=f"messages kept per room (default {HISTORY})")
    parser.add_argument(
        "--empty-ttl", type=float, default=EMPTY_TTL, help=f"seconds an empty room keeps its history (default {EMPTY_TTL:g})"
    )
    parser.add_argument(
        "--rate", type=float, default=RATE, help=f"messages per second per connection, 0 for no limit (default {RATE:g})"
    )
    parser.add_argument("--burst", type=int, default=BURST, help=f"messages at once per connection (default {BURST})")


async def _main(host: str, port: int, chat: ChatServer) -> None:
    async with chat.serve(host, port) as server:
        shown = f"[{host}]" if ":" in host else host
        print(f"wsframe chat: open http://{shown}:{server.port}/ in a browser (Ctrl+C stops)", flush=True)
        await server.serve_forever()


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; the exit code."""
    try:
        chat = ChatServer(
            max_rooms=args.max_rooms,
            history=args.history,
            empty_ttl=args.empty_ttl,
            rate=args.rate or None,
            burst=args.burst,
        )
    except ValueError as exc:
        print(f"wsframe chat: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_main(args.host, args.port, chat))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"wsframe chat: {exc}", file=sys.stderr)
        return 1
    return 0

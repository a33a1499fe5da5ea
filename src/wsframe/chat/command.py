"""Run the chat demo: a web page and a WebSocket server with rooms, on http://127.0.0.1:8765/ by default.

This is ``python -m wsframe chat``; the server itself is :mod:`wsframe.chat.server`.
With no options it is one process with an in-memory hub. ``--redis URL``
shares rooms, direct messages, pushes and presence through Redis, so
several processes (``--workers N`` on one port, or processes on other ports
and hosts) form one chat. SIGTERM or SIGINT closes every connection with
1001 (going away) and stops.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from typing import Optional

from ..hub import Hub, hub_from_url
from .server import BURST, EMPTY_TTL, HISTORY, MAX_ROOMS, RATE, ChatServer

__all__ = ["add_arguments", "run"]

PUSH_TOKEN_ENV = "WSFRAME_PUSH_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``chat`` subcommand."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0 picks one)")
    parser.add_argument("--max-rooms", type=int, default=MAX_ROOMS, help=f"rooms held at once per process (default {MAX_ROOMS})")
    parser.add_argument(
        "--history", type=int, default=HISTORY, help=f"messages kept per room and inbox, the resume window (default {HISTORY})"
    )
    parser.add_argument(
        "--empty-ttl", type=float, default=EMPTY_TTL, help=f"seconds an empty room keeps its history (default {EMPTY_TTL:g})"
    )
    parser.add_argument(
        "--rate", type=float, default=RATE, help=f"messages per second per connection, 0 for no limit (default {RATE:g})"
    )
    parser.add_argument("--burst", type=int, default=BURST, help=f"messages at once per connection (default {BURST})")
    parser.add_argument(
        "--redis", metavar="URL", default=None, help="share rooms through Redis, e.g. redis://127.0.0.1:6379 (default: in memory)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="processes sharing the port with SO_REUSEPORT (needs --redis; default 1)"
    )
    parser.add_argument(
        "--push-token", default=None, help=f"shared secret of POST /push (default: ${PUSH_TOKEN_ENV}; without one push is off)"
    )
    parser.add_argument(
        "--presence-ttl",
        type=float,
        default=15.0,
        help="with --redis: seconds a name stays online after its process stops refreshing it (default 15)",
    )
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # set on each worker


def _hub(args: argparse.Namespace) -> Hub:
    if args.redis is None:
        return hub_from_url(None, history=args.history)
    return hub_from_url(args.redis, history=args.history, presence_ttl=args.presence_ttl)


def _chat(args: argparse.Namespace, token: Optional[str]) -> ChatServer:
    """The chat server and its hub, as the options say.

    Raises:
        ValueError: a bad option; ImportError: --redis without the redis package.
    """
    return ChatServer(
        hub=_hub(args),
        max_rooms=args.max_rooms,
        history=args.history,
        empty_ttl=args.empty_ttl,
        rate=args.rate or None,
        burst=args.burst,
        push_token=token,
    )


async def _main(args: argparse.Namespace, token: Optional[str]) -> None:
    loop = asyncio.get_running_loop()
    # Built here, inside the running loop: on Python 3.9 an asyncio lock
    # (redis's connection pool has one) binds to the loop current when it is
    # made, and a hub made before asyncio.run() failed its calls with
    # "attached to a different loop".
    chat = _chat(args, token)
    async with chat.hub:
        server = chat.serve(args.host, args.port, reuse_port=True if args.reuse_port else None)
        async with server:
            for signum in (signal.SIGTERM, signal.SIGINT):
                try:
                    loop.add_signal_handler(signum, server.close)  # 1001 to everyone, then out
                except (NotImplementedError, RuntimeError):  # pragma: no cover (Windows)
                    pass
            shown = f"[{args.host}]" if ":" in args.host else args.host
            where = "in memory" if args.redis is None else f"hub {args.redis}"
            if args.reuse_port:
                print(f"wsframe chat worker {os.getpid()}: listening on port {server.port} ({where})", flush=True)
            else:
                print(f"wsframe chat: open http://{shown}:{server.port}/ in a browser ({where}; Ctrl+C stops)", flush=True)
            await server.serve_forever()


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; the exit code."""
    if args.workers < 1:
        print("wsframe chat: --workers must be >= 1", file=sys.stderr)
        return 2
    if args.workers > 1 and not hasattr(socket, "SO_REUSEPORT"):
        print("wsframe chat: --workers needs SO_REUSEPORT, which this platform lacks", file=sys.stderr)
        return 2
    if args.workers > 1 and args.redis is None:
        print("wsframe chat: --workers N needs --redis URL (workers share rooms through Redis)", file=sys.stderr)
        return 2
    token: Optional[str] = args.push_token or os.environ.get(PUSH_TOKEN_ENV) or None
    try:
        _chat(args, token)  # the options are checked before anything starts
    except (ValueError, ImportError) as exc:
        print(f"wsframe chat: {exc}", file=sys.stderr)
        return 2
    if args.workers > 1:
        from .workers import supervise

        return supervise(args, token)
    try:
        asyncio.run(_main(args, token))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"wsframe chat: {exc}", file=sys.stderr)
        return 1
    return 0

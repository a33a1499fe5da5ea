"""Python cost of ``wsframe.aio.broadcast`` per delivery, without the system calls.

Usage::

    python benchmarks/bench_broadcast.py [--connections 2000] [--rounds 20]

Builds ``--connections`` OPEN server connections (``wsframe.aio.WebSocket``
on a sans-I/O ``Connection``) over fake transports whose ``write`` only
counts, then times ``broadcast(connections, "hello everyone")`` and prints
the best round's nanoseconds per delivery: the Python around the
``transport.write`` that a real fan-out pays on top of one ``send()`` per
connection (benchmarks/bench_load.py measures the whole thing). Run it
with another checkout's ``src`` on ``PYTHONPATH`` to compare two versions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, "src", "wsframe")) and "wsframe" not in sys.modules:
    try:
        import wsframe  # noqa: F401  (an installed wsframe, or PYTHONPATH, wins)
    except ImportError:
        sys.path.insert(0, os.path.join(ROOT, "src"))


class CountingTransport:
    """Just enough of an asyncio transport: writes are counted, never sent."""

    def __init__(self) -> None:
        self.writes = 0

    def write(self, data: Any) -> None:
        self.writes += 1

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False

    def set_write_buffer_limits(self, high: Optional[int] = None, low: Optional[int] = None) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


async def measure(connections: int, rounds: int) -> float:
    """Best nanoseconds per delivery over ``rounds`` rounds of 5 broadcasts."""
    from wsframe import Connection
    from wsframe.aio import WebSocket, broadcast
    from wsframe.aio.options import Options

    options = Options(compression=None)
    conns: List[Any] = []
    for _ in range(connections):
        ws = WebSocket(Connection.opened("server", **options.connection_kwargs()), options)
        ws.connection_made(CountingTransport())  # type: ignore[arg-type]
        conns.append(ws)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(5):
            if broadcast(conns, "hello everyone") != connections:
                raise RuntimeError("a connection did not get the message")
        best = min(best, (time.perf_counter_ns() - start) / (5 * connections))
    return best


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    import wsframe

    ns = asyncio.run(measure(args.connections, args.rounds))
    print(f"wsframe from {os.path.dirname(wsframe.__file__)} ({wsframe.BACKEND}): {ns:.0f} ns per delivery")
    return 0


if __name__ == "__main__":
    sys.exit(main())

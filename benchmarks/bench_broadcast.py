"""Cost of ``wsframe.aio.broadcast`` per delivery, against the bare ``send()``.

Usage::

    python benchmarks/bench_broadcast.py [--connections 2000] [--rounds 20]
                                         [--loop asyncio|uvloop] [--fake]

Default: ``--connections`` real loopback TCP connections, server side
``wsframe.aio.WebSocket`` (OPEN) on the chosen loop, client side plain
sockets drained between rounds (untimed). Each round times, over the same
server sockets and the same frame:

* ``broadcast``: ``broadcast(connections, MESSAGE)`` (encode once, fan out);
* ``broadcast, pure loop``: the same with the pure-Python fan-out loop
  (``_fanout_py``, what runs without the extension), when there is a compiled one;
* ``bare send()``: a Python loop of ``socket.send(frame)`` over duplicates
  of the server sockets' descriptors: the system call plus the least
  Python around it, the floor.

and prints median and best nanoseconds per delivery and each cell's ratio to
the bare send of the same round. ``--fake``: the old measurement, fake
transports whose ``write`` only counts (the Python around the write, no
system call; such transports take broadcast's Python path). Run it with
another checkout's ``src`` on ``PYTHONPATH`` to compare two versions.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import socket
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional

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


MESSAGE = "1700000000000000000 hello everyone in the room"  # as bench_load.py's clients send


def drain(socks: List[socket.socket]) -> None:
    """Read whatever the clients got (untimed), so every round starts with empty buffers."""
    for sock in socks:
        try:
            while sock.recv(1 << 20):
                pass
        except BlockingIOError:
            pass


async def open_pairs(count: int) -> Any:
    """``count`` loopback connections: (server WebSockets, client sockets, dup'ed server sockets)."""
    from wsframe import Connection
    from wsframe.aio import WebSocket
    from wsframe.aio.options import Options

    loop = asyncio.get_running_loop()
    options = Options(compression=None)
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    port = listener.getsockname()[1]
    conns: List[Any] = []
    clients: List[socket.socket] = []
    bare: List[socket.socket] = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port))
        client.setblocking(False)
        accepted, _ = listener.accept()
        accepted.setblocking(False)
        bare.append(socket.socket(fileno=os.dup(accepted.fileno())))
        _, ws = await loop.connect_accepted_socket(
            lambda: WebSocket(Connection.opened("server", **options.connection_kwargs()), options), accepted
        )
        conns.append(ws)
        clients.append(client)
    listener.close()
    return conns, clients, bare


async def measure_sockets(count: int, rounds: int) -> Dict[str, List[float]]:
    """Nanoseconds per delivery of each cell, one sample per round, cells interleaved."""
    import wsframe
    from wsframe.aio import broadcast

    conns, clients, bare = await open_pairs(count)
    frame = wsframe.encode_broadcast(MESSAGE)
    module = importlib.import_module("wsframe.aio.broadcast")
    compiled = getattr(module, "_fanout", None)
    pure = importlib.import_module("wsframe._fanout_py") if compiled is not None else None

    def fan_out() -> None:
        if broadcast(conns, MESSAGE) != count:
            raise RuntimeError("a connection did not get the message")

    def fan_out_pure() -> None:
        module._fanout = pure
        try:
            fan_out()
        finally:
            module._fanout = compiled

    def bare_send() -> None:
        for sock in bare:
            if sock.send(frame) != len(frame):
                raise RuntimeError("a partial send: the buffers were not drained")

    cells: Dict[str, Callable[[], None]] = {"broadcast": fan_out}
    if pure is not None and compiled is not pure:
        cells["broadcast, pure loop"] = fan_out_pure
    cells["bare send()"] = bare_send
    samples: Dict[str, List[float]] = {name: [] for name in cells}
    order = list(cells.items())
    for r in range(rounds):
        for name, run in order[r % len(order) :] + order[: r % len(order)]:  # each cell first in turn
            drain(clients)
            await asyncio.sleep(0)
            start = time.perf_counter_ns()
            run()
            samples[name].append((time.perf_counter_ns() - start) / count)
    drain(clients)
    for ws in conns:
        ws._transport.abort()
    for sock in clients + bare:
        sock.close()
    await asyncio.sleep(0.1)
    return samples


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--fake", action="store_true", help="fake transports: no system calls")
    args = parser.parse_args(argv)
    import wsframe

    where = f"wsframe from {os.path.dirname(wsframe.__file__)} ({wsframe.BACKEND})"
    if args.fake:
        ns = asyncio.run(measure(args.connections, args.rounds))
        print(f"{where}: {ns:.0f} ns per delivery (fake transports)")
        return 0
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.loop == "uvloop":
        import uvloop

        samples = uvloop.run(measure_sockets(args.connections, args.rounds))
    else:
        samples = asyncio.run(measure_sockets(args.connections, args.rounds))
    print(f"{where}, {args.loop} loop, {sys.implementation.name} {sys.version.split()[0]}")
    print(f"{args.connections} loopback connections, {args.rounds} rounds, {len(MESSAGE)} B message")
    floor = samples["bare send()"]
    header = f"{'cell':<22} {'median ns':>10} {'best ns':>9} {'x bare (median of per-round ratios)':>36}"
    print(header)
    print("-" * len(header))
    for name, values in samples.items():
        ratio = statistics.median(v / f for v, f in zip(values, floor))
        print(f"{name:<22} {statistics.median(values):>10.0f} {min(values):>9.0f} {ratio:>36.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

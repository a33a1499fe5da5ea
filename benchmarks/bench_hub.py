"""Fan-out of a chat room: one room of N members, one sender.

Four cells, each with real processes over loopback:

* ``memory``: ``python -m wsframe chat`` (one process, in-memory hub);
* ``redis``: two ``python -m wsframe chat --redis`` processes on one
  redis-server (started here, on a free port), members split evenly, the
  sender on the first;
* ``socketio``: python-socketio's ``AsyncServer`` under uvicorn
  (``socketio_room_server.py``), one process, no client manager: the anchor
  users would pick instead;
* ``socketio-redis``: two of those with ``AsyncRedisManager`` on one
  redis-server, members split as for ``redis``.

The members are wsframe.aio clients in this process for every cell; for
python-socketio they speak Engine.IO v4 / Socket.IO v5 by hand
(:class:`SocketIOWire`), so the client side costs the same everywhere.

Two ways to send, for ``--seconds``:

* window mode (default): the sender keeps at most ``--window`` messages in
  flight (it waits for its own copy of message i - window before sending
  message i): the most the system delivers, latency under saturation;
* rate mode (``--rate R``): the sender paces R / N messages per second, so
  R deliveries per second are offered: latency below saturation, where the
  Redis hop's own cost (redis p50 - memory p50) is visible.

Reported per cell: the deliveries per second offered while sending and
delivered (messages received by all members together, until the last
arrived), and the end-to-end latency (sender's send to a member's receive,
one clock) at the 50th and 99th percentiles. The clients share the machine
with the servers, so the numbers are the whole system's, not the server's
alone.

    python benchmarks/bench_hub.py --members 200 --seconds 2
    python benchmarks/bench_hub.py --members 100 --seconds 3 --rate 10000 --cells memory,redis
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

from wsframe.aio import connect

SRC = str(Path(__file__).resolve().parents[1] / "src")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Child:
    """A child process; for a chat, the port it announced."""

    def __init__(self, args: Sequence[str], announce: Optional[str] = None) -> None:
        env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(list(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        self.port = 0
        if announce is not None:
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()
            if announce not in line:
                self.stop()
                raise SystemExit(f"did not start: {args} said {line!r}")
            self.port = int(line.split(announce)[1].split("/")[0])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def chat(*extra: str) -> Child:
    command = [sys.executable, "-m", "wsframe", "chat", "--port", "0", "--rate", "0", *extra]
    return Child(command, announce="http://127.0.0.1:")


class ChatWire:
    """wsframe chat's JSON protocol, as the bench members speak it."""

    path = "/ws"

    async def join(self, ws: Any, name: str) -> None:
        await ws.send(json.dumps({"type": "join", "room": "bench", "name": name}))
        while json.loads(await ws.recv())["type"] != "joined":
            pass

    def say(self, number: int) -> str:
        return json.dumps({"type": "message", "text": str(number)})

    def number(self, raw: str) -> Optional[int]:
        if not raw.startswith('{"id"'):  # join notices: not measured, not parsed
            return None
        event = json.loads(raw)
        return int(event["text"]) if event.get("type") == "message" else None

    def answer(self, raw: str) -> Optional[str]:
        return None


class SocketIOWire:
    """Socket.IO v5 over Engine.IO v4, WebSocket transport only, spoken by hand.

    The members use the same wsframe.aio client for both libraries, so the
    client side costs the same and the cells compare the servers. Packets
    are text frames: ``0{...}`` open (server), ``40`` namespace connect
    (client) answered by ``40{"sid":...}``, ``42["event",data]`` events, and
    the server's ping ``2`` that the client must answer with ``3``.
    """

    path = "/socket.io/?EIO=4&transport=websocket"

    async def join(self, ws: Any, name: str) -> None:
        opened = await ws.recv()
        if not opened.startswith("0{"):
            raise RuntimeError(f"no Engine.IO open packet: {opened!r}")
        await ws.send("40")
        answer = await ws.recv()
        if not answer.startswith("40"):  # "44{...}": the namespace refused us
            raise RuntimeError(f"Socket.IO connect refused: {answer!r}")
        await ws.send('42["join","bench"]')
        while True:
            raw = await ws.recv()
            if raw.startswith('42["joined"'):
                return
            reply = self.answer(raw)
            if reply is not None:
                await ws.send(reply)

    def say(self, number: int) -> str:
        return f'42["say","{number}"]'

    def number(self, raw: str) -> Optional[int]:
        if not raw.startswith('42["msg"'):
            return None
        return int(json.loads(raw[2:])[1])

    def answer(self, raw: str) -> Optional[str]:
        return "3" if raw == "2" else None


Wire = Union[ChatWire, SocketIOWire]


class Member:
    """One member: reads everything, keeps the latency of each bench message."""

    def __init__(self, ws: Any, wire: Wire, latencies: List[float], sent: Dict[int, float]) -> None:
        self.ws = ws
        self.wire = wire
        self.latencies = latencies
        self.sent = sent
        self.count = 0
        self.last = -1
        self.waiters: Dict[int, "asyncio.Future[None]"] = {}
        self.task = asyncio.ensure_future(self.read())

    async def read(self) -> None:
        async for raw in self.ws:
            number = self.wire.number(raw)
            if number is None:
                reply = self.wire.answer(raw)
                if reply is not None:
                    await self.ws.send(reply)
                continue
            now = time.perf_counter()
            self.latencies.append(now - self.sent[number])
            self.count += 1
            self.last = number
            waiter = self.waiters.pop(number, None)
            if waiter is not None:
                waiter.set_result(None)


async def join_all(ports: List[int], wire: Wire, members: int, latencies: List[float], sent: Dict[int, float]) -> List[Member]:
    async def one(i: int) -> Member:
        ws = await connect(f"ws://127.0.0.1:{ports[i % len(ports)]}{wire.path}", max_queue=4096)
        await wire.join(ws, f"m{i}")
        return Member(ws, wire, latencies, sent)

    out: List[Member] = []
    for start in range(0, members, 50):  # batches: a storm of joins is not what is measured
        out += await asyncio.gather(*(one(i) for i in range(start, min(members, start + 50))))
    return out


async def wait_window(sender: Member, number: int, window: int) -> None:
    """Window mode: wait for the sender's own copy of message ``number - window``."""
    if number < window:
        return
    waiter = sender.waiters.get(number - window)
    if waiter is None and sender.last < number - window:
        waiter = sender.waiters[number - window] = asyncio.get_running_loop().create_future()
    if waiter is not None:
        await asyncio.wait_for(waiter, 30)


async def wait_turn(start: float, number: int, interval: float) -> None:
    """Rate mode: sleep until message ``number``'s slot.

    A late sender does not sleep, so it catches up and the offered rate
    holds; being late then shows as latency instead of as a lower rate.
    """
    delay = start + number * interval - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


async def measure(ports: List[int], wire: Wire, args: argparse.Namespace) -> Dict[str, float]:
    latencies: List[float] = []
    sent: Dict[int, float] = {}
    members = await join_all(ports, wire, args.members, latencies, sent)
    await asyncio.sleep(1.0)  # join notices drained
    latencies.clear()
    for member in members:
        member.count = 0
    sender = members[0]
    interval = args.members / args.rate if args.rate else 0.0
    number = 0
    start = time.perf_counter()
    deadline = start + args.seconds
    while time.perf_counter() < deadline:
        if interval:
            await wait_turn(start, number, interval)
        else:
            await wait_window(sender, number, args.window)
        sent[number] = time.perf_counter()
        await sender.ws.send(wire.say(number))
        number += 1
    sending = time.perf_counter() - start
    expected = number * len(members)
    end = time.perf_counter() + 30
    while sum(m.count for m in members) < expected and time.perf_counter() < end:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    delivered = sum(m.count for m in members)
    for member in members:
        await member.ws.close()
        member.task.cancel()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {
        "messages": number,
        "deliveries": delivered,
        "lost": expected - delivered,
        "per_s": delivered / elapsed,
        "offered": number * len(members) / sending,
        "p50": pct(0.5),
        "p99": pct(0.99),
    }


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throw-away redis-server on a free port, no persistence; yields its URL."""
    path = shutil.which("redis-server")
    if path is None:
        raise SystemExit("redis-server is not installed: the redis cells need it")
    port = free_port()
    redis = Child([path, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
    time.sleep(0.5)
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        redis.stop()


def run_servers(start: Callable[[], Child], count: int, wire: Wire, args: argparse.Namespace) -> Dict[str, float]:
    """Start ``count`` servers, measure against them (members split evenly), stop them all.

    A server that fails to start stops the ones already running, so no
    process outlives the cell.
    """
    servers: List[Child] = []
    try:
        for _ in range(count):
            servers.append(start())
        return asyncio.run(measure([s.port for s in servers], wire, args))
    finally:
        for child in servers:
            child.stop()


def socketio_server(*extra: str) -> Child:
    """``socketio_room_server.py`` on a free port (``--redis URL`` in ``extra`` for the manager)."""
    if importlib.util.find_spec("socketio") is None or importlib.util.find_spec("uvicorn") is None:
        raise SystemExit("the socketio cells need: pip install python-socketio uvicorn redis")
    script = str(Path(__file__).resolve().with_name("socketio_room_server.py"))
    return Child([sys.executable, script, "--port", "0", *extra], announce="http://127.0.0.1:")


def run_memory(args: argparse.Namespace) -> Dict[str, float]:
    return run_servers(chat, 1, ChatWire(), args)


def run_redis(args: argparse.Namespace) -> Dict[str, float]:
    with redis_server() as url:
        return run_servers(lambda: chat("--redis", url), 2, ChatWire(), args)


def run_socketio(args: argparse.Namespace) -> Dict[str, float]:
    return run_servers(socketio_server, 1, SocketIOWire(), args)


def run_socketio_redis(args: argparse.Namespace) -> Dict[str, float]:
    with redis_server() as url:
        return run_servers(lambda: socketio_server("--redis", url), 2, SocketIOWire(), args)


CELLS = {
    "memory": ("memory, 1 process", run_memory),
    "redis": ("redis, 2 workers", run_redis),
    "socketio": ("socketio, 1 process", run_socketio),
    "socketio-redis": ("socketio+redis, 2 w.", run_socketio_redis),
}


def raise_nofile(needed: int) -> None:
    """Room for ``needed`` more sockets in this process, if the hard limit allows."""
    try:
        import resource
    except ImportError:  # pragma: no cover (Windows)
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000, help="members of the room (default 1000)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds of sending per cell (default 3)")
    parser.add_argument("--window", type=int, default=10, help="messages in flight (default 10)")
    parser.add_argument("--rate", type=float, default=0.0, help="deliveries/s to offer, paced, instead of a window (default 0: window mode)")
    parser.add_argument("--cells", default=",".join(CELLS), help=f"which cells (default {','.join(CELLS)})")
    args = parser.parse_args()
    raise_nofile(args.members)
    rows = []
    for key in args.cells.split(","):
        label, fn = CELLS[key]
        result = fn(args)
        rows.append((label, result))
    mode = f"paced at {args.rate:,.0f} deliveries/s ({args.rate / args.members:,.1f} messages/s)" if args.rate else f"window {args.window}"
    print(f"room of {args.members} members, {args.seconds:g} s per cell, {mode}")
    print(f"{'hub':<20} {'messages':>8} {'offered/s':>10} {'deliveries/s':>13} {'p50 ms':>8} {'p99 ms':>8} {'lost':>5}")
    for label, r in rows:
        print(f"{label:<20} {r['messages']:>8.0f} {r['offered']:>10,.0f} {r['per_s']:>13,.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['lost']:>5.0f}")


if __name__ == "__main__":
    main()

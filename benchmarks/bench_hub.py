"""Fan-out of the chat through its hub: one room of N members, one sender.

Two cells, each with real processes over loopback:

* ``memory``: ``python -m wsframe chat`` (one process, in-memory hub);
* ``redis 2 workers``: two ``python -m wsframe chat --redis`` processes on
  one redis-server (started here, on a free port), members split evenly,
  the sender on the first.

The members are wsframe.aio clients in this process. The sender keeps at
most ``--window`` messages in flight (it waits for its own copy of message
i - window before sending message i), for ``--seconds``. Reported per cell:
deliveries per second (messages received by all members together) and the
end-to-end latency (sender's send to a member's receive, one clock) at the
50th and 99th percentiles. The clients share the machine with the servers,
so the numbers are the whole system's, not the server's alone.

    python benchmarks/bench_hub.py --members 200 --seconds 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

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


class Member:
    """One member: reads everything, keeps the latency of each bench message."""

    def __init__(self, ws: Any, latencies: List[float], sent: Dict[int, float]) -> None:
        self.ws = ws
        self.latencies = latencies
        self.sent = sent
        self.count = 0
        self.last = -1
        self.waiters: Dict[int, "asyncio.Future[None]"] = {}
        self.task = asyncio.ensure_future(self.read())

    async def read(self) -> None:
        async for raw in self.ws:
            if not raw.startswith('{"id"'):  # join notices: not measured, not parsed
                continue
            event = json.loads(raw)
            if event.get("type") != "message":
                continue
            now = time.perf_counter()
            number = int(event["text"])
            self.latencies.append(now - self.sent[number])
            self.count += 1
            self.last = number
            waiter = self.waiters.pop(number, None)
            if waiter is not None:
                waiter.set_result(None)


async def join_all(ports: List[int], members: int, latencies: List[float], sent: Dict[int, float]) -> List[Member]:
    async def one(i: int) -> Member:
        ws = await connect(f"ws://127.0.0.1:{ports[i % len(ports)]}/ws", max_queue=4096)
        await ws.send(json.dumps({"type": "join", "room": "bench", "name": f"m{i}"}))
        while json.loads(await ws.recv())["type"] != "joined":
            pass
        return Member(ws, latencies, sent)

    out: List[Member] = []
    for start in range(0, members, 50):  # batches: a storm of joins is not what is measured
        out += await asyncio.gather(*(one(i) for i in range(start, min(members, start + 50))))
    return out


async def measure(ports: List[int], args: argparse.Namespace) -> Dict[str, float]:
    latencies: List[float] = []
    sent: Dict[int, float] = {}
    members = await join_all(ports, args.members, latencies, sent)
    await asyncio.sleep(1.0)  # join notices drained
    latencies.clear()
    for member in members:
        member.count = 0
    sender = members[0]
    loop = asyncio.get_running_loop()
    number = 0
    start = time.perf_counter()
    deadline = start + args.seconds
    while time.perf_counter() < deadline:
        if number >= args.window:
            waiter = sender.waiters.get(number - args.window)
            if waiter is None and sender.last < number - args.window:
                waiter = sender.waiters[number - args.window] = loop.create_future()
            if waiter is not None:
                await asyncio.wait_for(waiter, 30)
        sent[number] = time.perf_counter()
        await sender.ws.send(json.dumps({"type": "message", "text": str(number)}))
        number += 1
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

    return {"messages": number, "deliveries": delivered, "lost": expected - delivered, "per_s": delivered / elapsed, "p50": pct(0.5), "p99": pct(0.99)}


def run_memory(args: argparse.Namespace) -> Dict[str, float]:
    server = chat()
    try:
        return asyncio.run(measure([server.port], args))
    finally:
        server.stop()


def run_redis(args: argparse.Namespace) -> Dict[str, float]:
    path = shutil.which("redis-server")
    if path is None:
        raise SystemExit("redis-server is not installed: the redis cell needs it")
    port = free_port()
    redis = Child([path, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
    time.sleep(0.5)
    workers: List[Child] = []
    try:
        workers = [chat("--redis", f"redis://127.0.0.1:{port}") for _ in range(2)]
        return asyncio.run(measure([w.port for w in workers], args))
    finally:
        for child in workers + [redis]:
            child.stop()


CELLS = {"memory": ("memory, 1 process", run_memory), "redis": ("redis, 2 workers", run_redis)}


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
    parser.add_argument("--cells", default="memory,redis", help="which cells (default memory,redis)")
    args = parser.parse_args()
    raise_nofile(args.members)
    rows = []
    for key in args.cells.split(","):
        label, fn = CELLS[key]
        result = fn(args)
        rows.append((label, result))
    print(f"room of {args.members} members, {args.seconds:g} s per cell, window {args.window}")
    print(f"{'hub':<20} {'messages':>8} {'deliveries/s':>13} {'p50 ms':>8} {'p99 ms':>8} {'lost':>5}")
    for label, r in rows:
        print(f"{label:<20} {r['messages']:>8.0f} {r['per_s']:>13,.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['lost']:>5.0f}")


if __name__ == "__main__":
    main()

"""Load benchmark: thousands of concurrent connections with chat-style fan-out.

Usage::

    python benchmarks/bench_load.py [--connections 2000] [--seconds 5]
                                    [--senders 4] [--servers bare-send,wsframe,websockets,aiohttp]
                                    (also: wsframe-pure-loop) [--no-pin]
                                    [--read-buffer BYTES]

Each server runs in a process of its own on 127.0.0.1 (port 0) with the same
chat handler: every message a client sends is broadcast to every connected
client (``wsframe.aio.broadcast``, ``websockets.broadcast``, a loop of
``send_str`` for aiohttp); compression and keepalive pings are off
everywhere. One common client (in this process: raw asyncio protocols with
wsframe's C frame parser, so the client is cheap and the same for every
server) then measures:

* memory per idle connection: the server's RSS with ``--connections`` idle
  clients minus its RSS with one, divided by the count;
* fan-out: ``--senders`` clients each send a timestamped message at once,
  and the round ends when every client has received all of them; rounds
  repeat for ``--seconds``. Messages/s counts deliveries (one message to one
  client); latency is send-to-delivery, p50/p90/p99 over all deliveries.

It also reads each server's CPU time over the fan-out: microseconds per
delivery, the steadier measure, and its ratio to ``bare-send``'s, the
floor measured in the same run (a hand-written server whose fan-out is one
``socket.send`` per client, nothing else). The client runs on one core and
the servers on another (``--no-pin`` lets the OS place them).

The open-file limit is raised to its hard limit (each connection is a socket
in this process and one in the server's). This is a benchmark, not a test:
numbers vary with the machine and its load; on a 2-core machine the client
competes with the server for CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

from bench_process import cpu_seconds, describe, pin_client, pin_server

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import wsframe  # noqa: F401  (an installed wsframe wins)
except ImportError:
    sys.path.insert(0, os.path.join(HERE, "..", "src"))

# ---- servers (each in its own process: `bench_load.py --serve NAME`) ------------------


async def serve_wsframe_pure_loop() -> None:
    """wsframe with the pure-Python fan-out loop (what runs without the
    extension): the compiled loop's effect, measured in the same run."""
    import importlib

    importlib.import_module("wsframe.aio.broadcast")._fanout = importlib.import_module("wsframe._fanout_py")
    await serve_wsframe()


async def serve_wsframe() -> None:
    from wsframe.aio import broadcast, serve

    options = {}
    if os.environ.get("BENCH_LOAD_READ_BUFFER"):  # --read-buffer: wsframe's initial read buffer
        options["read_buffer_size"] = int(os.environ["BENCH_LOAD_READ_BUFFER"])

    clients: set = set()

    async def chat(ws: Any) -> None:
        clients.add(ws)
        try:
            async for message in ws:
                broadcast(clients, message)
        finally:
            clients.discard(ws)

    async with serve(chat, "127.0.0.1", 0, compression=None, ping_interval=None, **options) as server:
        print(f"PORT {server.port}", flush=True)
        await asyncio.Future()


async def serve_websockets() -> None:
    from websockets.asyncio.server import broadcast, serve

    clients: set = set()

    async def chat(ws: Any) -> None:
        clients.add(ws)
        try:
            async for message in ws:
                broadcast(clients, message)
        finally:
            clients.discard(ws)

    async with serve(chat, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"PORT {port}", flush=True)
        await asyncio.Future()


async def serve_aiohttp() -> None:
    import aiohttp
    from aiohttp import web

    clients: set = set()

    async def chat(request: Any) -> Any:
        ws = web.WebSocketResponse(autoping=True, heartbeat=None, compress=False)
        await ws.prepare(request)
        clients.add(ws)
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    for peer in list(clients):
                        if not peer.closed:
                            await peer.send_str(msg.data)
        finally:
            clients.discard(ws)
        return ws

    app = web.Application()
    app.router.add_get("/", chat)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    await asyncio.Future()


async def serve_bare_send() -> None:
    """The floor of a fan-out: a hand-written handshake, wsframe's parser for
    the input, and per message one ``socket.send`` per client over the same
    kind of sockets (the frame encoded once). What the system calls cost by
    themselves; not a server to use (no limits, no closing handshake)."""
    import hashlib
    import socket

    from wsframe import _backend

    codec = _backend.codec
    guid = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    peers: Dict[Any, socket.socket] = {}

    class BareChat(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.head = b""
            self.parser: Any = None

        def data_received(self, data: bytes) -> None:
            if self.parser is None:
                self.head += data
                head, sep, rest = self.head.partition(b"\r\n\r\n")
                if not sep:
                    return
                key = next(
                    line.split(b":", 1)[1].strip()
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"sec-websocket-key:")
                )
                accept = base64.b64encode(hashlib.sha1(key + guid).digest())
                self.transport.write(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
                )
                self.parser = codec.FrameParser(is_server=True)
                # A socket object of our own on the transport's descriptor
                # (detached, not closed, when the connection goes).
                fd = self.transport.get_extra_info("socket").fileno()
                peers[self] = socket.socket(fileno=fd)
                data = rest
            for frame in self.parser.feed(data):
                if frame.opcode == 1:
                    out = codec.encode_frame(1, frame.payload)
                    for peer, sock in peers.items():
                        try:
                            sent = sock.send(out)
                        except BlockingIOError:
                            sent = 0
                        if sent != len(out):
                            peer.transport.write(out[sent:])

        def connection_lost(self, exc: Optional[Exception]) -> None:
            sock = peers.pop(self, None)
            if sock is not None:
                sock.detach()  # the transport closes the descriptor after this

    server = await asyncio.get_running_loop().create_server(BareChat, "127.0.0.1", 0)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Future()


SERVERS = {
    "bare-send": serve_bare_send,
    "wsframe": serve_wsframe,
    "wsframe-pure-loop": serve_wsframe_pure_loop,
    "websockets": serve_websockets,
    "aiohttp": serve_aiohttp,
}

# ---- the common client ------------------------------------------------------------------


class ChatClient(asyncio.Protocol):
    """One raw WebSocket client: handshake, then timestamped text messages."""

    def __init__(self, stats: "Stats") -> None:
        from wsframe import _backend

        self.codec = _backend.codec
        self.stats = stats
        self.transport: Any = None
        self.head = bytearray()
        self.parser: Any = None
        self.opened = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        if self.parser is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.head.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(RuntimeError(bytes(self.head[:80])))
                return
            data = bytes(self.head[end + 4 :])
            self.parser = self.codec.FrameParser(is_server=False, max_message_size=1 << 20)
            self.opened.set_result(None)
        now = time.perf_counter_ns()
        for frame in self.parser.feed(data):
            if frame.opcode == 1:
                self.stats.delivered(now - int(frame.payload.split(b" ", 1)[0]))

    def send(self) -> None:
        payload = b"%d hello everyone in the room" % time.perf_counter_ns()
        self.transport.write(self.codec.encode_frame(1, payload, mask=True))

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))


class Stats:
    """Deliveries and their latencies, and a waiter for the end of a round."""

    def __init__(self) -> None:
        self.latencies: List[int] = []
        self.count = 0
        self.target = 0
        self.done: Optional[asyncio.Future] = None

    def delivered(self, latency_ns: int) -> None:
        self.latencies.append(latency_ns)
        self.count += 1
        if self.done is not None and self.count >= self.target and not self.done.done():
            self.done.set_result(None)


def rss_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def open_clients(port: int, count: int, stats: Stats) -> List[ChatClient]:
    loop = asyncio.get_running_loop()
    clients: List[ChatClient] = []
    for start in range(0, count, 200):
        batch = []
        for _ in range(min(200, count - start)):
            _, proto = await loop.create_connection(lambda: ChatClient(stats), "127.0.0.1", port)
            batch.append(proto)
        await asyncio.wait_for(asyncio.gather(*(c.opened for c in batch)), 60)
        clients += batch
    return clients


async def measure(name: str, args: argparse.Namespace) -> Dict[str, Any]:
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", name], stdout=subprocess.PIPE, text=True
    )
    pin_server(proc.pid)
    try:
        line = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline), 30)
        port = int(line.split()[1])
        stats = Stats()
        first = await open_clients(port, 1, stats)
        await asyncio.sleep(0.5)
        rss1 = rss_of(proc.pid)
        others = await open_clients(port, args.connections - 1, stats)
        clients = first + others
        await asyncio.sleep(1.0)
        rss_n = rss_of(proc.pid)
        per_conn = (rss_n - rss1) / (args.connections - 1)

        loop = asyncio.get_running_loop()
        stats.latencies.clear()
        stats.count = 0
        rounds = 0
        cpu_start = cpu_seconds(proc.pid)
        start = time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            stats.target = stats.count + args.senders * len(clients)
            stats.done = loop.create_future()
            for i in range(args.senders):
                clients[(rounds * args.senders + i * 7919) % len(clients)].send()
            await asyncio.wait_for(stats.done, 60)
            rounds += 1
        elapsed = time.perf_counter() - start
        cpu_end = cpu_seconds(proc.pid)
        lat = sorted(stats.latencies)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] / 1e6

        for c in clients:
            c.transport.abort()
        return {
            "server": name,
            "connections": len(clients),
            "rss_1_MiB": rss1 / 2**20,
            "rss_n_MiB": rss_n / 2**20,
            "kib_per_conn": per_conn / 1024,
            "deliveries_per_s": stats.count / elapsed,
            # Server CPU per delivery: steadier than the rate, which the
            # client (one Python process parsing every delivery) limits too.
            "cpu_us_per_delivery": (
                (cpu_end - cpu_start) / stats.count * 1e6 if cpu_start is not None and cpu_end is not None else None
            ),
            "rounds": rounds,
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "mean_ms": statistics.fmean(lat) / 1e6 if lat else float("nan"),
        }
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def raise_nofile(needed: int) -> int:
    """Raise the soft open-file limit to the hard limit; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < needed:
        sys.exit(f"open-file limit {soft} is below the {needed} this run needs")
    return soft


async def main(args: argparse.Namespace) -> None:
    results = []
    for name in args.servers.split(","):
        try:
            results.append(await measure(name, args))
        except ImportError as exc:
            print(f"{name}: skipped ({exc})")
    print(
        f"\n{args.connections} connections, {args.senders} senders per round, {args.seconds:g} s of fan-out;"
        f" deliveries = messages received by clients; {describe()}"
    )
    floor = next((r["cpu_us_per_delivery"] for r in results if r["server"] == "bare-send"), None)
    header = (
        f"{'server':<17} {'KiB/idle conn':>13} {'RSS 1 conn':>10} {'RSS all':>9} {'deliveries/s':>13}"
        f" {'rounds':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'CPU us/deliv':>12} {'/ bare-send':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        cpu = r["cpu_us_per_delivery"]
        ratio = f"{cpu / floor:.2f}x" if cpu and floor else "-"
        print(
            f"{r['server']:<17} {r['kib_per_conn']:>13.1f} {r['rss_1_MiB']:>8.1f}MB {r['rss_n_MiB']:>7.1f}MB"
            f" {r['deliveries_per_s']:>13,.0f} {r['rounds']:>7}"
            f" {r['p50_ms']:>8.1f} {r['p90_ms']:>8.1f} {r['p99_ms']:>8.1f}"
            f" {'-' if cpu is None else format(cpu, '.2f'):>12} {ratio:>11}"
        )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--servers", default="bare-send,wsframe,websockets,aiohttp")
    parser.add_argument("--read-buffer", type=int, help="wsframe's initial read buffer (default 64 KiB)")
    parser.add_argument(
        "--no-pin", action="store_true", help="let the OS place client and servers (default: one core each)"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        raise_nofile(args.connections + 64)
        asyncio.run(SERVERS[args.serve]())
        return
    raise_nofile(args.connections + 64)
    pin_client(not args.no_pin)
    if args.read_buffer:
        os.environ["BENCH_LOAD_READ_BUFFER"] = str(args.read_buffer)
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()

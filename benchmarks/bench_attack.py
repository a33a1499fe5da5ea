"""Attack benchmark (issue 19): hostile clients against wsframe.aio, websockets and aiohttp.

Usage::

    python benchmarks/bench_attack.py [--connections 100] [--messages 300]
                                      [--servers wsframe,websockets,aiohttp]
                                      [--attacks bomb,tiny] [--json PATH|-]
                                      [--rss-cap-mib 6144]

Each server runs in a process of its own on 127.0.0.1 (port 0) with
permessage-deflate on, messages up to 2 MiB, keepalive pings off, and two
handlers: ``/sink`` accepts the connection and never reads a message,
``/echo`` sends every message back. For each attack and server (a fresh
server process every time):

* ``bomb``, the compressed-message queue bomb: ``--connections`` hostile
  connections to ``/sink``, each sending two ordinary messages of about
  1 MiB of random bytes, then ``--messages`` permessage-deflate messages of
  1 MiB of zeros (context takeover, about 1 KiB each on the wire), and never
  reading. The wire bytes are made once per server by a
  ``wsframe.Connection`` client fed the real 101 of the first connection (so
  the parameters are the ones that server negotiated) and replayed on every
  other connection; each server connection inflates them from a fresh
  context, as it would its own.
* ``tiny``, tiny-message amplification: the same connections, each sending
  one 1 MiB message, then 1 MiB of 2-byte text frames (131,072 messages) in
  one write, never reading.

Measured: the server's RSS (``/proc/PID/status`` VmRSS) before the attack
(max of 100 ms samples over 1 s) and during it (every 100 ms from the first
attacker on until it settles: at least ``--settle`` seconds, then until the
max stopped rising for 2 s, at most ``--max-settle`` seconds); the growth
per connection is (max during - before) / connections. Meanwhile a
well-behaved client in a process of its own sends a 64-byte message to
``/echo`` every 50 ms (on a fixed schedule, so a stall is not hidden) and
times each echo; reported: max and p99 over the messages sent during the
attack, and any echo still missing at the end. After the measure each
attacker reads what the server sent it, to report close codes (``RST`` /
``EOF`` when the connection ended without a close frame).

Safety: a server whose RSS passes ``--rss-cap-mib`` is killed at once (the
row then says so); this machine has no swap. This is a benchmark, not a
test: figures vary with the machine and its load (on 2 cores the attackers,
the probe and the server share the CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import wsframe  # noqa: F401  (an installed wsframe wins)
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, "src"))
    import wsframe  # noqa: F401

MiB = 1024 * 1024
MAX_SIZE = 2 * MiB
SERVERS = ("wsframe", "websockets", "aiohttp")
ATTACKS = {
    "bomb": "compressed-message queue bomb",
    "tiny": "tiny-message amplification",
}
PROBE_INTERVAL = 0.050
PROBE_SIZE = 64

# ---- servers (each in its own process: bench_attack.py --serve NAME) ---------------------


def routed(path_of: Any) -> Any:
    """The handler of wsframe and websockets: ``/echo`` echoes, anything else never reads."""

    async def handler(ws: Any) -> None:
        if path_of(ws) == "/echo":
            async for message in ws:
                await ws.send(message)
        else:
            await ws.wait_closed()  # never reads a message

    return handler


async def serve_wsframe() -> None:
    from wsframe.aio import serve

    handler = routed(lambda ws: ws.path)
    async with serve(handler, "127.0.0.1", 0, compression="deflate", max_size=MAX_SIZE, ping_interval=None) as server:
        print(f"PORT {server.port}", flush=True)
        await asyncio.Future()


async def serve_websockets() -> None:
    from websockets.asyncio.server import serve

    handler = routed(lambda ws: ws.request.path)
    async with serve(handler, "127.0.0.1", 0, compression="deflate", max_size=MAX_SIZE, ping_interval=None) as server:
        print(f"PORT {next(iter(server.sockets)).getsockname()[1]}", flush=True)
        await asyncio.Future()


async def serve_aiohttp() -> None:
    import aiohttp
    from aiohttp import web

    async def echo(request: Any) -> Any:
        ws = web.WebSocketResponse(max_msg_size=MAX_SIZE, compress=True, heartbeat=None)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws

    async def sink(request: Any) -> Any:
        ws = web.WebSocketResponse(max_msg_size=MAX_SIZE, compress=True, heartbeat=None)
        await ws.prepare(request)
        await asyncio.Future()  # never reads a message (the process is ended after each attack)
        return ws

    app = web.Application()
    app.router.add_get("/echo", echo)
    app.router.add_get("/sink", sink)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"PORT {runner.addresses[0][1]}", flush=True)
    await asyncio.Future()


SERVE = {"wsframe": serve_wsframe, "websockets": serve_websockets, "aiohttp": serve_aiohttp}

# ---- the well-behaved client (its own process: bench_attack.py --probe PORT) -------------


async def probe(port: int, max_seconds: float) -> None:
    """Send a 64-byte message every 50 ms to /echo until a line arrives on
    stdin (or ``max_seconds``); print one JSON line: per message the
    monotonic send time and the round trip (None when no echo came)."""
    from wsframe.aio import connect

    loop = asyncio.get_running_loop()
    ws = await asyncio.wait_for(connect(f"ws://127.0.0.1:{port}/echo", max_size=MAX_SIZE, ping_interval=None), 10)
    sent: List[float] = []
    rtt: Dict[int, float] = {}
    error: Optional[str] = None

    async def receive() -> None:
        async for message in ws:
            now = time.monotonic()
            seq = int(bytes(message[:10]))
            rtt[seq] = now - sent[seq]

    receiver = asyncio.ensure_future(receive())
    stop = loop.run_in_executor(None, sys.stdin.readline)
    print("READY", flush=True)
    start = time.monotonic()
    try:
        while not stop.done() and time.monotonic() - start < max_seconds and not receiver.done():
            seq = len(sent)
            delay = start + seq * PROBE_INTERVAL - time.monotonic()
            if delay > 0:
                await asyncio.wait([stop], timeout=delay)
                if stop.done():
                    break
            payload = b"%010d" % seq
            sent.append(time.monotonic())
            await asyncio.wait_for(ws.send(payload + b"." * (PROBE_SIZE - len(payload))), 10)
        deadline = time.monotonic() + 2.0  # the last echoes
        while len(rtt) < len(sent) and time.monotonic() < deadline and not receiver.done():
            await asyncio.sleep(0.02)
    except Exception as exc:  # the report says so; nothing here is fatal to the benchmark
        error = f"{type(exc).__name__}: {exc}"
    if receiver.done() and receiver.exception() is not None and error is None:
        error = f"{type(receiver.exception()).__name__}: {receiver.exception()}"
    receiver.cancel()
    try:
        await asyncio.wait_for(ws.close(), 2)
    except Exception:
        pass
    samples = [[t, rtt.get(i)] for i, t in enumerate(sent)]
    print("RESULT " + json.dumps({"samples": samples, "error": error}), flush=True)
    os._exit(0)  # the stdin reader thread may still be blocked


# ---- the attackers (in the benchmark process) ---------------------------------------------


def client_connection(deflate: bool) -> Any:
    from wsframe.deflate import ClientPerMessageDeflate

    factories = [ClientPerMessageDeflate()] if deflate else []
    return wsframe.Connection("client", host="127.0.0.1", target="/sink", extension_factories=factories)


def extensions_header(head: bytes) -> str:
    found = re.findall(rb"(?im)^sec-websocket-extensions:[ \t]*(.*?)[ \t]*\r$", head)
    return b", ".join(found).decode("latin-1")


class Attacker:
    """One hostile connection: a real handshake, then the shared wire bytes."""

    def __init__(self) -> None:
        self.conn = client_connection(deflate=True)
        self.reader: Optional[asyncio.StreamReader] = None
        self.writer: Optional[asyncio.StreamWriter] = None
        self.extensions = ""
        self.ended: Optional[str] = None

    async def open(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(self.conn.data_to_send())
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 20)
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"handshake refused: {head[:80]!r}")
        self.conn.receive_data(head)
        self.conn.events()
        self.extensions = extensions_header(head)

    def send(self, wire: bytes) -> None:
        assert self.writer is not None
        self.writer.write(wire)

    async def close_codes(self, seconds: float) -> List[str]:
        """Read what the server sent, for ``seconds`` at most: its close codes."""
        assert self.reader is not None
        codes: List[str] = []
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                try:
                    data = await asyncio.wait_for(self.reader.read(1 << 20), max(0.01, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    break
                if not data:
                    self.ended = "EOF"
                    break
                self.conn.receive_data(data)
                for event in self.conn.events():
                    if isinstance(event, wsframe.events.CloseReceived):
                        codes.append(str(event.code))
        except (ConnectionError, OSError):
            self.ended = "RST"
        if not codes and self.ended:
            codes.append(self.ended)
        return codes

    def unsent(self) -> int:
        return self.writer.transport.get_write_buffer_size() if self.writer is not None else 0

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()


def bomb_wire(conn: Any, messages: int) -> bytes:
    """Two ordinary ~1 MiB messages, then ``messages`` compressed 1 MiB messages of zeros."""
    conn.send_binary(os.urandom(MiB - 100))
    conn.send_binary(os.urandom(MiB - 100))
    chunks = [conn.data_to_send()]
    zeros = bytes(MiB)
    for _ in range(messages):
        conn.send_binary(zeros)
        chunks.append(conn.data_to_send())
    return b"".join(chunks)


def tiny_wire(conn: Any) -> bytes:
    """One 1 MiB message, then 1 MiB of 2-byte text messages (8 bytes each on the wire)."""
    conn.send_binary(os.urandom(MiB))
    head = conn.data_to_send()
    frame = wsframe.encode_frame(wsframe.Opcode.TEXT, b"hi", mask=b"\x01\x02\x03\x04")
    return head + frame * (MiB // len(frame))


# ---- measuring ------------------------------------------------------------------------------


def rss_of(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class Sampler:
    """Samples a process's RSS every 100 ms; kills it past ``cap`` bytes."""

    def __init__(self, proc: subprocess.Popen, cap: int) -> None:
        self.proc = proc
        self.cap = cap
        self.max = 0
        self.history: List[Tuple[float, int]] = []
        self.killed = False
        self.task: Optional[asyncio.Task] = None

    def start(self) -> None:
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            rss = rss_of(self.proc.pid)
            if rss is None:
                return
            self.max = max(self.max, rss)
            self.history.append((time.monotonic(), self.max))
            if rss > self.cap and not self.killed:
                self.killed = True
                self.proc.kill()
                return
            await asyncio.sleep(0.1)

    def rose_lately(self, seconds: float) -> bool:
        """Did the max rise by more than 1% (and 1 MiB) over the last ``seconds``?"""
        now = time.monotonic()
        earlier = [m for t, m in self.history if t <= now - seconds]
        if not earlier:
            return True
        return self.max - earlier[-1] > max(MiB, self.max // 100)

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()


async def settled_max(pid: int, seconds: float) -> int:
    best = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        best = max(best, rss_of(pid) or 0)
        await asyncio.sleep(0.1)
    return best


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


async def read_line(proc: subprocess.Popen, prefix: str, timeout: float) -> str:
    loop = asyncio.get_running_loop()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = await asyncio.wait_for(loop.run_in_executor(None, proc.stdout.readline), max(0.1, end - time.monotonic()))
        if not line:
            raise RuntimeError(f"child ended before {prefix!r}")
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise RuntimeError(f"no {prefix!r} from the child")


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def latency_summary(samples: List[List[Any]], start: float, end: float) -> Dict[str, Any]:
    window = [s for s in samples if start <= s[0] <= end]
    answered = sorted(s[1] for s in window if s[1] is not None)
    missing = sum(1 for s in window if s[1] is None)
    out: Dict[str, Any] = {"sent": len(window), "echoed": len(answered), "missing": missing}
    if answered:
        out["max_ms"] = answered[-1] * 1000
        rank = max(0, -(-99 * len(window) // 100) - 1)  # nearest rank over everything sent
        out["p99_ms"] = answered[rank] * 1000 if rank < len(answered) else None
        out["over_100ms"] = sum(1 for r in answered if r > 0.100) + missing
    return out


async def attack(name: str, kind: str, args: argparse.Namespace) -> Dict[str, Any]:
    server = spawn("--serve", name)
    probe_proc: Optional[subprocess.Popen] = None
    attackers: List[Attacker] = []
    sampler = Sampler(server, args.rss_cap_mib * MiB)
    result: Dict[str, Any] = {"attack": kind, "server": name, "connections": args.connections}
    try:
        port = int(await read_line(server, "PORT ", 30))
        probe_proc = spawn("--probe", str(port))
        await read_line(probe_proc, "READY", 30)
        await asyncio.sleep(0.3)
        before = await settled_max(server.pid, 1.0)
        result["rss_before_MiB"] = before / MiB

        attack_start = time.monotonic()
        sampler.start()
        first = Attacker()
        await first.open(port)
        wire = bomb_wire(first.conn, args.messages) if kind == "bomb" else tiny_wire(first.conn)
        result["wire_bytes_per_connection"] = len(wire)
        result["negotiated"] = first.extensions
        attackers.append(first)
        first.send(wire)
        for start in range(1, args.connections, 25):
            batch = [Attacker() for _ in range(min(25, args.connections - start))]
            outcome = await asyncio.gather(*(a.open(port) for a in batch), return_exceptions=True)
            for a, res in zip(batch, outcome):
                if isinstance(res, BaseException):
                    result.setdefault("handshake_errors", []).append(f"{type(res).__name__}: {res}")
                    a.abort()
                    continue
                if a.extensions != first.extensions:
                    raise RuntimeError(f"negotiated {a.extensions!r}, not {first.extensions!r}")
                a.send(wire)
                attackers.append(a)
            if sampler.killed:
                break
        result["attackers"] = len(attackers)
        sent_at = time.monotonic()
        result["connect_seconds"] = sent_at - attack_start
        while not sampler.killed and server.poll() is None:
            elapsed = time.monotonic() - sent_at
            if elapsed >= args.max_settle or (elapsed >= args.settle and not sampler.rose_lately(2.0)):
                break
            await asyncio.sleep(0.1)
        attack_end = time.monotonic()
        result["still_rising"] = sampler.rose_lately(2.0) and not sampler.killed
        sampler.stop()
        result["settle_seconds"] = attack_end - sent_at
        # What the attackers could not hand to the kernel yet: the server's back-pressure.
        result["attackers_unsent_MiB"] = sum(a.unsent() for a in attackers) / MiB
        result["rss_max_MiB"] = sampler.max / MiB
        result["killed_at_cap"] = sampler.killed
        result["growth_MiB_per_connection"] = (sampler.max - before) / MiB / max(1, len(attackers))
        result["server_alive"] = server.poll() is None

        assert probe_proc.stdin is not None
        probe_proc.stdin.write("stop\n")
        probe_proc.stdin.flush()
        report = json.loads(await read_line(probe_proc, "RESULT ", 30))
        result["probe"] = latency_summary(report["samples"], attack_start, attack_end)
        result["probe"]["error"] = report["error"]
        result["probe_idle"] = latency_summary(report["samples"], 0.0, attack_start)

        codes: Dict[str, int] = {}
        seen = await asyncio.gather(*(a.close_codes(1.0) for a in attackers))
        for found in seen:
            for code in found:
                codes[code] = codes.get(code, 0) + 1
        result["close_codes"] = codes
    finally:
        sampler.stop()
        for a in attackers:
            a.abort()
        if probe_proc is not None:
            stop_process(probe_proc)
        stop_process(server)
    return result


def documented_bound() -> float:
    """docs/connection.md's worst case per connection, for this benchmark's options, in MiB."""
    from wsframe.aio.protocol import MAX_READ_BUFFER_SIZE
    from wsframe.connection import DEFAULT_MAX_QUEUE_BYTES

    zlib_state = 0.3 * MiB
    held = DEFAULT_MAX_QUEUE_BYTES + MAX_SIZE + MAX_READ_BUFFER_SIZE + MAX_SIZE + MAX_SIZE + zlib_state
    return held / MiB


def fmt(value: Optional[float], spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def table(results: List[Dict[str, Any]]) -> str:
    lines = [
        "| attack | server | RSS growth per connection (MiB) | RSS before / max (MiB) |"
        " good client max / p99 (ms) | echoes late (>100 ms) or missing | attackers' close codes |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {ATTACKS[r['attack']]} | {r['server']} | error: {r['error']} | | | | |")
            continue
        growth = fmt(r["growth_MiB_per_connection"], ".2f")
        if r["killed_at_cap"]:
            growth = f"> {growth} (killed at the cap)"
        elif r.get("still_rising"):
            growth = f"> {growth} (still rising)"
        p = r["probe"]
        lat = f"{fmt(p.get('max_ms'))} / {fmt(p.get('p99_ms'))}"
        if p.get("missing"):
            lat = f"> {fmt(p.get('max_ms'))} / {fmt(p.get('p99_ms')) if p.get('p99_ms') else 'missing'}"
        late = f"{p.get('over_100ms', 0)} of {p['sent']}"
        if p.get("missing"):
            late += f" ({p['missing']} missing)"
        if p.get("error"):
            late += f"; probe: {p['error']}"
        codes = ", ".join(f"{c} x{n}" for c, n in sorted(r["close_codes"].items())) or "none"
        lines.append(
            f"| {ATTACKS[r['attack']]} | {r['server']} | {growth} |"
            f" {r['rss_before_MiB']:.1f} / {r['rss_max_MiB']:.1f} | {lat} | {late} | {codes} |"
        )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    import platform

    import aiohttp
    import websockets

    results: List[Dict[str, Any]] = []
    began = time.monotonic()
    for kind in args.attacks.split(","):
        if kind not in ATTACKS:
            sys.exit(f"unknown attack {kind!r} (choose from {', '.join(ATTACKS)})")
        for name in args.servers.split(","):
            if name not in SERVE:
                sys.exit(f"unknown server {name!r} (choose from {', '.join(SERVERS)})")
            try:
                r = await attack(name, kind, args)
            except Exception as exc:
                r = {"attack": kind, "server": name, "error": f"{type(exc).__name__}: {exc}"}
            results.append(r)
            print(f"{kind} {name}: {json.dumps(r)}", file=sys.stderr, flush=True)
    meta = {
        "connections": args.connections,
        "messages": args.messages,
        "documented_bound_MiB": documented_bound(),
        "seconds": time.monotonic() - began,
        "python": platform.python_version(),
        "wsframe": getattr(wsframe, "__version__", "?"),
        "websockets": websockets.__version__,
        "aiohttp": aiohttp.__version__,
    }
    print(
        f"\n{args.connections} attacking connections; bomb: 2 random ~1 MiB messages + {args.messages}"
        f" compressed 1 MiB messages of zeros each; tiny: 1 MiB message + 131,072 2-byte messages each."
        f"\nwsframe's documented bound with these options (docs/connection.md): {meta['documented_bound_MiB']:.1f} MiB"
        f" per connection. Run took {meta['seconds']:.0f} s; Python {meta['python']}, wsframe {meta['wsframe']},"
        f" websockets {meta['websockets']}, aiohttp {meta['aiohttp']}.\n"
    )
    print(table(results))
    if args.json:
        text = json.dumps({"meta": meta, "results": results}, indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=100, help="hostile connections per attack (default 100)")
    parser.add_argument("--messages", type=int, default=300, help="compressed 1 MiB messages per connection (default 300)")
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--attacks", default="bomb,tiny", help="bomb, tiny or both (default both)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of sampling at least after the last attacker")
    parser.add_argument("--max-settle", type=float, default=15.0, help="seconds of sampling at most after it")
    parser.add_argument("--rss-cap-mib", type=int, default=6144, help="kill a server whose RSS passes this (MiB)")
    parser.add_argument("--json", help="also write the results as JSON to this file ('-': stdout)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--probe", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(SERVE[args.serve]())
    elif args.probe:
        asyncio.run(probe(args.probe, max_seconds=120))
    else:
        if args.connections < 1 or args.messages < 0:
            parser.error("--connections must be at least 1 and --messages not negative")
        asyncio.run(main(args))


if __name__ == "__main__":
    cli()

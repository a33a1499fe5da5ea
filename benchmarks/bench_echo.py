"""Echo benchmark: wsframe.aio against the websockets, aiohttp and picows echo servers.

Usage::

    python benchmarks/bench_echo.py [--seconds 1.0] [--repeat 1] [--sizes 64,1024,65536]
                                    [--servers wsframe,wsframe-listener,websockets,aiohttp,picows]
                                    [--client picows|wsframe] [--text] [--uvloop]
                                    [--baseline DIR]

``wsframe`` is the coroutine API (``serve()``, ``async for`` / ``await
ws.send``), ``wsframe-listener`` the callback API (``serve_listener()``,
``on_message`` / ``ws.send``), ``raw`` the floor: a hand-written echo
with no checks on the same loop (what the loop and the system calls cost by
themselves). Each server runs in a process of its own on 127.0.0.1 (port 0); one common
client (picows's, the fastest available, so the client is not the limit;
``--client wsframe`` uses ours) measures, per message size:

* round trip: send one message, wait for its echo, repeat;
* pipelined: send a batch of messages (up to 256, at most 1 MiB in flight),
  wait for all their echoes, repeat.

The tables show messages per second and the server's CPU time per message,
each with the ratio that is above 1 when wsframe is better. With ``--repeat N``
the servers take turns N times and each cell keeps its best round, which
filters out bursts of load from elsewhere. ``--baseline DIR`` adds a server
``wsframe@base``: the same wsframe echo server imported from another
checkout (``DIR/src``, e.g. a ``git worktree`` of the commit before a change,
with its extension built in place), so a change is measured against its
parent in one run. This is a benchmark, not a test: numbers vary with the
machine and its load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple

from bench_process import cpu_seconds, describe, pin_client, pin_server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, "src", "wsframe")) and "wsframe" not in sys.modules:
    try:
        import wsframe  # noqa: F401  (an installed wsframe wins)
    except ImportError:
        sys.path.insert(0, os.path.join(ROOT, "src"))
SERVERS = ("wsframe", "wsframe-listener", "websockets", "aiohttp", "picows", "raw")
MAX_SIZE = 16 * 1024 * 1024


# ---- the echo servers (run with --serve NAME) -------------------------------------


async def serve_wsframe(port: int) -> None:
    from wsframe.aio import serve

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", port, max_size=MAX_SIZE, ping_interval=None) as server:
        print(f"PORT {server.port}", flush=True)
        await server.serve_forever()


async def serve_wsframe_listener(port: int) -> None:
    from wsframe.aio import Listener, serve_listener

    class Echo(Listener):
        def on_message(self, ws, message):
            ws.send(message)

    async with serve_listener(Echo, "127.0.0.1", port, max_size=MAX_SIZE, ping_interval=None) as server:
        print(f"PORT {server.port}", flush=True)
        await server.serve_forever()


async def serve_websockets(port: int) -> None:
    from websockets.asyncio.server import serve

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", port, max_size=MAX_SIZE, ping_interval=None, compression=None) as server:
        print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()


async def serve_aiohttp(port: int) -> None:
    import aiohttp
    from aiohttp import web

    async def handler(request):
        ws = web.WebSocketResponse(max_msg_size=MAX_SIZE, compress=False)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print(f"PORT {runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


async def serve_picows(port: int) -> None:
    from picows import WSListener, WSMsgType, ws_create_server

    class Echo(WSListener):
        def on_ws_frame(self, transport, frame):
            if frame.msg_type in (WSMsgType.BINARY, WSMsgType.TEXT):
                transport.send(frame.msg_type, frame.get_payload_as_bytes())
            elif frame.msg_type == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()

    server = await ws_create_server(lambda request: Echo(), "127.0.0.1", port, max_frame_size=MAX_SIZE)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


async def serve_raw(port: int) -> None:
    """The floor: the least a WebSocket echo server on this loop can do.

    A hand-written handshake and frame walk, unmasking with wsframe's kernel,
    one write per read; no UTF-8 check, no limits, no fragments, no pings.
    Not a server to use: the reference that shows what the event loop and
    the system calls cost by themselves.
    """
    import base64
    import hashlib

    from wsframe._backend import codec

    unmask = codec.apply_mask
    guid = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    class RawEcho(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport
            self.pending = b""
            self.open = False

        def data_received(self, data):
            data = self.pending + data if self.pending else data
            if not self.open:
                head, sep, rest = data.partition(b"\r\n\r\n")
                if not sep:
                    self.pending = data
                    return
                key = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                           if line.lower().startswith(b"sec-websocket-key:"))
                accept = base64.b64encode(hashlib.sha1(key + guid).digest())
                self.transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
                self.open = True
                data = rest
            out = []
            pos, end = 0, len(data)
            while end - pos >= 6:
                first, length = data[pos], data[pos + 1] & 0x7F
                start = pos + 6
                if length == 126:
                    start += 2
                    if end < start:
                        break
                    length = int.from_bytes(data[pos + 2 : pos + 4], "big")
                elif length == 127:
                    start += 8
                    if end < start:
                        break
                    length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                if end < start + length:
                    break
                payload = unmask(data[start : start + length], data[start - 4 : start])
                if first & 0x0F == 8:  # close: answer it and hang up
                    self.transport.write(bytes([0x88, len(payload)]) + payload)
                    self.transport.close()
                    return
                if length < 126:
                    out.append(bytes([first, length]))
                elif length < 65536:
                    out.append(bytes([first, 126]) + length.to_bytes(2, "big"))
                else:
                    out.append(bytes([first, 127]) + length.to_bytes(8, "big"))
                out.append(payload)
                pos = start + length
            self.pending = data[pos:]
            if out:
                self.transport.write(b"".join(out))

    server = await asyncio.get_running_loop().create_server(RawEcho, "127.0.0.1", port)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


SERVE = {
    "wsframe": serve_wsframe,
    "wsframe-listener": serve_wsframe_listener,
    "websockets": serve_websockets,
    "aiohttp": serve_aiohttp,
    "picows": serve_picows,
    "raw": serve_raw,
}


# ---- the common client ---------------------------------------------------------------


class PicowsClient:
    """The client, on picows's frame API (one frame per message)."""

    async def open(self, url: str) -> None:
        from picows import WSListener, WSMsgType, ws_connect

        outer = self

        class Listener(WSListener):
            def on_ws_frame(self, transport, frame):
                if frame.msg_type in (WSMsgType.BINARY, WSMsgType.TEXT):
                    outer.remaining -= 1
                    if outer.remaining == 0:
                        outer.done.set_result(None)

        self.remaining = 0
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.transport, _ = await ws_connect(Listener, url, max_frame_size=MAX_SIZE)
        self.kind = WSMsgType.TEXT if self.text else WSMsgType.BINARY

    async def exchange(self, payload: bytes, count: int) -> None:
        self.remaining = count
        self.done = asyncio.get_running_loop().create_future()
        send = self.transport.send
        kind = self.kind
        for _ in range(count):
            send(kind, payload)
        await self.done

    async def close(self) -> None:
        self.transport.send_close()
        self.transport.disconnect()
        await self.transport.wait_disconnected()


class WsframeClient:
    """The client, on wsframe.aio."""

    async def open(self, url: str) -> None:
        from wsframe.aio import connect

        # No compression: every server gets the same uncompressed frames.
        self.ws = await connect(url, max_size=MAX_SIZE, ping_interval=None, max_queue=1024, compression=None)

    async def exchange(self, payload: bytes, count: int) -> None:
        message = payload.decode() if self.text else payload
        ws = self.ws
        for _ in range(count):
            await ws.send(message)
        for _ in range(count):
            await ws.recv()

    async def close(self) -> None:
        await self.ws.close()


CLIENTS = {"picows": PicowsClient, "wsframe": WsframeClient}


async def measure(
    url: str, client_name: str, text: bool, sizes: List[int], seconds: float, server_pid: int
) -> Tuple[Dict[Tuple[str, int], float], Dict[Tuple[str, int], float]]:
    """Messages per second, and server CPU microseconds per message, for
    each (mode, size) against the server at ``url``."""
    client = CLIENTS[client_name]()
    client.text = text
    await client.open(url)
    results = {}
    cpu = {}
    try:
        for size in sizes:
            payload = b"x" * size
            batch = max(1, min(256, (1 << 20) // size))
            for mode, count in (("round trip", 1), ("pipelined", batch)):
                await client.exchange(payload, count)  # warm up
                done = 0
                cpu_start = cpu_seconds(server_pid)
                start = time.perf_counter()
                deadline = start + seconds
                while True:
                    await client.exchange(payload, count)
                    done += count
                    now = time.perf_counter()
                    if now >= deadline:
                        break
                results[(mode, size)] = done / (now - start)
                cpu_end = cpu_seconds(server_pid)
                if cpu_start is not None and cpu_end is not None:
                    cpu[(mode, size)] = (cpu_end - cpu_start) / done * 1e6
    finally:
        await client.close()
    return results, cpu


# ---- orchestration ---------------------------------------------------------------------


BASELINE = "wsframe@base"

def start_server(name: str, use_uvloop: bool, baseline: Optional[str] = None) -> Tuple[subprocess.Popen, int]:
    import wsframe

    env = dict(os.environ)
    # Servers import wsframe from where this process did (src/ or site-packages),
    # the baseline server from the other checkout.
    if name == BASELINE:
        if baseline is None:
            raise RuntimeError("--baseline DIR is needed for the wsframe@base server")
        where = os.path.join(os.path.abspath(baseline), "src")
        name = "wsframe"
    else:
        where = os.path.dirname(os.path.dirname(os.path.abspath(wsframe.__file__)))
    env["PYTHONPATH"] = where + os.pathsep + env.get("PYTHONPATH", "")
    args = [sys.executable, os.path.abspath(__file__), "--serve", name]
    if use_uvloop:
        args.append("--uvloop")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
    pin_server(proc.pid)
    watchdog = threading.Timer(30, proc.kill)
    watchdog.start()
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
    finally:
        watchdog.cancel()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"{name} echo server did not start")
    return proc, int(line.split()[1])


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def fmt_rate(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    if value >= 1e3:
        return f"{value / 1e3:.1f} k"
    return f"{value:.0f}"


def fmt_us(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1f}"


OURS = ("wsframe", "wsframe-listener")


def table(
    servers: List[str], results: Dict[str, Dict[Tuple[str, int], float]], sizes: List[int], rate: bool = True
) -> str:
    """A Markdown table: one row per (mode, size), one column per server, then ratios
    oriented so that above 1 means wsframe is better: ``vs PEER`` for the
    coroutine API against every other server, ``listener vs PEER`` for the
    callback API against the other libraries."""
    unit = "msg/s" if rate else "µs/msg"
    header = ["mode", "size"] + [f"{s} {unit}" for s in servers]
    pairs = []  # (ours, peer, column title)
    for ours in OURS:
        if ours not in servers:
            continue
        for peer in servers:
            if peer == ours or (ours != "wsframe" and peer in OURS):
                continue
            pairs.append((ours, peer, f"vs {peer}" if ours == "wsframe" else f"listener vs {peer}"))
    header += [title for _, _, title in pairs]
    rows = [header]
    fmt = fmt_rate if rate else fmt_us
    for mode in ("round trip", "pipelined"):
        for size in sizes:
            row = [mode, f"{size} B" if size < 1024 else f"{size // 1024} KiB"]
            row += [fmt(results.get(s, {}).get((mode, size))) for s in servers]
            for ours_name, peer, _ in pairs:
                ours = results.get(ours_name, {}).get((mode, size))
                theirs = results.get(peer, {}).get((mode, size))
                ratio = (ours / theirs if rate else theirs / ours) if ours and theirs else None
                row.append("-" if ratio is None else f"{ratio:.2f}x")
            rows.append(row)
    return markdown_table(rows)


def markdown_table(rows: List[List[str]]) -> str:
    """``rows`` (the first is the header) as an aligned Markdown table."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement (default 1.0)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; each cell keeps its best (default 1)")
    parser.add_argument("--sizes", default="64,1024,65536", help="message sizes in bytes")
    parser.add_argument("--servers", default=",".join(SERVERS), help="echo servers to measure")
    parser.add_argument("--client", choices=sorted(CLIENTS), default=None, help="client (default picows if installed)")
    parser.add_argument("--text", action="store_true", help="text messages instead of binary")
    parser.add_argument("--uvloop", action="store_true", help="run servers and client on uvloop")
    parser.add_argument("--baseline", metavar="DIR", help="also measure the wsframe of another checkout (DIR/src)")
    parser.add_argument(
        "--no-pin", action="store_true", help="let the OS place client and servers (default: one core each)"
    )
    parser.add_argument("--serve", choices=SERVERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.uvloop:
        import uvloop

        uvloop.install()
    if args.serve:
        try:
            asyncio.run(SERVE[args.serve](0))
        except KeyboardInterrupt:
            pass
        return 0

    client = args.client
    if client is None:
        try:
            import picows  # noqa: F401

            client = "picows"
        except ImportError:
            client = "wsframe"
    sizes = [int(s) for s in args.sizes.split(",")]
    pin_client(not args.no_pin)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if args.baseline and BASELINE not in servers:
        servers.insert(1, BASELINE)
    import wsframe

    print(
        f"wsframe {wsframe.__version__} backend={wsframe.BACKEND}, client={client}, "
        f"{'text' if args.text else 'binary'} messages, loop={'uvloop' if args.uvloop else 'asyncio'}, "
        f"{args.seconds:g} s per cell, best of {args.repeat}, Python {sys.version.split()[0]}, "
        f"{describe()}",
        flush=True,
    )
    results: Dict[str, Dict[Tuple[str, int], float]] = {}
    cpu: Dict[str, Dict[Tuple[str, int], float]] = {}
    skipped = set()
    from wsframe.cli.progress import Progress

    tracker = Progress(args.repeat * len(servers), stream=sys.stdout)
    for round_number in range(1, args.repeat + 1):
        # Servers take turns within each round, so a burst of load from
        # elsewhere hits them all alike; each cell keeps its best round.
        for name in servers:
            if name in skipped:
                continue
            try:
                proc, port = start_server(name, args.uvloop, args.baseline)
            except Exception as exc:  # a peer that is not installed
                print(f"  {name}: skipped ({exc})", flush=True)
                skipped.add(name)
                continue
            try:
                rates, cpus = asyncio.run(
                    measure(f"ws://127.0.0.1:{port}/", client, args.text, sizes, args.seconds, proc.pid)
                )
            finally:
                stop_server(proc)
            best_rate = results.setdefault(name, {})
            for cell, value in rates.items():
                best_rate[cell] = max(value, best_rate.get(cell, 0.0))
            best_cpu = cpu.setdefault(name, {})
            for cell, value in cpus.items():
                best_cpu[cell] = min(value, best_cpu.get(cell, float("inf")))
            tracker.line((round_number, name), f"{name}: round {round_number}/{args.repeat} done")
    print()
    print("Messages per second (higher is better) and wsframe / peer:")
    print(table(servers, results, sizes))
    if any(cpu.values()):
        print()
        print("Server CPU time per message in microseconds (lower is better; steadier than")
        print("msg/s on a busy machine) and peer / wsframe:")
        print(table(servers, cpu, sizes, rate=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

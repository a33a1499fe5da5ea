"""End-to-end gain of ``wsframe.compat.patch()`` per library: echo over loopback.

For each library we start its own server and client in this process (on
127.0.0.1, ephemeral port) and time round trips of messages of 64 B, 64 KiB and
1 MiB (binary, or text with ``--kinds text``: UTF-8 validation is then on
the path too): the client masks each message (RFC 6455 section 5.3), the
server unmasks it and echoes it back. Each size is timed unpatched and
patched in the same run, alternating, best of ``--repeat``. By default the
clock is the CPU time of this process (client and server both run here), so
other load on a shared machine does not skew the comparison; ``--clock
wall`` uses elapsed time instead. websocket-client
is synchronous and has no server, so it talks to an (unpatched) websockets
server in a child process (the clock then counts the client alone); every
other library talks to itself, so both ends are patched.

Run (prints a table; ``--json`` for machine-readable output)::

    python benchmarks/bench_compat.py
    python benchmarks/bench_compat.py --libs wsproto,aiohttp --repeat 5 --kinds binary,text
    python benchmarks/bench_compat.py --micro   # the swapped functions alone
    python benchmarks/bench_compat.py --frames  # websockets' frame path: raw Protocol and asyncio server
    python benchmarks/bench_compat.py --tornado # tornado's echo server: unpatched, patched, + writer

MB/s counts the payload of one direction (MB = 10**6 bytes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, Union

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # run from a checkout

import wsframe  # noqa: E402
import wsframe.compat as compat  # noqa: E402

SIZES = {"64B": 64, "64KiB": 64 * 1024, "1MiB": 1024 * 1024}
#: Messages per timing: enough to last a fraction of a second on a slow box.
COUNTS = {64: 2000, 64 * 1024: 200, 1024 * 1024: 20}
LIMIT = 4 * 1024 * 1024  # message size limit we configure everywhere

Payload = Union[bytes, str]
Roundtrip = Callable[[Payload, int], Awaitable[None]]


# ---- one echo peer pair per library ---------------------------------------------------------
# Each factory is an async context: it yields roundtrip(payload, count), which
# sends ``count`` messages one after the other and waits for each echo.


class Peers:
    """Base: ``async with Peers() as roundtrip``."""

    async def __aenter__(self) -> Roundtrip:
        raise NotImplementedError

    async def __aexit__(self, *exc: Any) -> None:
        pass


class WsprotoPeers(Peers):
    """wsproto server and client on asyncio streams (wsproto is sans-IO)."""

    async def __aenter__(self) -> Roundtrip:
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Ping, Request, TextMessage

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = WSConnection(ConnectionType.SERVER)
            parts: List[bytes] = []
            try:
                while True:
                    data = await reader.read(1 << 18)
                    if not data:
                        return
                    conn.receive_data(data)
                    out = b""
                    for event in conn.events():
                        if isinstance(event, Request):
                            out += conn.send(AcceptConnection())
                        elif isinstance(event, (BytesMessage, TextMessage)):
                            parts.append(event.data)
                            if event.message_finished:
                                joined = "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
                                out += conn.send(type(event)(data=joined))
                                parts = []
                        elif isinstance(event, Ping):
                            out += conn.send(event.response())
                        elif isinstance(event, CloseConnection):
                            return
                    writer.write(out)
            except (asyncio.CancelledError, ConnectionError):
                return
            finally:
                writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        conn = WSConnection(ConnectionType.CLIENT)
        writer.write(conn.send(Request(host="127.0.0.1", target="/")))
        accepted = False
        while not accepted:
            conn.receive_data(await reader.read(65536))
            accepted = any(isinstance(e, AcceptConnection) for e in conn.events())
        self.writer = writer

        async def roundtrip(payload: Payload, count: int) -> None:
            kind = TextMessage if isinstance(payload, str) else BytesMessage
            for _ in range(count):
                writer.write(conn.send(kind(data=payload)))
                done = False
                while not done:
                    conn.receive_data(await reader.read(1 << 18))
                    for event in conn.events():
                        if isinstance(event, (BytesMessage, TextMessage)):
                            done = event.message_finished

        return roundtrip

    async def __aexit__(self, *exc: Any) -> None:
        self.writer.close()
        self.server.close()
        await self.server.wait_closed()
        await asyncio.sleep(0.05)  # let the handler see EOF and finish


class WebsocketsPeers(Peers):
    """websockets' asyncio server and client."""

    async def __aenter__(self) -> Roundtrip:
        from websockets.asyncio.client import connect
        from websockets.asyncio.server import serve

        async def echo(ws: Any) -> None:
            async for message in ws:
                await ws.send(message)

        self.server = await serve(echo, "127.0.0.1", 0, max_size=LIMIT, ping_interval=None, compression=None)
        port = list(self.server.sockets)[0].getsockname()[1]
        self.ws = ws = await connect(f"ws://127.0.0.1:{port}/", max_size=LIMIT, ping_interval=None, compression=None)

        async def roundtrip(payload: Payload, count: int) -> None:
            for _ in range(count):
                await ws.send(payload)  # str goes as a text message
                await ws.recv()

        return roundtrip

    async def __aexit__(self, *exc: Any) -> None:
        await self.ws.close()
        self.server.close()
        await self.server.wait_closed()


class AiohttpPeers(Peers):
    """aiohttp web server and ClientSession.ws_connect client."""

    async def __aenter__(self) -> Roundtrip:
        import aiohttp
        from aiohttp import WSMsgType, web

        async def echo(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(max_msg_size=LIMIT)
            await ws.prepare(request)
            async for msg in ws:
                if msg.type is WSMsgType.BINARY:
                    await ws.send_bytes(msg.data)
                elif msg.type is WSMsgType.TEXT:
                    await ws.send_str(msg.data)
            return ws

        app = web.Application()
        app.router.add_get("/", echo)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.session = aiohttp.ClientSession()
        self.ws = ws = await self.session.ws_connect(f"http://127.0.0.1:{port}/", max_msg_size=LIMIT)

        async def roundtrip(payload: Payload, count: int) -> None:
            send = ws.send_str if isinstance(payload, str) else ws.send_bytes
            for _ in range(count):
                await send(payload)  # type: ignore[arg-type]
                await ws.receive()

        return roundtrip

    async def __aexit__(self, *exc: Any) -> None:
        await self.ws.close()
        await self.session.close()
        await self.runner.cleanup()


class TornadoPeers(Peers):
    """tornado WebSocketHandler server and websocket_connect client."""

    async def __aenter__(self) -> Roundtrip:
        import tornado.httpserver
        import tornado.netutil
        import tornado.web
        import tornado.websocket

        class Echo(tornado.websocket.WebSocketHandler):
            def on_message(self, message: Any) -> None:
                self.write_message(message, binary=isinstance(message, bytes))

        app = tornado.web.Application([("/", Echo)], websocket_max_message_size=LIMIT)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.server = tornado.httpserver.HTTPServer(app)
        self.server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        self.conn = conn = await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{port}/", max_message_size=LIMIT)

        async def roundtrip(payload: Payload, count: int) -> None:
            binary = isinstance(payload, bytes)
            for _ in range(count):
                await conn.write_message(payload, binary=binary)
                await conn.read_message()

        return roundtrip

    async def __aexit__(self, *exc: Any) -> None:
        self.conn.close()
        self.server.stop()


class AutobahnPeers(Peers):
    """Autobahn's asyncio server and client protocols."""

    async def __aenter__(self) -> Roundtrip:
        from autobahn.asyncio.websocket import (
            WebSocketClientFactory,
            WebSocketClientProtocol,
            WebSocketServerFactory,
            WebSocketServerProtocol,
        )

        loop = asyncio.get_running_loop()
        opened: "asyncio.Future[Any]" = loop.create_future()
        queue: "asyncio.Queue[bytes]" = asyncio.Queue()

        class Echo(WebSocketServerProtocol):
            def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802,N803
                self.sendMessage(payload, isBinary)

        class Client(WebSocketClientProtocol):
            def onOpen(self) -> None:  # noqa: N802
                opened.set_result(self)

            def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802,N803
                queue.put_nowait(payload)

        server_factory = WebSocketServerFactory()
        server_factory.protocol = Echo
        self.server = await loop.create_server(server_factory, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        client_factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/")
        client_factory.protocol = Client
        self.transport, _ = await loop.create_connection(client_factory, "127.0.0.1", port)
        client = await asyncio.wait_for(opened, 10)

        async def roundtrip(payload: Payload, count: int) -> None:
            binary = isinstance(payload, bytes)
            data = payload if isinstance(payload, bytes) else payload.encode()
            for _ in range(count):
                client.sendMessage(data, isBinary=binary)
                await queue.get()

        return roundtrip

    async def __aexit__(self, *exc: Any) -> None:
        self.transport.close()
        self.server.close()


SERVER_CODE = """
import asyncio, sys
from websockets.asyncio.server import serve

async def echo(ws):
    async for message in ws:
        await ws.send(message)

async def main():
    async with serve(echo, "127.0.0.1", 0, max_size=%d, ping_interval=None, compression=None) as server:
        print(list(server.sockets)[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
""" % LIMIT


class WebsocketClientPeers(Peers):
    """websocket-client (synchronous) against a websockets server in a child process.

    The server runs elsewhere so that the CPU clock measures the client alone,
    the only side the patch changes, and no GIL is shared with it.
    """

    async def __aenter__(self) -> Roundtrip:
        import websocket

        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SERVER_CODE, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert self.proc.stdout is not None
        port = int(await asyncio.wait_for(self.proc.stdout.readline(), 30))
        self.client = client = websocket.create_connection(f"ws://127.0.0.1:{port}/", timeout=60)

        async def roundtrip(payload: Payload, count: int) -> None:
            send = client.send if isinstance(payload, str) else client.send_binary
            for _ in range(count):  # blocking calls: this loop has nothing else to run
                send(payload)
                client.recv()

        return roundtrip

    async def __aexit__(self, *exc: Any) -> None:
        self.client.close()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()


LIBRARIES: Dict[str, type] = {
    "wsproto": WsprotoPeers,
    "websockets": WebsocketsPeers,
    "aiohttp": AiohttpPeers,
    "tornado": TornadoPeers,
    "autobahn": AutobahnPeers,
    "websocket-client": WebsocketClientPeers,
}


# ---- timing -----------------------------------------------------------------------------------


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def make_payload(size: int, text: bool) -> Payload:
    """Random bytes, or text of ``size`` UTF-8 bytes (mostly ASCII, some 2-4 byte characters)."""
    if not text:
        return os.urandom(size)
    sample = "WebSocket h\u00e9llo w\u00f6rld \u20ac \U0001f600 0123456789 ".encode()
    return (sample * (size // len(sample) + 1))[:size].decode("utf-8", "ignore")


async def time_library(
    name: str, sizes: List[int], repeat: int, scale: float, clock: str = "cpu", text: bool = False
) -> List[Dict[str, Any]]:
    """Best-of-``repeat`` seconds per (size, patched) for one library.

    Peers are set up after patching (Autobahn, for one, makes its UTF-8
    validator when a connection opens), and anew for every timing round.
    """
    now = CLOCKS[clock]
    payloads = {size: make_payload(size, text) for size in sizes}
    counts = {size: max(2, int(COUNTS[size] * scale)) for size in sizes}
    best = {(size, patched): float("inf") for size in sizes for patched in (False, True)}
    compat.unpatch(name)
    for _ in range(repeat):
        for patched in (False, True):
            if patched:
                compat.patch(name)
            try:
                async with LIBRARIES[name]() as roundtrip:
                    for size in sizes:
                        await roundtrip(payloads[size], 2)  # warm up
                        start = now()
                        await asyncio.wait_for(roundtrip(payloads[size], counts[size]), 120)
                        best[size, patched] = min(best[size, patched], now() - start)
            finally:
                compat.unpatch(name)
    rows = []
    for size in sizes:
        count = counts[size]
        row: Dict[str, Any] = {"library": name, "kind": "text" if text else "binary", "size": size, "messages": count}
        for patched, label in ((False, "unpatched"), (True, "patched")):
            row[f"{label}_msg_s"] = count / best[size, patched]
            row[f"{label}_mb_s"] = count * size / best[size, patched] / 1e6
        row["speedup"] = best[size, False] / best[size, True]
        rows.append(row)
    return rows


# ---- the replaced functions alone ------------------------------------------------------------


def micro_pairs(size: int) -> List[Tuple[str, Callable[[], Any], Callable[[], Any]]]:
    """(what, original call, our call) on the same ``size``-byte input."""
    from wsframe.compat import aiohttp as c_aiohttp
    from wsframe.compat import autobahn as c_autobahn
    from wsframe.compat import tornado as c_tornado
    from wsframe.compat import websocket_client as c_wsclient
    from wsframe.compat import websockets as c_websockets
    from wsframe.compat import wsaccel as c_wsaccel
    from wsframe.compat import wsproto as c_wsproto

    data, key = os.urandom(size), os.urandom(4)
    buf = bytearray(data)
    text = make_payload(size, True).encode()  # type: ignore[union-attr]
    pairs: List[Tuple[str, Callable[[], Any], Callable[[], Any]]] = []

    def add(what: str, module: str, original: Callable[[Any], Callable[[], Any]], ours: Callable[[], Any]) -> None:
        try:
            pairs.append((what, original(__import__(module, fromlist=["_"])), ours))
        except ImportError:
            pass

    add("websockets apply_mask", "websockets.speedups", lambda m: lambda: m.apply_mask(data, key),
        lambda: c_websockets.apply_mask(data, key))
    add("aiohttp websocket_mask", "aiohttp._websocket.helpers", lambda m: lambda: m.websocket_mask(key, buf),
        lambda: c_aiohttp.websocket_mask(key, buf))
    add("tornado websocket_mask", "tornado.util", lambda m: lambda: m._websocket_mask(key, data),
        lambda: c_tornado.websocket_mask(key, data))
    add("wsproto XorMaskerSimple", "wsproto.frame_protocol", lambda m: lambda: m.XorMaskerSimple(key).process(data),
        lambda: c_wsproto.XorMaskerSimple(key).process(data))
    add("wsaccel XorMaskerSimple", "wsaccel.xormask", lambda m: lambda: m.XorMaskerSimple(key).process(data),
        lambda: c_wsaccel.XorMaskerSimple(key).process(data))
    add("wsaccel Utf8Validator", "wsaccel.utf8validator", lambda m: lambda: m.Utf8Validator().validate(text),
        lambda: c_wsaccel.Utf8Validator().validate(text))
    add("autobahn masker", "autobahn.websocket.xormasker",
        lambda m: lambda: m.create_xor_masker(key, size).process(data),
        lambda: c_autobahn.create_xor_masker(key, size).process(data))
    add("autobahn Utf8Validator", "autobahn.websocket.utf8validator", lambda m: lambda: m.Utf8Validator().validate(text),
        lambda: c_autobahn.Utf8Validator().validate(text))
    add("websocket-client ABNF.mask", "websocket._abnf", lambda m: lambda: m.ABNF.mask(key, data),
        lambda: c_wsclient.abnf_mask(key, data))
    add("websocket-client validate_utf8", "websocket._utils", lambda m: lambda: m._validate_utf8(text),
        lambda: c_wsclient.validate_utf8(text))
    return pairs


def run_micro(sizes: List[int], repeat: int) -> List[Dict[str, Any]]:
    """Best-of-``repeat`` CPU microseconds per call, original vs ours."""
    rows = []
    for size in sizes:
        calls = max(3, min(20000, 20_000_000 // (size * 4 + 2000)))
        for what, original, ours in micro_pairs(size):
            best = [float("inf"), float("inf")]
            for _ in range(repeat):
                for i, func in enumerate((original, ours)):
                    start = time.process_time()
                    for _ in range(calls):
                        func()
                    best[i] = min(best[i], (time.process_time() - start) / calls * 1e6)
            rows.append({"what": what, "size": size, "original_us": best[0], "ours_us": best[1], "speedup": best[0] / best[1]})
    return rows


# ---- websockets' frame path (patch("websockets") replaces it) -------------------------------
# Two measurements, patched and unpatched in one run:
# * raw: websockets' sans-I/O Protocol alone, receive_data() in 64 KiB reads
#   plus events_received() over buffered client frames;
# * server: a websockets asyncio echo server in a child process (patched or
#   not, at its start-up), driven by the same raw client in this process
#   (wsframe-encoded masked frames, FrameParser for the echoes), pipelined (all
#   messages written at once) and round trip (one at a time): messages/s at
#   the client and the server's own CPU seconds per message.

FRAME_SIZES = {"125B": 125, "4KiB": 4096, "64KiB": 65536}
RAW_COUNTS = {125: 10_000, 4096: 10_000, 65536: 1_000}
PIPELINED_COUNTS = {125: 20_000, 4096: 10_000, 65536: 1_000}
ROUNDTRIP_COUNTS = {125: 3_000, 4096: 2_000, 65536: 500}

WS_SERVER_CODE = """
import asyncio, os, sys, time
if os.environ.get("BENCH_PATCH"):
    import wsframe.compat
    wsframe.compat.patch("websockets")
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

async def echo(ws):
    try:
        async for message in ws:
            if message == "cpu?":
                await ws.send(repr(time.process_time()))
            else:
                await ws.send(message)
    except ConnectionClosed:  # the raw client leaves without a closing handshake
        pass

async def main():
    async with serve(echo, "127.0.0.1", 0, max_size=2**20, ping_interval=None, compression=None) as server:
        print(list(server.sockets)[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


TORNADO_SERVER_CODE = """
import asyncio, os, sys, time
mode = os.environ.get("BENCH_PATCH")
if mode:
    import wsframe.compat
    wsframe.compat.patch("tornado", writer=mode == "writer")
import tornado.httpserver, tornado.netutil, tornado.web, tornado.websocket

class Echo(tornado.websocket.WebSocketHandler):
    def on_message(self, message):
        if message == "cpu?":
            self.write_message(repr(time.process_time()))
        else:
            self.write_message(message, binary=isinstance(message, bytes))

async def main():
    app = tornado.web.Application([("/", Echo)], websocket_max_message_size=2**20)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    print(sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

profile = os.environ.get("BENCH_PROFILE")
if profile:  # cProfile the whole server; the stats go to that file
    import cProfile
    cProfile.run("asyncio.run(main())", profile)
else:
    asyncio.run(main())
"""

#: --tornado: the server variants timed, label -> BENCH_PATCH value.
TORNADO_VARIANTS = {"unpatched": "", "patched": "1", "patched+writer": "writer"}
WS_VARIANTS = {"unpatched": "", "patched": "1"}


def time_raw_receive(size: int, count: int, repeat: int) -> Dict[str, float]:
    """Best-of-``repeat`` nanoseconds per frame through Protocol.receive_data + events_received."""
    from websockets.protocol import SERVER, Protocol

    stream = b"".join(wsframe.encode_frame(2, os.urandom(size), mask=True) for _ in range(count))
    reads = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]

    def once() -> float:
        proto = Protocol(SERVER, max_size=2**20)
        start = time.perf_counter()
        for data in reads:
            proto.receive_data(data)
            events = proto.events_received()
            proto.data_to_send()
        elapsed = time.perf_counter() - start
        assert not events or len(events[-1].data) == size
        return elapsed / count * 1e9

    best = {False: float("inf"), True: float("inf")}
    compat.unpatch("websockets")
    for _ in range(repeat):
        for patched in (False, True):
            if patched:
                compat.patch("websockets")
            try:
                best[patched] = min(best[patched], once())
            finally:
                compat.unpatch("websockets")
    return {"unpatched_ns": best[False], "patched_ns": best[True], "speedup": best[False] / best[True]}


class RawClient:
    """A minimal WebSocket client on asyncio streams, the same for every server."""

    async def connect(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        self.parser = wsframe.FrameParser(is_server=False, max_frame_size=2**21, max_message_size=2**21)

    async def receive(self, count: int) -> List[Any]:
        got: List[Any] = []
        while len(got) < count:
            data = await self.reader.read(1 << 18)
            if not data:
                raise ConnectionError("server closed")
            got += self.parser.feed(data)
        return got

    async def server_cpu(self) -> float:
        self.writer.write(wsframe.encode_frame(1, b"cpu?", mask=True))
        (frame,) = await self.receive(1)
        return float(frame.payload)

    async def pipelined(self, frame: bytes, count: int) -> float:
        reading = asyncio.ensure_future(self.receive(count))
        start = time.perf_counter()
        self.writer.write(frame * count)
        await self.writer.drain()
        await reading
        return time.perf_counter() - start

    async def roundtrip(self, frame: bytes, count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            self.writer.write(frame)
            await self.receive(1)
        return time.perf_counter() - start

    def close(self) -> None:
        self.writer.close()


async def start_ws_server(patch: str, code: str = WS_SERVER_CODE) -> Tuple[Any, int]:
    """A server from ``code`` in a child process; BENCH_PATCH=``patch`` there."""
    env = dict(os.environ, BENCH_PATCH=patch)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"), env.get("PYTHONPATH", "")])
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    port = int(await asyncio.wait_for(proc.stdout.readline(), 30))
    return proc, port


async def stop_ws_server(proc: Any) -> None:
    proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()


async def time_ws_server(
    sizes: List[int], repeat: int, scale: float, code: str = WS_SERVER_CODE, variants: Optional[Dict[str, str]] = None
) -> List[Dict[str, Any]]:
    """Best-of-``repeat`` messages/s and server CPU us/message per (mode, size, variant).

    Each row has ``<variant>_msg_s`` and ``<variant>_cpu_us`` for every
    variant (``unpatched``, ``patched``...), and the speedups of each variant
    over the first one.
    """
    variants = variants or WS_VARIANTS
    servers = {label: await start_ws_server(patch, code) for label, patch in variants.items()}
    best: Dict[Tuple[str, int, str], Tuple[float, float]] = {}
    try:
        for _ in range(repeat):
            for size in sizes:
                frame = wsframe.encode_frame(2, os.urandom(size), mask=True)  # one key: the same bytes each time
                for mode, counts in (("pipelined", PIPELINED_COUNTS), ("roundtrip", ROUNDTRIP_COUNTS)):
                    count = max(2, int(counts[size] * scale))
                    for label in variants:
                        client = RawClient()
                        await client.connect(servers[label][1])
                        await client.roundtrip(frame, 20)  # warm up
                        cpu = await client.server_cpu()
                        run = client.pipelined if mode == "pipelined" else client.roundtrip
                        wall = await asyncio.wait_for(run(frame, count), 300)
                        cpu = await client.server_cpu() - cpu
                        client.close()
                        key = (mode, size, label)
                        old = best.get(key, (float("inf"), float("inf")))
                        best[key] = (min(old[0], wall / count), min(old[1], cpu / count))
    finally:
        for proc, _ in servers.values():
            await stop_ws_server(proc)
    rows = []
    base = next(iter(variants))
    for mode in ("pipelined", "roundtrip"):
        for size in sizes:
            row: Dict[str, Any] = {"mode": mode, "size": size}
            wb, cb = best[mode, size, base]
            for label in variants:
                wall, cpu = best[mode, size, label]
                row[f"{label}_msg_s"], row[f"{label}_cpu_us"] = 1 / wall, cpu * 1e6
                if label != base:
                    row[f"{label}_msg_s_speedup"] = wb / wall
                    row[f"{label}_cpu_speedup"] = cb / cpu if cpu else float("inf")
            rows.append(row)
    return rows


def run_frames(sizes: List[int], repeat: int, scale: float, json_out: bool) -> int:
    raw = []
    for size in sizes:
        row = time_raw_receive(size, max(10, int(RAW_COUNTS[size] * scale)), repeat)
        raw.append({"size": size, **row})
    server = asyncio.run(time_ws_server(sizes, repeat, scale))
    if json_out:
        report = {"backend": wsframe.backend_info(), "versions": compat.versions(), "raw": raw, "server": server}
        print(json.dumps(report, indent=2))
        return 0
    label = {v: k for k, v in FRAME_SIZES.items()}
    info = wsframe.backend_info()
    print(f"wsframe backend={info['backend']} mask={info['mask_kernel']}; websockets {compat.versions()['websockets']}; {info['python']}")
    print(f"raw Protocol.receive_data + events_received, 64 KiB reads, best of {repeat}")
    head = f"{'size':>6} {'unpatched ns/frame':>19} {'patched ns/frame':>17} {'speedup':>8}"
    print_rows(head, [
        f"{label[r['size']]:>6} {r['unpatched_ns']:>19,.0f} {r['patched_ns']:>17,.0f} {r['speedup']:>7.2f}x" for r in raw
    ])
    print(f"\nwebsockets asyncio echo server (child process), raw client; best of {repeat}")
    head = (f"{'mode':<10} {'size':>6} {'unpatched msg/s':>16} {'patched msg/s':>14} {'speedup':>8} "
            f"{'server CPU us/msg unp.':>23} {'patched':>8} {'speedup':>8}")
    print_rows(head, [
        f"{r['mode']:<10} {label[r['size']]:>6} {r['unpatched_msg_s']:>16,.0f} {r['patched_msg_s']:>14,.0f} "
        f"{r['patched_msg_s_speedup']:>7.2f}x {r['unpatched_cpu_us']:>23,.1f} {r['patched_cpu_us']:>8,.1f} "
        f"{r['patched_cpu_speedup']:>7.2f}x"
        for r in server
    ])
    return 0


def run_tornado(sizes: List[int], repeat: int, scale: float, json_out: bool) -> int:
    """tornado's echo server in a child process: unpatched, patched, patched with the writer."""
    server = asyncio.run(time_ws_server(sizes, repeat, scale, TORNADO_SERVER_CODE, TORNADO_VARIANTS))
    if json_out:
        print(json.dumps({"backend": wsframe.backend_info(), "versions": compat.versions(), "server": server}, indent=2))
        return 0
    label = {v: k for k, v in FRAME_SIZES.items()}
    info = wsframe.backend_info()
    print(f"wsframe backend={info['backend']} mask={info['mask_kernel']}; tornado {compat.versions()['tornado']}; {info['python']}")
    print(f"tornado echo server (child process), raw client; best of {repeat}; speedups over unpatched")
    head = (f"{'mode':<10} {'size':>6} {'msg/s unp.':>11} {'patched':>8} {'+writer':>8} "
            f"{'CPU us/msg unp.':>16} {'patched':>8} {'+writer':>8}")
    print_rows(head, [
        f"{r['mode']:<10} {label[r['size']]:>6} {r['unpatched_msg_s']:>11,.0f} {r['patched_msg_s_speedup']:>7.2f}x "
        f"{r['patched+writer_msg_s_speedup']:>7.2f}x {r['unpatched_cpu_us']:>16,.1f} {r['patched_cpu_speedup']:>7.2f}x "
        f"{r['patched+writer_cpu_speedup']:>7.2f}x"
        for r in server
    ])
    return 0


def print_rows(head: str, lines: List[str]) -> None:
    """A table: its header line, a rule, then the lines."""
    print(head)
    print("-" * len(head))
    for line in lines:
        print(line)


def print_micro(rows: List[Dict[str, Any]]) -> None:
    head = f"{'function':<31} {'size':>6} {'original us':>12} {'ours us':>10} {'speedup':>9}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['what']:<31} {size_label(r['size']):>6} {r['original_us']:>12,.2f} {r['ours_us']:>10,.2f} {r['speedup']:>8.1f}x")


def size_label(size: int) -> str:
    return next(label for label, value in SIZES.items() if value == size)


def print_table(rows: List[Dict[str, Any]]) -> None:
    head = f"{'library':<17} {'kind':<6} {'size':>6} {'unpatched msg/s':>16} {'MB/s':>9} {'patched msg/s':>14} {'MB/s':>9} {'speedup':>8}"
    print_rows(head, [
        f"{r['library']:<17} {r['kind']:<6} {size_label(r['size']):>6} {r['unpatched_msg_s']:>16,.0f} {r['unpatched_mb_s']:>9,.1f} "
        f"{r['patched_msg_s']:>14,.0f} {r['patched_mb_s']:>9,.1f} {r['speedup']:>7.2f}x"
        for r in rows
    ])


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--libs", default=",".join(LIBRARIES), help="comma-separated libraries")
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated: " + ", ".join(SIZES))
    parser.add_argument("--repeat", type=int, default=3, help="timings per case; the best is kept")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the message counts")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="CPU time of this process or elapsed time")
    parser.add_argument("--kinds", default="binary", help="comma-separated message kinds: binary, text")
    parser.add_argument("--micro", action="store_true", help="time the replaced functions alone, not echoes")
    parser.add_argument(
        "--frames", action="store_true",
        help="websockets' frame path: raw Protocol receive and an asyncio echo server, patched vs unpatched",
    )
    parser.add_argument(
        "--tornado", action="store_true",
        help="tornado's frame path: its echo server unpatched, patched, and patched with the writer",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    if args.frames or args.tornado:
        sizes = [FRAME_SIZES[s] for s in (args.sizes.split(",") if args.sizes != ",".join(SIZES) else FRAME_SIZES)]
        if args.tornado:
            return run_tornado(sizes, args.repeat, args.scale, args.json)
        return run_frames(sizes, args.repeat, args.scale, args.json)

    sizes = [SIZES[s] for s in args.sizes.split(",")]
    if args.micro:
        micro = run_micro(sizes, args.repeat)
        if args.json:
            print(json.dumps({"backend": wsframe.backend_info(), "versions": compat.versions(), "micro": micro}, indent=2))
        else:
            print_micro(micro)
        return 0
    rows: List[Dict[str, Any]] = []
    skipped: List[Tuple[str, str]] = []
    for name in args.libs.split(","):
        try:
            for kind in args.kinds.split(","):
                rows += asyncio.run(time_library(name, sizes, args.repeat, args.scale, args.clock, kind == "text"))
        except (ImportError, compat.CompatError) as exc:
            skipped.append((name, f"{type(exc).__name__}: {exc}"))
    info = wsframe.backend_info()
    if args.json:
        report = {"backend": info, "clock": args.clock, "versions": compat.versions(), "rows": rows, "skipped": skipped}
        print(json.dumps(report, indent=2))
        return 0
    print(f"wsframe backend={info['backend']} mask={info['mask_kernel']} utf8={info['utf8_kernel']}; {info['python']}")
    print(f"clock: {args.clock} ({'CPU seconds of client+server' if args.clock == 'cpu' else 'elapsed seconds'}), best of {args.repeat}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in compat.versions().items()))
    print_table(rows)
    for name, why in skipped:
        print(f"skipped {name}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

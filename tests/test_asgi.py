"""wsframe.asgi: a real uvicorn server with ``ws="wsframe.asgi:UvicornProtocol"``.

uvicorn runs in a thread of its own (its own event loop) on 127.0.0.1, port
0; the clients (websockets', wsframe.aio's, a raw socket for what a correct
client will not send) run in the test's thread under ``run()``, which bounds
every test in time. FastAPI and Starlette apps are skipped cleanly when
those packages are missing. uvicorn's own WebSocket suite runs on our class
in scripts/uvicorn_suite.sh; these tests cover what it does not (frameworks,
limits, close codes, UTF-8, keepalive, the deliberate 1011).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from typing import Any, Dict, Iterator, List, Tuple

import pytest

uvicorn = pytest.importorskip("uvicorn")
websockets_client = pytest.importorskip("websockets.asyncio.client")
import websockets.exceptions  # noqa: E402

import wsframe  # noqa: E402
from wsframe.aio import connect as wsframe_connect  # noqa: E402

from aio_support import run  # noqa: E402

try:  # FastAPI injects by annotation, resolved in this module's globals
    from fastapi import WebSocket as FastAPIWebSocket
except ImportError:  # the FastAPI test skips
    FastAPIWebSocket = Any  # type: ignore[misc,assignment]

pytestmark = pytest.mark.interop

WS = "wsframe.asgi:UvicornProtocol"
HTTP_PARSERS = ["h11", pytest.param("httptools", marks=pytest.mark.skipif(
    __import__("importlib").util.find_spec("httptools") is None, reason="httptools not installed"))]


@contextlib.contextmanager
def uvicorn_server(app: Any, port: int = 0, **options: Any) -> Iterator[int]:
    """Serve ``app`` with uvicorn and our protocol in a thread; yield the port.

    ``port`` 0 takes an ephemeral one; a given port (a restart on the port
    of a server just stopped) is bound with SO_REUSEADDR.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    options.setdefault("lifespan", "off")
    options.setdefault("log_level", "warning")
    config = uvicorn.Config(app, ws=WS, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if deadline < time.monotonic() or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


async def until(check: Any, what: Any, timeout: float = 5.0) -> None:
    """Poll ``check()`` every 20 ms until true; fail after ``timeout`` with ``what()``."""
    deadline = time.monotonic() + timeout
    while not check():
        if deadline < time.monotonic():
            raise AssertionError(f"timed out after {timeout} s: {what()}")
        await asyncio.sleep(0.02)


# ---- apps -------------------------------------------------------------------------------


async def raw_echo(scope: Dict[str, Any], receive: Any, send: Any) -> None:
    """A plain ASGI echo app; ``?sub=1`` accepts the first offered subprotocol."""
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    accept: Dict[str, Any] = {"type": "websocket.accept", "headers": [(b"x-app", b"raw")]}
    if scope["query_string"] == b"sub=1" and scope["subprotocols"]:
        accept["subprotocol"] = scope["subprotocols"][-1]
    await send(accept)
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


def fastapi_app() -> Any:
    fastapi = pytest.importorskip("fastapi")
    app = fastapi.FastAPI()

    @app.websocket("/ws/{room}")
    async def room(websocket: FastAPIWebSocket, room: str) -> None:
        offered = websocket.scope["subprotocols"]
        await websocket.accept(subprotocol="chat" if "chat" in offered else None)
        try:
            while True:
                text = await websocket.receive_text()
                if text == "close":
                    await websocket.close(code=4001, reason="bye from " + room)
                    return
                await websocket.send_text(f"{room}:{text}")
        except fastapi.WebSocketDisconnect:
            pass

    return app


def starlette_app(events: List[Any]) -> Any:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def echo(websocket: WebSocket) -> None:
        if websocket.query_params.get("token") != "ok":
            await websocket.send_denial_response(
                PlainTextResponse("no token", status_code=401, headers={"WWW-Authenticate": "Token"})
            )
            return
        await websocket.accept()
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    events.append(("disconnect", message["code"], message.get("reason")))
                    return
                if message.get("bytes") is not None:
                    await websocket.send_bytes(message["bytes"])
                else:
                    await websocket.send_text(message["text"])
        except WebSocketDisconnect as exc:
            events.append(("disconnect", exc.code, exc.reason))

    return Starlette(routes=[WebSocketRoute("/echo", echo)])


# ---- echo, subprotocols, headers -------------------------------------------------------


@pytest.mark.parametrize("http", HTTP_PARSERS)
def test_raw_app_echo_both_clients(http: str) -> None:
    with uvicorn_server(raw_echo, http=http) as port:

        async def main() -> None:
            url = f"ws://127.0.0.1:{port}/?sub=1"
            async with websockets_client.connect(url, subprotocols=["a", "b"]) as ws:
                assert ws.subprotocol == "b"
                assert ws.response.headers["x-app"] == "raw"
                assert ws.response.headers["server"] == "uvicorn"
                for message in ("hé", b"\x00\xff", "x" * 70000, b"y" * 70000):
                    await ws.send(message)
                    assert await ws.recv() == message
            async with wsframe_connect(f"ws://127.0.0.1:{port}/") as ws2:
                await ws2.send("from wsframe")
                assert await ws2.recv() == "from wsframe"
                await ws2.send(b"\x01\x02")
                assert await ws2.recv() == b"\x01\x02"

        run(main())


def test_fastapi_echo_subprotocol_and_close_code() -> None:
    app = fastapi_app()
    with uvicorn_server(app) as port:

        async def main() -> None:
            async with websockets_client.connect(f"ws://127.0.0.1:{port}/ws/lobby", subprotocols=["x", "chat"]) as ws:
                assert ws.subprotocol == "chat"
                await ws.send("hi")
                assert await ws.recv() == "lobby:hi"
                await ws.send("close")
                with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
                    await ws.recv()
            assert info.value.rcvd is not None
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (4001, "bye from lobby")
            async with wsframe_connect(f"ws://127.0.0.1:{port}/ws/r2") as ws2:
                assert ws2.subprotocol is None
                await ws2.send("yo")
                assert await ws2.recv() == "r2:yo"

        run(main())


def test_starlette_echo_denial_and_client_close_code() -> None:
    events: List[Any] = []
    with uvicorn_server(starlette_app(events)) as port:

        async def main() -> None:
            with pytest.raises(websockets.exceptions.InvalidStatus) as info:
                await websockets_client.connect(f"ws://127.0.0.1:{port}/echo")
            response = info.value.response
            assert response.status_code == 401
            assert response.body == b"no token"
            assert response.headers["www-authenticate"] == "Token"
            async with websockets_client.connect(f"ws://127.0.0.1:{port}/echo?token=ok") as ws:
                await ws.send(b"bin")
                assert await ws.recv() == b"bin"
                await ws.close(4002, "client says bye")
            for _ in range(100):
                if events:
                    break
                await asyncio.sleep(0.02)

        run(main())
    assert events == [("disconnect", 4002, "client says bye")]


# ---- limits and protocol errors --------------------------------------------------------


def test_16_mib_message_with_ws_max_size_raised() -> None:
    with uvicorn_server(raw_echo, ws_max_size=17 * 1024 * 1024) as port:

        async def main() -> None:
            big = bytes(range(256)) * (16 * 1024 * 1024 // 256)
            async with websockets_client.connect(f"ws://127.0.0.1:{port}/", max_size=None, compression=None) as ws:
                await ws.send(big)
                assert await ws.recv() == big
            async with wsframe_connect(f"ws://127.0.0.1:{port}/", max_size=17 * 1024 * 1024, compression=None) as ws2:
                await ws2.send(big)
                assert await ws2.recv() == big

        run(main(), timeout=60)


def test_oversize_message_gets_1009() -> None:
    with uvicorn_server(raw_echo, ws_max_size=1024) as port:

        async def main() -> None:
            async with websockets_client.connect(f"ws://127.0.0.1:{port}/", compression=None) as ws:
                await ws.send(b"ok" * 512)
                assert await ws.recv() == b"ok" * 512
                await ws.send(b"x" * 1025)
                with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
                    await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1009

        run(main())


class RawClient:
    """A client on a plain socket: wsframe.Connection parses, we pick the bytes."""

    def __init__(self, port: int, auto_pong: bool = True) -> None:
        self.conn = wsframe.Connection("client", host=f"127.0.0.1:{port}", target="/", auto_pong=auto_pong)
        self.port = port

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(self.conn.data_to_send())
        await self.next_events(wsframe.HandshakeAccepted)

    async def next_events(self, kind: type) -> List[Any]:
        seen: List[Any] = []
        while True:
            data = await self.reader.read(65536)
            if not data:
                self.conn.receive_eof()
            else:
                self.conn.receive_data(data)
            seen.extend(self.conn.events())
            if any(isinstance(event, kind) for event in seen) or not data:
                return seen


def test_invalid_utf8_gets_1007() -> None:
    received: List[Any] = []

    async def app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            received.append(message)
            if message["type"] == "websocket.disconnect":
                return

    with uvicorn_server(app) as port:

        async def main() -> None:
            client = RawClient(port)
            await client.open()
            # A valid text message, then a text frame that is not UTF-8, in one write.
            client.writer.write(
                wsframe.encode_frame(1, "fine".encode(), mask=True) + wsframe.encode_frame(1, b"\xce\xba\xff", mask=True)
            )
            events = await client.next_events(wsframe.CloseReceived)
            close = [e for e in events if isinstance(e, wsframe.CloseReceived)]
            assert close and close[0].code == 1007
            client.writer.close()

        run(main())
    assert received[0] == {"type": "websocket.receive", "text": "fine"}
    assert received[1]["type"] == "websocket.disconnect" and received[1]["code"] == 1007


@pytest.mark.parametrize(
    "bad_frame, code",
    [
        (lambda: wsframe.encode_frame(5, b"", mask=True), 1002),  # reserved opcode (Autobahn 4.1.3)
        (lambda: wsframe.encode_frame(1, b"x", rsv2=True, mask=True), 1002),  # RSV2 (3.2)
        (lambda: wsframe.encode_frame(1, b"\xce\xba\xff", mask=True), 1007),  # not UTF-8 (6.x)
    ],
    ids=["opcode", "rsv", "utf8"],
)
def test_reply_to_message_before_protocol_error_precedes_the_close(bad_frame: Any, code: int) -> None:
    """The echo of a message received just before a protocol error goes out
    before the error's close frame: the frame is held until the application
    comes back for more, not released when it takes the last message."""
    with uvicorn_server(raw_echo) as port:

        async def main() -> None:
            client = RawClient(port)
            await client.open()
            client.writer.write(wsframe.encode_frame(1, b"Hello", mask=True) + bad_frame())
            events = await client.next_events(wsframe.CloseReceived)
            kinds = [type(e) for e in events if isinstance(e, (wsframe.TextMessage, wsframe.CloseReceived))]
            assert kinds == [wsframe.TextMessage, wsframe.CloseReceived], events
            assert [e.data for e in events if isinstance(e, wsframe.TextMessage)] == ["Hello"]
            assert [e.code for e in events if isinstance(e, wsframe.CloseReceived)] == [code]
            client.writer.close()

        run(main())


def test_ping_timeout_closes_with_1011() -> None:
    with uvicorn_server(raw_echo, ws_ping_interval=0.1, ws_ping_timeout=0.2) as port:

        async def main() -> None:
            client = RawClient(port, auto_pong=False)  # never answers the keepalive pings
            await client.open()
            events = await client.next_events(wsframe.CloseReceived)
            assert any(isinstance(e, wsframe.Ping) for e in events)
            close = [e for e in events if isinstance(e, wsframe.CloseReceived)]
            assert close and (close[0].code, close[0].reason) == (1011, "keepalive ping timeout")
            client.writer.close()

        run(main())


def test_keepalive_pongs_keep_it_open() -> None:
    with uvicorn_server(raw_echo, ws_ping_interval=0.05, ws_ping_timeout=0.5) as port:

        async def main() -> None:
            async with websockets_client.connect(f"ws://127.0.0.1:{port}/", ping_interval=None) as ws:
                await asyncio.sleep(0.4)  # several pings, each answered by the client
                await ws.send("still here")
                assert await ws.recv() == "still here"

        run(main())


# ---- the application's failures --------------------------------------------------------


def test_app_raising_after_accept_closes_with_1011() -> None:
    async def app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        raise RuntimeError("boom")

    with uvicorn_server(app, log_level="critical") as port:

        async def main() -> None:
            async with websockets_client.connect(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send("go")
                with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
                    await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1011

        run(main())


def test_app_raising_before_accept_gets_500() -> None:
    async def app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        raise RuntimeError("boom")

    with uvicorn_server(app, log_level="critical") as port:

        async def main() -> None:
            with pytest.raises(websockets.exceptions.InvalidStatus) as info:
                await websockets_client.connect(f"ws://127.0.0.1:{port}/")
            assert info.value.response.status_code == 500

        run(main())


def test_close_before_accept_is_403_and_scope() -> None:
    scopes: List[Dict[str, Any]] = []

    async def app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
        scopes.append(scope)
        await receive()
        await send({"type": "websocket.close"})

    with uvicorn_server(app, root_path="/api") as port:

        async def main() -> None:
            with pytest.raises(websockets.exceptions.InvalidStatus) as info:
                await websockets_client.connect(f"ws://127.0.0.1:{port}/a%20b?x=1", subprotocols=["p"])
            assert info.value.response.status_code == 403

        run(main())
    scope = scopes[0]
    assert scope["path"] == "/api/a b" and scope["raw_path"] == b"/api/a%20b"
    assert scope["query_string"] == b"x=1" and scope["subprotocols"] == ["p"]
    assert scope["asgi"]["spec_version"] == "2.4" and scope["http_version"] == "1.1"
    assert scope["scheme"] == "ws" and scope["client"][0] == "127.0.0.1"
    assert "websocket.http.response" in scope["extensions"]
    assert (b"sec-websocket-protocol", b"p") in scope["headers"]


# ---- flow control, on the protocol object with a stand-in transport -------------------


class FakeTransport:
    def __init__(self) -> None:
        self.buffer = b""
        self.closed = False
        self.reading_paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.buffer += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading_paused = True

    def resume_reading(self) -> None:
        self.reading_paused = False


async def fake_connection(app: Any, **options: Any) -> Tuple[Any, FakeTransport, wsframe.Connection]:
    """Our protocol for ``app`` on a stand-in transport, opened by a wsframe
    client: (protocol, transport, client). Runs on the caller's loop."""
    from uvicorn.server import ServerState

    from wsframe.asgi import UvicornProtocol

    config = uvicorn.Config(app, ws=WS, lifespan="off", **options)
    config.load()
    protocol = UvicornProtocol(config=config, server_state=ServerState(), app_state={})
    transport = FakeTransport()
    client = wsframe.Connection("client", host="127.0.0.1", target="/")
    protocol.connection_made(transport)
    protocol.data_received(client.data_to_send())
    for _ in range(20):
        await asyncio.sleep(0)
    client.receive_data(transport.buffer)
    transport.buffer = b""
    assert any(isinstance(e, wsframe.HandshakeAccepted) for e in client.events())
    return protocol, transport, client


def test_reads_pause_at_ws_max_queue_and_closing_resumes_them() -> None:
    async def main() -> None:
        gate = asyncio.Event()

        async def app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
            await receive()
            await send({"type": "websocket.accept"})
            await gate.wait()  # reads nothing
            await send({"type": "websocket.close"})

        protocol, transport, client = await fake_connection(app, ws_max_queue=2)
        client.send_text("one")
        protocol.data_received(client.data_to_send())
        assert not transport.reading_paused  # 1 unread < ws_max_queue
        client.send_text("two")
        protocol.data_received(client.data_to_send())
        assert transport.reading_paused  # 2 unread: back-pressure
        gate.set()
        for _ in range(20):
            await asyncio.sleep(0)
        assert not transport.reading_paused  # our close frame: the peer's must get through
        assert not transport.closed
        client.receive_data(transport.buffer)  # our close; the client echoes it
        protocol.data_received(client.data_to_send())
        assert transport.closed
        assert protocol.close_timer is None

    run(main())


def test_connections_share_the_thread_s_read_buffer() -> None:
    """One read buffer per thread, not 64 KiB per idle connection: a frame
    half read by one connection survives another connection's read into
    the same buffer (the connection copies what it keeps)."""
    from wsframe.asgi import protocol as protocol_module

    received: Dict[str, List[Any]] = {"a": [], "b": []}

    def recorder(name: str) -> Any:
        async def app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
            await receive()
            await send({"type": "websocket.accept"})
            while True:
                message = await receive()
                if message["type"] != "websocket.receive":
                    return
                received[name].append(message.get("text") or message.get("bytes"))

        return app

    def read(protocol: Any, data: bytes) -> None:
        """What the transport does: fill get_buffer(), then buffer_updated()."""
        buffer = protocol.get_buffer(-1)
        buffer[: len(data)] = data
        protocol.buffer_updated(len(data))

    async def main() -> None:
        pa, _, ca = await fake_connection(recorder("a"))
        pb, _, cb = await fake_connection(recorder("b"))
        assert pa.get_buffer(-1) is pb.get_buffer(-1)
        ca.send_binary(b"A" * 1000)
        ca.send_text("\u00e9" * 300)  # split inside a two-byte UTF-8 sequence below
        frames_a = ca.data_to_send()
        cb.send_binary(b"B" * 1000)
        read(pa, frames_a[:500])
        read(pb, cb.data_to_send())  # overwrites the shared buffer
        read(pa, frames_a[500:1313])
        cb.send_text("b" * 100)
        read(pb, cb.data_to_send())  # and again
        read(pa, frames_a[1313:])
        for _ in range(20):
            await asyncio.sleep(0)
        assert received == {"a": [b"A" * 1000, "\u00e9" * 300], "b": [b"B" * 1000, "b" * 100]}
        for protocol, client in ((pa, ca), (pb, cb)):
            client.close()
            read(protocol, client.data_to_send())
        for _ in range(20):
            await asyncio.sleep(0)

    run(main())
    other: List[Any] = []
    thread = threading.Thread(target=lambda: other.append(protocol_module._shared_read_buffer()))
    thread.start()
    thread.join(10)
    assert other and other[0] is not protocol_module._shared_read_buffer()


def test_worker_class_uses_our_protocol() -> None:
    pytest.importorskip("gunicorn")
    from wsframe.asgi import UvicornWorker

    assert UvicornWorker.CONFIG_KWARGS["ws"] == WS


# ---- python-socketio on the websocket transport ---------------------------------------


def test_socketio_rooms_over_websocket() -> None:
    socketio = pytest.importorskip("socketio")
    pytest.importorskip("aiohttp")  # the asyncio client's websocket transport

    sio = socketio.AsyncServer(async_mode="asgi")
    app = socketio.ASGIApp(sio)

    @sio.event
    async def join(sid: str, room: str) -> None:
        await sio.enter_room(sid, room)
        await sio.emit("joined", room, to=sid)

    @sio.event
    async def shout(sid: str, data: Dict[str, str]) -> None:
        await sio.emit("room_message", data["text"], room=data["room"])

    @sio.event
    async def whisper(sid: str, data: Dict[str, str]) -> None:
        await sio.emit("private", data["text"], to=data["to"])

    with uvicorn_server(app) as port:

        async def main() -> None:
            url = f"http://127.0.0.1:{port}"
            inbox: Dict[str, List[Any]] = {"a": [], "b": [], "c": []}
            clients = {}
            for name in inbox:
                client = socketio.AsyncClient()
                for event in ("joined", "room_message", "private"):
                    client.on(event, (lambda n, e: lambda data: inbox[n].append((e, data)))(name, event))
                await client.connect(url, transports=["websocket"])
                assert client.transport() == "websocket"
                clients[name] = client
            await clients["a"].emit("join", "red")
            await clients["b"].emit("join", "red")
            await clients["c"].emit("join", "blue")
            what = lambda: inbox  # noqa: E731
            await until(
                lambda: all(("joined", r) in inbox[n] for n, r in (("a", "red"), ("b", "red"), ("c", "blue"))), what
            )
            await clients["c"].emit("shout", {"room": "red", "text": "hello red"})
            await until(
                lambda: ("room_message", "hello red") in inbox["a"] and ("room_message", "hello red") in inbox["b"],
                what,
            )
            await clients["a"].emit("whisper", {"to": clients["c"].get_sid(), "text": "psst"})
            await until(lambda: ("private", "psst") in inbox["c"], what)
            assert ("room_message", "hello red") not in inbox["c"]
            assert ("private", "psst") not in inbox["a"] + inbox["b"]
            for client in clients.values():
                await client.disconnect()

        run(main())


class SocketIOServer:
    """A python-socketio ``AsyncServer`` + ``ASGIApp`` with short heartbeats
    (engine.io pings every 0.2 s, 0.5 s to answer) that records who connected
    and counts the heartbeat answers (PONG packets) it receives, through
    the engine.io logger (its public hook for what it receives)."""

    def __init__(self, socketio: Any) -> None:
        self.sids: List[str] = []
        self.pongs = 0
        self.loop: Any = None  # the server thread's event loop, for pushes from the test
        counter = logging.getLogger(f"test_asgi.engineio.{id(self)}")
        counter.setLevel(logging.INFO)
        counter.propagate = False
        counter.addHandler(_PongCounter(self))
        self.sio = socketio.AsyncServer(
            async_mode="asgi", ping_interval=0.2, ping_timeout=0.5, engineio_logger=counter
        )
        self.app = socketio.ASGIApp(self.sio)

        @self.sio.event
        async def connect(sid: str, environ: Any) -> None:
            self.loop = asyncio.get_running_loop()
            self.sids.append(sid)

    async def push(self, event: str, data: Any, to: str) -> None:
        """``sio.emit(event, data, to=to)`` on the server's loop, from the test's (bounded)."""
        future = asyncio.run_coroutine_threadsafe(self.sio.emit(event, data, to=to), self.loop)
        await asyncio.wait_for(asyncio.wrap_future(future), 5)


class _PongCounter(logging.Handler):
    def __init__(self, server: SocketIOServer) -> None:
        super().__init__()
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        # engine.io logs "%s: Received packet %s data %s" (sid, packet name, data).
        if record.msg.startswith("%s: Received packet") and record.args and record.args[1] == "PONG":  # type: ignore[index]
            self.server.pongs += 1


def test_socketio_heartbeat_push_and_reconnect_after_restart() -> None:
    """Over the websocket transport: engine.io's heartbeat keeps an idle
    connection open for several ping intervals (with uvicorn's own
    WebSocket pings under it), the server pushes to one client, and after
    uvicorn stops (close 1012) and starts again on the same port, the client
    reconnects by itself and the new server's push arrives."""
    socketio = pytest.importorskip("socketio")
    pytest.importorskip("aiohttp")  # the asyncio client's websocket transport
    first, second = SocketIOServer(socketio), SocketIOServer(socketio)
    options = {"ws_ping_interval": 0.25, "ws_ping_timeout": 0.5}

    async def main() -> None:
        servers = contextlib.ExitStack()
        # Started and stopped in a worker thread: this loop keeps serving the
        # clients meanwhile (they must answer the 1012 close to let uvicorn stop).
        port = await asyncio.to_thread(servers.enter_context, uvicorn_server(first.app, **options))
        inbox: Dict[str, List[Any]] = {"a": [], "b": []}
        clients = {}
        try:
            for name in inbox:
                client = socketio.AsyncClient(
                    reconnection=True, reconnection_delay=0.1, reconnection_delay_max=0.5, randomization_factor=0
                )
                client.on("pushed", (lambda n: lambda data: inbox[n].append(data))(name))
                await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"], wait_timeout=5)
                clients[name] = client
            a, b = clients["a"], clients["b"]
            sid_a = a.get_sid()
            await until(lambda: len(first.sids) == 2, lambda: first.sids)

            # Idle for 1.5 s, over seven ping intervals: the heartbeat holds it.
            await asyncio.sleep(1.5)
            assert a.connected and b.connected and a.get_sid() == sid_a
            assert first.sids == [sid_a, b.get_sid()]  # nobody reconnected
            assert first.pongs >= 6, first.pongs  # about 14: 7 per client

            await first.push("pushed", "to a only", to=sid_a)
            await until(lambda: inbox["a"] == ["to a only"], lambda: inbox)
            await asyncio.sleep(0.1)
            assert inbox["b"] == []

            # Restart: stop uvicorn, start a new server on the same port.
            await asyncio.to_thread(servers.close)
            port2 = await asyncio.to_thread(servers.enter_context, uvicorn_server(second.app, port=port, **options))
            assert port2 == port
            await until(lambda: len(second.sids) == 2 and a.connected and b.connected, lambda: second.sids, 15)
            assert a.get_sid() in second.sids and a.get_sid() != sid_a
            await second.push("pushed", "after restart", to=a.get_sid())
            await until(lambda: inbox["a"] == ["to a only", "after restart"], lambda: inbox)
            assert inbox["b"] == []
        finally:
            for client in clients.values():
                await asyncio.wait_for(client.disconnect(), 10)
            await asyncio.to_thread(servers.close)

    run(main(), timeout=60)


# ---- the one option, end to end ---------------------------------------------------------


def test_uvicorn_cli_ws_option_serves_the_fastapi_example() -> None:
    """``uvicorn ... --ws wsframe.asgi:UvicornProtocol`` in a child process."""
    import os
    import re
    import subprocess
    import sys

    pytest.importorskip("fastapi")
    from aio_support import IMPORT_ROOT

    examples = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
    env = dict(os.environ, PYTHONPATH=IMPORT_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", examples, "fastapi_echo:app", "--port", "0",
         "--ws", WS, "--lifespan", "off"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(60, proc.kill)  # bounds the readline() below
    watchdog.start()
    try:
        port = None
        lines = []
        for line in proc.stderr:  # type: ignore[union-attr]
            lines.append(line)
            found = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
                break
        assert port is not None, "".join(lines)

        async def main() -> None:
            async with wsframe_connect(f"ws://127.0.0.1:{port}/ws/cli", subprotocols=["chat"]) as ws:
                assert ws.subprotocol == "chat"
                await ws.send("hello")
                assert await ws.recv() == "cli: hello"

        run(main())
        proc.terminate()  # uvicorn shuts down and closes its stderr
        rest = proc.stderr.read()  # type: ignore[union-attr]
        # uvicorn's log lines, on uvicorn's loggers.
        assert re.search(r'127\.0\.0\.1:\d+ - "WebSocket /ws/cli" \[accepted\]', rest), rest
        assert "connection open" in rest and "connection closed" in rest, rest
    finally:
        watchdog.cancel()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

"""The callback API of wsframe.aio (``serve_listener``, ``connect_listener``).

Real loopback sockets, every wait bounded (``aio_support.run``), each test on
asyncio and on uvloop. The shared behaviour battery (tests/test_host_battery.py)
runs the same listener host too; here: limits, close codes, pings, pausing
and back-pressure both ways, shutdown, a raising callback, interop with
websockets' client, and the client side.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Callable, List, Optional, Tuple

import pytest

import wsframe
from wsframe import Opcode
from wsframe.aio import Listener, ListenerConnection, connect, connect_listener, serve, serve_listener
from wsframe.aio.exceptions import ConnectionClosed

from aio_support import echo, run


def _loops() -> List[Any]:
    params: List[Any] = [pytest.param(asyncio.new_event_loop, id="asyncio")]
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in the test extras
        params.append(pytest.param(None, id="uvloop", marks=pytest.mark.skip(reason="uvloop is optional")))
    else:
        params.append(pytest.param(uvloop.new_event_loop, id="uvloop"))
    return params


@pytest.fixture(params=_loops())
def loop_factory(request: pytest.FixtureRequest) -> Callable[[], asyncio.AbstractEventLoop]:
    return request.param  # type: ignore[no-any-return]


class Recorder(Listener):
    """Echoes, and records everything it is told."""

    def __init__(self) -> None:
        self.messages: List[Any] = []
        self.pings: List[bytes] = []
        self.closed: "asyncio.Future[Tuple[int, str]]" = asyncio.get_running_loop().create_future()
        self.drains = 0
        self.opened: Optional[ListenerConnection] = None

    def on_open(self, ws: ListenerConnection) -> None:
        self.opened = ws

    def on_message(self, ws: ListenerConnection, message: Any) -> None:
        self.messages.append(message)
        ws.send(message)

    def on_ping(self, ws: ListenerConnection, payload: bytes) -> None:
        self.pings.append(payload)

    def on_close(self, ws: ListenerConnection, code: int, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result((code, reason))

    def on_drain(self, ws: ListenerConnection) -> None:
        self.drains += 1


class Recorders:
    """A listener factory that remembers the listeners it made."""

    def __init__(self, cls: type = Recorder) -> None:
        self.cls = cls
        self.made: List[Any] = []

    def __call__(self) -> Any:
        listener = self.cls()
        self.made.append(listener)
        return listener


async def _first(recorders: Recorders) -> Any:
    while not recorders.made:
        await asyncio.sleep(0.005)
    return recorders.made[0]


def test_echo_text_and_binary_and_close(loop_factory: Any) -> None:
    async def main() -> None:
        recorders = Recorders()
        async with serve_listener(recorders, "127.0.0.1", 0) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/room?x=1") as ws:
                await ws.send("hello")
                assert await ws.recv() == "hello"
                await ws.send(b"\x00\x01")
                assert await ws.recv() == b"\x00\x01"
            listener = await _first(recorders)
            assert await asyncio.wait_for(listener.closed, 10) == (1000, "")
            assert listener.messages == ["hello", b"\x00\x01"]
            assert listener.opened is not None and listener.opened.path == "/room?x=1"

    run(main(), loop_factory=loop_factory)


def test_fragmented_messages_reach_on_message_whole(loop_factory: Any) -> None:
    # The coroutine API streams fragments (recv_streaming); a listener gets
    # each message whole.
    async def main() -> None:
        recorders = Recorders()
        async with serve_listener(recorders, "127.0.0.1", 0) as server:
            # compression=None: with permessage-deflate a fragmented send
            # goes out compressed whole, in one frame.
            async with connect(f"ws://127.0.0.1:{server.port}/", compression=None) as ws:
                await ws.send(["h\u00e9", "llo", ""])
                assert await ws.recv() == "h\u00e9llo"
                await ws.send([b"a", b"", b"bc"])
                assert await ws.recv() == b"abc"
            listener = await _first(recorders)
            assert await asyncio.wait_for(listener.closed, 10) == (1000, "")
            assert listener.messages == ["h\u00e9llo", b"abc"]

    run(main(), loop_factory=loop_factory)


@pytest.mark.parametrize("payload, code", [(b"x" * 2000, 1009), (b"\xff\xfe", 1007)], ids=["1009", "1007"])
def test_limits_and_invalid_text_close_with_their_code(loop_factory: Any, payload: bytes, code: int) -> None:
    async def main() -> None:
        recorders = Recorders()
        async with serve_listener(recorders, "127.0.0.1", 0, max_size=1000, compression=None) as server:
            reader, writer = await _raw_open(server.port)
            opcode = Opcode.TEXT if code == 1007 else Opcode.BINARY
            writer.write(wsframe.encode_frame(opcode, payload, mask=True))
            frames = await _read_until_close(reader)
            writer.close()
            assert wsframe.decode_close_payload(frames[-1].payload)[0] == code
            listener = await _first(recorders)
            assert (await asyncio.wait_for(listener.closed, 10))[0] == code
            assert listener.messages == []

    run(main(), loop_factory=loop_factory)


def test_protocol_error_closes_with_1002_after_answering(loop_factory: Any) -> None:
    async def main() -> None:
        async with serve_listener(Recorders(), "127.0.0.1", 0, compression=None) as server:
            reader, writer = await _raw_open(server.port)
            good = b"".join(wsframe.encode_frame(Opcode.TEXT, b"m%d" % i, mask=True) for i in range(3))
            writer.write(good + b"\x83\x80" + bytes(4))  # reserved opcode 3
            frames = await _read_until_close(reader)
            writer.close()
        assert [f.payload for f in frames if f.opcode == Opcode.TEXT] == [b"m0", b"m1", b"m2"]
        assert wsframe.decode_close_payload(frames[-1].payload)[0] == 1002

    run(main(), loop_factory=loop_factory)


def test_ping_reaches_on_ping_and_gets_its_pong(loop_factory: Any) -> None:
    async def main() -> None:
        recorders = Recorders()
        async with serve_listener(recorders, "127.0.0.1", 0) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
                rtt = await asyncio.wait_for(ws.ping(b"are you there"), 10)
                assert rtt >= 0
                listener = await _first(recorders)
                assert listener.pings == [b"are you there"]
                # And the other way: the listener side's ping() resolves on the pong.
                assert await asyncio.wait_for(listener.opened.ping(b"back"), 10) >= 0

    run(main(), loop_factory=loop_factory)


def test_server_shutdown_sends_1001(loop_factory: Any) -> None:
    async def main() -> None:
        recorders = Recorders()
        server = await serve_listener(recorders, "127.0.0.1", 0)
        ws = await connect(f"ws://127.0.0.1:{server.port}/")
        listener = await _first(recorders)
        server.close()
        await asyncio.wait_for(server.wait_closed(), 20)
        assert (await asyncio.wait_for(listener.closed, 10))[0] == 1001
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1001

    run(main(), loop_factory=loop_factory)


class Raising(Recorder):
    def on_message(self, ws: ListenerConnection, message: Any) -> None:
        raise RuntimeError("bug in the listener")


def test_raising_callback_closes_with_1011(loop_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with serve_listener(Recorders(Raising), "127.0.0.1", 0) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
                await ws.send("boom")
                with pytest.raises(ConnectionClosed):
                    await ws.recv()
                assert ws.close_code == 1011

    run(main(), loop_factory=loop_factory)
    assert any("on_message failed" in r.getMessage() for r in caplog.records)


def test_a_reply_after_the_peers_close_is_no_error(loop_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A message and the close frame in one read: on_message's send() meets
    a closing connection (ConnectionClosed), which is not logged as a broken
    listener, and the close stays a clean 1000."""

    async def main() -> None:
        recorders = Recorders()
        async with serve_listener(recorders, "127.0.0.1", 0) as server:
            reader, writer = await _raw_open(server.port)
            writer.write(
                wsframe.encode_frame(Opcode.TEXT, b"last words", mask=True)
                + wsframe.encode_frame(Opcode.CLOSE, wsframe.encode_close_payload(1000, ""), mask=True)
            )
            frames = await _read_until_close(reader)
            writer.close()
            listener = await _first(recorders)
            assert await asyncio.wait_for(listener.closed, 10) == (1000, "")
            assert listener.messages == ["last words"]
            assert wsframe.decode_close_payload(frames[-1].payload)[0] == 1000

    run(main(), loop_factory=loop_factory)
    assert not any("failed" in r.getMessage() for r in caplog.records)


class Pauser(Recorder):
    """Pauses reading after the first message."""

    def on_message(self, ws: ListenerConnection, message: Any) -> None:
        super().on_message(ws, message)
        if len(self.messages) == 1:
            ws.pause_reading()


def test_pause_and_resume_reading(loop_factory: Any) -> None:
    async def main() -> None:
        recorders = Recorders(Pauser)
        async with serve_listener(recorders, "127.0.0.1", 0) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
                await ws.send("first")
                assert await ws.recv() == "first"
                listener = await _first(recorders)
                assert listener.opened.reading_paused
                for i in range(5):
                    await ws.send(f"later {i}")
                await asyncio.sleep(0.2)
                assert listener.messages == ["first"]  # nothing read while paused
                listener.opened.resume_reading()
                assert [await ws.recv() for _ in range(5)] == [f"later {i}" for i in range(5)]
                assert listener.messages == ["first"] + [f"later {i}" for i in range(5)]

    run(main(), loop_factory=loop_factory)


TOTAL = 100  # messages of 16 KiB the flooder sends in all


class Flooder(Recorder):
    """Sends until the transport says stop, then again on each drain."""

    def on_open(self, ws: ListenerConnection) -> None:
        super().on_open(ws)
        # A small kernel send buffer, so the transport's own buffer fills soon.
        ws._transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        self.sent = 0
        self.max_buffered = 0
        self.fill(ws)

    def fill(self, ws: ListenerConnection) -> None:
        while not ws.writing_paused and self.sent < TOTAL:
            ws.send(b"y" * 16384)
            self.sent += 1
            self.max_buffered = max(self.max_buffered, ws.write_buffer_size)

    def on_drain(self, ws: ListenerConnection) -> None:
        super().on_drain(ws)
        self.fill(ws)


def test_back_pressure_from_a_non_reading_peer(loop_factory: Any) -> None:
    """A peer that reads nothing: the listener sees writing_paused and a
    growing write_buffer_size; once the peer reads, on_drain comes and the
    listener finishes sending."""

    async def main() -> None:
        recorders = Recorders(Flooder)
        async with serve_listener(recorders, "127.0.0.1", 0, write_limit=65536, compression=None) as server:
            # A small stream limit: the reader stops reading at once (2 KiB).
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port, limit=1024)
            writer.write(_request())
            listener = await _first(recorders)
            # The peer reads nothing: once the kernel buffers are full too,
            # sending stops with the transport over its limit.
            before = -1
            while listener.sent != before:
                before = listener.sent
                await asyncio.sleep(0.3)
            assert listener.opened.writing_paused
            assert listener.sent < TOTAL and listener.max_buffered > 65536
            assert listener.opened.write_buffer_size > 16384
            drains = listener.drains
            received = 0
            parser = wsframe.FrameParser(is_server=False)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert b" 101 " in head
            while received < TOTAL:
                data = await asyncio.wait_for(reader.read(1 << 20), 10)
                assert data
                received += len(parser.feed(data))
            assert listener.drains > drains and listener.sent == TOTAL
            writer.close()

    run(main(), loop_factory=loop_factory)


def test_interop_with_websockets_client(loop_factory: Any) -> None:
    wsclient = pytest.importorskip("websockets.asyncio.client", reason="websockets is optional")

    async def main() -> None:
        recorders = Recorders()
        async with serve_listener(recorders, "127.0.0.1", 0) as server:
            async with wsclient.connect(f"ws://127.0.0.1:{server.port}/") as ws:  # deflate negotiated
                for message in ["text", b"binary", "x" * 70000, b"y" * 200000]:
                    await ws.send(message)
                    assert await ws.recv() == message
            listener = await _first(recorders)
            assert (await asyncio.wait_for(listener.closed, 10))[0] == 1000

    run(main(), loop_factory=loop_factory)


class Collector(Recorder):
    """Records without answering (a client of an echo server)."""

    def on_message(self, ws: ListenerConnection, message: Any) -> None:
        self.messages.append(message)


def test_connect_listener_against_serve(loop_factory: Any) -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0) as server:
            recorders = Recorders(Collector)
            ws = await connect_listener(recorders, f"ws://127.0.0.1:{server.port}/")
            listener = recorders.made[0]
            assert listener.opened is ws  # on_open ran before connect_listener returned
            ws.send("one")
            ws.send(b"two" * 30000)
            while len(listener.messages) < 2:
                await asyncio.sleep(0.01)
            assert listener.messages == ["one", b"two" * 30000]
            ws.close()
            await asyncio.wait_for(ws.wait_closed(), 10)
            assert (await asyncio.wait_for(listener.closed, 10))[0] == 1000
            assert ws.close_code == 1000
            with pytest.raises(ConnectionClosed):
                ws.send("too late")

    run(main(), loop_factory=loop_factory)


# ---- raw client helpers --------------------------------------------------------------


def _request() -> bytes:
    return (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )


async def _raw_open(port: int) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_request())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert b" 101 " in head
    return reader, writer


async def _read_until_close(reader: asyncio.StreamReader) -> List[Any]:
    parser = wsframe.FrameParser(is_server=False, max_message_size=1 << 24, max_frame_size=1 << 24)
    frames: List[Any] = []
    while not any(f.opcode == Opcode.CLOSE for f in frames):
        data = await asyncio.wait_for(reader.read(65536), 10)
        if not data:
            break
        frames += parser.feed(data)
    return frames


def test_handshake_hooks_see_the_listener_connection(loop_factory: Any) -> None:
    seen: List[Any] = []

    def process_request(connection: Any, request: Any) -> Any:
        seen.append(connection)
        if request.target == "/private":
            return 403, [], b"no\n"
        return None

    async def process_response(connection: Any, request: Any, response: Any) -> None:
        response.headers.add("X-Listener", "yes")

    async def main() -> None:
        recorders = Recorders()
        async with serve_listener(
            recorders, "127.0.0.1", 0, process_request=process_request, process_response=process_response
        ) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
                assert ws.response_headers.get("X-Listener") == "yes"
                await ws.send("through the hooks")
                assert await ws.recv() == "through the hooks"
            with pytest.raises(Exception) as refused:
                await connect(f"ws://127.0.0.1:{server.port}/private")
            assert "403" in str(refused.value)
        assert all(isinstance(c, ListenerConnection) for c in seen) and len(seen) == 2

    run(main(), loop_factory=loop_factory)


def test_unix_socket_server_and_client(loop_factory: Any, tmp_path: Any) -> None:
    from wsframe.aio import unix_connect_listener, unix_serve_listener

    path = str(tmp_path / "ws.sock")

    class Collect(Listener):
        def __init__(self) -> None:
            self.got: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()

        def on_message(self, ws: ListenerConnection, message: Any) -> None:
            if not self.got.done():
                self.got.set_result(message)

    async def main() -> None:
        recorders = Recorders()
        async with unix_serve_listener(recorders, path):
            client = Collect()
            ws = await unix_connect_listener(lambda: client, path, "ws://localhost/chat")
            ws.send("over a unix socket")
            assert await asyncio.wait_for(client.got, 10) == "over a unix socket"
            listener = await _first(recorders)
            assert listener.opened is not None and listener.opened.path == "/chat"
            ws.close()
            await asyncio.wait_for(ws.wait_closed(), 10)

    run(main(), loop_factory=loop_factory)

"""patch("tornado") reads frames with FrameParser: tornado must not be able to tell.

Differential tests: random and hostile frame streams (tests/framegen.py:
reserved opcodes, RSV bits, wrong masking, lying lengths, bad close
payloads, invalid UTF-8, fragments with control frames between them,
truncation, garbage), cut into chunks sent a few milliseconds apart, go to a
real tornado server (and, the other way, to a real tornado client) over
127.0.0.1, once unpatched and once patched. Everything the application sees
(messages, pings, pongs, the close code and reason, ``on_close``) and every
byte tornado sends back must be the same. Then loopback interop: a patched
tornado server against wsframe's and websockets' clients (large, fragmented,
compressed, invalid UTF-8, oversize). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from typing import Any, Dict, List, Optional, Tuple

import pytest
from compat_helpers import skip_unverified
from framegen import chunkings, frame_specs, write_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsframe
import wsframe.compat as compat

pytest.importorskip("tornado.websocket", reason="tornado is not installed")

import tornado.httpserver  # noqa: E402
import tornado.netutil  # noqa: E402
import tornado.web  # noqa: E402
import tornado.websocket  # noqa: E402
from wsframe.compat import _tornado_frames  # noqa: E402

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore:wsframe.compat. patching:RuntimeWarning"),
]


@pytest.fixture(autouse=True)
def verified_tornado() -> None:
    """Skip when the installed tornado is one patch() refuses (not 6.6)."""
    skip_unverified("tornado")


TIMEOUT = 10.0  # a whole session
QUIET = 0.4  # no byte for this long after everything was sent: the peer is done
HANDSHAKE = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)
CLOSE_1000 = b"\x88\x82abcd" + wsframe.apply_mask(b"\x03\xe8", b"abcd")


def recording_handler(events: List[Any], coroutine: bool) -> Any:
    """A tornado handler that echoes and records what tornado hands it."""

    class Recorder(tornado.websocket.WebSocketHandler):
        def get_compression_options(self) -> Optional[Dict[str, Any]]:
            return {}  # accepted when the client offers permessage-deflate

        def on_message(self, message: Any) -> Any:
            events.append(("message", type(message).__name__, message))
            self.write_message(message, binary=isinstance(message, bytes))
            if coroutine:
                return asyncio.sleep(0)  # tornado awaits it before the next frame
            return None

        def on_ping(self, data: bytes) -> None:
            events.append(("ping", data))

        def on_pong(self, data: bytes) -> None:
            events.append(("pong", data))

        def on_close(self) -> None:
            events.append(("close", self.close_code, self.close_reason))

    return Recorder


async def send_slowly(writer: asyncio.StreamWriter, chunks: List[bytes]) -> None:
    """Write each chunk 2 ms after the previous one; stop when the peer has gone."""
    for chunk in chunks:
        try:
            writer.write(chunk)
            await writer.drain()
        except ConnectionError:
            return
        await asyncio.sleep(0.002)


async def read_until_quiet(reader: asyncio.StreamReader) -> bytes:
    """Bytes until EOF, or until nothing came for ``QUIET`` seconds."""
    out = b""
    while True:
        try:
            data = await asyncio.wait_for(reader.read(1 << 16), QUIET)
        except asyncio.TimeoutError:
            return out + b"<quiet>"
        except ConnectionError:
            return out + b"<reset>"
        if not data:
            return out
        out += data


async def server_session(chunks: List[bytes], max_size: int, deflate: bool, coroutine: bool) -> Tuple[Any, ...]:
    """Send ``chunks`` to a tornado server; (its events, its bytes after the 101)."""
    events: List[Any] = []
    app = tornado.web.Application([("/", recording_handler(events, coroutine))], websocket_max_message_size=max_size)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", sockets[0].getsockname()[1])
        extension = b"Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else b""
        writer.write(HANDSHAKE + extension + b"\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        reading = asyncio.ensure_future(read_until_quiet(reader))  # read while sending
        await send_slowly(writer, chunks + [CLOSE_1000])
        try:
            writer.write_eof()
        except OSError:
            pass
        sent_back = await reading
        writer.close()
        for _ in range(50):  # let the server's handler see the end
            if events and events[-1][0] == "close":
                break
            await asyncio.sleep(0.01)
        return tuple(events), sent_back
    finally:
        server.stop()


def run_server_session(chunks: List[bytes], max_size: int, deflate: bool, coroutine: bool) -> Tuple[Any, ...]:
    return asyncio.run(asyncio.wait_for(server_session(chunks, max_size, deflate, coroutine), TIMEOUT))


def assert_same(patched: Tuple[Any, ...], plain: Tuple[Any, ...]) -> None:
    """Equal, except that bytes cut short by a TCP reset are a prefix of the other run's.

    A server that aborts while input is unread makes its kernel send a reset,
    which may discard bytes it sent just before: when, is a race of the
    loopback, not something tornado or the patch decides.
    """
    *head_p, bytes_p = patched
    *head_u, bytes_u = plain
    assert head_p == head_u
    if bytes_p.endswith(b"<reset>") or bytes_u.endswith(b"<reset>"):
        cut_p, cut_u = bytes_p.replace(b"<reset>", b""), bytes_u.replace(b"<reset>", b"")
        shorter, longer = sorted((cut_p, cut_u), key=len)
        assert longer.startswith(shorter)
    else:
        assert bytes_p == bytes_u


def both_ways(run: Any, *args: Any) -> Tuple[Any, Any]:
    """``run(*args)`` unpatched, then patched."""
    compat.unpatch("tornado")
    plain = run(*args)
    with compat.patched("tornado"):
        patched = run(*args)
    return plain, patched


MAX_SIZES = st.sampled_from([10 * 1024 * 1024, 70_000, 1000, 200, 10, 0])


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_server_sees_the_same_from_random_and_hostile_streams(data: Any) -> None:
    wire = write_frames(data.draw, data.draw(frame_specs(hostile=True)), masked=True)
    if data.draw(st.integers(0, 4)) == 0:
        wire = wire[: data.draw(st.integers(0, len(wire)))]  # ends inside a frame
    chunks = data.draw(chunkings(wire))
    args = (chunks, data.draw(MAX_SIZES), data.draw(st.booleans()), data.draw(st.booleans()))
    plain, patched = both_ways(run_server_session, *args)
    assert_same(patched, plain)


def test_server_sees_the_same_with_unmasked_and_odd_frames() -> None:
    """Frames tornado accepts and FrameParser would not: they go to tornado's reader."""
    key = b"\x01\x02\x03\x04"
    masked_text = b"\x81\x85" + key + wsframe.apply_mask(b"hello", key)
    streams = [
        [b"\x82\x03abc", masked_text],  # unmasked client frame, then a normal one
        [masked_text, b"\x81\x7e\x00\x05" + b"\x00" * 4 + b"hello"],  # non-minimal length
        [masked_text[:1], masked_text[1:3], masked_text[3:]],  # a header split
        [b"\x83\x80" + key, masked_text],  # reserved opcode 3
        [b"\x88\x81" + key + b"\x03"],  # a 1-byte close payload
        [b"\x88\x84" + key + wsframe.apply_mask(b"\x03\xe8\xff\xfe", key)],  # close reason not UTF-8
        [b"\x89\xfe\x00\x7e"],  # ping with a 16-bit length: tornado aborts on 4 bytes
        [b"\x01\x83" + key + wsframe.apply_mask(b"abc", key), b"\x81\x80" + key],  # new message inside one
    ]
    for chunks in streams:
        plain, patched = both_ways(run_server_session, chunks, 1 << 20, False, False)
        assert_same(patched, plain)


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 300_000])
def test_server_large_and_boundary_frames(size: int) -> None:
    body = os.urandom(size)
    wire = wsframe.encode_frame(2, body, mask=True) + wsframe.encode_frame(1, b"after", mask=True)
    chunks = [wire[i : i + 50_000] for i in range(0, len(wire), 50_000)]
    plain, patched = both_ways(run_server_session, chunks, 1 << 20, False, False)
    assert_same(patched, plain)
    assert plain[0][0] == ("message", "bytes", body)


# ---- the client side: a raw server sends, a tornado client reads -------------------------------


async def client_session(wire: bytes, chunks_at: List[int], max_size: int) -> Tuple[Any, ...]:
    """A raw server sends ``wire`` (cut at ``chunks_at``) to tornado's client."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n") if line.lower().startswith(b"sec-websocket-key"))
        accept = base64.b64encode(__import__("hashlib").sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        bounds = [0] + chunks_at + [len(wire)]
        await send_slowly(writer, [wire[a:b] for a, b in zip(bounds, bounds[1:])] + [b"\x88\x02\x03\xe8"])
        got.append(await read_until_quiet(reader))
        writer.close()

    got: List[bytes] = []
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        conn = await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{port}/", max_message_size=max_size)
        received: List[Any] = []
        while True:
            message = await conn.read_message()
            if message is None:
                break
            received.append(message)
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.01)
        # What the client sent back is masked with random keys: compare it unmasked.
        raw = got[0] if got else b""
        marker = b"<reset>" if raw.endswith(b"<reset>") else b""
        parser = wsframe.FrameParser(is_server=True, reassemble=False, validate_utf8=False, rsv_allowed=(True,) * 3)
        try:
            frames = parser.feed(raw.replace(b"<quiet>", b"").replace(b"<reset>", b""))
        except wsframe.ProtocolError as exc:
            frames, marker = exc.frames, marker + b"<error>"
        unmasked = b"".join(wsframe.encode_frame(f.opcode, f.payload, fin=f.fin, rsv1=f.rsv1) for f in frames)
        return tuple(received), conn.close_code, conn.close_reason, unmasked + marker
    finally:
        server.close()


def run_client_session(wire: bytes, chunks_at: List[int], max_size: int) -> Tuple[Any, ...]:
    return asyncio.run(asyncio.wait_for(client_session(wire, chunks_at, max_size), TIMEOUT))


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_client_sees_the_same_from_random_and_hostile_streams(data: Any) -> None:
    wire = write_frames(data.draw, data.draw(frame_specs(hostile=True)), masked=False)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=5)))
    plain, patched = both_ways(run_client_session, wire, cuts, data.draw(MAX_SIZES))
    assert_same(patched, plain)


# ---- interop: a patched tornado server and other clients ---------------------------------------


async def echo_server_port(max_size: int) -> Tuple[Any, int]:
    events: List[Any] = []
    app = tornado.web.Application([("/", recording_handler(events, False))], websocket_max_message_size=max_size)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


def test_patched_server_with_websockets_client() -> None:
    """Large, fragmented and compressed messages echo; oversize closes 1009; bad UTF-8 drops."""
    pytest.importorskip("websockets")
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    big = os.urandom(3 * 1024 * 1024)
    text = "h\u00e9llo \U0001f600 " * 50_000

    async def main() -> Tuple[Any, ...]:
        server, port = await echo_server_port(4 * 1024 * 1024)
        try:
            ws = await connect(f"ws://127.0.0.1:{port}/", max_size=None, ping_interval=None, close_timeout=2)
            echoes = []
            for message in (big, text, [b"ab", b"cd", b"ef"]):  # a list goes fragmented
                await ws.send(message)
                echoes.append(await ws.recv())
            try:  # over the limit: tornado closes at the header, maybe while we still send
                await ws.send(os.urandom(5 * 1024 * 1024))
                await ws.recv()
            except ConnectionClosed as exc:
                closed = exc.rcvd.code if exc.rcvd else None
            await ws.close()
            return echoes == [big, text, b"abcdef"], closed
        finally:
            server.stop()

    compat.unpatch("tornado")
    plain = asyncio.run(asyncio.wait_for(main(), 60))
    with compat.patched("tornado"):
        patched = asyncio.run(asyncio.wait_for(main(), 60))
    # tornado sends 1009 and drops the connection at once: a client still
    # sending may get a reset before it reads the close frame (None).
    assert plain[0] and patched[0]
    assert plain[1] in (1009, None) and patched[1] in (1009, None)


def test_patched_server_with_wsframe_client() -> None:
    """wsframe's own client: text, a 70 KB binary message (64-bit length), a ping."""
    from wsframe.aio import connect

    async def main() -> Tuple[Any, ...]:
        server, port = await echo_server_port(1 << 20)
        try:
            async with connect(f"ws://127.0.0.1:{port}/", ping_interval=None) as ws:
                await ws.send("caf\u00e9")
                first = await ws.recv()
                await ws.send(b"\x00" * 70_000)
                second = await ws.recv()
                await ws.ping(b"p")
            return first, len(second)
        finally:
            server.stop()

    with compat.patched("tornado"):
        assert asyncio.run(asyncio.wait_for(main(), 30)) == ("caf\u00e9", 70_000)


def test_valid_frames_stay_on_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A well-formed stream never goes to tornado's reader (until the close frame)."""
    handbacks: List[bytes] = []
    original = _tornado_frames._serve_first
    monkeypatch.setattr(_tornado_frames, "_serve_first", lambda p, rest: (handbacks.append(rest), original(p, rest)))
    wire = b"".join(wsframe.encode_frame(op, body, fin=fin, mask=True) for op, body, fin in (
        (1, b"one", True), (2, b"tw", False), (9, b"ping", True), (0, b"o", True), (2, b"x" * 70_000, True)
    ))
    with compat.patched("tornado"):
        events, _ = run_server_session([wire[:7], wire[7:]], 1 << 20, False, False)
    assert [e[0] for e in events] == ["message", "ping", "message", "message", "close"]
    assert handbacks == [CLOSE_1000]


def test_invalid_utf8_and_oversize_drop_like_tornado() -> None:
    key = b"\x05\x06\x07\x08"
    bad = b"\x81\x82" + key + wsframe.apply_mask(b"\xc3\x28", key)
    plain, patched = both_ways(run_server_session, [bad], 1 << 20, False, False)
    assert_same(patched, plain)
    assert plain[0] == (("close", None, None),)  # tornado aborts without a close frame
    over = wsframe.encode_frame(2, b"x" * 300, mask=True)
    plain, patched = both_ways(run_server_session, [over], 200, False, False)
    assert_same(patched, plain)
    assert plain[1].startswith(b"\x88\x11\x03\xf1message too big")


def test_patch_swaps_the_reader_and_unpatch_restores_it() -> None:
    cls = tornado.websocket.WebSocketProtocol13
    original = vars(cls)["_receive_frame_loop"]
    writer = vars(cls)["_write_frame"]
    compat.unpatch("tornado")
    with compat.patched("tornado"):
        assert vars(cls)["_receive_frame_loop"].__wrapped__ is original
        assert vars(cls)["_write_frame"] is writer  # the writer stays tornado's by default
    assert vars(cls)["_receive_frame_loop"] is original
    with compat.patched("tornado", frames=False):
        assert vars(cls)["_receive_frame_loop"] is original
    with compat.patched("tornado", writer=True):
        assert vars(cls)["_write_frame"].__wrapped__ is writer
    assert vars(cls)["_write_frame"] is writer


def test_writer_builds_the_same_frames() -> None:
    """encode_frame gives tornado's bytes (unmasked; masked ones unmask to the same)."""

    class Stream:
        def __init__(self) -> None:
            self.out: List[bytes] = []

        def write(self, data: bytes) -> None:
            self.out.append(data)

    cls = tornado.websocket.WebSocketProtocol13
    original = vars(cls)["_write_frame"]
    ours = _tornado_frames.make_write_frame(original)

    def fake() -> Any:  # what _write_frame uses of the protocol
        return type("P", (), {"FIN": cls.FIN, "mask_outgoing": False, "_wire_bytes_out": 0, "stream": Stream()})()

    for size in (0, 125, 126, 65535, 65536):
        for opcode, fin, flags in ((1, True, 0), (2, False, 0x40), (0, True, 0), (9, True, 0)):
            if opcode == 9 and size > 125:
                continue
            outs = []
            for write in (original, ours):
                proto = fake()
                write(proto, fin, opcode, b"z" * size, flags)
                outs.append((proto.stream.out, proto._wire_bytes_out))
            assert outs[0] == outs[1]
    proto = fake()
    with pytest.raises(ValueError, match="fragmented"):
        ours(proto, False, 9, b"")
    with pytest.raises(ValueError, match="125"):
        ours(proto, True, 10, b"x" * 126)

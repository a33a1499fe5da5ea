"""patch("websockets") moves websockets' frame parsing and serialising onto
wsframe's codec: differential tests against unpatched websockets.

The same random and hostile byte streams, cut into random chunks, go into an
unpatched and a patched websockets ``Protocol`` / ``ServerProtocol`` /
``ClientProtocol``; after every chunk (and at EOF) both must give the same
events, the same bytes to send, the same state, the same parser exception
(type and message) and in the end the same close exception. Client masks
come from ``secrets.token_bytes``, which both runs get as the same
deterministic function, so client output is compared byte for byte too.
"""

from __future__ import annotations

import itertools
import os
import secrets
import struct
from typing import Any, Callable, List, Optional, Tuple
from unittest import mock

import pytest
from compat_helpers import skip_unverified
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsframe
import wsframe.compat as compat

websockets = pytest.importorskip("websockets")
from websockets.frames import Frame, Opcode  # noqa: E402
from websockets.protocol import CLIENT, SERVER, Protocol, State  # noqa: E402

# Both backends: on the pure one the patch is slower than websockets (and
# warns), but it must behave the same.
pytestmark = pytest.mark.filterwarnings("ignore:wsframe.compat. patching:RuntimeWarning")

# The profile's example count (WSFRAME_HYPOTHESIS_EXAMPLES, tests/conftest.py), 1.5x for the main property.
EXAMPLES = settings().max_examples

NEW_LIMITS = hasattr(Protocol(SERVER), "max_message_size")  # websockets >= 16: (message, fragment) limits


@pytest.fixture(autouse=True)
def _unpatched() -> Any:
    skip_unverified("websockets")
    compat.unpatch("websockets")
    yield
    compat.unpatch("websockets")


# ---- building wire bytes (our own encoder, so hostile variants are possible) -----------------


def wire_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    key: Optional[bytes] = None,
    length_form: str = "min",
) -> bytes:
    """A frame as bytes; ``length_form`` "16"/"64" forces a longer length field
    than needed (legal: RFC 6455 asks for the minimal form, parsers accept both)."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mask_bit = 0x80 if key is not None else 0
    if length_form == "64" or n > 0xFFFF:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    elif length_form == "16" or n > 125:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | n])
    if key is None:
        return head + payload
    return head + key + wsframe.apply_mask(payload, key)


TEXTS = ["", "hello", "h\u00e9llo w\u00f6rld \u20ac \U0001f600", "x" * 200]
BAD_UTF8 = [b"\xff", b"\xc3", b"a\xed\xa0\x80b", b"\xf4\x90\x80\x80"]


@st.composite
def frame_on_wire(draw: Any, from_client: bool) -> bytes:
    """One frame, usually valid, sometimes broken in one way."""
    kind = draw(
        st.sampled_from(
            ["binary", "binary", "text", "text", "fragment", "cont", "ping", "pong", "close", "bad_close",
             "reserved_opcode", "garbage", "big"]
        )
    )
    fin = True
    rsv = 0
    if kind == "garbage":
        return draw(st.binary(min_size=1, max_size=20))
    if kind in ("binary", "big"):
        opcode = 2
        size = draw(st.integers(0, 300)) if kind == "binary" else draw(st.sampled_from([126, 4000, 65535, 65536, 70000]))
        payload = draw(st.binary(min_size=size, max_size=size)) if size <= 300 else os.urandom(size)
    elif kind == "text":
        opcode = 1
        payload = draw(st.one_of(st.sampled_from(TEXTS).map(str.encode), st.sampled_from(BAD_UTF8)))
    elif kind == "fragment":
        opcode, fin = draw(st.sampled_from([1, 2])), False
        payload = draw(st.binary(max_size=50))
    elif kind == "cont":
        opcode, fin = 0, draw(st.booleans())
        payload = draw(st.binary(max_size=50))
    elif kind in ("ping", "pong"):
        opcode = 9 if kind == "ping" else 10
        payload = draw(st.binary(max_size=draw(st.sampled_from([10, 125, 130]))))
        fin = draw(st.integers(0, 9)) > 0
    elif kind == "close":
        opcode = 8
        code = draw(st.sampled_from([1000, 1001, 1002, 1008, 3000, 4999]))
        reason = draw(st.sampled_from(TEXTS[:3])).encode()
        payload = draw(st.sampled_from([b"", struct.pack("!H", code) + reason]))
    elif kind == "bad_close":
        opcode = 8
        payload = draw(st.sampled_from([b"\x03", struct.pack("!H", 1005), struct.pack("!H", 999), b"\x03\xe8\xff"]))
    else:  # reserved_opcode
        opcode = draw(st.sampled_from([3, 7, 11, 15]))
        payload = draw(st.binary(max_size=10))
    if draw(st.integers(0, 14)) == 0:
        rsv = draw(st.integers(1, 7))
    masked = from_client if draw(st.integers(0, 19)) else not from_client
    key = draw(st.binary(min_size=4, max_size=4)) if masked else None
    length_form = draw(st.sampled_from(["min", "min", "min", "min", "16", "64"]))
    return wire_frame(opcode, payload, fin=fin, rsv=rsv, key=key, length_form=length_form)


def chunks_of(data: bytes, cuts: List[int]) -> List[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


# ---- one run: everything observable ----------------------------------------------------------


def fixed_token_bytes() -> Callable[[int], bytes]:
    """A deterministic stand-in for secrets.token_bytes (same sequence in both runs)."""
    counter = itertools.count(1)
    return lambda n: bytes((next(counter) * 37 + i) & 0xFF for i in range(n))


def describe_event(event: Any) -> Any:
    if isinstance(event, Frame):
        return ("frame", event.opcode, bytes(event.data), event.fin, event.rsv1, event.rsv2, event.rsv3)
    return (type(event).__name__, repr(event))


def describe_exc(exc: Optional[BaseException]) -> Any:
    if exc is None:
        return None
    try:
        text = str(exc)
    except Exception as failure:  # websockets 13: str() of some ConnectionClosed asserts
        text = f"<str() raised {type(failure).__name__}>"
    return (type(exc).__name__, text, describe_exc(exc.__cause__) if exc.__cause__ is not exc else None)


def observe(proto: Any) -> Tuple[Any, ...]:
    events = [describe_event(e) for e in proto.events_received()]
    return (events, proto.data_to_send(), proto.state, describe_exc(proto.parser_exc), proto.close_expected())


def run(make: Callable[[], Any], chunks: List[bytes], eof: bool, then_send: bool) -> List[Any]:
    """Feed ``chunks`` into a fresh protocol; what it showed after each step."""
    log: List[Any] = []
    with mock.patch("secrets.token_bytes", fixed_token_bytes()):
        proto = make()
        log.append(observe(proto))
        for chunk in chunks:
            try:
                proto.receive_data(chunk)
            except Exception as exc:  # e.g. EOFError after receive_eof
                log.append(("raised", describe_exc(exc)))
            log.append(observe(proto))
        if then_send and proto.state is State.OPEN:
            proto.send_text("h\u00e9llo".encode())
            proto.send_binary(b"\x00" * 200, fin=False)
            proto.send_continuation(b"tail", fin=True)
            proto.send_ping(b"p")
            proto.send_close(1000, "bye")
            log.append(observe(proto))
        if eof:
            proto.receive_eof()
            log.append(observe(proto))
        if proto.state is State.CLOSED:
            log.append(("close_exc", describe_exc(proto.close_exc), proto.close_code, proto.close_reason))
    return log


def differential(make: Callable[[], Any], chunks: List[bytes], eof: bool, then_send: bool = False) -> None:
    compat.unpatch("websockets")
    expected = run(make, chunks, eof, then_send)
    with compat.patched("websockets"):
        got = run(make, chunks, eof, then_send)
    assert got == expected


def limits(draw: Any) -> Any:
    options: List[Any] = [2**20, None, 100, 300, 5000]
    if NEW_LIMITS:
        options += [(300, 60), (None, 100), (2**20, None)]
    return draw(st.sampled_from(options))


def deflate() -> Any:
    from websockets.extensions.permessage_deflate import PerMessageDeflate

    return PerMessageDeflate(False, False, 15, 15)


PROTOCOLS = ["protocol", "server_protocol", "client_protocol", "deflate"]


def factory(kind: str, side: Any, max_size: Any) -> Callable[[], Any]:
    if kind == "server_protocol":
        from websockets.server import ServerProtocol

        return lambda: ServerProtocol(state=State.OPEN, max_size=max_size)
    if kind == "client_protocol":
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        return lambda: ClientProtocol(parse_uri("ws://localhost/"), state=State.OPEN, max_size=max_size)

    def make() -> Any:
        proto = Protocol(side, max_size=max_size)
        if kind == "deflate":
            proto.extensions = [deflate()]
        return proto

    return make


def compressed_messages(from_client: bool, count: int) -> bytes:
    """Valid permessage-deflate frames (fragmented too), as a peer would send them."""
    peer = Protocol(CLIENT if from_client else SERVER)
    peer.extensions = [deflate()]
    for i in range(count):
        peer.send_text(("message %d " % i * 20).encode())
        peer.send_binary(bytes(range(i, i + 30)), fin=False)
        peer.send_continuation(b"\x00" * 100, fin=True)
    return b"".join(peer.data_to_send())


# ---- the differential properties ---------------------------------------------------------------


@settings(max_examples=EXAMPLES * 3 // 2, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_and_hostile_streams_behave_the_same(data: Any) -> None:
    kind = data.draw(st.sampled_from(PROTOCOLS), label="protocol")
    side = SERVER if kind == "server_protocol" else CLIENT if kind == "client_protocol" else data.draw(
        st.sampled_from([SERVER, CLIENT])
    )
    from_client = side is SERVER
    frames = data.draw(st.lists(frame_on_wire(from_client), max_size=12), label="frames")
    if kind == "deflate" and data.draw(st.booleans()):
        frames.insert(data.draw(st.integers(0, len(frames))), compressed_messages(from_client, 2))
    stream = b"".join(frames)
    cuts = data.draw(st.lists(st.integers(0, max(0, len(stream))), max_size=8), label="cuts")
    eof = data.draw(st.booleans(), label="eof")
    max_size = limits(data.draw)
    differential(factory(kind, side, max_size), chunks_of(stream, cuts), eof, then_send=data.draw(st.booleans()))


@settings(max_examples=max(10, EXAMPLES * 3 // 4), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_valid_streams_byte_by_byte(data: Any) -> None:
    # Every cut point at once: headers, extended lengths and masks split
    # everywhere, so the partial-frame paths (early rejection, limits) run.
    side = data.draw(st.sampled_from([SERVER, CLIENT]))
    from_client = side is SERVER
    frames = data.draw(st.lists(frame_on_wire(from_client), max_size=5))
    stream = b"".join(frames)[:2000]
    differential(factory("protocol", side, data.draw(st.sampled_from([2**20, 100, None]))), [bytes([b]) for b in stream], True)


@pytest.mark.parametrize("side", [SERVER, CLIENT])
@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 300_000])
def test_large_and_boundary_frames(side: Any, size: int) -> None:
    key = b"\x01\x02\x03\x04" if side is SERVER else None
    payload = os.urandom(size)
    stream = wire_frame(2, payload, key=key) + wire_frame(1, b"ok", key=key) + wire_frame(8, b"\x03\xe8", key=key)
    for step in (len(stream), 65536, 4096, 1000):
        chunks = [stream[i : i + step] for i in range(0, len(stream), step)]
        differential(factory("protocol", side, 2**20), chunks, True)


@pytest.mark.parametrize("side", [SERVER, CLIENT])
def test_every_split_of_a_mixed_stream(side: Any) -> None:
    key = b"\xaa\xbb\xcc\xdd" if side is SERVER else None
    stream = (
        wire_frame(1, "h\u00e9".encode(), fin=False, key=key)
        + wire_frame(9, b"ping", key=key)
        + wire_frame(0, "llo".encode(), key=key, length_form="16")
        + wire_frame(2, b"x" * 130, key=key, length_form="64")
        + wire_frame(10, b"", key=key)
        + wire_frame(8, b"\x03\xe8done", key=key)
        + wire_frame(2, b"after close", key=key)
    )
    for cut in range(len(stream) + 1):
        differential(factory("protocol", side, 2**20), [stream[:cut], stream[cut:]], False)


def test_size_limit_errors_match_at_the_header() -> None:
    # websockets raises PayloadTooBig as soon as the length field is in, long
    # before the payload (and its mask) arrive; so must the patched parser.
    key = b"\x00\x00\x00\x00"
    for max_size in (10, 100, 1000):
        for length_form in ("min", "16", "64"):
            stream = wire_frame(2, b"z" * 2000, key=key, length_form=length_form)
            chunks = [stream[:1], stream[1:2], stream[2:4], stream[4:10], stream[10:14], stream[14:]]
            differential(factory("protocol", SERVER, max_size), chunks, True)
    if NEW_LIMITS:  # the room left in a fragmented message, and the fragment limit
        stream = wire_frame(2, b"a" * 80, fin=False, key=key) + wire_frame(0, b"b" * 80, key=key)
        for max_size in ((100, None), (None, 50), (200, 70)):
            differential(factory("protocol", SERVER, max_size), [bytes([b]) for b in stream], True)


def test_handshake_then_frames_with_permessage_deflate() -> None:
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import (
        ClientPerMessageDeflateFactory,
        ServerPerMessageDeflateFactory,
    )
    from websockets.server import ServerProtocol
    from websockets.uri import parse_uri

    def scenario() -> List[Any]:
        with mock.patch("secrets.token_bytes", fixed_token_bytes()):
            client = ClientProtocol(parse_uri("ws://localhost/"), extensions=[ClientPerMessageDeflateFactory()])
            server = ServerProtocol(extensions=[ServerPerMessageDeflateFactory()])
            client.send_request(client.connect())
            log: List[Any] = []
            for data in client.data_to_send():
                server.receive_data(data)
            request = server.events_received()[0]
            response = server.accept(request)
            response.headers["Date"] = "Thu, 01 Jan 2026 00:00:00 GMT"
            server.send_response(response)
            for data in server.data_to_send():
                client.receive_data(data)
            log.append([describe_event(e) for e in client.events_received()])
            for i in range(5):
                client.send_text(("compressed %d " % i * 50).encode())
                client.send_binary(bytes(range(i, i + 10)) * 30)
                wire = b"".join(client.data_to_send())
                log.append(wire)
                for piece in (wire[:7], wire[7:]):
                    server.receive_data(piece)
                log.append(observe(server))
                server.send_text(b"back" * 100)
                for data in server.data_to_send():
                    client.receive_data(data)
                log.append(observe(client))
            client.send_close(1000)
            for data in client.data_to_send():
                if data:
                    server.receive_data(data)
            log.append(observe(server))
            return log

    compat.unpatch("websockets")
    expected = scenario()
    with compat.patched("websockets"):
        got = scenario()
    assert got == expected


# ---- serialisation ---------------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    opcode=st.sampled_from(list(Opcode)),
    data=st.binary(max_size=70000),
    fin=st.booleans(),
    rsv=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    mask=st.booleans(),
    kind=st.sampled_from([bytes, bytearray, memoryview]),
)
def test_serialize_is_byte_identical(opcode: Any, data: bytes, fin: bool, rsv: Any, mask: bool, kind: Any) -> None:
    frame = Frame(opcode, kind(data), fin, *rsv)

    def result() -> Any:
        with mock.patch("secrets.token_bytes", fixed_token_bytes()):
            try:
                return frame.serialize(mask=mask)
            except Exception as exc:
                return describe_exc(exc)

    expected = result()
    with compat.patched("websockets"):
        assert result() == expected


def test_patch_swaps_the_frame_path_and_unpatch_restores_it() -> None:
    originals = (vars(Protocol)["parse"], vars(Protocol)["send_frame"], vars(Frame)["serialize"])
    compat.patch("websockets")
    compat.patch("websockets")  # twice: harmless
    swapped = (vars(Protocol)["parse"], vars(Protocol)["send_frame"], vars(Frame)["serialize"])
    assert all(a is not b for a, b in zip(originals, swapped))
    assert all(getattr(f, "__module__", "").startswith("wsframe.compat") for f in swapped)
    compat.unpatch("websockets")
    assert (vars(Protocol)["parse"], vars(Protocol)["send_frame"], vars(Frame)["serialize"]) == originals
    with compat.patched("websockets", frames=False):  # masking only
        assert vars(Protocol)["parse"] is originals[0]
        assert vars(Frame)["serialize"] is originals[2]


def test_a_protocol_made_while_patched_keeps_working_after_unpatch() -> None:
    key = b"\x01\x02\x03\x04"
    with compat.patched("websockets"):
        proto = Protocol(SERVER)
        proto.receive_data(wire_frame(2, b"one", key=key))
    proto.receive_data(wire_frame(2, b"two", key=key))
    assert [bytes(e.data) for e in proto.events_received()] == [b"one", b"two"]


def test_debug_logging_falls_back_to_websockets(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    logger = logging.getLogger("wsframe.test.websockets")
    logger.setLevel(logging.DEBUG)
    stream = wire_frame(1, b"logged", key=b"\x00\x00\x00\x00")

    def lines() -> List[str]:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="wsframe.test.websockets"):
            proto = Protocol(SERVER, logger=logger)
            proto.receive_data(stream)
            proto.send_binary(b"x")
        return [r.getMessage() for r in caplog.records]

    expected = lines()
    with compat.patched("websockets"):
        assert lines() == expected
    assert any("logged" in line for line in expected)


def test_frames_reach_recv_frame_as_websockets_frames() -> None:
    seen: List[Any] = []
    original = Protocol.recv_frame

    def spy(self: Any, frame: Any) -> None:
        seen.append(frame)
        original(self, frame)

    with compat.patched("websockets"), mock.patch.object(Protocol, "recv_frame", spy):
        proto = Protocol(SERVER)
        key = b"\x10\x20\x30\x40"
        proto.receive_data(wire_frame(1, b"a", fin=False, key=key) + wire_frame(0, b"b", key=key))
    assert [type(f) for f in seen] == [Frame, Frame]
    assert [(f.opcode, bytes(f.data), f.fin) for f in seen] == [(Opcode.TEXT, b"a", False), (Opcode.CONT, b"b", True)]
    assert secrets.token_bytes is not None  # the module attribute the patch reads at each call


# ---- hosts of the sans-I/O Protocol -----------------------------------------------------------


def test_uvicorn_websockets_sansio_echoes_the_same_patched() -> None:
    """uvicorn's ``ws="websockets-sansio"`` runs websockets' Protocol: patched
    at start-up, it echoes the same and parses with wsframe."""
    uvicorn = pytest.importorskip("uvicorn")
    pytest.importorskip("uvicorn.protocols.websockets.websockets_sansio_impl")
    import asyncio
    import socket

    from websockets.asyncio.client import connect

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            if event.get("bytes") is not None:
                await send({"type": "websocket.send", "bytes": event["bytes"]})
            else:
                await send({"type": "websocket.send", "text": event["text"]})

    messages: List[Any] = ["h\u00e9llo", b"\x00" * 70000, "x" * 5000, b""]

    async def session() -> List[Any]:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, ws="websockets-sansio", log_level="error", lifespan="off")
        server = uvicorn.Server(config)
        serving = asyncio.ensure_future(server.serve(sockets=[sock]))
        try:
            for _ in range(200):
                if server.started:
                    break
                await asyncio.sleep(0.02)
            port = sock.getsockname()[1]
            echoes = []
            async with connect(f"ws://127.0.0.1:{port}/", compression=None) as ws:
                for message in messages:
                    await ws.send(message)
                    echoes.append(await asyncio.wait_for(ws.recv(), 10))
            return echoes
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, 10)

    compat.unpatch("websockets")
    try:
        expected = asyncio.run(session())
    except asyncio.TimeoutError:
        # Seen on PyPy 3.9 (uvicorn 0.39, websockets 15): the peer pair does
        # not echo even unpatched, so there is nothing to compare against.
        pytest.skip("uvicorn's websockets-sansio does not echo here even unpatched")
    made: List[Any] = []
    original = wsframe.FrameParser

    def counting(*args: Any, **kwargs: Any) -> Any:
        made.append(kwargs.get("is_server"))
        return original(*args, **kwargs)

    with mock.patch.object(wsframe, "FrameParser", counting), compat.patched("websockets"):
        got = asyncio.run(session())
    assert expected == messages
    assert got == expected
    assert True in made and False in made  # uvicorn's server side and the client both ran on wsframe


@pytest.mark.parametrize("flags", [[], ["--patch"]])
def test_autobahn_echo_example_echoes_patched_and_not(flags: List[str]) -> None:
    """examples/websockets_echo.py, Autobahn's target: text stays text, binary binary."""
    import asyncio
    import subprocess
    import sys
    import threading
    from pathlib import Path

    from websockets.asyncio.client import connect

    example = Path(__file__).resolve().parents[1] / "examples" / "websockets_echo.py"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, str(example), *flags, "0"], stdout=subprocess.PIPE, text=True, env=env
    )
    watchdog = threading.Timer(30, proc.kill)  # bounds the readline() below too
    watchdog.start()
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2 if flags else 1)]
        assert ("patched" in lines[0]) == bool(flags)
        port = int(lines[-1].rsplit(":", 1)[1])

        async def talk() -> List[Any]:
            async with connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:
                got = []
                for message in ("h\u00e9llo", os.urandom(70_000), [b"a", b"b"]):
                    await ws.send(message)
                    got.append(await ws.recv())
                return got

        got = asyncio.run(asyncio.wait_for(talk(), 30))
        assert got[0] == "h\u00e9llo" and len(got[1]) == 70_000 and got[2] == b"ab"
    finally:
        watchdog.cancel()
        proc.terminate()
        proc.wait(10)

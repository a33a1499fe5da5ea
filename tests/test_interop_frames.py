"""Interop at the frame level with the ``websockets`` and ``wsproto`` libraries.

Frames written by their serializers parse identically in our FrameParser;
frames written by our ``encode_frame`` parse identically in theirs; the
RFC 6455 section 5.7 examples read the same in all three. No sockets: bytes
only, so every backend and SIMD level runs it.
"""

from __future__ import annotations

from typing import Any, List, Tuple

import pytest
from codec_helpers import BINARY, CLOSE, CONT, PING, PONG, TEXT, frame_tuple
from hypothesis import given
from hypothesis import strategies as st

ws_frames = pytest.importorskip("websockets.frames")
ws_streams = pytest.importorskip("websockets.streams")
wsp = pytest.importorskip("wsproto.frame_protocol")

pytestmark = pytest.mark.interop

KEY = b"\x37\xfa\x21\x3d"
LENGTHS = [0, 1, 125, 126, 127, 65535, 65536]

# (opcode, payload, fin) sequences that are valid streams
SEQUENCES = [
    [(TEXT, b"Hello", True)],
    [(BINARY, bytes(range(256)), True)],
    [(TEXT, "\u00e9t\u00e9 \U0001f600".encode(), True), (PING, b"are you there", True), (PONG, b"", True)],
    [(TEXT, b"Hel", False), (PING, b"x", True), (CONT, b"lo", False), (CONT, b"!", True)],
    [(BINARY, b"", False), (CONT, b"\x00" * 300, True), (CLOSE, b"\x03\xe8bye", True)],
] + [[(BINARY, b"\xab" * n, True)] for n in LENGTHS] + [[(TEXT, b"t" * n, True)] for n in LENGTHS]


def ws_serialize(seq: List[Tuple[int, bytes, bool]], mask: bool) -> bytes:
    """The stream as websockets writes it (a random mask key per frame when masked)."""
    out = b""
    for opcode, payload, fin in seq:
        frame = ws_frames.Frame(ws_frames.Opcode(opcode), payload, fin)
        out += frame.serialize(mask=mask, extensions=[])
    return out


def ws_parse(wire: bytes, mask: bool) -> List[Tuple[int, bytes, bool]]:
    """Every frame websockets reads from ``wire`` (mask=True: frames from a client)."""
    reader = ws_streams.StreamReader()
    reader.feed_data(wire)
    reader.feed_eof()
    frames = []
    while reader.buffer:
        gen = ws_frames.Frame.parse(reader.read_exact, mask=mask, max_size=None, extensions=[])
        try:
            next(gen)
        except StopIteration as stop:
            f = stop.value
            frames.append((int(f.opcode), bytes(f.data), f.fin))
        else:  # pragma: no cover - the stream is complete
            raise AssertionError("websockets wants more bytes")
    return frames


def ours(codec: Any, wire: bytes, is_server: bool) -> List[Tuple[int, bytes, bool]]:
    parser = codec.FrameParser(is_server=is_server, reassemble=False, max_frame_size=1 << 20)
    return [frame_tuple(f)[:3] for f in parser.feed(wire)]


def our_serialize(codec: Any, seq: List[Tuple[int, bytes, bool]], mask: Any) -> bytes:
    return b"".join(codec.encode_frame(opcode, payload, fin=fin, mask=mask) for opcode, payload, fin in seq)


def wsproto_parse(wire: bytes, client: bool) -> List[Tuple[int, bytes, bool]]:
    """Every frame wsproto reads from ``wire`` (client=True: frames from a server)."""
    proto = wsp.FrameProtocol(client=client, extensions=[])
    proto.receive_bytes(wire)
    frames = []
    for f in proto.received_frames():
        payload = f.payload
        if isinstance(payload, str):
            payload = payload.encode()
        elif isinstance(payload, tuple):  # close: (code, reason)
            code, reason = payload
            payload = b"" if code == 1005 else int(code).to_bytes(2, "big") + reason.encode()
        frames.append((int(f.opcode), bytes(payload), f.frame_finished))
    return frames


def merge_wsproto(frames):
    """wsproto may hand out a frame in several pieces: join pieces of one frame."""
    merged: List[Tuple[int, bytes, bool]] = []
    pending = None
    for opcode, payload, finished in frames:
        if pending is None:
            pending = [opcode, payload]
        else:
            pending[1] += payload
        if finished:
            merged.append((pending[0], pending[1]))
            pending = None
    return merged


def as_wsproto_sees(seq):
    """wsproto labels a continuation frame with its message's opcode."""
    out, current = [], None
    for opcode, payload, _fin in seq:
        if opcode in (TEXT, BINARY):
            current = opcode
        out.append((current if opcode == CONT else opcode, payload))
    return out


# ---- RFC 6455 section 5.7 ---------------------------------------------------------------------


RFC_CLIENT_SIDE = (
    bytes([0x81, 0x05]) + b"Hello" + bytes([0x01, 0x03]) + b"Hel" + bytes([0x80, 0x02]) + b"lo" + bytes([0x89, 0x05]) + b"Hello"
)
RFC_SERVER_SIDE = bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]) + bytes(
    [0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
)


def test_rfc_examples_read_the_same(codec):
    assert ours(codec, RFC_CLIENT_SIDE, False) == ws_parse(RFC_CLIENT_SIDE, False)
    assert ours(codec, RFC_SERVER_SIDE, True) == ws_parse(RFC_SERVER_SIDE, True)
    assert ours(codec, RFC_CLIENT_SIDE, False) == [(TEXT, b"Hello", True), (TEXT, b"Hel", False), (CONT, b"lo", True), (PING, b"Hello", True)]
    assert ours(codec, RFC_SERVER_SIDE, True) == [(TEXT, b"Hello", True), (PONG, b"Hello", True)]


def test_rfc_examples_encode_like_websockets(codec):
    hello = ws_frames.Frame(ws_frames.Opcode.TEXT, b"Hello").serialize(mask=False, extensions=[])
    assert codec.encode_frame(TEXT, b"Hello") == hello == bytes([0x81, 0x05]) + b"Hello"


# ---- websockets -> ours ---------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("seq", SEQUENCES)
def test_websockets_to_ours(codec, seq, mask):
    wire = ws_serialize(seq, mask)
    assert ours(codec, wire, is_server=mask) == [(op, p, fin) for op, p, fin in seq]


@pytest.mark.parametrize("seq", SEQUENCES)
def test_websockets_to_ours_reassembled(codec, seq):
    wire = ws_serialize(seq, True)
    parser = codec.FrameParser(is_server=True)
    got = [frame_tuple(f)[:2] for f in parser.feed(wire)]
    # expected: control frames as they come, data messages joined at their last fragment
    expected, message = [], None
    for opcode, payload, fin in seq:
        if opcode >= 8:
            expected.append((opcode, payload))
            continue
        message = [opcode, payload] if opcode != CONT else [message[0], message[1] + payload]
        if fin:
            expected.append(tuple(message))
    assert got == expected


# ---- ours -> websockets ---------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [None, True, KEY], ids=["unmasked", "random-key", "fixed-key"])
@pytest.mark.parametrize("seq", SEQUENCES)
def test_ours_to_websockets(codec, seq, mask):
    wire = our_serialize(codec, seq, mask)
    assert ws_parse(wire, mask=mask is not None) == [(op, p, fin) for op, p, fin in seq]


@given(
    opcode=st.sampled_from([TEXT, BINARY, PING, PONG]),
    payload=st.binary(max_size=400),
    fin=st.booleans(),
    mask=st.one_of(st.none(), st.just(True), st.binary(min_size=4, max_size=4)),
)
def test_random_frames_both_ways_websockets(codec, opcode, payload, fin, mask):
    if opcode >= 8:
        payload, fin = payload[:125], True
    if opcode == TEXT:
        payload = payload.decode("utf-8", "replace").encode()
    masked = mask is not None
    wire = codec.encode_frame(opcode, payload, fin=fin, mask=mask)
    assert ws_parse(wire, mask=masked) == [(opcode, payload, fin)]
    theirs = ws_frames.Frame(ws_frames.Opcode(opcode), payload, fin).serialize(mask=masked, extensions=[])
    if not masked:
        assert theirs == wire  # same bytes: shortest length form, no mask
    assert ours(codec, theirs, is_server=masked) == [(opcode, payload, fin)]


# ---- wsproto ---------------------------------------------------------------------------------------


def test_wsproto_client_to_our_server(codec):
    proto = wsp.FrameProtocol(client=True, extensions=[])  # a client masks what it sends
    wire = bytes(proto.send_data("h\u00e9llo", fin=False))
    wire += bytes(proto.ping(b"ping!"))
    wire += bytes(proto.send_data(" w\u00f6rld", fin=True))
    wire += bytes(proto.send_data(b"\x00\x01" * 40000, fin=True))
    wire += bytes(proto.close(1001, "going away"))
    parser = codec.FrameParser(is_server=True)
    assert [frame_tuple(f)[:2] for f in parser.feed(wire)] == [
        (PING, b"ping!"),
        (TEXT, "h\u00e9llo w\u00f6rld".encode()),
        (BINARY, b"\x00\x01" * 40000),
        (CLOSE, b"\x03\xe9going away"),
    ]


def test_wsproto_server_to_our_client(codec):
    proto = wsp.FrameProtocol(client=False, extensions=[])
    wire = bytes(proto.send_data(b"bin", fin=True)) + bytes(proto.pong(b"p")) + bytes(proto.send_data("t" * 200))
    parser = codec.FrameParser(is_server=False)
    assert [frame_tuple(f)[:2] for f in parser.feed(wire)] == [(BINARY, b"bin"), (PONG, b"p"), (TEXT, b"t" * 200)]


@pytest.mark.parametrize("seq", SEQUENCES)
def test_ours_to_wsproto(codec, seq):
    # our client frames (masked) to a wsproto server, our server frames (unmasked) to a wsproto client
    for mask, client in ((True, False), (None, True)):
        wire = our_serialize(codec, seq, mask)
        assert merge_wsproto(wsproto_parse(wire, client=client)) == as_wsproto_sees(seq)


@given(payload=st.binary(max_size=300), opcode=st.sampled_from([TEXT, BINARY]), data=st.data())
def test_random_wsproto_roundtrip(codec, payload, opcode, data):
    if opcode == TEXT:
        payload = payload.decode("utf-8", "replace").encode()
    key = data.draw(st.one_of(st.just(True), st.binary(min_size=4, max_size=4)))
    wire = codec.encode_frame(opcode, payload, mask=key)
    assert merge_wsproto(wsproto_parse(wire, client=False)) == [(opcode, payload)]
    proto = wsp.FrameProtocol(client=True, extensions=[])
    theirs = bytes(proto.send_data(payload.decode() if opcode == TEXT else payload, fin=True))
    assert ours(codec, theirs, is_server=True) == [(opcode, payload, True)]

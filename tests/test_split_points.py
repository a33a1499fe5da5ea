"""Split points: a frame stream cut anywhere must parse as if fed in one call.

Each stream (valid or broken, masked or not, fragmented, with control frames
between fragments) is fed byte by byte, cut in two at every offset and in
three at every pair of offsets. The frames delivered (returned or carried by
the error as ``exc.frames``) and the error (type, code, reason, position)
must equal one-shot feeding; an error may come at an earlier call, never a
different one. The one-shot result itself is checked against a hand-written
expectation. (aiohttp#10764 broke exactly this.)
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import pytest
from codec_helpers import BINARY, CLOSE, CONT, PING, PONG, TEXT, build_frame, client_frame, feed_all, split_at
from framegen import chunkings, streams
from hypothesis import given
from hypothesis import strategies as st

from wsframe import _reasons

K1, K2, K3 = b"\x37\xfa\x21\x3d", b"\x00\xff\x0f\xf0", b"\x9a\x01\xc3\x5e"


class Case(NamedTuple):
    name: str
    opts: Dict[str, Any]
    wire: bytes
    frames: List[Tuple[int, bytes, bool]]  # (opcode, payload, fin) expected from one-shot feeding
    error: Optional[Tuple[str, int, str, Optional[int]]]  # (class, code, reason, position)


def F(opcode: int, payload: bytes, fin: bool = True) -> Tuple[int, bytes, bool]:
    return (opcode, payload, fin)


def ucf(opcode: int, payload: bytes, fin: bool = True, key: bytes = K1, **kw: Any) -> bytes:
    return client_frame(opcode, payload, key=key, fin=fin, **kw)


SERVER = {"is_server": True}
CLIENT = {"is_server": False}
EURO = "\u20ac".encode()
SMILE = "\U0001f600".encode()

CASES = [
    Case(
        "rfc-client-side",
        CLIENT,
        bytes([0x81, 0x05]) + b"Hello" + bytes([0x01, 0x03]) + b"Hel" + bytes([0x80, 0x02]) + b"lo" + bytes([0x89, 0x05]) + b"Hello",
        [F(TEXT, b"Hello"), F(TEXT, b"Hello"), F(PING, b"Hello")],
        None,
    ),
    Case(
        "rfc-server-side",
        SERVER,
        bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]) * 2,
        [F(TEXT, b"Hello"), F(TEXT, b"Hello")],
        None,
    ),
    Case(
        "masked-fragments-with-controls",
        SERVER,
        ucf(TEXT, b"a" + EURO[:2], fin=False)
        + ucf(PING, b"p1", key=K2)
        + ucf(CONT, EURO[2:] + SMILE[:1], fin=False, key=K3)
        + ucf(PONG, b"")
        + ucf(CONT, b"", fin=False)
        + ucf(CLOSE, b"\x03\xe8ok", key=K2)
        + ucf(CONT, SMILE[1:] + b"z"),
        [F(PING, b"p1"), F(PONG, b""), F(CLOSE, b"\x03\xe8ok"), F(TEXT, b"a" + EURO + SMILE + b"z")],
        None,
    ),
    Case(
        "unmasked-fragments-no-reassemble",
        dict(CLIENT, reassemble=False),
        build_frame(BINARY, b"\x00\x01", fin=False) + build_frame(PING, b"!") + build_frame(CONT, b"\x02", fin=False) + build_frame(CONT, b"\x03"),
        [F(BINARY, b"\x00\x01", False), F(PING, b"!"), F(CONT, b"\x02", False), F(CONT, b"\x03")],
        None,
    ),
    Case(
        "length-forms",
        SERVER,
        ucf(BINARY, b"m" * 126) + ucf(TEXT, b"short", long_form=8) + ucf(BINARY, b"", long_form=2),
        [F(BINARY, b"m" * 126), F(TEXT, b"short"), F(BINARY, b"")],
        None,
    ),
    Case(
        "empty-everything",
        CLIENT,
        build_frame(TEXT, b"") + build_frame(TEXT, b"", fin=False) + build_frame(CONT, b"") + build_frame(PING, b""),
        [F(TEXT, b""), F(TEXT, b""), F(PING, b"")],
        None,
    ),
    Case(
        "bad-utf8-mid-fragment",
        SERVER,
        ucf(PING, b"first") + ucf(TEXT, b"ok" + EURO, fin=False) + ucf(CONT, b"xy\xed\xa0\x80tail", key=K2),
        [F(PING, b"first")],
        ("InvalidUTF8", 1007, _reasons.INVALID_UTF8, 7),
    ),
    Case(
        "bad-utf8-split-code-point",
        CLIENT,
        build_frame(TEXT, b"\xf0\x9f", fin=False) + build_frame(PONG, b"x") + build_frame(CONT, b"\x98\x41"),
        [F(PONG, b"x")],
        ("InvalidUTF8", 1007, _reasons.INVALID_UTF8, 0),
    ),
    Case(
        "truncated-text-at-message-end",
        SERVER,
        ucf(TEXT, b"abc" + SMILE[:3]),
        [],
        ("InvalidUTF8", 1007, _reasons.INVALID_UTF8, 3),
    ),
    Case(
        "reserved-opcode-after-frames",
        SERVER,
        ucf(TEXT, b"one") + ucf(BINARY, b"two") + ucf(0xB, b"bad"),
        [F(TEXT, b"one"), F(BINARY, b"two")],
        ("ProtocolError", 1002, _reasons.RESERVED_OPCODE, None),
    ),
    Case(
        "control-too-long",
        SERVER,
        ucf(PING, b"ok") + ucf(PING, b"p" * 126),
        [F(PING, b"ok")],
        ("ProtocolError", 1002, _reasons.CONTROL_TOO_LONG, None),
    ),
    Case(
        "unmasked-to-server",
        SERVER,
        ucf(TEXT, b"fine") + build_frame(TEXT, b"naked"),
        [F(TEXT, b"fine")],
        ("ProtocolError", 1002, _reasons.MUST_BE_MASKED, None),
    ),
    Case(
        "unexpected-continuation",
        CLIENT,
        build_frame(TEXT, b"whole") + build_frame(CONT, b"more"),
        [F(TEXT, b"whole")],
        ("ProtocolError", 1002, _reasons.UNEXPECTED_CONTINUATION, None),
    ),
    Case(
        "expected-continuation",
        SERVER,
        ucf(TEXT, b"part", fin=False) + ucf(PING, b"") + ucf(BINARY, b"new"),
        [F(PING, b"")],
        ("ProtocolError", 1002, _reasons.EXPECTED_CONTINUATION, None),
    ),
    Case(
        "length-msb",
        CLIENT,
        build_frame(BINARY, b"x") + bytes([0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        [F(BINARY, b"x")],
        ("ProtocolError", 1002, _reasons.LENGTH_MSB, None),
    ),
    Case(
        "frame-limit",
        dict(SERVER, max_frame_size=20),
        ucf(BINARY, b"b" * 20) + ucf(BINARY, b"b" * 21),
        [F(BINARY, b"b" * 20)],
        ("MessageTooBig", 1009, _reasons.FRAME_TOO_BIG, None),
    ),
    Case(
        "message-limit-across-fragments",
        dict(CLIENT, max_message_size=8),
        build_frame(TEXT, b"abcd", fin=False) + build_frame(PING, b"") + build_frame(CONT, b"efghi"),
        [F(PING, b"")],
        ("MessageTooBig", 1009, _reasons.MESSAGE_TOO_BIG, None),
    ),
    Case(
        "fragment-limit",
        dict(SERVER, max_fragments=2),
        ucf(BINARY, b"1", fin=False) + ucf(CONT, b"2", fin=False) + ucf(CONT, b"3"),
        [],
        ("MessageTooBig", 1009, _reasons.TOO_MANY_FRAGMENTS, None),
    ),
    Case(
        "bad-close-code",
        SERVER,
        ucf(TEXT, b"t") + ucf(CLOSE, b"\x03\xed"),
        [F(TEXT, b"t")],
        ("ProtocolError", 1002, _reasons.CLOSE_BAD_CODE, None),
    ),
    Case(
        "bad-close-reason",
        CLIENT,
        build_frame(CLOSE, b"\x03\xe8ab\xc3"),
        [],
        ("InvalidUTF8", 1007, _reasons.CLOSE_BAD_REASON, 4),
    ),
    Case(
        "rsv-not-allowed",
        dict(SERVER, rsv_allowed=(True, False, False)),
        ucf(TEXT, b"\xffcompressed", rsv1=True) + ucf(BINARY, b"x", rsv2=True),
        [(TEXT, b"\xffcompressed", True)],
        ("ProtocolError", 1002, _reasons.RSV_NOT_ALLOWED, None),
    ),
]

IDS = [c.name for c in CASES]


def result(opts: Dict[str, Any], codec: Any, chunks: List[bytes]) -> Tuple[Any, ...]:
    frames, error, _ = feed_all(codec.FrameParser(**opts), chunks)
    return [f[:3] for f in frames], error


def check_split(codec: Any, case: Case, chunks: List[bytes], label: str) -> None:
    got = result(case.opts, codec, chunks)
    if got != (case.frames, case.error):
        pytest.fail(f"{case.name} {label}: {got} != {(case.frames, case.error)}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_one_shot(codec, case):
    assert result(case.opts, codec, [case.wire]) == (case.frames, case.error)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_byte_by_byte(codec, case):
    chunks = [case.wire[i : i + 1] for i in range(len(case.wire))]
    check_split(codec, case, chunks, "byte by byte")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_split_into_two(codec, case):
    for cut in range(len(case.wire) + 1):
        check_split(codec, case, split_at(case.wire, [cut]), f"cut at {cut}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_split_into_three(codec, case):
    n = len(case.wire)
    step = 1 if n <= 90 else 1 + n // 90  # keep it to a few thousand runs
    for a in range(0, n + 1, step):
        for b in range(a, n + 1, step):
            check_split(codec, case, split_at(case.wire, [a, b]), f"cuts at {a},{b}")


@pytest.mark.parametrize("case", [c for c in CASES if c.error is None], ids=[c.name for c in CASES if c.error is None])
def test_valid_streams_end_clean(codec, case):
    for cut in range(len(case.wire) + 1):
        parser = codec.FrameParser(**case.opts)
        parser.feed(case.wire[:cut])
        parser.feed(case.wire[cut:])
        assert parser.buffered == 0
        assert parser.feed_eof() is None


@pytest.mark.parametrize("case", [c for c in CASES if c.error is None], ids=[c.name for c in CASES if c.error is None])
def test_eof_at_every_offset(codec, case):
    """A stream cut short: EOF inside a frame or message raises 1006; at a boundary, nothing."""
    for cut in range(len(case.wire) + 1):
        parser = codec.FrameParser(**case.opts)
        parser.feed(case.wire[:cut])
        try:
            parser.feed_eof()
        except Exception as exc:
            assert type(exc).__name__ == "ProtocolError" and exc.code == 1006, (cut, exc)
            assert exc.reason in (_reasons.EOF_IN_FRAME, _reasons.EOF_IN_MESSAGE)
            assert cut < len(case.wire)


@given(data=st.data())
def test_random_streams_random_splits(codec, data):
    """Generated streams (valid and hostile) cut at random offsets equal one-shot feeding."""
    opts, wire = data.draw(streams(hostile=True))
    chunks = data.draw(chunkings(wire, 8))
    one_shot = feed_all(codec.FrameParser(**opts), [wire])[:2]
    assert feed_all(codec.FrameParser(**opts), chunks)[:2] == one_shot


@given(data=st.data())
def test_random_streams_byte_by_byte(codec, data):
    opts, wire = data.draw(streams(hostile=True))
    wire = wire[:3000]
    one_shot = feed_all(codec.FrameParser(**opts), [wire])[:2]
    assert feed_all(codec.FrameParser(**opts), [wire[i : i + 1] for i in range(len(wire))])[:2] == one_shot

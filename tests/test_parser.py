"""FrameParser (RFC 6455 section 5) on every backend and SIMD level.

Every rule of ``wsframe._reasons`` with its exact error class, close code,
reason and (for UTF-8) position; the check order; limits checked before
buffering; fragmentation with control frames in between; reassemble on and
off; RSV rules; fail-fast UTF-8; errors carrying earlier frames; sticky
errors; EOF; empty messages and fragments. Frames are written by
``codec_helpers.build_frame``, independently of wsframe.
"""

from __future__ import annotations

import pytest
from codec_helpers import BINARY, CLOSE, CONT, PING, PONG, TEXT, build_frame, client_frame, frame_tuple

from wsframe import _reasons
from wsframe.enums import CloseCode, Opcode
from wsframe.errors import InvalidUTF8, MessageTooBig, ProtocolError

KEY = b"\x37\xfa\x21\x3d"
KEY2 = b"\x01\x02\x03\x04"


def server(codec, **kw):
    """A parser of frames sent by a client (masked)."""
    return codec.FrameParser(is_server=True, **kw)


def client(codec, **kw):
    """A parser of frames sent by a server (unmasked)."""
    return codec.FrameParser(is_server=False, **kw)


def tuples(frames):
    return [frame_tuple(f) for f in frames]


def expect_error(parser, wire, cls, reason, code=None, position=None):
    """Feed ``wire``; it must raise exactly ``cls`` with ``reason`` (and code/position)."""
    with pytest.raises(ProtocolError) as info:
        parser.feed(wire)
    exc = info.value
    assert type(exc) is cls, (type(exc), exc)
    assert exc.reason == reason
    default = {ProtocolError: 1002, InvalidUTF8: 1007, MessageTooBig: 1009}[cls]
    assert exc.code == (default if code is None else code)
    assert isinstance(exc.code, CloseCode)
    if position is not None:
        assert exc.position == position
    assert parser.failed is True
    return exc


# ---- basics -------------------------------------------------------------------------------


def test_defaults(codec):
    assert codec.DEFAULT_MAX_FRAME_SIZE == 1 << 20
    assert codec.DEFAULT_MAX_MESSAGE_SIZE == 1 << 20
    assert codec.DEFAULT_MAX_FRAGMENTS == 1 << 17


def test_is_server_is_keyword_only_and_required(codec):
    with pytest.raises(TypeError):
        codec.FrameParser(True)
    with pytest.raises(TypeError):
        codec.FrameParser()


def test_rfc_5_7_examples_client_side(codec):
    p = client(codec)
    wire = bytes([0x81, 0x05]) + b"Hello"
    wire += bytes([0x01, 0x03]) + b"Hel" + bytes([0x80, 0x02]) + b"lo"
    wire += bytes([0x89, 0x05]) + b"Hello"
    wire += bytes([0x82, 0x7E, 0x01, 0x00]) + bytes(256)
    wire += bytes([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]) + bytes(65536)
    assert tuples(p.feed(wire)) == [
        (TEXT, b"Hello", True, False, False, False),
        (TEXT, b"Hello", True, False, False, False),
        (PING, b"Hello", True, False, False, False),
        (BINARY, bytes(256), True, False, False, False),
        (BINARY, bytes(65536), True, False, False, False),
    ]
    assert p.buffered == 0 and p.failed is False


def test_rfc_5_7_examples_server_side(codec):
    p = server(codec)
    masked_hello = bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    masked_pong = bytes([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    assert tuples(p.feed(masked_hello + masked_pong)) == [
        (TEXT, b"Hello", True, False, False, False),
        (PONG, b"Hello", True, False, False, False),
    ]


def test_frame_objects(codec):
    p = server(codec)
    (f,) = p.feed(client_frame(TEXT, b"hi"))
    assert isinstance(f.opcode, Opcode) and f.opcode is Opcode.TEXT
    assert type(f.payload) is bytes
    assert f == codec.Frame(Opcode.TEXT, b"hi")
    assert f == codec.Frame(Opcode.TEXT, b"hi", True, False, False, False)
    assert f != codec.Frame(Opcode.TEXT, b"ho")
    assert f != codec.Frame(Opcode.TEXT, b"hi", rsv1=True)
    assert "Frame" in repr(f)
    for name, value in (("payload", b"x"), ("opcode", Opcode.BINARY), ("fin", False)):
        with pytest.raises((AttributeError, TypeError)):
            setattr(f, name, value)


def test_frame_constructor_defaults(codec):
    f = codec.Frame(Opcode.BINARY, b"\x00")
    assert (f.fin, f.rsv1, f.rsv2, f.rsv3) == (True, False, False, False)
    g = codec.Frame(Opcode.CONTINUATION, b"", fin=False, rsv1=True, rsv2=True, rsv3=True)
    assert (g.opcode, g.payload, g.fin, g.rsv1, g.rsv2, g.rsv3) == (0, b"", False, True, True, True)


def test_many_frames_one_feed_and_split_feeds(codec):
    wire = b"".join(client_frame(BINARY, bytes([i]) * i, key=bytes([i, 1, 2, 3])) for i in range(200))
    p = server(codec)
    assert [f.payload for f in p.feed(wire)] == [bytes([i]) * i for i in range(200)]
    p = server(codec)
    out = []
    for i in range(0, len(wire), 7):
        out += p.feed(wire[i : i + 7])
    assert [f.payload for f in out] == [bytes([i]) * i for i in range(200)]


def test_feed_buffer_types(codec):
    wire = client_frame(TEXT, b"abc") + client_frame(BINARY, b"\x00\xff")
    for obj in (wire, bytearray(wire), memoryview(wire), memoryview(b"#" + wire)[1:]):
        assert tuples(server(codec).feed(obj)) == [(TEXT, b"abc", True, False, False, False), (BINARY, b"\x00\xff", True, False, False, False)]


def test_feed_does_not_keep_a_reference_to_mutable_input(codec):
    wire = client_frame(TEXT, b"abcdef")
    p = server(codec)
    first = bytearray(wire[:8])
    assert p.feed(first) == []
    first[:] = bytes(8)  # the parser must have copied what it keeps
    part = bytearray(wire[8:])
    (f,) = p.feed(part)
    part[:] = bytes(len(part))
    assert f.payload == b"abcdef"


def test_empty_messages_and_fragments(codec):
    p = server(codec)
    wire = client_frame(TEXT, b"") + client_frame(BINARY, b"")
    wire += client_frame(TEXT, b"", fin=False) + client_frame(CONT, b"", fin=False) + client_frame(CONT, b"abc")
    wire += client_frame(BINARY, b"", fin=False) + client_frame(CONT, b"")
    wire += client_frame(PING, b"") + client_frame(CLOSE, b"")
    assert tuples(p.feed(wire)) == [
        (TEXT, b"", True, False, False, False),
        (BINARY, b"", True, False, False, False),
        (TEXT, b"abc", True, False, False, False),
        (BINARY, b"", True, False, False, False),
        (PING, b"", True, False, False, False),
        (CLOSE, b"", True, False, False, False),
    ]


def test_client_role_accepts_unmasked(codec):
    p = client(codec)
    assert tuples(p.feed(build_frame(TEXT, b"srv"))) == [(TEXT, b"srv", True, False, False, False)]


def test_empty_feed(codec):
    p = server(codec)
    assert p.feed(b"") == []
    assert p.buffered == 0 and p.failed is False


# ---- fragmentation, control frames in between, reassemble on/off -------------------------------


def fragmented_with_controls():
    return (
        client_frame(TEXT, b"Hel", fin=False)
        + client_frame(PING, b"ping1")
        + client_frame(CONT, b"lo, ", fin=False, key=KEY2)
        + client_frame(PONG, b"")
        + client_frame(CONT, "w\u00f6rld".encode())
    )


def test_reassemble_with_control_frames_between(codec):
    p = server(codec)
    assert tuples(p.feed(fragmented_with_controls())) == [
        (PING, b"ping1", True, False, False, False),
        (PONG, b"", True, False, False, False),
        (TEXT, "Hello, w\u00f6rld".encode(), True, False, False, False),
    ]


def test_no_reassemble_emits_each_frame(codec):
    p = server(codec, reassemble=False)
    assert tuples(p.feed(fragmented_with_controls())) == [
        (TEXT, b"Hel", False, False, False, False),
        (PING, b"ping1", True, False, False, False),
        (CONT, b"lo, ", False, False, False, False),
        (PONG, b"", True, False, False, False),
        (CONT, "w\u00f6rld".encode(), True, False, False, False),
    ]


def test_control_frame_emitted_as_soon_as_complete(codec):
    p = server(codec)
    assert p.feed(client_frame(BINARY, b"part1", fin=False)) == []
    assert tuples(p.feed(client_frame(PING, b"now"))) == [(PING, b"now", True, False, False, False)]
    assert tuples(p.feed(client_frame(CONT, b"part2"))) == [(BINARY, b"part1part2", True, False, False, False)]


def test_no_reassemble_still_checks_sequencing(codec):
    p = server(codec, reassemble=False)
    p.feed(client_frame(TEXT, b"a", fin=False))
    expect_error(p, client_frame(BINARY, b"b"), ProtocolError, _reasons.EXPECTED_CONTINUATION)


def test_no_reassemble_validates_text_across_fragments(codec):
    p = server(codec, reassemble=False)
    (f,) = p.feed(client_frame(TEXT, b"ab\xe2", fin=False))
    assert f.payload == b"ab\xe2"  # a valid prefix so far
    expect_error(p, client_frame(CONT, b"\x82\xff"), InvalidUTF8, _reasons.INVALID_UTF8, position=2)


def test_no_reassemble_limits_the_message(codec):
    p = server(codec, reassemble=False, max_message_size=10)
    p.feed(client_frame(BINARY, b"x" * 6, fin=False))
    expect_error(p, client_frame(CONT, b"y" * 5), MessageTooBig, _reasons.MESSAGE_TOO_BIG)


def test_reassembled_rsv_bits_come_from_first_frame(codec):
    p = server(codec, rsv_allowed=(True, False, False))
    wire = client_frame(BINARY, b"ab", fin=False, rsv1=True) + client_frame(CONT, b"cd")
    assert tuples(p.feed(wire)) == [(BINARY, b"abcd", True, True, False, False)]


# ---- 1. length MSB --------------------------------------------------------------------------


def test_length_msb(codec):
    wire = bytes([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1]) + KEY
    expect_error(server(codec), wire, ProtocolError, _reasons.LENGTH_MSB)


def test_length_msb_unmasked_client_side(codec):
    wire = bytes([0x82, 0x7F, 0xFF, 0, 0, 0, 0, 0, 0, 0])
    expect_error(client(codec), wire, ProtocolError, _reasons.LENGTH_MSB)


def test_order_length_msb_first(codec):
    # reserved opcode, RSV bits, wrong mask direction, no FIN: the length still wins
    wire = bytes([0x73, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0])
    expect_error(server(codec), wire, ProtocolError, _reasons.LENGTH_MSB)


# ---- 2. RSV bits ------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [(True, False, False), (False, True, False), (False, False, True), (True, True, True)])
def test_rsv_not_allowed_by_default(codec, bits):
    wire = client_frame(TEXT, b"x", rsv1=bits[0], rsv2=bits[1], rsv3=bits[2])
    expect_error(server(codec), wire, ProtocolError, _reasons.RSV_NOT_ALLOWED)


def test_rsv1_allowed_on_first_data_frame(codec):
    p = server(codec, rsv_allowed=(True, False, False))
    # a compressed message: its text is not UTF-8-validated by the parser
    wire = client_frame(TEXT, b"\xff\xfe compressed", rsv1=True) + client_frame(BINARY, b"\x00", rsv1=True)
    assert tuples(p.feed(wire)) == [
        (TEXT, b"\xff\xfe compressed", True, True, False, False),
        (BINARY, b"\x00", True, True, False, False),
    ]


def test_rsv1_compressed_fragmented_text_not_validated(codec):
    p = server(codec, rsv_allowed=(True, False, False))
    wire = client_frame(TEXT, b"\xff", fin=False, rsv1=True) + client_frame(CONT, b"\xc0")
    assert tuples(p.feed(wire)) == [(TEXT, b"\xff\xc0", True, True, False, False)]


def test_rsv1_on_continuation_never_allowed(codec):
    p = server(codec, rsv_allowed=(True, False, False))
    p.feed(client_frame(TEXT, b"a", fin=False, rsv1=True))
    expect_error(p, client_frame(CONT, b"b", rsv1=True), ProtocolError, _reasons.RSV_NOT_ALLOWED)


@pytest.mark.parametrize("opcode", [PING, PONG, CLOSE])
def test_rsv1_on_control_never_allowed(codec, opcode):
    p = server(codec, rsv_allowed=(True, True, True))
    expect_error(p, client_frame(opcode, b"", rsv1=True), ProtocolError, _reasons.RSV_NOT_ALLOWED)


def test_rsv2_rsv3_allowed_when_enabled(codec):
    p = server(codec, rsv_allowed=(False, True, True))
    wire = client_frame(BINARY, b"a", rsv2=True) + client_frame(TEXT, b"b", rsv3=True)
    assert tuples(p.feed(wire)) == [(BINARY, b"a", True, False, True, False), (TEXT, b"b", True, False, False, True)]
    expect_error(p, client_frame(BINARY, b"c", rsv1=True), ProtocolError, _reasons.RSV_NOT_ALLOWED)


def test_rsv1_allowed_only_if_enabled_per_bit(codec):
    p = server(codec, rsv_allowed=(False, True, True))
    expect_error(p, client_frame(TEXT, b"x", rsv1=True), ProtocolError, _reasons.RSV_NOT_ALLOWED)


def test_order_rsv_before_reserved_opcode(codec):
    expect_error(server(codec), client_frame(0x3, b"", rsv2=True), ProtocolError, _reasons.RSV_NOT_ALLOWED)


# ---- 3. reserved opcodes ----------------------------------------------------------------------


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
def test_reserved_opcode(codec, opcode):
    expect_error(server(codec), client_frame(opcode, b"data"), ProtocolError, _reasons.RESERVED_OPCODE)
    expect_error(client(codec), build_frame(opcode, b""), ProtocolError, _reasons.RESERVED_OPCODE)


def test_order_reserved_opcode_before_control_and_mask(codec):
    # opcode 11 is "control-like" but reserved; unmasked at a server; no FIN; 200 bytes
    wire = build_frame(11, b"z" * 200, fin=False)
    expect_error(server(codec), wire, ProtocolError, _reasons.RESERVED_OPCODE)


# ---- 4. control frames ------------------------------------------------------------------------


@pytest.mark.parametrize("opcode", [PING, PONG, CLOSE])
def test_fragmented_control(codec, opcode):
    expect_error(server(codec), client_frame(opcode, b"", fin=False), ProtocolError, _reasons.FRAGMENTED_CONTROL)


@pytest.mark.parametrize("opcode", [PING, PONG, CLOSE])
def test_control_too_long(codec, opcode):
    assert server(codec).feed(client_frame(opcode, b"\x03\xe8" + b"a" * 123))  # 125 is fine
    expect_error(server(codec), client_frame(opcode, b"\x03\xe8" + b"a" * 124), ProtocolError, _reasons.CONTROL_TOO_LONG)


def test_control_too_long_checked_from_header_alone(codec):
    # declared 126-byte ping: the header is enough, no payload needed
    p = server(codec)
    expect_error(p, bytes([0x89, 0xFE, 0x00, 0x7E]) + KEY, ProtocolError, _reasons.CONTROL_TOO_LONG)


def test_control_too_long_with_non_minimal_length(codec):
    # a 5-byte ping with a 16-bit length form is fine (decisions.md: non-minimal accepted)
    p = server(codec)
    (f,) = p.feed(client_frame(PING, b"hello", long_form=2))
    assert (f.opcode, f.payload) == (PING, b"hello")


def test_order_fragmented_control_before_too_long(codec):
    expect_error(server(codec), client_frame(PING, b"p" * 126, fin=False), ProtocolError, _reasons.FRAGMENTED_CONTROL)


def test_order_control_before_mask(codec):
    expect_error(server(codec), build_frame(PING, b"", fin=False), ProtocolError, _reasons.FRAGMENTED_CONTROL)
    expect_error(client(codec), client_frame(PING, b"x" * 126), ProtocolError, _reasons.CONTROL_TOO_LONG)


# ---- 5. masking direction ---------------------------------------------------------------------


@pytest.mark.parametrize("opcode", [TEXT, BINARY, CONT, PING, CLOSE])
def test_server_requires_masked(codec, opcode):
    expect_error(server(codec), build_frame(opcode, b""), ProtocolError, _reasons.MUST_BE_MASKED)


@pytest.mark.parametrize("opcode", [TEXT, BINARY, CONT, PONG, CLOSE])
def test_client_rejects_masked(codec, opcode):
    expect_error(client(codec), client_frame(opcode, b""), ProtocolError, _reasons.MUST_NOT_BE_MASKED)


def test_order_mask_before_sequencing(codec):
    expect_error(server(codec), build_frame(CONT, b"x"), ProtocolError, _reasons.MUST_BE_MASKED)


# ---- 6. sequencing ------------------------------------------------------------------------


def test_unexpected_continuation(codec):
    expect_error(server(codec), client_frame(CONT, b"x"), ProtocolError, _reasons.UNEXPECTED_CONTINUATION)
    p = server(codec)
    p.feed(client_frame(TEXT, b"complete"))
    expect_error(p, client_frame(CONT, b"x", fin=False), ProtocolError, _reasons.UNEXPECTED_CONTINUATION)


@pytest.mark.parametrize("opcode", [TEXT, BINARY])
def test_expected_continuation(codec, opcode):
    p = server(codec)
    p.feed(client_frame(BINARY, b"a", fin=False))
    expect_error(p, client_frame(opcode, b"b"), ProtocolError, _reasons.EXPECTED_CONTINUATION)


def test_order_sequencing_before_limits(codec):
    p = server(codec, max_frame_size=4)
    expect_error(p, client_frame(CONT, b"toolong"), ProtocolError, _reasons.UNEXPECTED_CONTINUATION)


# ---- 7. limits ------------------------------------------------------------------------------


def test_frame_limit_boundary(codec):
    p = server(codec, max_frame_size=100)
    assert len(p.feed(client_frame(BINARY, b"x" * 100))) == 1
    expect_error(p, client_frame(BINARY, b"x" * 101), MessageTooBig, _reasons.FRAME_TOO_BIG)


def test_frame_limit_checked_before_payload(codec):
    p = server(codec, max_frame_size=100)
    expect_error(p, bytes([0x82, 0xFE, 0x00, 0x65]) + KEY, MessageTooBig, _reasons.FRAME_TOO_BIG)
    assert p.buffered == 0


@pytest.mark.parametrize("declared", [(1 << 20) + 1, 1 << 32, (1 << 63) - 1])
def test_huge_declared_length_fails_before_buffering(codec, declared):
    p = server(codec)
    header = build_frame(BINARY, b"", mask=KEY, length=declared)[:14]
    expect_error(p, header, MessageTooBig, _reasons.FRAME_TOO_BIG)
    assert p.buffered == 0
    # nothing is held after the error, however much more arrives
    with pytest.raises(MessageTooBig):
        p.feed(bytes(1 << 16))
    assert p.buffered == 0


@pytest.mark.parametrize("fin", [True, False])
def test_limits_beyond_ssize_t_hold_only_what_arrived(codec, fin):
    # Limits above PY_SSIZE_T_MAX are clipped, never wrapped: a frame
    # declaring 2**63-1 bytes is accepted, and memory follows the bytes
    # really received, not the declared length (no MemoryError, no overflow).
    p = server(codec, max_frame_size=2**70, max_message_size=2**70, max_fragments=2**70)
    header = build_frame(BINARY, b"", fin=fin, mask=KEY, length=(1 << 63) - 1)[:14]
    assert p.feed(header + bytes(1000)) == []
    assert p.feed(bytes(3000)) == []
    assert p.buffered == 4000
    with pytest.raises(ProtocolError) as info:
        p.feed_eof()
    assert info.value.reason == _reasons.EOF_IN_FRAME and p.buffered == 0


def test_default_frame_limit(codec):
    p = client(codec)
    big = b"x" * (1 << 20)
    (f,) = p.feed(build_frame(BINARY, big))
    assert len(f.payload) == 1 << 20
    expect_error(p, build_frame(BINARY, b"", length=(1 << 20) + 1), MessageTooBig, _reasons.FRAME_TOO_BIG)


def test_message_limit_on_a_single_frame(codec):
    p = server(codec, max_frame_size=100, max_message_size=50)
    assert len(p.feed(client_frame(TEXT, b"y" * 50))) == 1
    expect_error(p, client_frame(TEXT, b"y" * 51), MessageTooBig, _reasons.MESSAGE_TOO_BIG)


def test_message_limit_across_fragments(codec):
    p = server(codec, max_message_size=10)
    p.feed(client_frame(BINARY, b"a" * 4, fin=False))
    p.feed(client_frame(CONT, b"b" * 4, fin=False))
    assert p.feed(client_frame(CONT, b"c" * 2)) == [codec.Frame(Opcode.BINARY, b"aaaabbbbcc")]
    p.feed(client_frame(BINARY, b"a" * 4, fin=False))
    p.feed(client_frame(CONT, b"b" * 4, fin=False))
    exc = expect_error(p, client_frame(CONT, b"c" * 3), MessageTooBig, _reasons.MESSAGE_TOO_BIG)
    assert exc.frames == []


def test_message_limit_checked_from_header(codec):
    p = server(codec, max_message_size=10)
    p.feed(client_frame(BINARY, b"a" * 8, fin=False))
    expect_error(p, bytes([0x80, 0x83]) + KEY, MessageTooBig, _reasons.MESSAGE_TOO_BIG)


def test_control_frames_do_not_count_toward_message(codec):
    p = server(codec, max_message_size=10, max_fragments=2)
    p.feed(client_frame(TEXT, b"a" * 6, fin=False))
    for _ in range(5):
        assert len(p.feed(client_frame(PING, b"p" * 5))) == 1
    assert p.feed(client_frame(CONT, b"b" * 4)) == [codec.Frame(Opcode.TEXT, b"aaaaaabbbb")]


def test_fragment_limit(codec):
    p = server(codec, max_fragments=3)
    wire = client_frame(TEXT, b"a", fin=False) + client_frame(CONT, b"b", fin=False) + client_frame(CONT, b"c")
    assert tuples(p.feed(wire)) == [(TEXT, b"abc", True, False, False, False)]
    p.feed(client_frame(TEXT, b"a", fin=False) + client_frame(CONT, b"b", fin=False) + client_frame(CONT, b"c", fin=False))
    expect_error(p, client_frame(CONT, b"d"), MessageTooBig, _reasons.TOO_MANY_FRAGMENTS)


def test_fragment_limit_counts_empty_fragments(codec):
    p = server(codec, max_fragments=2)
    p.feed(client_frame(BINARY, b"", fin=False) + client_frame(CONT, b"", fin=False))
    expect_error(p, client_frame(CONT, b""), MessageTooBig, _reasons.TOO_MANY_FRAGMENTS)


def test_order_frame_limit_before_message_limit(codec):
    p = server(codec, max_frame_size=10, max_message_size=10)
    expect_error(p, client_frame(BINARY, b"z" * 11), MessageTooBig, _reasons.FRAME_TOO_BIG)


def test_order_limits_before_payload(codec):
    # a text frame over the limit with invalid UTF-8 in its first bytes: the limit wins
    p = server(codec, max_frame_size=10)
    expect_error(p, client_frame(TEXT, b"\xff" * 11), MessageTooBig, _reasons.FRAME_TOO_BIG)


# ---- 8. text payloads -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload,position",
    [(b"\xff", 0), (b"abc\xc0\xaf", 3), (b"ok \xed\xa0\x80", 3), ("\u00e9t\u00e9".encode() + b"\xf5", 5), (b"ab\xe2\x82", 2)],
)
def test_invalid_text(codec, payload, position):
    exc = expect_error(server(codec), client_frame(TEXT, payload), InvalidUTF8, _reasons.INVALID_UTF8, position=position)
    assert exc.frames == []


def test_invalid_text_position_relative_to_message_start(codec):
    p = server(codec)
    p.feed(client_frame(TEXT, b"0123456789", fin=False))
    p.feed(client_frame(PING, b"between"))
    p.feed(client_frame(CONT, "\u00e9\u00e9".encode(), fin=False))
    expect_error(p, client_frame(CONT, b"ab\xc3\x28"), InvalidUTF8, _reasons.INVALID_UTF8, position=16)


def test_text_code_point_split_across_fragments(codec):
    p = server(codec)
    euro = "\u20ac".encode()
    wire = client_frame(TEXT, euro[:1], fin=False) + client_frame(CONT, euro[1:2], fin=False) + client_frame(CONT, euro[2:])
    assert p.feed(wire) == [codec.Frame(Opcode.TEXT, euro)]


def test_truncated_text_at_message_end(codec):
    p = server(codec)
    p.feed(client_frame(TEXT, b"ab\xf0\x9f", fin=False))
    expect_error(p, client_frame(CONT, b"\x98"), InvalidUTF8, _reasons.INVALID_UTF8, position=2)


def test_fail_fast_before_the_frame_completes(codec):
    p = server(codec)
    frame = client_frame(TEXT, b"ab\xffcdefgh" + b"x" * 200)
    # header (8 bytes for a 210-byte masked frame) + the first 3 payload bytes only
    expect_error(p, frame[:11], InvalidUTF8, _reasons.INVALID_UTF8, position=2)


def test_fail_fast_partial_unmasked_frame(codec):
    p = client(codec)
    frame = build_frame(TEXT, b"hello \xed\xa0" + b"x" * 1000)
    assert p.feed(frame[:4]) == []
    assert p.feed(frame[4:9]) == []
    expect_error(p, frame[9:12], InvalidUTF8, _reasons.INVALID_UTF8, position=6)


def test_fail_fast_across_fragments(codec):
    p = server(codec)
    p.feed(client_frame(TEXT, b"\xe0", fin=False))
    cont = client_frame(CONT, b"\x80" + b"y" * 50)
    expect_error(p, cont[:7], InvalidUTF8, _reasons.INVALID_UTF8, position=0)


def test_incomplete_code_point_is_not_an_error_yet(codec):
    p = server(codec)
    frame = client_frame(TEXT, b"ab\xf0\x9f\x98\x80cd")
    assert p.feed(frame[:10]) == []  # header 6 + "ab\xf0\x9f": still possible
    assert p.feed(frame[10:]) == [codec.Frame(Opcode.TEXT, "ab\U0001f600cd".encode())]


def test_validate_utf8_false(codec):
    p = server(codec, validate_utf8=False)
    wire = client_frame(TEXT, b"\xff\xfe", fin=False) + client_frame(CONT, b"\xc0")
    assert tuples(p.feed(wire)) == [(TEXT, b"\xff\xfe\xc0", True, False, False, False)]


def test_binary_is_not_validated(codec):
    p = server(codec)
    assert p.feed(client_frame(BINARY, b"\xff\xc0\x80")) == [codec.Frame(Opcode.BINARY, b"\xff\xc0\x80")]


def test_ping_pong_payload_not_validated(codec):
    p = server(codec)
    assert tuples(p.feed(client_frame(PING, b"\xff") + client_frame(PONG, b"\xc0"))) == [
        (PING, b"\xff", True, False, False, False),
        (PONG, b"\xc0", True, False, False, False),
    ]


# ---- errors carry earlier frames; errors are sticky --------------------------------------------


def test_exc_frames_carry_frames_of_the_same_call(codec):
    p = server(codec)
    assert len(p.feed(client_frame(TEXT, b"earlier call"))) == 1
    wire = client_frame(TEXT, b"one") + client_frame(PING, b"two") + client_frame(BINARY, b"three") + client_frame(5, b"")
    exc = expect_error(p, wire, ProtocolError, _reasons.RESERVED_OPCODE)
    assert tuples(exc.frames) == [
        (TEXT, b"one", True, False, False, False),
        (PING, b"two", True, False, False, False),
        (BINARY, b"three", True, False, False, False),
    ]


def test_exc_frames_with_control_inside_message(codec):
    p = server(codec)
    wire = client_frame(TEXT, b"a", fin=False) + client_frame(PING, b"p") + client_frame(CONT, b"\xff")
    exc = expect_error(p, wire, InvalidUTF8, _reasons.INVALID_UTF8, position=1)
    assert tuples(exc.frames) == [(PING, b"p", True, False, False, False)]


def test_exc_frames_with_no_reassemble(codec):
    p = server(codec, reassemble=False)
    wire = client_frame(TEXT, b"a", fin=False) + client_frame(CONT, b"b", fin=False) + build_frame(CONT, b"c")
    exc = expect_error(p, wire, ProtocolError, _reasons.MUST_BE_MASKED)
    assert tuples(exc.frames) == [(TEXT, b"a", False, False, False, False), (CONT, b"b", False, False, False, False)]


def test_errors_are_sticky(codec):
    p = server(codec)
    first = expect_error(p, client_frame(TEXT, b"ok") + client_frame(TEXT, b"x\xff"), InvalidUTF8, _reasons.INVALID_UTF8, position=1)
    assert len(first.frames) == 1
    assert p.buffered == 0
    for call in (lambda: p.feed(b""), lambda: p.feed(client_frame(TEXT, b"fine")), p.feed_eof):
        with pytest.raises(InvalidUTF8) as again:
            call()
        assert (again.value.code, again.value.reason, again.value.position) == (1007, _reasons.INVALID_UTF8, 1)
        assert p.failed is True and p.buffered == 0


def test_sticky_error_does_not_repeat_earlier_frames(codec):
    # exc.frames are the frames completed by the call that raised: a caller
    # that delivers them on every ProtocolError must not see them twice.
    p = server(codec)
    first = expect_error(p, client_frame(TEXT, b"ok") + client_frame(TEXT, b"\xff"), InvalidUTF8, _reasons.INVALID_UTF8)
    assert tuples(first.frames) == [(TEXT, b"ok", True, False, False, False)]
    for call in (lambda: p.feed(client_frame(TEXT, b"later")), p.feed_eof):
        with pytest.raises(InvalidUTF8) as again:
            call()
        assert again.value.frames == []


def test_sticky_error_holds_no_input(codec):
    p = server(codec)
    expect_error(p, build_frame(TEXT, b"unmasked"), ProtocolError, _reasons.MUST_BE_MASKED)
    for _ in range(3):
        with pytest.raises(ProtocolError) as again:
            p.feed(b"\x00" * 100000)
        assert again.value.reason == _reasons.MUST_BE_MASKED
        assert p.buffered == 0


def test_failed_is_false_until_error(codec):
    p = server(codec)
    p.feed(client_frame(TEXT, b"x", fin=False))
    assert p.failed is False
    expect_error(p, client_frame(TEXT, b"y"), ProtocolError, _reasons.EXPECTED_CONTINUATION)


# ---- buffered ---------------------------------------------------------------------------------


def test_buffered_partial_frame(codec):
    p = server(codec)
    frame = client_frame(BINARY, b"x" * 50)
    p.feed(frame[:1])
    assert 0 < p.buffered <= 1
    p.feed(frame[1:20])
    assert 0 < p.buffered <= 20
    p.feed(frame[20:])
    assert p.buffered == 0


def test_buffered_never_exceeds_what_was_fed(codec):
    p = client(codec)
    sizes = [304, 12]
    wire = build_frame(BINARY, b"q" * 300) + build_frame(TEXT, b"t" * 10)
    assert len(wire) == sum(sizes)
    fed = done = 0
    for i in range(0, len(wire), 13):
        out = p.feed(wire[i : i + 13])
        fed += len(wire[i : i + 13])
        done += sum(sizes.pop(0) for _ in out)
        assert 0 <= p.buffered <= fed - done
    assert p.buffered == 0 and sizes == []


# ---- feed_eof ---------------------------------------------------------------------------------


def check_eof_error(exc, reason):
    assert type(exc) is ProtocolError
    assert exc.code == CloseCode.ABNORMAL_CLOSURE == 1006
    assert exc.reason == reason


def test_eof_clean(codec):
    p = server(codec)
    assert p.feed_eof() is None
    p = server(codec)
    p.feed(client_frame(TEXT, b"done") + client_frame(CLOSE, b"\x03\xe8"))
    assert p.feed_eof() is None


@pytest.mark.parametrize("cut", [1, 2, 5, 6, 7])
def test_eof_inside_frame(codec, cut):
    p = server(codec)
    frame = client_frame(TEXT, b"abc")  # 9 bytes: header 6 + 3
    p.feed(frame[:cut])
    with pytest.raises(ProtocolError) as info:
        p.feed_eof()
    check_eof_error(info.value, _reasons.EOF_IN_FRAME)


def test_eof_inside_fragmented_message(codec):
    p = server(codec)
    p.feed(client_frame(TEXT, b"abc", fin=False) + client_frame(PING, b""))
    with pytest.raises(ProtocolError) as info:
        p.feed_eof()
    check_eof_error(info.value, _reasons.EOF_IN_MESSAGE)


def test_eof_inside_fragmented_message_no_reassemble(codec):
    p = server(codec, reassemble=False)
    p.feed(client_frame(BINARY, b"abc", fin=False))
    with pytest.raises(ProtocolError) as info:
        p.feed_eof()
    check_eof_error(info.value, _reasons.EOF_IN_MESSAGE)


def test_eof_error_is_sticky(codec):
    p = server(codec)
    p.feed(client_frame(TEXT, b"abc")[:3])
    with pytest.raises(ProtocolError):
        p.feed_eof()
    assert p.failed is True
    with pytest.raises(ProtocolError) as again:
        p.feed(b"")
    check_eof_error(again.value, _reasons.EOF_IN_FRAME)


# ---- text validation through the parser at every length and position ------------------------------

_PARSER_TEXTS = {
    "ascii": (b"plain ascii text, nothing fancy here; " * 10)[:310],
    "chinese": ("\u4e2d\u6587\u7f16\u7801\u6d4b\u8bd5" * 20).encode()[:310],
    "emoji": ("\U0001f600a\u00e9\U0001f680" * 30).encode()[:310],
}


@pytest.mark.parametrize("kind", sorted(_PARSER_TEXTS))
def test_masked_text_every_length_and_bad_position(codec, kind):
    """Unmask-and-validate in one pass (the fused kernel) at every length, key phase and error position."""
    from codec_helpers import utf8_error_start

    text = _PARSER_TEXTS[kind]
    key = b"\xa5\x5a\x0f\xf0"
    for n in range(0, 301):
        positions = [None] + list(range(0, n, 11)) + ([n - 1] if n else [])
        for bad in positions:
            payload = bytearray(text[:n])
            if bad is not None:
                payload[bad] = 0xFF if bad % 2 else 0xC0
            payload = bytes(payload)
            want = utf8_error_start(payload)
            wire = client_frame(TEXT, payload, key=key)
            for split in (None, 6 + n // 3 + 1):
                p = server(codec)
                chunks = [wire] if split is None else [wire[:split], wire[split:]]
                try:
                    out = []
                    for chunk in chunks:
                        out += p.feed(chunk)
                except InvalidUTF8 as exc:
                    if exc.position != want:
                        pytest.fail(f"{kind} n={n} bad={bad} split={split}: position {exc.position} != {want}")
                else:
                    if want != -1 or [f.payload for f in out] != [payload]:
                        pytest.fail(f"{kind} n={n} bad={bad} split={split}: accepted, oracle says {want}")


def test_large_fragmented_text_bad_byte_late(codec):
    """A 300 KB text message in 1000 fragments with one bad byte near the end."""
    from codec_helpers import utf8_error_start

    text = ("\u4e2d\u6587 ascii \U0001f600 " * 20000).encode()[:300000]
    for bad in (299_999, 123_457, 65_536, 65_535):
        payload = bytearray(text)
        payload[bad] = 0xFF
        payload = bytes(payload)
        want = utf8_error_start(payload)
        p = server(codec, max_message_size=1 << 20)
        size = 300
        wire = b"".join(
            client_frame(TEXT if i == 0 else CONT, payload[i : i + size], fin=i + size >= len(payload), key=bytes([i % 251, 7, 9, 11]))
            for i in range(0, len(payload), size)
        )
        with pytest.raises(InvalidUTF8) as info:
            for i in range(0, len(wire), 4093):
                p.feed(wire[i : i + 4093])
        assert info.value.position == want


def test_large_message_many_fragments(codec):
    payload = bytes(range(256)) * 4000  # 1,024,000 bytes
    wire = b"".join(
        client_frame(BINARY if i == 0 else CONT, payload[i : i + 1000], fin=i + 1000 >= len(payload)) for i in range(0, len(payload), 1000)
    )
    p = server(codec, max_message_size=len(payload))
    out = []
    for i in range(0, len(wire), 65536):
        out += p.feed(wire[i : i + 65536])
    assert len(out) == 1 and out[0].payload == payload and out[0].opcode == Opcode.BINARY
    assert p.buffered == 0


def test_default_fragment_limit(codec):
    p = client(codec)
    empty_cont = build_frame(CONT, b"", fin=False)
    n = codec.DEFAULT_MAX_FRAGMENTS
    wire = build_frame(BINARY, b"a", fin=False) + empty_cont * (n - 2) + build_frame(CONT, b"b")
    assert p.feed(wire) == [codec.Frame(Opcode.BINARY, b"ab")]
    wire = build_frame(BINARY, b"a", fin=False) + empty_cont * (n - 1)
    assert p.feed(wire) == []
    expect_error(p, build_frame(CONT, b"b"), MessageTooBig, _reasons.TOO_MANY_FRAGMENTS)


def test_payload_type_is_bytes_for_every_input_type(codec):
    wire = client_frame(BINARY, b"abc") + client_frame(TEXT, b"x", fin=False) + client_frame(CONT, b"y")
    for obj in (bytearray(wire), memoryview(wire)):
        for reassemble in (True, False):
            for f in server(codec, reassemble=reassemble).feed(obj):
                assert type(f.payload) is bytes


@pytest.mark.parametrize("bad", ["text", 12, None, [1, 2]])
def test_feed_not_a_buffer(codec, bad):
    with pytest.raises(TypeError):
        server(codec).feed(bad)


def test_buffer_exports_released_on_error_paths(codec):
    # A bytearray cannot be resized while exported: after every call that
    # raised, the export must have been released (PyBuffer_Release on the
    # error path too).
    calls = [
        lambda b: server(codec).feed(b),  # unmasked frame to a server: 1002
        lambda b: codec.decode_close_payload(b),  # close code 0x8101 is not allowed
        lambda b: codec.apply_mask(b, b"123"),  # bad key size
        lambda b: codec.apply_mask(b"abcd", b),  # bad key size, the key exported
        lambda b: codec.apply_mask_inplace(b, b"12345"),
        lambda b: codec.encode_frame(1, b, mask=b"12"),
        lambda b: codec.decode_frame_header(b, -1),
    ]
    for call in calls:
        data = bytearray(b"\x81\x01x")
        with pytest.raises((ProtocolError, ValueError)):
            call(data)
        data += b"resizable"  # BufferError if still exported

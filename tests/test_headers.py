"""Frame headers (RFC 6455 section 5.2): FrameHeader, decode_frame_header,
encode_frame_header and encode_frame on every backend and SIMD level.

Expected bytes come from ``codec_helpers.build_frame`` (a struct-based writer
independent of wsframe) and from the RFC 6455 section 5.7 examples.
"""

from __future__ import annotations

import itertools
import struct

import pytest
from codec_helpers import build_frame, xor_ref

from wsframe import _reasons
from wsframe.enums import Opcode
from wsframe.errors import ProtocolError

KEY = b"\x37\xfa\x21\x3d"
BOUNDARY_LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1]


def header_bytes(opcode, length, fin=True, rsv1=False, rsv2=False, rsv3=False, mask=None):
    """Independent header: build_frame's output without a payload."""
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0) | opcode
    mbit = 0x80 if mask is not None else 0
    if length < 126:
        head = bytes([b0, mbit | length])
    elif length < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack("!H", length)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack("!Q", length)
    return head + (bytes(mask) if mask is not None else b"")


def expected_size(length, masked):
    return (2 if length < 126 else 4 if length < 65536 else 10) + (4 if masked else 0)


def check_header(h, fin, rsv1, rsv2, rsv3, opcode, masked, length, mask, size):
    assert (h.fin, h.rsv1, h.rsv2, h.rsv3) == (fin, rsv1, rsv2, rsv3)
    assert h.opcode == opcode
    assert h.masked is masked
    assert h.length == length
    assert h.mask == (bytes(mask) if mask is not None else None)
    assert h.size == size


# ---- RFC 6455 section 5.7 examples ---------------------------------------------------

RFC_HEADERS = [
    # (wire bytes, fin, opcode, masked, length, mask, size)
    (bytes([0x81, 0x05]), True, Opcode.TEXT, False, 5, None, 2),
    (bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D]), True, Opcode.TEXT, True, 5, KEY, 6),
    (bytes([0x01, 0x03]), False, Opcode.TEXT, False, 3, None, 2),
    (bytes([0x80, 0x02]), True, Opcode.CONTINUATION, False, 2, None, 2),
    (bytes([0x89, 0x05]), True, Opcode.PING, False, 5, None, 2),
    (bytes([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D]), True, Opcode.PONG, True, 5, KEY, 6),
    (bytes([0x82, 0x7E, 0x01, 0x00]), True, Opcode.BINARY, False, 256, None, 4),
    (bytes([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]), True, Opcode.BINARY, False, 65536, None, 10),
]


@pytest.mark.parametrize("wire,fin,opcode,masked,length,mask,size", RFC_HEADERS)
def test_rfc_examples_decode(codec, wire, fin, opcode, masked, length, mask, size):
    h = codec.decode_frame_header(wire + b"payload bytes follow")
    check_header(h, fin, False, False, False, opcode, masked, length, mask, size)
    assert isinstance(h.opcode, Opcode)


@pytest.mark.parametrize("wire,fin,opcode,masked,length,mask,size", RFC_HEADERS)
def test_rfc_examples_encode(codec, wire, fin, opcode, masked, length, mask, size):
    assert codec.encode_frame_header(opcode, length, fin=fin, mask=mask) == wire


def test_rfc_examples_encode_frame(codec):
    assert codec.encode_frame(Opcode.TEXT, b"Hello") == bytes([0x81, 0x05]) + b"Hello"
    assert codec.encode_frame(Opcode.TEXT, b"Hello", mask=KEY) == bytes(
        [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
    )
    assert codec.encode_frame(Opcode.TEXT, b"Hel", fin=False) == bytes([0x01, 0x03]) + b"Hel"
    assert codec.encode_frame(Opcode.CONTINUATION, b"lo") == bytes([0x80, 0x02]) + b"lo"
    assert codec.encode_frame(Opcode.PING, b"Hello") == bytes([0x89, 0x05]) + b"Hello"
    assert codec.encode_frame(Opcode.PONG, b"Hello", mask=KEY) == bytes(
        [0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
    )
    data = bytes(range(256))
    assert codec.encode_frame(Opcode.BINARY, data) == bytes([0x82, 0x7E, 0x01, 0x00]) + data
    big = bytes(65536)
    assert codec.encode_frame(Opcode.BINARY, big) == bytes([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]) + big


# ---- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("length", BOUNDARY_LENGTHS)
@pytest.mark.parametrize("mask", [None, KEY])
def test_round_trip_boundary_lengths(codec, length, mask):
    wire = codec.encode_frame_header(Opcode.BINARY, length, mask=mask)
    assert wire == header_bytes(Opcode.BINARY, length, mask=mask)
    assert len(wire) == expected_size(length, mask is not None)
    h = codec.decode_frame_header(wire)
    check_header(h, True, False, False, False, Opcode.BINARY, mask is not None, length, mask, len(wire))


def test_round_trip_every_bit_combination(codec):
    for opcode, fin, rsv1, rsv2, rsv3, masked in itertools.product(range(16), *([(False, True)] * 5)):
        mask = KEY if masked else None
        for length in (0, 125, 126, 65535, 65536):
            wire = codec.encode_frame_header(opcode, length, fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3, mask=mask)
            assert wire == header_bytes(opcode, length, fin, rsv1, rsv2, rsv3, mask)
            h = codec.decode_frame_header(wire)
            check_header(h, fin, rsv1, rsv2, rsv3, opcode, masked, length, mask, len(wire))
            if opcode in (0, 1, 2, 8, 9, 10):
                assert isinstance(h.opcode, Opcode)
            else:
                assert type(h.opcode) is int  # reserved opcodes stay plain ints


def test_every_7bit_and_some_16bit_lengths(codec):
    for length in list(range(0, 300)) + [1000, 4096, 65534]:
        wire = codec.encode_frame_header(Opcode.TEXT, length)
        assert wire == header_bytes(Opcode.TEXT, length)
        assert codec.decode_frame_header(wire).length == length


def test_non_minimal_lengths_accepted(codec):
    # RFC 6455 5.2 requires the minimal form from senders; we accept others on receive (docs/decisions.md)
    h = codec.decode_frame_header(bytes([0x82, 0x7E, 0x00, 0x05]))
    assert (h.length, h.size) == (5, 4)
    h = codec.decode_frame_header(bytes([0x82, 0x7F]) + struct.pack("!Q", 5))
    assert (h.length, h.size) == (5, 10)
    h = codec.decode_frame_header(bytes([0x82, 0xFF]) + struct.pack("!Q", 300) + KEY)
    assert (h.length, h.size, h.mask) == (300, 14, KEY)


# ---- need more, offset -------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 5, 125, 126, 65535, 65536, 2**40])
@pytest.mark.parametrize("mask", [None, KEY])
def test_need_more_at_every_prefix(codec, length, mask):
    wire = header_bytes(Opcode.BINARY, length, mask=mask)
    for k in range(len(wire)):
        assert codec.decode_frame_header(wire[:k]) is None, k
        assert codec.decode_frame_header(b"xyz" + wire[:k], 3) is None, k
    assert codec.decode_frame_header(wire).length == length


def test_offset_argument(codec):
    frames = build_frame(1, b"abc") + build_frame(2, b"x" * 200, mask=KEY) + build_frame(9, b"", fin=True)
    h1 = codec.decode_frame_header(frames)
    assert (h1.opcode, h1.length, h1.size) == (1, 3, 2)
    off = h1.size + h1.length
    h2 = codec.decode_frame_header(frames, off)
    assert (h2.opcode, h2.length, h2.size, h2.mask) == (2, 200, 8, KEY)
    off += h2.size + h2.length
    h3 = codec.decode_frame_header(frames, offset=off)
    assert (h3.opcode, h3.length, h3.size) == (9, 0, 2)
    assert codec.decode_frame_header(frames, off + 2) is None  # at the end: need more
    assert codec.decode_frame_header(frames, len(frames) - 1) is None


def test_decode_buffer_types(codec):
    wire = header_bytes(Opcode.TEXT, 300, mask=KEY)
    for obj in (wire, bytearray(wire), memoryview(wire), memoryview(b"..." + wire)[3:]):
        h = codec.decode_frame_header(obj)
        assert (h.length, h.mask, h.size) == (300, KEY, 8)
        assert type(h.mask) is bytes


# ---- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("top", [0x80, 0xFF, 0x81])
def test_length_msb_error(codec, top):
    wire = bytes([0x82, 0x7F, top]) + bytes(7)
    with pytest.raises(ProtocolError) as info:
        codec.decode_frame_header(wire)
    assert type(info.value) is ProtocolError
    assert info.value.code == 1002
    assert info.value.reason == _reasons.LENGTH_MSB
    with pytest.raises(ProtocolError):
        codec.decode_frame_header(bytes([0x82, 0xFF, top]) + bytes(7) + KEY)


def test_length_max_is_not_an_error(codec):
    h = codec.decode_frame_header(bytes([0x82, 0x7F]) + struct.pack("!Q", 2**63 - 1))
    assert h.length == 2**63 - 1


def test_reserved_opcodes_and_rsv_are_not_header_errors(codec):
    # opcode, RSV and size policy belong to FrameParser
    for b0 in (0x83, 0x8F, 0xF1, 0x0B):
        assert codec.decode_frame_header(bytes([b0, 0x00])).opcode == b0 & 0x0F


@pytest.mark.parametrize("opcode", [-1, 16, 255, 2**40])
def test_encode_header_bad_opcode(codec, opcode):
    with pytest.raises(ValueError):
        codec.encode_frame_header(opcode, 0)
    with pytest.raises(ValueError):
        codec.encode_frame(opcode, b"")


@pytest.mark.parametrize("length", [-1, 2**63, 2**64])
def test_encode_header_bad_length(codec, length):
    with pytest.raises(ValueError):
        codec.encode_frame_header(Opcode.BINARY, length)


@pytest.mark.parametrize("mask", [b"", b"abc", b"abcde", KEY * 2])
def test_encode_bad_mask(codec, mask):
    with pytest.raises(ValueError):
        codec.encode_frame_header(Opcode.BINARY, 3, mask=mask)
    with pytest.raises(ValueError):
        codec.encode_frame(Opcode.BINARY, b"abc", mask=mask)


def test_encode_keyword_only(codec):
    with pytest.raises(TypeError):
        codec.encode_frame_header(Opcode.BINARY, 3, False)
    with pytest.raises(TypeError):
        codec.encode_frame(Opcode.BINARY, b"abc", False)


# ---- encode_frame --------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_encode_frame_lengths(codec, n):
    payload = bytes(i & 0xFF for i in range(n))
    assert codec.encode_frame(Opcode.BINARY, payload) == build_frame(2, payload)
    assert codec.encode_frame(Opcode.BINARY, payload, mask=KEY) == build_frame(2, payload, mask=KEY)


def test_encode_frame_flags(codec):
    for fin, rsv1, rsv2, rsv3 in itertools.product((False, True), repeat=4):
        got = codec.encode_frame(Opcode.TEXT, b"abc", fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3)
        assert got == build_frame(1, b"abc", fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3)


def test_encode_frame_payload_types(codec):
    raw = b"payload!" * 5
    for obj in (raw, bytearray(raw), memoryview(raw), memoryview(b"--" + raw)[2:], memoryview(raw + raw)[::2]):
        expected = bytes(obj)
        assert codec.encode_frame(Opcode.BINARY, obj) == build_frame(2, expected)
        assert codec.encode_frame(Opcode.BINARY, obj, mask=bytearray(KEY)) == build_frame(2, expected, mask=KEY)
    with pytest.raises(TypeError):
        codec.encode_frame(Opcode.TEXT, "str is not bytes")


def test_encode_frame_mask_false_is_unmasked(codec):
    assert codec.encode_frame(Opcode.TEXT, b"abc", mask=False) == build_frame(1, b"abc")
    assert codec.encode_frame(Opcode.TEXT, b"abc", mask=None) == build_frame(1, b"abc")


def test_encode_frame_mask_true_draws_a_key(codec):
    payload = b"hello, masked world"
    keys = set()
    for _ in range(4):
        wire = codec.encode_frame(Opcode.TEXT, payload, mask=True)
        assert wire[0] == 0x81 and wire[1] == 0x80 | len(payload)
        key = wire[2:6]
        assert xor_ref(wire[6:], key) == payload
        keys.add(key)
    assert len(keys) > 1  # a fresh key per frame (a repeat of 4 draws has probability ~2**-96)


# ---- FrameHeader objects --------------------------------------------------------------------


def test_frameheader_constructor_eq_repr(codec):
    a = codec.FrameHeader(True, False, False, False, Opcode.TEXT, True, 5, KEY, 6)
    b = codec.FrameHeader(True, False, False, False, Opcode.TEXT, True, 5, KEY, 6)
    c = codec.FrameHeader(True, False, False, False, Opcode.TEXT, True, 6, KEY, 6)
    assert a == b and not (a != b)
    assert a != c
    assert a == codec.decode_frame_header(bytes([0x81, 0x85]) + KEY)
    assert "FrameHeader" in repr(a)
    assert a != "not a header"


def test_frameheader_immutable(codec):
    h = codec.decode_frame_header(bytes([0x81, 0x05]))
    for name, value in (("length", 9), ("fin", False), ("opcode", 2), ("mask", KEY)):
        with pytest.raises((AttributeError, TypeError)):
            setattr(h, name, value)
    assert h.length == 5

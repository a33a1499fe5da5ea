"""Close payloads (RFC 6455 sections 5.5.1 and 7.4): decode_close_payload,
encode_close_payload, and close frames through FrameParser, on every backend.
"""

from __future__ import annotations

import struct

import pytest
from codec_helpers import build_frame, client_frame

from wsframe import _reasons
from wsframe.enums import CloseCode, Opcode, is_valid_close_code
from wsframe.errors import InvalidUTF8, ProtocolError

VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
INVALID_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


def payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


def check_protocol_error(exc, reason):
    assert type(exc) is ProtocolError
    assert exc.code == CloseCode.PROTOCOL_ERROR == 1002
    assert exc.reason == reason


def check_bad_reason(exc, position):
    assert type(exc) is InvalidUTF8
    assert exc.code == CloseCode.INVALID_DATA == 1007
    assert exc.reason == _reasons.CLOSE_BAD_REASON
    assert exc.position == position


# ---- decode_close_payload -----------------------------------------------------------------


def test_decode_empty_is_no_status(codec):
    code, reason = codec.decode_close_payload(b"")
    assert (code, reason) == (1005, "")
    assert code == CloseCode.NO_STATUS_RCVD


@pytest.mark.parametrize("code", VALID_CODES)
def test_decode_valid_codes(codec, code):
    assert codec.decode_close_payload(payload(code)) == (code, "")
    assert codec.decode_close_payload(payload(code, "bye \u00e9\U0001f600".encode())) == (code, "bye \u00e9\U0001f600")


def test_decode_every_code_follows_is_valid_close_code(codec):
    for code in range(65536):
        data = payload(code)
        if is_valid_close_code(code):
            assert codec.decode_close_payload(data) == (code, ""), code
        else:
            with pytest.raises(ProtocolError) as info:
                codec.decode_close_payload(data)
            check_protocol_error(info.value, _reasons.CLOSE_BAD_CODE)


def test_decode_one_byte(codec):
    for b in (b"\x00", b"\x03", b"\xe8", b"\xff"):
        with pytest.raises(ProtocolError) as info:
            codec.decode_close_payload(b)
        check_protocol_error(info.value, _reasons.CLOSE_ONE_BYTE)


@pytest.mark.parametrize("code", INVALID_CODES)
def test_decode_invalid_codes(codec, code):
    with pytest.raises(ProtocolError) as info:
        codec.decode_close_payload(payload(code, b"reason"))
    check_protocol_error(info.value, _reasons.CLOSE_BAD_CODE)


@pytest.mark.parametrize(
    "reason,position",
    [
        (b"\xff", 2),
        (b"ok\xff", 4),
        (b"ok\xe2\x82", 4),  # truncated at the end of the payload
        (b"\xed\xa0\x80", 2),  # surrogate
        (b"\xc0\xaf", 2),  # overlong
        ("caf\u00e9".encode() + b"\x80", 7),
    ],
)
def test_decode_bad_reason(codec, reason, position):
    with pytest.raises(InvalidUTF8) as info:
        codec.decode_close_payload(payload(1000, reason))
    check_bad_reason(info.value, position)


def test_decode_bad_code_reported_before_bad_reason(codec):
    with pytest.raises(ProtocolError) as info:
        codec.decode_close_payload(payload(1005, b"\xff"))
    check_protocol_error(info.value, _reasons.CLOSE_BAD_CODE)


def test_decode_max_reason(codec):
    reason = "\u00e9" * 61 + "a"  # 123 bytes: the most a control frame can carry
    assert codec.decode_close_payload(payload(4000, reason.encode())) == (4000, reason)


def test_decode_buffer_types(codec):
    data = payload(1001, b"going")
    for obj in (data, bytearray(data), memoryview(data), memoryview(b"??" + data)[2:]):
        code, reason = codec.decode_close_payload(obj)
        assert (code, reason) == (1001, "going")
        assert type(reason) is str


# ---- encode_close_payload -----------------------------------------------------------------


def test_encode_none(codec):
    assert codec.encode_close_payload() == b""
    assert codec.encode_close_payload(None) == b""
    assert codec.encode_close_payload(None, "") == b""


@pytest.mark.parametrize("code", VALID_CODES)
def test_encode_valid(codec, code):
    assert codec.encode_close_payload(code) == payload(code)
    assert codec.encode_close_payload(code, "bye") == payload(code, b"bye")
    assert codec.encode_close_payload(code, reason="\u00e9") == payload(code, "\u00e9".encode())
    assert codec.decode_close_payload(codec.encode_close_payload(code, "round trip")) == (code, "round trip")


def test_encode_close_code_enum(codec):
    assert codec.encode_close_payload(CloseCode.GOING_AWAY, "x") == payload(1001, b"x")


@pytest.mark.parametrize("code", INVALID_CODES)
def test_encode_invalid_codes(codec, code):
    with pytest.raises(ValueError):
        codec.encode_close_payload(code)
    with pytest.raises(ValueError):
        codec.encode_close_payload(code, "reason")


def test_encode_reason_without_code(codec):
    with pytest.raises(ValueError):
        codec.encode_close_payload(None, "reason")


def test_encode_reason_length(codec):
    assert len(codec.encode_close_payload(1000, "a" * 123)) == 125
    assert len(codec.encode_close_payload(1000, "\u00e9" * 61 + "a")) == 125
    with pytest.raises(ValueError):
        codec.encode_close_payload(1000, "a" * 124)
    with pytest.raises(ValueError):
        codec.encode_close_payload(1000, "\u00e9" * 62)  # 124 bytes of UTF-8, 62 characters


# ---- close frames through FrameParser -------------------------------------------------------


def parse_close(codec, body: bytes, is_server: bool = True):
    parser = codec.FrameParser(is_server=is_server)
    frame = client_frame(Opcode.CLOSE, body) if is_server else build_frame(Opcode.CLOSE, body)
    return parser, frame


@pytest.mark.parametrize("is_server", [True, False])
@pytest.mark.parametrize("code", VALID_CODES)
def test_parser_valid_close(codec, is_server, code):
    body = payload(code, "ciao \u00e9".encode())
    parser, wire = parse_close(codec, body, is_server)
    frames = parser.feed(wire)
    assert len(frames) == 1
    f = frames[0]
    assert f.opcode == Opcode.CLOSE and isinstance(f.opcode, Opcode)
    assert f.payload == body and f.fin is True
    assert codec.decode_close_payload(f.payload) == (code, "ciao \u00e9")


def test_parser_empty_close(codec):
    parser, wire = parse_close(codec, b"")
    (f,) = parser.feed(wire)
    assert (f.opcode, f.payload) == (Opcode.CLOSE, b"")


@pytest.mark.parametrize("is_server", [True, False])
def test_parser_close_one_byte(codec, is_server):
    parser, wire = parse_close(codec, b"\x03", is_server)
    with pytest.raises(ProtocolError) as info:
        parser.feed(wire)
    check_protocol_error(info.value, _reasons.CLOSE_ONE_BYTE)
    assert parser.failed


@pytest.mark.parametrize("code", INVALID_CODES)
def test_parser_close_bad_code(codec, code):
    parser, wire = parse_close(codec, payload(code, b"why"))
    with pytest.raises(ProtocolError) as info:
        parser.feed(wire)
    check_protocol_error(info.value, _reasons.CLOSE_BAD_CODE)


@pytest.mark.parametrize("reason,position", [(b"\xff", 2), (b"abc\xc3", 5), (b"abc\xed\xbf\xbf", 5)])
def test_parser_close_bad_reason(codec, reason, position):
    parser, wire = parse_close(codec, payload(1000, reason))
    with pytest.raises(InvalidUTF8) as info:
        parser.feed(wire)
    check_bad_reason(info.value, position)


def test_parser_close_reason_checked_even_without_text_validation(codec):
    # validate_utf8=False concerns text messages; a close reason is always checked
    parser = codec.FrameParser(is_server=True, validate_utf8=False)
    with pytest.raises(InvalidUTF8):
        parser.feed(client_frame(Opcode.CLOSE, payload(1000, b"\xff")))


def test_parser_close_between_fragments(codec):
    parser = codec.FrameParser(is_server=True)
    wire = (
        client_frame(Opcode.TEXT, b"Hel", fin=False)
        + client_frame(Opcode.CLOSE, payload(1001, b"bye"))
        + client_frame(Opcode.CONTINUATION, b"lo")
    )
    frames = parser.feed(wire)
    assert [(int(f.opcode), f.payload) for f in frames] == [(8, payload(1001, b"bye")), (1, b"Hello")]


def test_parser_close_frames_before_error_are_kept(codec):
    parser = codec.FrameParser(is_server=True)
    wire = client_frame(Opcode.PING, b"p") + client_frame(Opcode.CLOSE, payload(999))
    with pytest.raises(ProtocolError) as info:
        parser.feed(wire)
    check_protocol_error(info.value, _reasons.CLOSE_BAD_CODE)
    assert [(int(f.opcode), f.payload) for f in info.value.frames] == [(9, b"p")]


@pytest.mark.parametrize("bad", ["\x03\xe8", 1000, None])
def test_decode_not_a_buffer(codec, bad):
    with pytest.raises(TypeError):
        codec.decode_close_payload(bad)

"""Quick self-checks of the pure-Python backend (the main suite compares both backends)."""

from __future__ import annotations

import array
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsframe import _codec_py as py
from wsframe import _reasons
from wsframe.enums import Opcode
from wsframe.errors import InvalidUTF8, MessageTooBig, ProtocolError


def naive_mask(data: bytes, key: bytes, offset: int = 0) -> bytes:
    return bytes(b ^ key[(offset + i) % 4] for i, b in enumerate(data))


# ---- masking -------------------------------------------------------------


@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4), st.integers(0, 9))
def test_apply_mask_matches_naive(data, key, offset):
    assert py.apply_mask(data, key, offset) == naive_mask(data, key, offset)
    buf = bytearray(data)
    py.apply_mask_inplace(buf, key, offset)
    assert bytes(buf) == naive_mask(data, key, offset)


def test_apply_mask_buffers_and_errors():
    data = bytes(range(40))
    key = b"\x01\x02\x03\x04"
    strided = memoryview(data)[::3]
    assert py.apply_mask(strided, key) == naive_mask(data[::3], key)
    arr = array.array("i", [1, 2, 3])
    assert py.apply_mask(arr, key) == naive_mask(arr.tobytes(), key)
    target = bytearray(data)
    py.apply_mask_inplace(memoryview(target)[1::2], key, 2)
    expect = bytearray(data)
    expect[1::2] = naive_mask(data[1::2], key, 2)
    assert target == expect
    with pytest.raises(ValueError):
        py.apply_mask(data, b"abc")
    with pytest.raises(ValueError):
        py.apply_mask(data, key, -1)
    with pytest.raises(TypeError):
        py.apply_mask("text", key)
    with pytest.raises(TypeError):
        py.apply_mask(5, key)
    with pytest.raises(TypeError):
        py.apply_mask_inplace(data, key)


# ---- UTF-8 ---------------------------------------------------------------

_TAILS = [bytes(t) for n in range(4) for t in itertools.product((0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF), repeat=n)]


def completable(prefix: bytes) -> bool:
    """Whether some continuation makes ``prefix`` valid UTF-8 (brute force oracle)."""
    return any(_valid(prefix + tail) for tail in _TAILS)


def _valid(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _start(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return -1


utf8ish = st.lists(
    st.sampled_from([b"a", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xed\x9f\xbf"])
    | st.binary(min_size=1, max_size=2),
    max_size=30,
).map(b"".join)


@given(utf8ish)
def test_find_invalid_utf8_is_decode_start(data):
    assert py.find_invalid_utf8(data) == _start(data)
    assert py.find_invalid_utf8(memoryview(data)) == _start(data)
    assert py.validate_utf8(bytearray(data)) == (_start(data) < 0)


@settings(max_examples=300)
@given(utf8ish, st.lists(st.integers(0, 8), max_size=10), st.booleans())
def test_validator_fails_fast_at_the_right_chunk(data, cuts, final):
    chunks, rest = [], data
    for c in cuts:
        chunks.append(rest[:c])
        rest = rest[c:]
    chunks.append(rest)
    v = py.Utf8Validator()
    seen = b""
    for i, chunk in enumerate(chunks):
        seen += chunk
        last = final and i == len(chunks) - 1
        ok_so_far = _valid(seen) if last else completable(seen)
        if ok_so_far:
            v.feed(chunk, final=last)
            assert v.position == len(seen)
            continue
        with pytest.raises(InvalidUTF8) as info:
            v.feed(chunk, final=last)
        pos = _start(seen)
        assert info.value.position == pos
        truncated = last and completable(seen)
        assert info.value.reason == (_reasons.UTF8_TRUNCATED if truncated else _reasons.UTF8_INVALID)
        with pytest.raises(InvalidUTF8) as again:
            v.feed(b"a")
        assert again.value is info.value
        return


def test_validator_cases():
    for lead in (b"\xc0", b"\xc1", b"\xf5", b"\xff", b"\x80"):
        v = py.Utf8Validator()
        with pytest.raises(InvalidUTF8):
            v.feed(lead)
    for bad in (b"\xe0\x80", b"\xed\xa0", b"\xf0\x80", b"\xf4\x90"):
        v = py.Utf8Validator()
        v.feed(b"xy" + bad[:1])
        assert v.pending == 1
        with pytest.raises(InvalidUTF8) as info:
            v.feed(bad[1:])
        assert info.value.position == 2 and info.value.reason == _reasons.UTF8_INVALID
    v = py.Utf8Validator()
    v.feed(b"ab\xf0\x9f")
    assert (v.position, v.pending) == (4, 2)
    with pytest.raises(InvalidUTF8) as info:
        v.feed(b"\x98", final=True)
    assert (info.value.position, info.value.reason) == (2, _reasons.UTF8_TRUNCATED)
    v.reset()
    v.feed(b"\xf0\x9f\x98\x80", final=True)
    assert (v.position, v.pending) == (4, 0)


# ---- close payloads --------------------------------------------------------


def test_close_payloads():
    assert py.decode_close_payload(b"") == (1005, "")
    assert py.decode_close_payload(b"\x03\xe8ok") == (1000, "ok")
    with pytest.raises(ProtocolError, match=_reasons.CLOSE_ONE_BYTE):
        py.decode_close_payload(b"\x03")
    for code in (0, 999, 1004, 1005, 1006, 1015, 2999, 5000):
        with pytest.raises(ProtocolError) as info:
            py.decode_close_payload(code.to_bytes(2, "big"))
        assert info.value.reason == _reasons.CLOSE_BAD_CODE and info.value.code == 1002
    with pytest.raises(InvalidUTF8) as info:
        py.decode_close_payload(b"\x03\xe8ab\xff")
    assert (info.value.position, info.value.code) == (4, 1007)
    assert py.encode_close_payload() == b""
    assert py.encode_close_payload(4000, "é") == b"\x0f\xa0\xc3\xa9"
    for code in (1005, 1006, 1015, 999, 5000):
        with pytest.raises(ValueError):
            py.encode_close_payload(code)
    with pytest.raises(ValueError):
        py.encode_close_payload(None, "why")
    with pytest.raises(ValueError):
        py.encode_close_payload(1000, "x" * 124)


# ---- headers and frames ----------------------------------------------------------


@given(st.integers(0, 15), st.integers(0, 2**63 - 1), st.booleans(), st.booleans(),
       st.one_of(st.none(), st.binary(min_size=4, max_size=4)))
def test_header_round_trip(opcode, length, fin, rsv1, key):
    raw = py.encode_frame_header(opcode, length, fin=fin, rsv1=rsv1, mask=key)
    for cut in range(len(raw)):
        assert py.decode_frame_header(raw[:cut]) is None
    h = py.decode_frame_header(b"xx" + raw, 2)
    assert (h.opcode, h.length, h.fin, h.rsv1, h.mask, h.size) == (opcode, length, fin, rsv1, key, len(raw))
    assert h == py.FrameHeader(fin, rsv1, False, False, opcode, key is not None, length, key, len(raw))


def test_header_errors():
    with pytest.raises(ProtocolError, match=_reasons.LENGTH_MSB):
        py.decode_frame_header(b"\x82\x7f" + b"\x80" + b"\x00" * 7)
    for bad in (dict(opcode=16, length=0), dict(opcode=-1, length=0), dict(opcode=1, length=-1),
                dict(opcode=1, length=2**63), dict(opcode=1, length=0, mask=b"abc")):
        with pytest.raises(ValueError):
            py.encode_frame_header(**bad)
    assert py.encode_frame(1, b"hi") == b"\x81\x02hi"
    assert len(py.encode_frame(1, b"hi", mask=True)) == 8
    assert py.encode_frame(2, b"\x00" * 4, mask=b"\x01\x02\x03\x04") == b"\x82\x84\x01\x02\x03\x04\x01\x02\x03\x04"


def test_frame_object():
    f = py.Frame(1, b"x")
    assert f.opcode is Opcode.TEXT and f == py.Frame(Opcode.TEXT, b"x", True)
    assert f != py.Frame(1, b"x", False)
    with pytest.raises(AttributeError):
        f.payload = b"y"
    assert "TEXT" in repr(f)


# ---- parser ------------------------------------------------------------------------

frame_spec = st.tuples(
    st.sampled_from([0, 1, 2, 8, 9, 10, 3]),
    st.binary(max_size=140) | st.sampled_from([b"\xe2\x82\xac" * 3, b"\x03\xe8bye", b"\xed\xa0\x80"]),
    st.booleans(),
    st.integers(0, 7),
)


def build(specs, masked):
    out = b""
    for i, (op, payload, fin, rsv) in enumerate(specs):
        key = bytes([i, 7, 99, 200]) if masked else None
        out += py.encode_frame(op, payload, fin=fin, rsv1=bool(rsv & 4), rsv2=bool(rsv & 2),
                               rsv3=bool(rsv & 1), mask=key)
    return out


def run(parser, chunks):
    frames = []
    for chunk in chunks:
        try:
            frames += parser.feed(chunk)
        except ProtocolError as exc:
            frames += exc.frames
            return frames, (type(exc), exc.reason, int(exc.code), getattr(exc, "position", None))
    return frames, None


@settings(max_examples=200, deadline=None)
@given(st.lists(frame_spec, max_size=6), st.booleans(), st.booleans(), st.booleans(), st.data())
def test_parser_split_anywhere_gives_the_same_result(specs, masked, reassemble, rsv1_ok, data):
    raw = build(specs, masked)
    kw = dict(is_server=masked, reassemble=reassemble, rsv_allowed=(rsv1_ok, False, True),
              max_frame_size=130, max_fragments=4, max_message_size=300)
    whole = run(py.FrameParser(**kw), [raw])
    byte_by_byte = run(py.FrameParser(**kw), [raw[i:i + 1] for i in range(len(raw))])
    assert whole == byte_by_byte
    cut = data.draw(st.integers(0, len(raw)))
    assert run(py.FrameParser(**kw), [raw[:cut], memoryview(raw)[cut:]]) == whole


def test_parser_rules():
    def err(raw, frames_before=(), **kw):
        kw.setdefault("is_server", False)
        p = py.FrameParser(**kw)
        with pytest.raises(ProtocolError) as info:
            p.feed(raw)
        assert p.failed
        assert [f.payload for f in info.value.frames] == list(frames_before)
        with pytest.raises(ProtocolError) as again:
            p.feed(b"")
        # The sticky error is the same one, but never hands out frames twice.
        assert again.value is info.value and again.value.frames == []
        return info.value

    assert err(b"\xc1\x00").reason == _reasons.RSV_NOT_ALLOWED
    assert err(b"\xc0\x00", rsv_allowed=(True, False, False)).reason == _reasons.RSV_NOT_ALLOWED
    assert err(b"\x83\x00").reason == _reasons.RESERVED_OPCODE
    assert err(b"\x09\x00").reason == _reasons.FRAGMENTED_CONTROL
    assert err(b"\x89\x7e\x00\x7e").reason == _reasons.CONTROL_TOO_LONG
    assert err(b"\x81\x80abcd").reason == _reasons.MUST_NOT_BE_MASKED
    assert err(b"\x81\x00", is_server=True).reason == _reasons.MUST_BE_MASKED
    assert err(b"\x80\x00").reason == _reasons.UNEXPECTED_CONTINUATION
    assert err(b"\x01\x00\x01\x00").reason == _reasons.EXPECTED_CONTINUATION
    e = err(b"\x82\x7f\x00\x00\x00\x00\x00\x10\x00\x01")
    assert isinstance(e, MessageTooBig) and e.reason == _reasons.FRAME_TOO_BIG
    e = err(b"\x02\x05hello\x00\x05hello", max_message_size=8)
    assert e.reason == _reasons.MESSAGE_TOO_BIG
    e = err(b"\x02\x00\x00\x00\x00\x00", max_fragments=2)
    assert e.reason == _reasons.TOO_MANY_FRAGMENTS
    e = err(b"\x81\x01a\x01\x03ab\xc3\x80\x03\xff", frames_before=[b"a"])
    assert isinstance(e, InvalidUTF8) and e.position == 2
    e = err(b"\x88\x01\x03")
    assert e.reason == _reasons.CLOSE_ONE_BYTE


def test_parser_fail_fast_and_limits_before_buffering():
    p = py.FrameParser(is_server=False)
    with pytest.raises(InvalidUTF8) as info:
        p.feed(b"\x01\x10abc\xe0\x80")  # 16-byte fragment, only 5 bytes here
    assert info.value.position == 3
    p = py.FrameParser(is_server=False, max_frame_size=1000)
    with pytest.raises(MessageTooBig):
        p.feed(b"\x82\x7e\x10\x00")
    assert p.buffered == 0


def test_parser_fragments_controls_and_eof():
    p = py.FrameParser(is_server=False)
    raw = b"\x01\x02\xe2\x82" + b"\x89\x02hi" + b"\x80\x01\xac"
    assert p.feed(raw[:3]) == []
    assert p.buffered == 1
    assert p.feed(raw[3:5]) == []
    assert p.buffered == 3  # the first fragment (2) and a partial header (1)
    out = p.feed(raw[5:])
    assert out == [py.Frame(Opcode.PING, b"hi"), py.Frame(Opcode.TEXT, "\u20ac".encode())]
    p.feed(b"\x02\x01x")
    assert p.buffered == 1
    with pytest.raises(ProtocolError) as info:
        p.feed_eof()
    assert info.value.reason == _reasons.EOF_IN_MESSAGE and info.value.code == 1006
    p = py.FrameParser(is_server=False)
    p.feed(b"\x82")
    with pytest.raises(ProtocolError, match=_reasons.EOF_IN_FRAME):
        p.feed_eof()
    p = py.FrameParser(is_server=False, reassemble=False)
    assert p.feed(b"\x01\x01a\x80\x01b") == [py.Frame(1, b"a", False), py.Frame(0, b"b", True)]
    p.feed_eof()


@pytest.mark.parametrize("n", [6143, 6144, 6145, 70001])
def test_large_masks_take_the_translate_path(n):
    data = bytes(range(256)) * (n // 256) + bytes(n % 256)
    key = b"\x9a\x01\xff\x10"
    for offset in range(4):
        expect = naive_mask(data, key, offset)
        assert py.apply_mask(data, key, offset) == expect
        buf = bytearray(data)
        py.apply_mask_inplace(buf, key, offset)
        assert buf == expect


def test_large_masked_frame_in_pieces():
    payload = ("\u20ac" * 40000).encode()
    raw = py.encode_frame(1, payload, mask=b"\x01\x02\x03\x04")
    p = py.FrameParser(is_server=True, max_frame_size=1 << 20)
    out = []
    for i in range(0, len(raw), 4099):
        out += p.feed(raw[i:i + 4099])
    assert out == [py.Frame(1, payload)] and p.buffered == 0
    assert py.FrameParser(is_server=True).feed(raw) == out

"""apply_mask / apply_mask_inplace (RFC 6455 section 5.3) on every backend and SIMD level.

Every result is compared with a byte-by-byte XOR written in this suite
(``codec_helpers.xor_ref``), over every length 0-300 at every alignment 0-63,
every key phase, every buffer type, and the error cases of the contract.
"""

from __future__ import annotations

import array
import random

import pytest
from codec_helpers import xor_big, xor_ref
from hypothesis import given
from hypothesis import strategies as st

KEY = b"\x37\xfa\x21\x3d"  # the key of the RFC 6455 section 5.7 examples
RNG = random.Random(6455)
POOL = bytes(RNG.getrandbits(8) for _ in range(300 + 64 + 8))

# Reference of the whole pool at each key phase: the reference of a slice
# pool[a:a+n] masked from phase p is REF[(p - a) % 4][a:a+n].
REF = [xor_ref(POOL, KEY, p) for p in range(4)]


def ref_slice(start: int, n: int, phase: int) -> bytes:
    return REF[(phase - start) % 4][start : start + n]


# ---- RFC 6455 section 5.7 ---------------------------------------------------------


def test_rfc_5_7_masked_hello(codec):
    # "A single-frame masked text message": 0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58
    masked = bytes([0x7F, 0x9F, 0x4D, 0x51, 0x58])
    assert codec.apply_mask(b"Hello", KEY) == masked
    assert codec.apply_mask(masked, KEY) == b"Hello"
    buf = bytearray(masked)
    assert codec.apply_mask_inplace(buf, KEY) is None
    assert buf == b"Hello"


def test_empty(codec):
    assert codec.apply_mask(b"", KEY) == b""
    assert codec.apply_mask(b"", KEY, 3) == b""
    buf = bytearray()
    codec.apply_mask_inplace(buf, KEY, 2)
    assert buf == b""


def test_zero_key_is_identity(codec):
    assert codec.apply_mask(POOL, b"\0\0\0\0") == POOL


def test_input_not_modified(codec):
    data = bytearray(POOL[:100])
    before = bytes(data)
    codec.apply_mask(data, KEY, 1)
    assert data == before


# ---- key phase ------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 1, 2, 3, 4, 5, 6, 7, 13, 2**31 + 1, 2**32 + 2, 2**62 + 3, 2**63 - 1])
def test_offset_is_key_phase(codec, offset):
    data = POOL[:77]
    assert codec.apply_mask(data, KEY, offset) == xor_ref(data, KEY, offset % 4)
    assert codec.apply_mask(data, KEY, offset=offset) == xor_ref(data, KEY, offset % 4)


def test_chunked_equals_one_shot_every_split(codec):
    data = POOL[:67]
    whole = codec.apply_mask(data, KEY)
    for cut in range(len(data) + 1):
        first = codec.apply_mask(data[:cut], KEY, 0)
        second = codec.apply_mask(data[cut:], KEY, cut)
        assert first + second == whole, cut


def test_chunked_inplace_every_split(codec):
    data = POOL[:67]
    whole = xor_ref(data, KEY)
    for cut in range(len(data) + 1):
        buf = bytearray(data)
        view = memoryview(buf)
        codec.apply_mask_inplace(view[:cut], KEY, 0)
        codec.apply_mask_inplace(view[cut:], KEY, cut)
        assert buf == whole, cut


@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=8), key=st.binary(min_size=4, max_size=4), start=st.integers(0, 2**40))
def test_random_chunking_equals_one_shot(codec, data, cuts, key, start):
    cuts = sorted(c for c in cuts if c <= len(data))
    pieces, pos = [], 0
    for c in cuts + [len(data)]:
        pieces.append(codec.apply_mask(data[pos:c], key, start + pos))
        pos = c
    assert b"".join(pieces) == xor_ref(data, key, start % 4)


# ---- every length x every alignment -------------------------------------------------


def test_every_length_and_alignment(codec):
    view = memoryview(POOL)
    for n in range(301):
        for align in range(64):
            phase = (n + align) % 4
            got = codec.apply_mask(view[align : align + n], KEY, phase)
            if got != ref_slice(align, n, phase):
                pytest.fail(f"length {n} alignment {align} phase {phase}: {got.hex()} != {ref_slice(align, n, phase).hex()}")


def test_every_length_and_alignment_inplace(codec):
    for n in range(301):
        for align in range(64):
            phase = (n * 7 + align) % 4
            buf = bytearray(POOL)
            codec.apply_mask_inplace(memoryview(buf)[align : align + n], KEY, phase)
            # exact result inside the window, not one byte touched outside it
            if buf[align : align + n] != ref_slice(align, n, phase) or buf[:align] != POOL[:align] or buf[align + n :] != POOL[align + n :]:
                pytest.fail(f"in place: length {n} alignment {align} phase {phase}")


def test_every_length_all_phases_bytes(codec):
    for n in range(301):
        data = POOL[:n]
        for phase in range(4):
            assert codec.apply_mask(data, KEY, phase) == REF[phase][:n], (n, phase)


@pytest.mark.parametrize("n", [1 << 16, (1 << 20) + 3, (1 << 22) - 1])
def test_large_buffers(codec, n):
    rng = random.Random(n)
    data = rng.randbytes(n)
    expected = xor_big(data, KEY, 1)
    assert codec.apply_mask(data, KEY, 1) == expected
    buf = bytearray(data)
    codec.apply_mask_inplace(buf, KEY, 1)
    assert buf == expected
    # a misaligned window of a large buffer
    buf = bytearray(data)
    codec.apply_mask_inplace(memoryview(buf)[5:-7], KEY, 2)
    assert buf[:5] == data[:5] and buf[-7:] == data[-7:]
    assert buf[5:-7] == xor_big(data[5:-7], KEY, 2)


def test_big_reference_agrees_with_simple_reference():
    for n in range(40):
        for phase in range(4):
            assert xor_big(POOL[:n], KEY, phase) == xor_ref(POOL[:n], KEY, phase)


@given(data=st.binary(max_size=2000), key=st.binary(min_size=4, max_size=4), offset=st.integers(0, 2**63 - 1))
def test_involution_and_reference(codec, data, key, offset):
    once = codec.apply_mask(data, key, offset)
    assert once == xor_ref(data, key, offset % 4)
    assert codec.apply_mask(once, key, offset) == data


# ---- buffer types -----------------------------------------------------------------


def _data_variants():
    raw = POOL[:50]
    return [
        ("bytes", raw, raw),
        ("bytearray", bytearray(raw), raw),
        ("memoryview", memoryview(raw), raw),
        ("memoryview-slice", memoryview(POOL)[3:53], POOL[3:53]),
        ("memoryview-stride2", memoryview(POOL)[::2][:50], POOL[::2][:50]),
        ("memoryview-stride3", memoryview(POOL)[1::3], POOL[1::3]),
        ("memoryview-reversed", memoryview(raw)[::-1], raw[::-1]),
        ("array-B", array.array("B", raw), raw),
        ("array-H", array.array("H", raw), raw),
        ("memoryview-cast-I", memoryview(raw[:48]).cast("I"), raw[:48]),
    ]


@pytest.mark.parametrize("kind", [v[0] for v in _data_variants()])
def test_buffer_types(codec, kind):
    _, obj, raw = next(v for v in _data_variants() if v[0] == kind)
    for phase in range(4):
        got = codec.apply_mask(obj, KEY, phase)
        assert type(got) is bytes
        assert got == xor_ref(raw, KEY, phase)


@pytest.mark.parametrize("key", [KEY, bytearray(KEY), memoryview(KEY), memoryview(b"xx" + KEY)[2:]])
def test_mask_key_types(codec, key):
    assert codec.apply_mask(POOL[:33], key, 1) == xor_ref(POOL[:33], bytes(key), 1)
    buf = bytearray(POOL[:33])
    codec.apply_mask_inplace(buf, key, 1)
    assert buf == xor_ref(POOL[:33], bytes(key), 1)


def test_inplace_writable_memoryview(codec):
    buf = bytearray(POOL[:64])
    codec.apply_mask_inplace(memoryview(buf), KEY, 3)
    assert buf == xor_ref(POOL[:64], KEY, 3)


def test_inplace_array(codec):
    arr = array.array("B", POOL[:70])
    codec.apply_mask_inplace(arr, KEY, 2)
    assert arr.tobytes() == xor_ref(POOL[:70], KEY, 2)
    words = array.array("I", POOL[:64])
    codec.apply_mask_inplace(words, KEY)
    assert words.tobytes() == xor_ref(POOL[:64], KEY)


@pytest.mark.parametrize("step", [2, 3, 5])
def test_inplace_non_contiguous(codec, step):
    buf = bytearray(POOL[:120])
    view = memoryview(buf)[1::step]
    codec.apply_mask_inplace(view, KEY, 1)
    expected = bytearray(POOL[:120])
    expected[1::step] = xor_ref(POOL[1:120:step], KEY, 1)
    assert buf == expected  # the selected bytes masked, the others untouched


# ---- errors -----------------------------------------------------------------------


@pytest.mark.parametrize("key", [b"", b"\x01", b"\x01\x02\x03", b"\x01\x02\x03\x04\x05", KEY * 2])
def test_mask_length_error(codec, key):
    with pytest.raises(ValueError):
        codec.apply_mask(b"abcdef", key)
    with pytest.raises(ValueError):
        codec.apply_mask_inplace(bytearray(b"abcdef"), key)


@pytest.mark.parametrize("bad", ["text", 1234, None, [1, 2, 3], 3.5, object()])
def test_data_not_a_buffer(codec, bad):
    with pytest.raises(TypeError):
        codec.apply_mask(bad, KEY)
    with pytest.raises(TypeError):
        codec.apply_mask_inplace(bad, KEY)


@pytest.mark.parametrize("bad", ["abcd", 1234, None, [1, 2, 3, 4]])
def test_key_not_a_buffer(codec, bad):
    with pytest.raises(TypeError):
        codec.apply_mask(b"abcdef", bad)
    with pytest.raises(TypeError):
        codec.apply_mask_inplace(bytearray(b"abcdef"), bad)


@pytest.mark.parametrize("ro", [b"abcdef", memoryview(b"abcdef"), memoryview(bytearray(b"abcdef")).toreadonly()])
def test_inplace_read_only(codec, ro):
    with pytest.raises(TypeError):
        codec.apply_mask_inplace(ro, KEY)


def test_inplace_read_only_empty(codec):
    with pytest.raises(TypeError):
        codec.apply_mask_inplace(b"", KEY)


@pytest.mark.parametrize("offset", [-1, -4, -(2**40)])
def test_negative_offset(codec, offset):
    with pytest.raises(ValueError):
        codec.apply_mask(b"abcdef", KEY, offset)
    buf = bytearray(b"abcdef")
    with pytest.raises(ValueError):
        codec.apply_mask_inplace(buf, KEY, offset)
    assert buf == b"abcdef"


def test_error_leaves_buffer_untouched(codec):
    buf = bytearray(b"abcdef")
    with pytest.raises(ValueError):
        codec.apply_mask_inplace(buf, b"\x01\x02\x03", 0)
    assert buf == b"abcdef"

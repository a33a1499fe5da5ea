"""validate_utf8, find_invalid_utf8 and Utf8Validator on every backend and SIMD level.

The oracle is CPython's strict decoder: the error offset must equal
``UnicodeDecodeError.start``, and the incremental validator must fail on the
very chunk after which the input can no longer become valid (fail-fast).
Vectors: ``vectors/utf8_stress.txt`` (Markus Kuhn's stress test structure),
every 1- and 2-byte input, 3/4-byte boundaries, an invalid byte planted at
every position of buffers of every length 0-300, at every alignment 0-63.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import List, Optional, Tuple

import pytest
from codec_helpers import run_validator, utf8_error, utf8_error_start, utf8_impossible_at, utf8_pending
from hypothesis import given
from hypothesis import strategies as st

from wsframe import _reasons
from wsframe.enums import CloseCode
from wsframe.errors import InvalidUTF8, ProtocolError

VECTORS = Path(__file__).parent / "vectors" / "utf8_stress.txt"


def load_vectors() -> List[Tuple[str, bytes, int]]:
    """(label, data, expected find_invalid_utf8) from the stress vector file."""
    out = []
    for line in VECTORS.read_text(encoding="ascii").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        left, expect = line.rsplit("->", 1)
        label, hexes = left.split(": ", 1)
        data = b"" if hexes.strip() == "-" else bytes.fromhex(hexes)
        expect = expect.strip()
        out.append((label.strip(), data, -1 if expect == "valid" else int(expect)))
    return out


STRESS = load_vectors()
STRESS_IDS = [v[0] for v in STRESS]

# Texts that exercise 1-, 2-, 3- and 4-byte sequences and SIMD block edges.
ASCII_TEXT = (b"The quick brown fox jumps over the lazy dog. 0123456789 " * 8)[:320]
CHINESE_TEXT = ("\u4e2d\u6587\u7f16\u7801\u6d4b\u8bd5\uff0c\u5feb\u901f\u9a8c\u8bc1" * 12).encode()[:320]
EMOJI_TEXT = ("\U0001f600 caf\u00e9 \U0001f680\u2603\U0001f389" * 20).encode()[:320]
TEXTS = {"ascii": ASCII_TEXT, "chinese": CHINESE_TEXT, "emoji": EMOJI_TEXT}
BAD_BYTES = (0xFF, 0x80, 0xC0, 0xF8, 0xBF, 0xC1, 0xF5, 0xFE, 0xED, 0xE0, 0xF4)


@functools.lru_cache(maxsize=None)
def planted_cases(kind: str) -> Tuple[Tuple[bytes, int], ...]:
    """Every length 0-300 of a text with one bad byte at every position, with the oracle."""
    text = TEXTS[kind]
    cases = []
    for n in range(301):
        base = text[:n]
        cases.append((base, utf8_error_start(base)))
        for i in range(n):
            buf = bytearray(base)
            buf[i] = BAD_BYTES[(i + n) % len(BAD_BYTES)]
            data = bytes(buf)
            cases.append((data, utf8_error_start(data)))
    return tuple(cases)


@functools.lru_cache(maxsize=None)
def all_pairs() -> Tuple[Tuple[bytes, int], ...]:
    return tuple((bytes(p), utf8_error_start(bytes(p))) for p in itertools.product(range(256), repeat=2))


# ---- the vector file itself -----------------------------------------------------


def test_vector_file_matches_cpython():
    assert len(STRESS) > 150
    for label, data, expected in STRESS:
        assert utf8_error_start(data) == expected, label


# ---- one-shot validation -----------------------------------------------------------


@pytest.mark.parametrize("label,data,expected", STRESS, ids=STRESS_IDS)
def test_stress_vectors(codec, label, data, expected):
    assert codec.find_invalid_utf8(data) == expected
    assert codec.validate_utf8(data) is (expected == -1)


def test_stress_vectors_shifted(codec):
    """Every vector after 0-67 ASCII bytes and before 0/1/70 more: SIMD block edges."""
    for label, data, _expected in STRESS:
        for pre in range(68):
            for post in (0, 1, 70):
                buf = b"a" * pre + data + b"z" * post
                want = utf8_error_start(buf)
                got = codec.find_invalid_utf8(buf)
                if got != want:
                    pytest.fail(f"{label} with {pre} bytes before, {post} after: {got} != {want}")
                assert codec.validate_utf8(buf) is (want == -1)


def test_every_single_byte(codec):
    for b in range(256):
        data = bytes([b])
        assert codec.find_invalid_utf8(data) == (-1 if b < 0x80 else 0), hex(b)
        assert codec.validate_utf8(data) is (b < 0x80)


def test_every_two_byte_input(codec):
    for data, want in all_pairs():
        got = codec.find_invalid_utf8(data)
        if got != want:
            pytest.fail(f"{data.hex()}: {got} != {want}")


@functools.lru_cache(maxsize=None)
def boundary_cases() -> Tuple[Tuple[bytes, int], ...]:
    """Leads E0-FF against second bytes 70-CF and boundary third/fourth bytes, alone and padded."""
    tails = (0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF)
    pad = b"x" * 29
    cases = []
    for lead in range(0xE0, 0x100):
        for second in range(0x70, 0xD0):
            seqs = []
            for third in tails:
                seqs.append(bytes([lead, second, third]))
                if lead >= 0xF0 and third in (0x80, 0xBF):
                    seqs += [bytes([lead, second, third, fourth]) for fourth in (0x7F, 0x80, 0xBF, 0xC0)]
            for seq in seqs:
                for buf in (seq, pad + seq, pad + seq + pad):
                    cases.append((buf, utf8_error_start(buf)))
    return tuple(cases)


def test_three_and_four_byte_boundaries(codec):
    for buf, want in boundary_cases():
        got = codec.find_invalid_utf8(buf)
        if got != want:
            pytest.fail(f"{buf.hex()}: {got} != {want}")


@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_invalid_byte_at_every_position(codec, kind):
    for data, want in planted_cases(kind):
        got = codec.find_invalid_utf8(data)
        if got != want:
            pytest.fail(f"{kind} length {len(data)}: {got} != {want} in {data.hex()}")
        if codec.validate_utf8(data) is not (want == -1):
            pytest.fail(f"validate_utf8 {kind} length {len(data)}")


@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_every_length_and_alignment(codec, kind):
    text = TEXTS[kind]
    view = memoryview(text)
    for align in range(64):
        for n in range(0, min(301, len(text) - align) + 1):
            chunk = view[align : align + n]
            want = utf8_error_start(text[align : align + n])
            got = codec.find_invalid_utf8(chunk)
            if got != want:
                pytest.fail(f"{kind} alignment {align} length {n}: {got} != {want}")


def test_buffer_types(codec):
    data = b"ab\xe2\x82\xac\xff"
    for obj in (data, bytearray(data), memoryview(data), memoryview(b"__" + data)[2:]):
        assert codec.find_invalid_utf8(obj) == 5
        assert codec.validate_utf8(obj) is False
    # non-contiguous: every other byte of "a\x00b\x00\xc3\x00\xa9\x00" is "ab\xc3\xa9"
    strided = memoryview(b"a\x00b\x00\xc3\x00\xa9\x00")[::2]
    assert codec.find_invalid_utf8(strided) == -1
    assert codec.validate_utf8(strided) is True
    strided_bad = memoryview(b"a\x00\xc3\x00b\x00")[::2]
    assert codec.find_invalid_utf8(strided_bad) == 1


@pytest.mark.parametrize("bad", ["text", 123, None, [0x61]])
def test_not_a_buffer(codec, bad):
    with pytest.raises(TypeError):
        codec.find_invalid_utf8(bad)
    with pytest.raises(TypeError):
        codec.validate_utf8(bad)


@given(st.binary(max_size=400))
def test_random_bytes_against_cpython(codec, data):
    assert codec.find_invalid_utf8(data) == utf8_error_start(data)


@given(st.text(max_size=200), st.binary(max_size=3), st.integers(0, 1000))
def test_random_text_with_garbage(codec, text, garbage, where):
    raw = text.encode("utf-8", "surrogatepass")
    where = min(where, len(raw))
    data = raw[:where] + garbage + raw[where:]
    assert codec.find_invalid_utf8(data) == utf8_error_start(data)


# ---- Utf8Validator -------------------------------------------------------------------


def check_error(exc: BaseException, position: int, reason: str = _reasons.UTF8_INVALID) -> None:
    assert isinstance(exc, InvalidUTF8) and isinstance(exc, ProtocolError)
    assert exc.code == CloseCode.INVALID_DATA == 1007
    assert exc.reason == reason
    assert exc.position == position


def test_validator_initial_state(codec):
    v = codec.Utf8Validator()
    assert v.position == 0 and v.pending == 0
    v.feed(b"")
    v.feed(b"", final=True)
    assert v.position == 0 and v.pending == 0


def test_validator_fail_fast_e0_80(codec):
    v = codec.Utf8Validator()
    v.feed(b"\xe0")
    assert v.pending == 1 and v.position == 1
    with pytest.raises(InvalidUTF8) as info:
        v.feed(b"\x80")
    check_error(info.value, 0)


@pytest.mark.parametrize(
    "first,second,position",
    [
        (b"\xed", b"\xa0", 0),  # surrogate
        (b"\xf4", b"\x90", 0),  # above U+10FFFF
        (b"\xf0", b"\x80", 0),  # overlong
        (b"ab\xf0\x9f", b"\x98A", 2),  # truncated 4-byte then ASCII
        (b"abc\xe2", b"\x82\x41", 3),
        (b"xyz", b"\xc0", 3),
        (b"\xc2", b"\xc2", 0),
    ],
)
def test_validator_fails_on_the_chunk_that_breaks(codec, first, second, position):
    v = codec.Utf8Validator()
    v.feed(first)
    with pytest.raises(InvalidUTF8) as info:
        v.feed(second)
    check_error(info.value, position)


def test_validator_fails_inside_first_chunk(codec):
    v = codec.Utf8Validator()
    with pytest.raises(InvalidUTF8) as info:
        v.feed(b"hello \xed\xa0 world")
    check_error(info.value, 6)


def test_validator_absolute_positions(codec):
    v = codec.Utf8Validator()
    v.feed(b"a" * 10)
    v.feed("\u20ac".encode() * 3)  # 9 bytes
    assert v.position == 19 and v.pending == 0
    with pytest.raises(InvalidUTF8) as info:
        v.feed(b"bb\xff")
    check_error(info.value, 21)


def test_validator_pending_and_position(codec):
    v = codec.Utf8Validator()
    smile = "\U0001f600".encode()
    for i in range(1, 4):
        v.feed(smile[i - 1 : i])
        assert v.pending == i and v.position == i
    v.feed(smile[3:])
    assert v.pending == 0 and v.position == 4
    v.feed(b"x\xe2\x82")
    assert v.pending == 2 and v.position == 7


def test_validator_final_truncated(codec):
    v = codec.Utf8Validator()
    with pytest.raises(InvalidUTF8) as info:
        v.feed(b"ab\xf0\x9f", final=True)
    check_error(info.value, 2, _reasons.UTF8_TRUNCATED)


def test_validator_final_empty_after_truncated(codec):
    v = codec.Utf8Validator()
    v.feed(b"abc\xe2\x82")
    with pytest.raises(InvalidUTF8) as info:
        v.feed(b"", final=True)
    check_error(info.value, 3, _reasons.UTF8_TRUNCATED)


def test_validator_final_ok(codec):
    v = codec.Utf8Validator()
    v.feed(b"abc\xe2\x82")
    v.feed(b"\xac", final=True)
    assert v.pending == 0 and v.position == 6


def test_validator_invalid_beats_truncated_with_final(codec):
    v = codec.Utf8Validator()
    with pytest.raises(InvalidUTF8) as info:
        v.feed(b"a\xffb\xe2", final=True)
    check_error(info.value, 1)


def test_validator_sticky_error(codec):
    v = codec.Utf8Validator()
    v.feed(b"abc")
    with pytest.raises(InvalidUTF8) as info:
        v.feed(b"d\xc0e")
    check_error(info.value, 4)
    for data, final in ((b"fine", False), (b"", False), (b"", True), (b"\xff", True)):
        with pytest.raises(InvalidUTF8) as again:
            v.feed(data, final=final)
        check_error(again.value, 4)


def test_validator_sticky_truncated(codec):
    v = codec.Utf8Validator()
    with pytest.raises(InvalidUTF8):
        v.feed(b"\xe2\x82", final=True)
    with pytest.raises(InvalidUTF8) as again:
        v.feed(b"\xac")
    check_error(again.value, 0, _reasons.UTF8_TRUNCATED)


def test_validator_reset(codec):
    v = codec.Utf8Validator()
    v.feed(b"abc\xe2")
    v.reset()
    assert v.position == 0 and v.pending == 0
    v.feed(b"ok")  # the carried \xe2 is gone
    assert v.position == 2
    with pytest.raises(InvalidUTF8):
        v.feed(b"\xff")
    v.reset()
    assert v.position == 0 and v.pending == 0
    v.feed("\u00e9".encode(), final=True)
    assert v.position == 2


def test_validator_buffer_types(codec):
    v = codec.Utf8Validator()
    v.feed(bytearray(b"\xe2"))
    v.feed(memoryview(b"\x82"))
    v.feed(memoryview(b"_\xac")[1:])
    v.feed(memoryview(b"a\x00b\x00")[::2], final=True)
    assert v.position == 5 and v.pending == 0
    with pytest.raises(TypeError):
        codec.Utf8Validator().feed("text")


def expected_run(data: bytes, cuts: List[int]) -> Tuple[Optional[int], Optional[Tuple[str, int]]]:
    """What a fail-fast validator fed ``data`` cut at ``cuts`` (final on the last) must do."""
    impossible = utf8_impossible_at(data)
    ends = list(cuts) + [len(data)]
    if impossible is not None:
        index = next(i for i, end in enumerate(ends) if end >= impossible)
        return index, (_reasons.UTF8_INVALID, utf8_error_start(data))
    err = utf8_error(data)
    if err is not None:  # only truncated at the very end
        return len(ends) - 1, (_reasons.UTF8_TRUNCATED, err[0])
    return None, None


def split_points_cases() -> List[bytes]:
    cases = [v[1] for v in STRESS if 0 < len(v[1]) <= 40]
    cases += [b"ab" + v[1] + "\u00e9\U0001f600".encode() for v in STRESS if 0 < len(v[1]) <= 12]
    return cases


def test_validator_every_split_into_two(codec):
    for data in split_points_cases():
        for cut in range(len(data) + 1):
            got = run_validator(codec.Utf8Validator(), [data[:cut], data[cut:]])
            want = expected_run(data, [cut])
            if got != want:
                pytest.fail(f"{data.hex()} cut at {cut}: {got} != {want}")


def test_validator_every_split_into_three(codec):
    for data in split_points_cases():
        if len(data) > 24:
            continue
        for a in range(len(data) + 1):
            for b in range(a, len(data) + 1):
                got = run_validator(codec.Utf8Validator(), [data[:a], data[a:b], data[b:]])
                want = expected_run(data, [a, b])
                if got != want:
                    pytest.fail(f"{data.hex()} cut at {a},{b}: {got} != {want}")


def test_validator_byte_by_byte(codec):
    for data in split_points_cases() + [TEXTS["emoji"][:101], TEXTS["chinese"][:100]]:
        v = codec.Utf8Validator()
        chunks = [data[i : i + 1] for i in range(len(data))] + [b""]
        got = run_validator(v, chunks)
        want = expected_run(data, list(range(1, len(data) + 1)))
        assert got == want, data.hex()


def test_validator_pending_every_prefix(codec):
    for data in (TEXTS["emoji"][:60], TEXTS["chinese"][:60]):
        v = codec.Utf8Validator()
        for i in range(len(data)):
            v.feed(data[i : i + 1])
            assert v.position == i + 1
            assert v.pending == utf8_pending(data[: i + 1]), i


@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=80).map(lambda s: s.encode("utf-8", "surrogatepass"))), cuts=st.lists(st.integers(0, 200), max_size=6))
def test_validator_random_chunkings(codec, data, cuts):
    cuts = sorted(c for c in cuts if c <= len(data))
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    got = run_validator(codec.Utf8Validator(), chunks)
    assert got == expected_run(data, cuts)


def big_cases() -> List[bytes]:
    """5 KB of mixed text with one bad or truncated sequence around SIMD block edges."""
    base = (TEXTS["emoji"] + TEXTS["chinese"] + ASCII_TEXT) * 6
    base = base[: base.index(b" ", 5000)]
    out = [base]
    for pos in (63, 64, 65, 127, 128, 1000, 4095, 4096, len(base) - 2):
        for bad in (b"\xff", b"\xed\xa0\x80", b"\xe2\x82"):
            out.append(base[:pos] + bad + base[pos:])
    out.append(base + b"\xf0\x9f\x98")
    return out


@pytest.mark.parametrize("chunk", [1, 3, 16, 31, 64, 65, 1000])
def test_validator_big_inputs_fixed_chunks(codec, chunk):
    for data in big_cases():
        chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)] or [b""]
        cuts = list(range(chunk, len(data), chunk))
        got = run_validator(codec.Utf8Validator(), chunks)
        want = expected_run(data, cuts)
        assert got == want, (len(data), chunk)

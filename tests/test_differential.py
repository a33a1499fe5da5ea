"""Differential tests: the compiled backend (at every SIMD level) against the pure twin.

The same random or hostile input goes through ``codec`` and ``_codec_py``;
everything observable must be identical: frames (opcode, payload, fin, rsv),
or the error's type, close code, reason, position and ``exc.frames``, on the
same ``feed()`` call; and the results of every other codec function.
For the ``py`` param these tests would compare the twin with itself, so they
are skipped there (the other suites check it against the oracles).
"""

from __future__ import annotations

import random
from typing import Any, Callable, List, Tuple

import pytest
from codec_helpers import codec_is_py, error_tuple, frame_tuple, utf8_error_start
from framegen import chunkings, streams
from hypothesis import given
from hypothesis import strategies as st

RNG = random.Random(2026)
POOL = bytes(RNG.getrandbits(8) for _ in range(400))
TEXT_POOL = ("h\u00e9llo w\u00f6rld \u4e2d\u6587 \U0001f600 " * 30).encode()


@pytest.fixture(scope="session")
def pair(codec, py_codec):
    """(backend under test, pure reference); skipped when both are the pure twin."""
    if codec_is_py(codec):
        pytest.skip("the pure twin is the reference")
    return codec, py_codec


def outcome(fn: Callable[[], Any]) -> Tuple[str, Any]:
    """What a call did: ("ok", result) or ("raise", comparable error)."""
    try:
        return "ok", fn()
    except Exception as exc:  # compare any exception type, not just ours
        return "raise", (type(exc).__name__, getattr(exc, "code", None), getattr(exc, "reason", None), getattr(exc, "position", None))


def run_parser(module: Any, opts: dict, chunks: List[bytes], eof: bool = True) -> List[Any]:
    """Every observable step of a parser fed ``chunks``: per call frames or error, buffered, failed."""
    parser = module.FrameParser(**opts)
    trace: List[Any] = []
    calls = [("feed", c) for c in chunks] + ([("eof", b"")] if eof else [])
    for kind, chunk in calls:
        try:
            out = parser.feed(chunk) if kind == "feed" else parser.feed_eof()
            result: Any = ("ok", [frame_tuple(f) for f in out] if out else out)
        except Exception as exc:
            result = ("raise", error_tuple(exc))
        trace.append((kind, result, parser.failed))
    return trace


def run_parser_buffered(module: Any, opts: dict, chunks: List[bytes]) -> List[int]:
    parser = module.FrameParser(**opts)
    sizes = []
    for chunk in chunks:
        try:
            parser.feed(chunk)
        except Exception:
            pass
        sizes.append(parser.buffered)
    return sizes


# ---- parser --------------------------------------------------------------------------------


@given(case=streams(hostile=False))
def test_valid_streams_one_shot(pair, case):
    c, py = pair
    opts, wire = case
    assert run_parser(c, opts, [wire]) == run_parser(py, opts, [wire])


@given(case=streams(hostile=True))
def test_hostile_streams_one_shot(pair, case):
    c, py = pair
    opts, wire = case
    assert run_parser(c, opts, [wire]) == run_parser(py, opts, [wire])


@given(data=st.data())
def test_hostile_streams_random_chunks(pair, data):
    c, py = pair
    opts, wire = data.draw(streams(hostile=True))
    chunks = data.draw(chunkings(wire))
    assert run_parser(c, opts, chunks) == run_parser(py, opts, chunks)


@given(data=st.data())
def test_buffered_agrees(pair, data):
    c, py = pair
    opts, wire = data.draw(streams(hostile=False))
    chunks = data.draw(chunkings(wire))
    assert run_parser_buffered(c, opts, chunks) == run_parser_buffered(py, opts, chunks)


@given(data=st.data())
def test_bare_messages_random_chunks(pair, data):
    """bare_messages=True: the same messages as str / bytes, on valid and hostile input."""
    c, py = pair
    opts, wire = data.draw(streams(hostile=True))
    opts = dict(opts, bare_messages=True)
    chunks = data.draw(chunkings(wire))
    assert run_parser(c, opts, chunks) == run_parser(py, opts, chunks)


@given(wire=st.binary(max_size=300), is_server=st.booleans(), reassemble=st.booleans(), data=st.data())
def test_random_bytes(pair, wire, is_server, reassemble, data):
    c, py = pair
    opts = {"is_server": is_server, "reassemble": reassemble, "max_frame_size": data.draw(st.sampled_from([10, 1 << 20]))}
    chunks = data.draw(chunkings(wire, 3))
    assert run_parser(c, opts, chunks) == run_parser(py, opts, chunks)


# ---- masking ---------------------------------------------------------------------------------


def test_mask_every_length_and_alignment(pair):
    c, py = pair
    view = memoryview(POOL)
    key = POOL[-4:]
    for n in range(301):
        for align in range(64):
            phase = n + align
            a = c.apply_mask(view[align : align + n], key, phase)
            b = py.apply_mask(view[align : align + n], key, phase)
            if a != b:
                pytest.fail(f"apply_mask length {n} alignment {align}: {a.hex()} != {b.hex()}")


def test_mask_inplace_every_length_and_alignment(pair):
    c, py = pair
    key = POOL[:4]
    for n in range(0, 301, 3):
        for align in range(64):
            bufs = [bytearray(POOL), bytearray(POOL)]
            for module, buf in zip(pair, bufs):
                module.apply_mask_inplace(memoryview(buf)[align : align + n], key, align)
            if bufs[0] != bufs[1]:
                pytest.fail(f"apply_mask_inplace length {n} alignment {align}")


@given(data=st.binary(max_size=1000), key=st.binary(max_size=6), offset=st.integers(-3, 2**63 - 1), step=st.sampled_from([1, 1, 2, 3]))
def test_mask_random(pair, data, key, offset, step):
    c, py = pair
    view = memoryview(data)[::step]
    assert outcome(lambda: c.apply_mask(view, key, offset)) == outcome(lambda: py.apply_mask(view, key, offset))
    bufs = [bytearray(data), bytearray(data)]
    results = [outcome(lambda m=m, b=b: m.apply_mask_inplace(memoryview(b)[::step], key, offset)) for m, b in zip(pair, bufs)]
    assert results[0] == results[1]
    assert bufs[0] == bufs[1]


# ---- UTF-8 -----------------------------------------------------------------------------------


def test_utf8_every_length_and_alignment(pair):
    c, py = pair
    # a mixed buffer with a few bad bytes planted
    buf = bytearray(TEXT_POOL[:400])
    for i in (97, 211, 302):
        buf[i] = 0xFF
    data = bytes(buf)
    view = memoryview(data)
    for align in range(64):
        for n in range(301):
            chunk = view[align : align + n]
            a, b = c.find_invalid_utf8(chunk), py.find_invalid_utf8(chunk)
            if a != b or a != utf8_error_start(data[align : align + n]):
                pytest.fail(f"find_invalid_utf8 alignment {align} length {n}: c={a} py={b}")
            if c.validate_utf8(chunk) is not py.validate_utf8(chunk):
                pytest.fail(f"validate_utf8 alignment {align} length {n}")


@given(st.binary(max_size=500))
def test_utf8_random_bytes(pair, data):
    c, py = pair
    assert c.find_invalid_utf8(data) == py.find_invalid_utf8(data)
    assert c.validate_utf8(data) is py.validate_utf8(data)


def validator_trace(module: Any, chunks: List[bytes], finals: List[bool]) -> List[Any]:
    """Per feed: what it did, then pending and position while no error has happened."""
    v = module.Utf8Validator()
    trace = []
    for chunk, final in zip(chunks, finals):
        result = outcome(lambda chunk=chunk, final=final: v.feed(chunk, final=final))
        state = (v.pending, v.position) if result[0] == "ok" else None
        trace.append((result, state))
    return trace


@given(data=st.data())
def test_utf8_validator_random_chunkings(pair, data):
    c, py = pair
    raw = data.draw(
        st.one_of(
            st.binary(max_size=200),
            st.text(max_size=60).map(lambda s: s.encode("utf-8", "surrogatepass")),
            st.integers(0, 300).map(lambda n: TEXT_POOL[:n]),
        )
    )
    chunks = data.draw(chunkings(raw, 8))
    finals = [data.draw(st.sampled_from([False, False, True])) for _ in chunks]
    assert validator_trace(c, chunks, finals) == validator_trace(py, chunks, finals)


# ---- headers, frames, close payloads -------------------------------------------------------------


@given(
    opcode=st.integers(-2, 17),
    length=st.one_of(st.integers(0, 70000), st.sampled_from([-1, 2**63 - 1, 2**63, 2**32])),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    mask=st.one_of(st.none(), st.binary(min_size=3, max_size=5)),
)
def test_encode_frame_header(pair, opcode, length, flags, mask):
    c, py = pair
    fin, rsv1, rsv2, rsv3 = flags

    def call(m):
        return lambda: m.encode_frame_header(opcode, length, fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3, mask=mask)

    assert outcome(call(c)) == outcome(call(py))


@given(
    opcode=st.integers(-1, 16),
    payload=st.binary(max_size=300),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    mask=st.one_of(st.none(), st.just(False), st.binary(min_size=3, max_size=5)),
)
def test_encode_frame(pair, opcode, payload, flags, mask):
    c, py = pair
    fin, rsv1, rsv2, rsv3 = flags

    def call(m):
        return lambda: m.encode_frame(opcode, payload, fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3, mask=mask)

    assert outcome(call(c)) == outcome(call(py))


def header_fields(h: Any) -> Any:
    if h is None:
        return None
    return (h.fin, h.rsv1, h.rsv2, h.rsv3, int(h.opcode), type(h.opcode).__name__, h.masked, h.length, h.mask, h.size)


@given(data=st.binary(max_size=16), offset=st.integers(0, 18))
def test_decode_frame_header(pair, data, offset):
    c, py = pair
    a = outcome(lambda: header_fields(c.decode_frame_header(data, offset)))
    b = outcome(lambda: header_fields(py.decode_frame_header(data, offset)))
    assert a == b


@given(payload=st.one_of(st.binary(max_size=130), st.tuples(st.integers(0, 65535), st.binary(max_size=20)).map(lambda t: t[0].to_bytes(2, "big") + t[1])))
def test_decode_close_payload(pair, payload):
    c, py = pair
    assert outcome(lambda: c.decode_close_payload(payload)) == outcome(lambda: py.decode_close_payload(payload))


@given(code=st.one_of(st.none(), st.integers(-1, 70000)), reason=st.text(max_size=130))
def test_encode_close_payload(pair, code, reason):
    c, py = pair
    assert outcome(lambda: c.encode_close_payload(code, reason)) == outcome(lambda: py.encode_close_payload(code, reason))


def test_close_codes_all(pair):
    c, py = pair
    for code in range(0, 65536, 1):
        body = code.to_bytes(2, "big") + b"r"
        if outcome(lambda body=body: c.decode_close_payload(body)) != outcome(lambda body=body: py.decode_close_payload(body)):
            pytest.fail(f"decode_close_payload code {code}")
        if outcome(lambda code=code: c.encode_close_payload(code, "r")) != outcome(lambda code=code: py.encode_close_payload(code, "r")):
            pytest.fail(f"encode_close_payload code {code}")


# ---- constructors and objects --------------------------------------------------------------------

BAD_PARSER_ARGS = [
    {"max_frame_size": -1},
    {"max_message_size": -1},
    {"max_fragments": -1},
    {"max_fragments": 0},
    {"max_frame_size": 0},
    {"max_frame_size": 2**64},
    {"max_frame_size": "10"},
    {"max_message_size": None},
    {"rsv_allowed": (True, False)},
    {"rsv_allowed": (True, False, False, False)},
    {"rsv_allowed": None},
    {"rsv_allowed": [True, True, True]},
    {"reassemble": 0},
    {"validate_utf8": 1},
]


@pytest.mark.parametrize("kwargs", BAD_PARSER_ARGS, ids=[str(k) for k in BAD_PARSER_ARGS])
def test_parser_constructor_arguments(pair, kwargs):
    c, py = pair

    def make(m):
        def build():
            p = m.FrameParser(is_server=True, **kwargs)
            return p.feed(m.encode_frame(2, b"abc", mask=b"\x01\x02\x03\x04")), p.buffered
        return build

    a, b = outcome(make(c)), outcome(make(py))
    if a[0] == "ok":
        a = ("ok", ([frame_tuple(f) for f in a[1][0]], a[1][1]))
    if b[0] == "ok":
        b = ("ok", ([frame_tuple(f) for f in b[1][0]], b[1][1]))
    assert a == b


@pytest.mark.parametrize("opcode", [0, 1, 2, 3, 8, 9, 10, 11, 15, 16, -1])
def test_frame_constructor(pair, opcode):
    c, py = pair

    def make(m):
        def build():
            f = m.Frame(opcode, b"x")
            return type(f.opcode).__name__, int(f.opcode), f.payload
        return build

    assert outcome(make(c)) == outcome(make(py))


def test_object_behaviour(pair):
    c, py = pair
    objs = [
        (c.Frame(1, b"x"), py.Frame(1, b"x")),
        (c.FrameHeader(True, False, False, False, 1, False, 1, None, 2), py.FrameHeader(True, False, False, False, 1, False, 1, None, 2)),
    ]
    for a, b in objs:
        assert outcome(lambda a=a: hash(a))[0] == outcome(lambda b=b: hash(b))[0]
        assert (a == 1) == (b == 1)
        assert repr(a).split("(")[0] == repr(b).split("(")[0]


# ---- big inputs: SIMD main loops, not just heads and tails -------------------------------------------

BIG_TEXT = ("\u4e2d\u6587 ascii text \U0001f600 caf\u00e9 " * 12000).encode()  # ~300 KB, mixed widths


@given(
    size=st.integers(0, 200_000),
    start=st.integers(0, 64),
    bad=st.one_of(st.none(), st.tuples(st.floats(0, 1), st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xe2\x82", b"\xc0"]))),
    nfrag=st.integers(1, 4),
    is_text=st.booleans(),
    data=st.data(),
)
def test_big_messages(pair, size, start, bad, nfrag, is_text, data):
    c, py = pair
    payload = BIG_TEXT[start : start + size]
    if bad is not None:
        where = int(bad[0] * len(payload))
        payload = payload[:where] + bad[1] + payload[where:]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(payload)), min_size=nfrag - 1, max_size=nfrag - 1)))
    pieces = [payload[a:b] for a, b in zip([0] + cuts, cuts + [len(payload)])]
    key_seed = data.draw(st.integers(0, 2**32 - 1))
    rng = random.Random(key_seed)
    wire = b"".join(
        c.encode_frame((1 if is_text else 2) if i == 0 else 0, piece, fin=i == len(pieces) - 1, mask=rng.randbytes(4))
        for i, piece in enumerate(pieces)
    )
    step = data.draw(st.sampled_from([len(wire) or 1, 1000, 4093, 65536, 7]))
    if step == 7:
        wire = wire[:20000]  # byte-level chunking only on a prefix, to stay quick
    chunks = [wire[i : i + step] for i in range(0, len(wire), step)] or [b""]
    opts = {"is_server": True, "max_message_size": 1 << 20}
    assert run_parser(c, opts, chunks) == run_parser(py, opts, chunks)


@given(size=st.integers(0, 100_000), start=st.integers(0, 64), where=st.floats(0, 1), bad=st.sampled_from([b"", b"\xff", b"\xf4\x90", b"\xe0\x9f"]), step=st.integers(1, 5000))
def test_big_validator_inputs(pair, size, start, where, bad, step):
    c, py = pair
    raw = BIG_TEXT[start : start + size]
    pos = int(where * len(raw))
    raw = raw[:pos] + bad + raw[pos:]
    step = max(step, len(raw) // 300 + 1)  # at most ~300 feeds per example
    chunks = [raw[i : i + step] for i in range(0, len(raw), step)] or [b""]
    finals = [i == len(chunks) - 1 for i in range(len(chunks))]
    assert validator_trace(c, chunks, finals) == validator_trace(py, chunks, finals)
    assert c.find_invalid_utf8(raw) == py.find_invalid_utf8(raw) == utf8_error_start(raw)

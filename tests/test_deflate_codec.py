"""The permessage-deflate codec (RFC 7692 section 7.2): round trips, context takeover,
bounded inflation (decompression bombs), corrupt data, and every installed zlib."""

from __future__ import annotations

import itertools
import os
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsframe.deflate import PerMessageDeflate
from wsframe.deflate.params import Agreement
from wsframe.deflate.zlib_impl import available, load
from wsframe.enums import Opcode
from wsframe.errors import MessageTooBig, ProtocolError

try:
    import tracemalloc
except ImportError:  # PyPy has no tracemalloc: the memory bounds are measured on CPython only
    tracemalloc = None  # type: ignore[assignment]

needs_tracemalloc = pytest.mark.skipif(tracemalloc is None, reason="no tracemalloc on this interpreter (PyPy)")

TAIL = b"\x00\x00\xff\xff"
ZLIBS = available()
TEXT = Opcode.TEXT
BINARY = Opcode.BINARY


@pytest.fixture(params=sorted(ZLIBS))
def zimpl(request):
    """Each zlib implementation installed here (stdlib zlib always)."""
    return ZLIBS[request.param]


def pair(agreement=None, zlib_impl=None, **options):
    """(client, server) codecs for one negotiated agreement (default: no parameters)."""
    agreement = Agreement() if agreement is None else agreement
    client = PerMessageDeflate("client", agreement, zlib_impl=zlib_impl, **options)
    server = PerMessageDeflate("server", agreement, zlib_impl=zlib_impl, **options)
    return client, server


def chat_messages(count: int = 50):
    return [
        (
            b'{"type":"message","room":"general","user":"user%d","id":%d,"text":"hello there, how is it going?"}'
            % (i % 7, i)
        )
        for i in range(count)
    ]


AGREEMENTS = [
    Agreement(snct, cnct, sbits, cbits)
    for snct, cnct in itertools.product((False, True), repeat=2)
    for sbits, cbits in ((None, None), (9, 9), (12, 10), (15, 8), (8, 15))
]


@pytest.mark.parametrize("agreement", AGREEMENTS, ids=str)
def test_round_trip_both_directions(agreement, zimpl):
    client, server = pair(agreement, zimpl, min_size=0)
    messages = chat_messages(20) + [b"", b"x", os.urandom(3000), bytes(70000), b"abc" * 20000]
    for message in messages:
        for sender, receiver in ((client, server), (server, client)):
            wire, rsv1 = sender.encode_message(BINARY, message)
            got = receiver.decode_message(BINARY, wire, 1 << 20) if rsv1 else wire
            assert got == message


def test_tail_is_stripped_and_rsv1_set(zimpl):
    client, _ = pair(zlib_impl=zimpl)
    wire, rsv1 = client.encode_message(TEXT, b"hello hello hello hello hello hello hello")
    assert rsv1 and not wire.endswith(TAIL)
    # RFC 7692 section 7.2.2: the receiver appends the tail and inflates.
    assert zlib.decompressobj(-15).decompress(wire + TAIL) == b"hello hello hello hello hello hello hello"


def test_rfc_7692_example_hello():
    # RFC 7692 section 7.2.3.1: "Hello" compressed is f2 48 cd c9 c9 07 00.
    _, server = pair()
    assert server.decode_message(TEXT, bytes.fromhex("f248cdc9c90700"), 100) == b"Hello"
    # 7.2.3.2: the same message twice with context takeover; the second refers back.
    assert server.decode_message(TEXT, bytes.fromhex("f200110000"), 100) == b"Hello"
    # 7.2.3.3: a stored (uncompressed) block.
    assert server.decode_message(TEXT, bytes.fromhex("000500faff48656c6c6f00"), 100) == b"Hello"


def test_context_takeover_shrinks_repeated_messages(zimpl):
    client, server = pair(zlib_impl=zimpl)
    message = chat_messages(1)[0]
    first, _ = client.encode_message(TEXT, message)
    second, _ = client.encode_message(TEXT, message)
    assert len(second) < len(first) // 2
    assert server.decode_message(TEXT, first, 1000) == message
    assert server.decode_message(TEXT, second, 1000) == message


def test_no_context_takeover_keeps_no_state(zimpl):
    client, server = pair(Agreement(True, True), zimpl)
    message = chat_messages(1)[0]
    first, _ = client.encode_message(TEXT, message)
    second, _ = client.encode_message(TEXT, message)
    assert first == second  # each message is a stream of its own
    assert server.decode_message(TEXT, second, 1000) == message  # decodable alone
    # An idle connection holds no zlib object (the memory saving).
    assert client._encoder is None and client._decoder is None
    assert server._encoder is None and server._decoder is None


def test_no_context_takeover_sends_incompressible_data_raw():
    client, _ = pair(Agreement(client_no_context_takeover=True))
    data = os.urandom(500)
    assert client.encode_message(BINARY, data) == (data, False)


def test_min_size():
    client, _ = pair(min_size=100)
    assert client.encode_message(TEXT, b"a" * 99) == (b"a" * 99, False)
    assert client.encode_message(TEXT, b"a" * 100)[1] is True


def test_window_8_is_never_compressed_but_is_inflated():
    # The client agreed to an 8-bit window: it cannot compress (zlib refuses
    # wbits=-8) so it sends raw; the server still inflates what it receives.
    client, server = pair(Agreement(client_max_window_bits=8))
    assert client.encode_message(TEXT, b"a" * 1000) == (b"a" * 1000, False)
    wire, rsv1 = server.encode_message(TEXT, b"a" * 1000)
    assert rsv1 and client.decode_message(TEXT, wire, 2000) == b"a" * 1000
    # A peer that "rounds 8 up to 9" is still understood.
    encoder = zlib.compressobj(6, zlib.DEFLATED, -9)
    data = (os.urandom(300) * 2)[:600]
    wire = encoder.compress(data) + encoder.flush(zlib.Z_SYNC_FLUSH)
    assert server.decode_message(BINARY, wire[:-4], 1000) == data


# ---- the size limit -------------------------------------------------------------------


def deflate(data: bytes, level: int = 9) -> bytes:
    encoder = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
    return (encoder.compress(data) + encoder.flush(zlib.Z_SYNC_FLUSH))[:-4]


@pytest.mark.parametrize("size", [0, 1, 1000, 65536, 1 << 20])
def test_limit_is_exact(size, zimpl):
    # websockets#1715: a message of exactly max_size passes, one byte more fails.
    _, server = pair(zlib_impl=zimpl)
    message = os.urandom(size // 2) + bytes(size - size // 2)
    wire = deflate(message)
    assert server.decode_message(BINARY, wire, size) == message
    if size:
        _, server = pair(zlib_impl=zimpl)
        with pytest.raises(MessageTooBig) as info:
            server.decode_message(BINARY, wire, size - 1)
        assert info.value.code == 1009


def zero_bomb(segments: int, segment_size: int) -> bytes:
    """A raw deflate payload inflating to segments * segment_size zero bytes.

    Sync-flushed segments are byte aligned and never final, so copies of one
    compressed segment concatenate into a single valid stream; deflate tops
    out at about 1032:1, so 1 KiB inflates to about 1 MiB and 1 MiB to 1 GiB.
    """
    encoder = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    segment = encoder.compress(bytes(segment_size)) + encoder.flush(zlib.Z_SYNC_FLUSH)
    return (segment * segments)[:-4]


@needs_tracemalloc
def test_bomb_1_kib_frame(zimpl):
    payload = zero_bomb(1, 1 << 20)  # about 1 KiB -> 1 MiB
    assert len(payload) <= 1100
    _, server = pair(zlib_impl=zimpl)
    limit = 64 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(MessageTooBig):
            server.decode_message(BINARY, payload, limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * limit  # the output stopped near the limit, not at 1 MiB


@needs_tracemalloc
def test_bomb_gigabyte_message(zimpl):
    payload = zero_bomb(64, 16 << 20)  # about 1 MiB -> 1 GiB
    assert len(payload) < 1 << 20  # fits the default frame limit
    _, server = pair(zlib_impl=zimpl)
    limit = 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(MessageTooBig) as info:
            server.decode_message(BINARY, payload, limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.code == 1009
    # Generous: the 1 MiB + 1 output and zlib's buffers; never near 1 GiB.
    assert peak < 8 * limit


def test_output_never_exceeds_limit_plus_one():
    seen = []

    class Spy:
        """A zlib decompressor that records the max_length it is given and what it returns."""

        def __init__(self) -> None:
            self.inner = zlib.decompressobj(-15)

        def decompress(self, data, max_length=0):
            out = self.inner.decompress(data, max_length)
            seen.append((max_length, len(out)))
            return out

        def __getattr__(self, name):
            return getattr(self.inner, name)

    impl = load("zlib")
    impl_spy = type("SpyImpl", (), {"name": "spy", "error": zlib.error, "sync_flush": zlib.Z_SYNC_FLUSH})()
    impl_spy.decompressobj = lambda bits: Spy()
    impl_spy.compressobj = impl.compressobj
    _, server = pair(zlib_impl=impl_spy)
    with pytest.raises(MessageTooBig):
        server.decode_message(BINARY, zero_bomb(4, 1 << 20), 5000)
    assert seen and all(0 < limit <= 5001 and got <= limit for limit, got in seen)
    assert sum(got for _, got in seen) <= 5001


# ---- corrupt input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xff\xff\xff",  # reserved block type 3
        b"\x01\x05\x00\x00\x00hello",  # stored block, LEN/NLEN mismatch
        bytes.fromhex("f248cdc9c90700") + b"\xfe\xff\xff",
    ],
)
def test_garbage_is_a_protocol_error(payload, zimpl):
    _, server = pair(zlib_impl=zimpl)
    with pytest.raises(ProtocolError) as info:
        server.decode_message(TEXT, payload, 1 << 20)
    assert info.value.code == 1002
    assert not isinstance(info.value, MessageTooBig)


@given(st.binary(max_size=300))
def test_random_bytes_never_escape_as_zlib_errors(payload):
    _, server = pair()
    try:
        out = server.decode_message(BINARY, payload, 4096)
    except MessageTooBig:
        return
    except ProtocolError as exc:
        assert exc.code == 1002
        return
    assert len(out) <= 4096


def test_final_block_is_accepted_and_resets_the_stream():
    # RFC 7692 section 7.2.3.3: a sender may end a message with BFINAL set.
    _, server = pair()
    encoder = zlib.compressobj(6, zlib.DEFLATED, -15)
    final = encoder.compress(b"first message") + encoder.flush()  # Z_FINISH: BFINAL
    assert server.decode_message(TEXT, final, 100) == b"first message"
    assert server.decode_message(TEXT, deflate(b"second message"), 100) == b"second message"


def test_data_after_the_final_block_is_refused():
    _, server = pair()
    encoder = zlib.compressobj(6, zlib.DEFLATED, -15)
    final = encoder.compress(b"message") + encoder.flush()
    with pytest.raises(ProtocolError):
        server.decode_message(TEXT, final + b"junk", 100)


def test_decoder_is_reset_after_an_error():
    # After an error the connection fails; the codec at least holds nothing.
    _, server = pair()
    with pytest.raises(ProtocolError):
        server.decode_message(TEXT, b"\xff\xff\xff\xff", 100)
    assert server._decoder is None


def test_bad_options():
    with pytest.raises(ValueError):
        PerMessageDeflate("peer", Agreement())
    with pytest.raises(ValueError):
        PerMessageDeflate("server", Agreement(), compress_level=12)
    with pytest.raises(ValueError):
        PerMessageDeflate("server", Agreement(), mem_level=0)
    with pytest.raises(ValueError):
        PerMessageDeflate("server", Agreement(), min_size=-5)


def test_zlib_impl_names():
    assert "zlib" in ZLIBS
    with pytest.raises(ValueError):
        load("brotli")


def test_zlib_choice():
    from wsframe.deflate import zlib_impl

    assert zlib_impl._choose("").name == "zlib"
    assert zlib_impl._choose("auto").name == ("zlib_ng" if "zlib_ng" in ZLIBS else "zlib")
    with pytest.raises(ValueError):
        zlib_impl._choose("lz4")


def test_backend_info_reports_the_deflate_zlib():
    import wsframe
    from wsframe.deflate import ZLIB

    assert wsframe.backend_info()["deflate"] == f"{ZLIB.name} {ZLIB.version}"


@given(
    st.sampled_from(AGREEMENTS),
    st.lists(st.one_of(st.binary(max_size=3000), st.text(max_size=500).map(str.encode)), max_size=12),
    st.integers(min_value=0, max_value=9),
)
def test_any_messages_round_trip(agreement, messages, level):
    client, server = pair(agreement, compress_level=level, min_size=0)
    for message in messages:
        for sender, receiver in ((client, server), (server, client)):
            wire, rsv1 = sender.encode_message(BINARY, message)
            assert (receiver.decode_message(BINARY, wire, len(message)) if rsv1 else wire) == message

"""Leak tests: many frames and connections, then memory back to its baseline.

A million frames through ``FrameParser`` (each backend) and ten thousand
client/server ``Connection`` pairs (handshake, messages, ping, close; every
other pair with permessage-deflate when available) must leave traced Python
memory (tracemalloc) and the process RSS within a generous bound of where
they started, and the compiled functions must not change the reference
counts of what they are given (a missing ``Py_DECREF`` or
``PyBuffer_Release`` shows up as a count growing with the number of calls).

The default counts keep the test quick; the full run of the issue is::

    WSFRAME_LEAK_FRAMES=1000000 WSFRAME_LEAK_CONNECTIONS=10000 \\
        PYTHONPATH=src python3 -m pytest tests/test_leaks.py -v

Environment:
    WSFRAME_LEAK_FRAMES: frames fed per parser test (default 100,000).
    WSFRAME_LEAK_CONNECTIONS: connection pairs (default 1,000).
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import Any, Callable, Iterator, List, Optional

import pytest

import wsframe
from wsframe.enums import Opcode

# tracemalloc and reference counts are CPython's: PyPy has neither, so the
# whole module is CPython-only.
tracemalloc = pytest.importorskip(
    "tracemalloc", reason="no tracemalloc on this interpreter (PyPy): CPython-only leak tests"
)

FRAMES = int(os.environ.get("WSFRAME_LEAK_FRAMES", "100000"))
CONNECTIONS = int(os.environ.get("WSFRAME_LEAK_CONNECTIONS", "1000"))

#: Growth of traced Python memory allowed after a run (caches, interned strings).
TRACED_BOUND = 512 * 1024
#: Growth of RSS allowed after a run: the allocator keeps freed arenas, so
#: this is generous; a leak of one frame (~200 B) per frame fed over a
#: million frames is 200 MB, far beyond it.
RSS_BOUND = 48 * 1024 * 1024
#: Reference count drift allowed over REFCOUNT_CALLS calls (a leak drifts by one per call).
REFCOUNT_CALLS = 5000
REFCOUNT_SLACK = 50


def rss_bytes() -> Optional[int]:
    """Resident set size of this process from /proc (None elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def under_asan() -> bool:
    """Whether AddressSanitizer is loaded (scripts/sanitize.sh): its quarantine
    keeps freed memory resident, so RSS says nothing about leaks there."""
    try:
        with open("/proc/self/maps") as f:
            return "libasan" in f.read()
    except OSError:
        return False


def load_codec(name: str) -> Any:
    """``wsframe._codec_c`` or ``_codec_py``; skip when the C one is not usable."""
    if name == "c":
        if os.environ.get("WSFRAME_NO_EXTENSIONS", "").strip().lower() in ("1", "true", "yes", "on"):
            pytest.skip("WSFRAME_NO_EXTENSIONS=1 (pure-only run)")
        try:
            return importlib.import_module("wsframe._codec_c")
        except ImportError as exc:
            pytest.skip(f"C extension not built: {exc}")
    return importlib.import_module("wsframe._codec_py")


@pytest.fixture(params=["c", "py"])
def codec(request: pytest.FixtureRequest) -> Any:
    return load_codec(request.param)


@pytest.fixture
def c_codec() -> Any:
    return load_codec("c")


class MemoryWatch:
    """Baselines of traced memory and RSS, taken after a warm-up."""

    def __enter__(self) -> "MemoryWatch":
        gc.collect()
        tracemalloc.start()
        self.traced0 = tracemalloc.get_traced_memory()[0]
        self.rss0 = rss_bytes()
        return self

    def __exit__(self, *exc: object) -> None:
        gc.collect()
        self.traced = tracemalloc.get_traced_memory()[0] - self.traced0
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rss = rss_bytes()
        self.rss = None if rss is None or self.rss0 is None else rss - self.rss0

    def check(self) -> None:
        # Shown with ``pytest -s``: the figures docs/hardening.md reports.
        rss = "n/a" if self.rss is None else f"{self.rss / 1024:+.0f} KiB"
        print(f"\n  traced memory {self.traced / 1024:+.1f} KiB (peak {self.peak / 1024:.0f} KiB), RSS {rss}")
        assert self.traced < TRACED_BOUND, f"traced memory grew by {self.traced} bytes"
        if self.rss is not None and not under_asan():
            assert self.rss < RSS_BOUND, f"RSS grew by {self.rss} bytes"


def client_frames(codec: Any) -> bytes:
    """100 masked client frames: text, binary, a fragmented text message, ping, pong."""
    out: List[bytes] = []
    for i in range(24):
        out.append(codec.encode_frame(Opcode.TEXT, ("héllo %d " % i).encode() * 10, mask=b"\x01\x02\x03\x04"))
        out.append(codec.encode_frame(Opcode.BINARY, bytes(range(i, i + 90)), mask=b"\xaa\xbb\xcc\xdd"))
        out.append(codec.encode_frame(Opcode.TEXT, "中文".encode(), fin=False, mask=b"\x00\x00\x00\x01"))
        out.append(codec.encode_frame(Opcode.CONTINUATION, b"end", mask=b"\x10\x20\x30\x40"))
    out.append(codec.encode_frame(Opcode.PING, b"p", mask=b"\x01\x01\x01\x01"))
    out.append(codec.encode_frame(Opcode.PONG, b"", mask=b"\x01\x01\x01\x01"))
    assert len(out) == 98
    out += [codec.encode_frame(Opcode.BINARY, b"", mask=b"\x05\x06\x07\x08")] * 2
    return b"".join(out)


def feed_frames(codec: Any, batch: bytes, frames: int, split: int) -> int:
    """Feed ``batch`` (100 frames) in pieces of ``split`` bytes until ``frames`` are done."""
    parser = codec.FrameParser(is_server=True)
    done = 0
    while done < frames:
        for start in range(0, len(batch), split):
            parser.feed(batch[start : start + split])
        done += 100
    assert parser.buffered == 0
    return done


@pytest.mark.slow
def test_parser_frames_memory_returns_to_baseline(codec: Any) -> None:
    batch = client_frames(codec)
    assert len(codec.FrameParser(is_server=True).feed(batch)) == 24 * 3 + 2 + 2  # messages, ping, pong, two empty
    feed_frames(codec, batch, 1000, 4096)  # warm-up: caches, enum members, free lists
    with MemoryWatch() as watch:
        done = feed_frames(codec, batch, FRAMES // 2, len(batch))  # whole batches
        done += feed_frames(codec, batch, FRAMES // 2, 1000)  # frames split across feeds
    assert done >= FRAMES
    watch.check()


@pytest.mark.slow
def test_parser_errors_do_not_leak(codec: Any) -> None:
    """Failing parsers (each error path) drop what they buffered."""
    bad = [
        b"\x81\x05hello",  # unmasked client frame
        codec.encode_frame(Opcode.TEXT, b"ok\xff", mask=b"\x01\x02\x03\x04"),
        codec.encode_frame(Opcode.TEXT, b"x" * 300, mask=b"\x01\x02\x03\x04"),
        codec.encode_frame(3, b"", mask=b"\x01\x02\x03\x04"),
        codec.encode_frame(Opcode.CLOSE, b"\x03\xe8\xc0", mask=b"\x01\x02\x03\x04"),
    ]
    good = codec.encode_frame(Opcode.BINARY, b"y" * 50, mask=b"\x01\x02\x03\x04")

    def run(count: int) -> None:
        for i in range(count):
            parser = codec.FrameParser(is_server=True, max_frame_size=200)
            with pytest.raises(wsframe.ProtocolError) as info:
                parser.feed(good * 3 + bad[i % len(bad)])
            assert len(info.value.frames) == 3

    run(100)
    with MemoryWatch() as watch:
        run(max(1000, FRAMES // 20))
    watch.check()


def connection_pair(deflate: bool) -> Iterator[Any]:
    """One client/server pair through a whole session; yields the two at the end."""
    factories_s: List[Any] = []
    factories_c: List[Any] = []
    if deflate:
        from wsframe.deflate import ClientPerMessageDeflate, ServerPerMessageDeflate

        factories_s, factories_c = [ServerPerMessageDeflate()], [ClientPerMessageDeflate()]
    server = wsframe.Connection("server", extension_factories=factories_s)
    client = wsframe.Connection("client", host="localhost", extension_factories=factories_c)

    def pump() -> None:
        for _ in range(4):
            server.receive_data(client.data_to_send())
            client.receive_data(server.data_to_send())

    pump()
    client.send_text("hello " * 20)
    client.send_binary(b"\x00" * 300, fragment_size=100)
    client.send_ping(b"p")
    pump()
    for event in server.events():
        if isinstance(event, wsframe.TextMessage):
            server.send_text(event.data)
    pump()
    client.close(1000, "bye")
    pump()
    client.events()
    server.events()
    assert server.should_close_transport, server
    client.receive_eof()
    server.receive_eof()
    yield server, client


def run_connections(count: int) -> None:
    try:
        importlib.import_module("wsframe.deflate")
        has_deflate = True
    except ImportError:
        has_deflate = False
    for i in range(count):
        for server, client in connection_pair(has_deflate and i % 2 == 1):
            assert server.close_code == 1000 and client.close_code == 1000


@pytest.mark.slow
def test_connections_memory_returns_to_baseline() -> None:
    run_connections(50)  # warm-up: imports, zlib, caches
    with MemoryWatch() as watch:
        run_connections(CONNECTIONS)
    watch.check()


# ---- reference counts of the compiled functions ----------------------------------


def assert_refcounts_stable(call: Callable[[], Any], *watched: Any) -> None:
    """``call()`` REFCOUNT_CALLS times; the counts of ``watched`` must not drift."""
    call()
    gc.collect()
    before = [sys.getrefcount(obj) for obj in watched]
    for _ in range(REFCOUNT_CALLS):
        call()
    gc.collect()
    after = [sys.getrefcount(obj) for obj in watched]
    for obj, b, a in zip(watched, before, after):
        assert abs(a - b) < REFCOUNT_SLACK, f"refcount of {type(obj).__name__} went {b} -> {a}"


def assert_fresh(make: Callable[[], Any]) -> None:
    """What ``make()`` returns is referenced by its receiver only (one local
    variable here; getrefcount's argument adds one)."""
    result = make()
    assert sys.getrefcount(result) == 2, (result, sys.getrefcount(result))


@pytest.mark.c_only
def test_refcounts_masking(c_codec: Any) -> None:
    data, key = b"\x00" * 300, b"abcd"
    view = memoryview(bytearray(300))
    assert_refcounts_stable(lambda: c_codec.apply_mask(data, key, 3), data, key, None)
    assert_refcounts_stable(lambda: c_codec.apply_mask(view[1:200], key), view)
    assert_fresh(lambda: c_codec.apply_mask(data, key))
    buf = bytearray(300)
    assert_refcounts_stable(lambda: c_codec.apply_mask_inplace(buf, key, 1), buf, key, None)
    # A buffer still exported after the call would make resizing fail (BufferError).
    buf.extend(b"x")
    for bad in (b"abc", 17):
        assert_refcounts_stable(
            lambda bad=bad: pytest.raises((ValueError, TypeError), c_codec.apply_mask, data, bad), data
        )
    buf.extend(b"y")


@pytest.mark.c_only
def test_refcounts_utf8(c_codec: Any) -> None:
    good, bad = "héllo wörld 中文".encode() * 20, b"abc\xffdef" * 20
    buf = bytearray(bad)
    assert_refcounts_stable(lambda: c_codec.validate_utf8(good), good, True, False)
    assert_refcounts_stable(lambda: c_codec.find_invalid_utf8(bad), bad)
    assert_refcounts_stable(lambda: c_codec.find_invalid_utf8(buf), buf)
    buf.extend(b"z")
    validator = c_codec.Utf8Validator()

    def feed_and_fail() -> None:
        validator.reset()
        validator.feed(good)
        with pytest.raises(wsframe.InvalidUTF8):
            validator.feed(bad)

    assert_refcounts_stable(feed_and_fail, good, bad, validator)


@pytest.mark.c_only
def test_refcounts_close_and_headers(c_codec: Any) -> None:
    payload, reason = b"\x03\xe8bye", "bye"
    assert_refcounts_stable(lambda: c_codec.decode_close_payload(payload), payload)
    assert_refcounts_stable(lambda: c_codec.encode_close_payload(1000, reason), reason)
    bad = b"\x03\xe8\xff"
    assert_refcounts_stable(lambda: pytest.raises(wsframe.InvalidUTF8, c_codec.decode_close_payload, bad), bad)
    header = b"\x82\xfe\x01\x00abcd"
    assert_refcounts_stable(lambda: c_codec.decode_frame_header(header), header)
    assert_fresh(lambda: c_codec.decode_frame_header(header))
    key = b"wxyz"
    assert_refcounts_stable(lambda: c_codec.encode_frame_header(2, 300, mask=key), key)
    body = b"q" * 1000
    assert_refcounts_stable(lambda: c_codec.encode_frame(2, body, mask=key), body, key)
    assert_refcounts_stable(lambda: c_codec.encode_frame(1, body, mask=True), body, True)
    assert_fresh(lambda: c_codec.encode_frame(2, body))


@pytest.mark.c_only
def test_refcounts_parser(c_codec: Any) -> None:
    batch = client_frames(c_codec)
    view = memoryview(bytearray(batch))
    parser = c_codec.FrameParser(is_server=True)
    assert_refcounts_stable(lambda: parser.feed(batch), batch, parser)
    assert_refcounts_stable(lambda: parser.feed(view[:1000]) + parser.feed(view[1000:]), view)
    assert_fresh(lambda: parser.feed(batch))
    frames = parser.feed(batch)
    frame = frames[0]
    del frames
    assert sys.getrefcount(frame) == 2  # `frame` and the argument: the list is gone
    payload = frame.payload
    assert sys.getrefcount(payload) == 3  # frame.payload, `payload`, the argument
    bad = b"\x81\x05hello"  # unmasked: an error, with frames riding on it

    def fail() -> None:
        p = c_codec.FrameParser(is_server=True)
        with pytest.raises(wsframe.ProtocolError):
            p.feed(batch + bad)

    assert_refcounts_stable(fail, batch, bad)

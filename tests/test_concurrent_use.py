"""One object, several threads at once: every call succeeds or raises RuntimeError.

The rule (docs/release.md, "Thread-safety contract") is one thread at a time
per stateful object, but no call sequence may crash the process. Issue 19
(defect 4): ``feed()`` on one compiled ``FrameParser`` from several threads
segfaulted, because the parser unmasks large chunks with the GIL released
while another thread's ``feed()`` reallocated the buffer being written. Now
each stateful object has a busy flag and a second concurrent call raises
``RuntimeError("<Class> is already in use by another thread")``, in both
backends and in the permessage-deflate codec.

The reproducer runs in a subprocess, so a crash is a failed test and not a
dead test run. The other tests hammer one shared object from several
threads (each thread loop has a deadline), check that every call either
gives its exact result or raises that RuntimeError, and that the object is
still correct afterwards when used from one thread.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import zlib
from types import ModuleType
from typing import Any, Callable, Dict, List, Sequence, Tuple

import pytest
from test_threads import fast_switching  # noqa: F401  (autouse: tiny switch interval here too)
from test_threads import run_threads

from wsframe import InvalidUTF8, Opcode, _reasons
from wsframe.deflate import PerMessageDeflate
from wsframe.deflate.params import Agreement
from wsframe.deflate.zlib_impl import ZlibImpl

#: How long each hammer test keeps its threads busy at most (seconds).
HAMMER_SECONDS = 1.5
#: A hammer stops early once every thread had this many successes and
#: this many calls were refused in all: enough evidence both ways.
ENOUGH_OK = 20
ENOUGH_BUSY = 20

BIG = 1 << 17  # payloads this long are unmasked and validated without the GIL (C backend)


def in_use(name: str) -> str:
    return _reasons.IN_USE.format(name)


# ---- the reproducer of issue 19, in a subprocess ----------------------------------

#: Three threads feed 4 MiB masked continuation frames into one parser; then
#: the message is finished from one thread and checked. Before the busy flag
#: the compiled backend died of SIGSEGV within a second or two.
REPRODUCER = r"""
import importlib, sys, threading, time
from wsframe import Opcode, _reasons
codec = importlib.import_module(sys.argv[1])
seconds = float(sys.argv[2])
sys.setswitchinterval(1e-6)
SIZE = 4 << 20
first = codec.encode_frame(Opcode.BINARY, b"x", fin=False, mask=True)
cont = codec.encode_frame(Opcode.CONTINUATION, bytes(SIZE), fin=False, mask=True)
last = codec.encode_frame(Opcode.CONTINUATION, b"", fin=True, mask=True)
message = _reasons.IN_USE.format("FrameParser")
deadline = time.monotonic() + seconds
rounds = busy = 0
while deadline > time.monotonic():
    parser = codec.FrameParser(is_server=True, max_frame_size=SIZE, max_message_size=1 << 30)
    assert parser.feed(first) == []
    fed = []

    def work():
        global busy
        for _ in range(4):
            try:
                assert parser.feed(cont) == []
                fed.append(SIZE)
            except RuntimeError as exc:
                assert str(exc) == message, exc
                busy += 1

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (frame,) = parser.feed(last)
    assert frame.payload == b"x" + bytes(sum(fed)), (len(frame.payload), sum(fed))
    rounds += 1
print("rounds", rounds, "refused", busy)
"""


def run_reproducer(module: str, seconds: float) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-c", REPRODUCER, module, str(seconds)],
        capture_output=True,
        text=True,
        timeout=120 + 10 * seconds,
    )


def test_issue19_parser_fed_from_three_threads_does_not_crash(backend: ModuleType) -> None:
    done = run_reproducer(backend.__name__, 2.0)
    assert done.returncode == 0, f"exit {done.returncode} (negative: killed by that signal)\n{done.stderr[-3000:]}"
    assert done.stdout.startswith("rounds "), done.stdout


# ---- hammering one object ---------------------------------------------------------


def hammer(calls: Sequence[Callable[[], Any]], name: str, seconds: float = HAMMER_SECONDS) -> Dict[str, int]:
    """Run ``calls[i]()`` over and over in thread ``i`` until the deadline.

    A call may return (its own checks passed) or raise the RuntimeError of a
    busy ``name`` object; anything else fails the test.

    Returns:
        {"ok": successful calls, "busy": refused calls}.
    """
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    ok = [0] * len(calls)
    busy = [0]
    message = in_use(name)

    def work(index: int) -> None:
        call = calls[index]
        while deadline > time.monotonic():
            try:
                call()
            except RuntimeError as exc:
                assert str(exc) == message, exc
                with lock:
                    busy[0] += 1
            else:
                ok[index] += 1
            with lock:
                if min(ok) >= ENOUGH_OK and busy[0] >= ENOUGH_BUSY:
                    return

    run_threads(work, len(calls))
    return {"ok": sum(ok), "busy": busy[0], "least_ok": min(ok)}


def assert_contended(counts: Dict[str, int]) -> None:
    """Both outcomes happened: calls ran, and concurrent calls were refused."""
    assert counts["least_ok"] > 0, counts
    assert counts["busy"] > 0, counts


def client_frames(codec: ModuleType) -> List[bytes]:
    """Complete masked frames, each one feed(): any order of them is a valid stream."""
    return [
        codec.encode_frame(Opcode.TEXT, "h\u00e9llo \U0001f600".encode() * (BIG // 8), mask=True),
        codec.encode_frame(Opcode.BINARY, bytes(range(256)) * (BIG // 256), mask=True),
        codec.encode_frame(Opcode.TEXT, b"small", mask=True)
        + codec.encode_frame(Opcode.PING, b"p", mask=True),
    ]


def test_parser_shared_by_threads(backend: ModuleType) -> None:
    parser = backend.FrameParser(is_server=True)
    wires = client_frames(backend)
    expected = [[(f.opcode, f.payload) for f in backend.FrameParser(is_server=True).feed(w)] for w in wires]

    def feeder(index: int) -> Callable[[], None]:
        def call() -> None:
            frames = parser.feed(wires[index])
            assert [(f.opcode, f.payload) for f in frames] == expected[index]

        return call

    def reconfigure() -> None:
        # Between whole frames these change nothing, but they would free the
        # buffers under another thread's feed() if they were let through.
        parser.feed_eof()
        parser.__init__(is_server=True)

    counts = hammer([feeder(0), feeder(1), feeder(2), reconfigure], "FrameParser")
    assert_contended(counts)
    assert not parser.failed
    # Still a working parser from one thread, byte by byte too.
    for wire, frames in zip(wires, expected):
        got = [(f.opcode, f.payload) for f in parser.feed(wire)]
        assert got == frames
    tail = wires[2]
    got = [frame for i in range(len(tail)) for frame in parser.feed(tail[i : i + 1])]
    assert [(f.opcode, f.payload) for f in got] == expected[2]
    parser.feed_eof()


def test_utf8_validator_shared_by_threads(backend: ModuleType) -> None:
    validator = backend.Utf8Validator()
    # Whole code points only, so every order of successful feeds is valid UTF-8.
    chunks = ["\u00e9t\u00e9 \u4e2d\u6587 ".encode() * (BIG // 8), b"ascii " * 10, "\U0001f600".encode()]
    fed = [0] * len(chunks)

    def feeder(index: int) -> Callable[[], None]:
        def call() -> None:
            validator.feed(chunks[index])
            fed[index] += len(chunks[index])  # only this thread writes fed[index]

        return call

    counts = hammer([feeder(i) for i in range(len(chunks))], "Utf8Validator")
    assert_contended(counts)
    assert validator.position == sum(fed) and validator.pending == 0
    validator.feed(b"", final=True)

    # reset() and __init__ against feeds: refused while another call runs.
    def restart() -> None:
        validator.reset()
        validator.__init__()

    counts = hammer([feeder(0), feeder(1), restart], "Utf8Validator")
    assert counts["least_ok"] > 0, counts
    validator.reset()
    bad = chunks[0] + b"\xc3\x28"
    with pytest.raises(InvalidUTF8) as info:
        validator.feed(bad)
    assert info.value.position == len(chunks[0])
    validator.reset()
    validator.feed(chunks[0][:1])
    assert validator.pending == 1


def test_apply_mask_inplace_while_another_thread_resizes(backend: ModuleType) -> None:
    # The compiled backend masks large buffers without the GIL: it must hold a
    # buffer export (which makes the resize raise BufferError), never a bare
    # pointer into storage that a resize may move or free.
    shared = bytearray(BIG * 4)
    key = b"\x01\x02\x03\x04"
    refused = [0]
    deadline = time.monotonic() + HAMMER_SECONDS

    def work(index: int) -> int:
        calls = 0
        while calls < 2000 and deadline > time.monotonic():
            if index == 0:
                try:
                    shared.extend(bytes(BIG))
                    del shared[-BIG:]
                except BufferError:
                    refused[0] += 1
            else:
                try:
                    backend.apply_mask_inplace(shared, key)
                    backend.apply_mask_inplace(memoryview(shared)[::2], key)
                except (BufferError, ValueError, MemoryError):
                    # PyPy's views do not pin a bytearray: a view of one that
                    # another thread resized raises on use (the pure twin says
                    # BufferError where it can). CPython never gets here.
                    if sys.implementation.name == "cpython":
                        raise
            calls += 1
        return calls

    assert all(run_threads(work, 3))
    del shared[BIG * 4 :]  # a refused del may have left an extension behind
    before = bytes(shared)
    backend.apply_mask_inplace(shared, key)
    assert bytes(shared) == backend.apply_mask(before, key)


class RecordingZlib(ZlibImpl):
    """The stdlib zlib, logging each compressed message as zlib produced it:
    (the payload given to ``compress``, the bytes of ``compress`` + ``flush``)."""

    def __init__(self) -> None:
        super().__init__("zlib", zlib, zlib.ZLIB_VERSION)
        self.log: List[Tuple[bytes, bytes]] = []

    def compressobj(self, level: int, window_bits: int, mem_level: int) -> Any:
        inner = super().compressobj(level, window_bits, mem_level)
        log = self.log

        class Recorder:
            def compress(self, data: bytes) -> bytes:
                self.data, self.out = data, inner.compress(data)
                return self.out

            def flush(self, mode: int) -> bytes:
                tail = inner.flush(mode)
                log.append((self.data, self.out + tail))
                return tail

        return Recorder()


def test_deflate_shared_by_threads() -> None:
    # No context takeover: each compressed message stands alone, so every
    # successful call is checked on its own, with a decompressor of its own.
    agreement = Agreement(server_no_context_takeover=True, client_no_context_takeover=True)
    sender = PerMessageDeflate("client", agreement)
    receiver = PerMessageDeflate("server", agreement)
    messages = [b"the same few words again and again " * (BIG // 32), bytes(BIG), b"x" * 4000]
    compressed = [sender.encode_message(Opcode.BINARY, m)[0] for m in messages]

    def encoder(index: int) -> Callable[[], None]:
        def call() -> None:
            data, rsv1 = sender.encode_message(Opcode.BINARY, messages[index])
            assert rsv1 and zlib.decompressobj(-15).decompress(data + b"\x00\x00\xff\xff") == messages[index]

        return call

    def decoder(index: int) -> Callable[[], None]:
        def call() -> None:
            assert receiver.decode_message(Opcode.BINARY, compressed[index], 1 << 22) == messages[index]

        return call

    assert_contended(hammer([encoder(0), encoder(1), decoder(0), decoder(2)], "PerMessageDeflate"))


def test_deflate_stream_shared_by_threads() -> None:
    # With context takeover one zlib stream spans the messages: interleaved
    # compress/flush calls of two threads would mix their bytes. The stream
    # as zlib wrote it must decode message by message to the payloads given.
    recording = RecordingZlib()
    sender = PerMessageDeflate("client", Agreement(), zlib_impl=recording)
    messages = [b"the same few words again and again " * (BIG // 32), bytes(BIG), b"x" * 4000]

    def encoder(index: int) -> Callable[[], None]:
        return lambda: sender.encode_message(Opcode.TEXT, messages[index])

    assert_contended(hammer([encoder(i) for i in range(len(messages))], "PerMessageDeflate"))
    inflate = zlib.decompressobj(-15)
    assert recording.log
    for payload, stream in recording.log:
        assert inflate.decompress(stream) == payload
    # Still sound from one thread, through a peer that saw the whole stream.
    data, _ = sender.encode_message(Opcode.TEXT, messages[0])
    assert inflate.decompress(data + b"\x00\x00\xff\xff") == messages[0]

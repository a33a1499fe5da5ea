"""Adapters: one callable per (implementation, operation), wsframe and peers alike.

Each adapter turns benchmark inputs into a ``Prepared`` call whose result the
runner checks once before timing it, so a peer that silently does something
else (or a broken kernel) shows up as "wrong answer", never as a fast number.
The pytest-benchmark suite in ``benchmarks/`` uses the same adapters.

Operations (and what ``prepare`` receives):

* ``mask_inplace`` (buf: bytearray, key): XOR ``buf`` in place (RFC 6455 5.3);
* ``mask_copy`` (data: bytes, key): return a new masked bytes;
* ``utf8`` (data: bytes): say whether ``data`` is valid UTF-8;
* ``parse`` (stream: bytes, count): parse ``count`` masked text frames fed in
  one call, with full validation (UTF-8 included); return the frame count;
* ``encode`` (payload: bytes): one unmasked binary frame (server side).

Peers are imported lazily and defensively: a missing or incompatible one is
listed with the reason instead of failing the run.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .payloads import frame_header

__all__ = [
    "OPERATIONS",
    "Adapter",
    "Prepared",
    "Unsupported",
    "adapters",
    "load_backend",
    "STREAM_CHUNK",
]

OPERATIONS: Tuple[str, ...] = ("mask_inplace", "mask_copy", "utf8", "parse", "encode")

#: Chunk size of the incremental UTF-8 benchmarks (the issue's target is for 4 KiB).
STREAM_CHUNK = 4096

_OP_BINARY = 0x2


class Unsupported(Exception):
    """An adapter cannot run this input (e.g. numpy needs a multiple of 8 bytes)."""


@dataclass
class Prepared:
    """A call ready to be timed: ``func(*args)``.

    ``output`` (optional) returns what the last call produced when ``func``
    itself returns nothing useful (writers that push bytes into a transport).
    """

    func: Callable[..., Any]
    args: Tuple[Any, ...]
    output: Optional[Callable[[], Any]] = None


@dataclass
class Adapter:
    """One implementation of one operation.

    Attributes:
        op: one of OPERATIONS.
        impl: display name ("wsframe C", "aiohttp", "memcpy", ...).
        kind: "wsframe", "peer" or "reference" (physical lower bounds).
        prepare: builds a Prepared call from the inputs of ``op``.
        note: what exactly is measured, when it is not obvious.
        checked: False for references whose output is not the operation's
            answer (a plain copy is not a masked copy).
    """

    op: str
    impl: str
    kind: str
    prepare: Callable[..., Prepared]
    note: str = ""
    checked: bool = True


@dataclass
class _Catalog:
    """Adapters found so far, and why some implementations are missing."""

    adapters: List[Adapter] = field(default_factory=list)
    missing: Dict[str, str] = field(default_factory=dict)

    def add(self, op: str, impl: str, kind: str, prepare: Callable[..., Prepared], note: str = "", checked: bool = True) -> None:
        self.adapters.append(Adapter(op, impl, kind, prepare, note, checked))


# ---- wsframe backends -------------------------------------------------------


def load_backend(name: str) -> Tuple[Optional[Any], Optional[str]]:
    """Import ``wsframe._codec_c`` ("c") or ``wsframe._codec_py`` ("py") explicitly.

    Returns:
        (module, None), or (None, why it is not available).
    """
    modname = "wsframe._codec_c" if name == "c" else "wsframe._codec_py"
    if name == "c" and os.environ.get("WSFRAME_NO_EXTENSIONS", "").strip().lower() in {"1", "true", "yes", "on"}:
        return None, "disabled by WSFRAME_NO_EXTENSIONS=1"
    try:
        return importlib.import_module(modname), None
    except Exception as exc:  # ImportError, or a forced SIMD level the CPU lacks
        return None, f"{type(exc).__name__}: {exc}"


def _stream_validator(mod: Any, error: type) -> Callable[[Sequence[Any]], bool]:
    """Feed chunks to a fresh ``mod.Utf8Validator``; True when all valid."""
    validator_cls = mod.Utf8Validator

    def run(chunks: Sequence[Any]) -> bool:
        feed = validator_cls().feed
        try:
            for chunk in chunks[:-1]:
                feed(chunk)
            feed(chunks[-1], True)
        except error:
            return False
        return True

    return run


def _chunks(data: bytes) -> List[memoryview]:
    view = memoryview(data)
    return [view[i : i + STREAM_CHUNK] for i in range(0, max(len(data), 1), STREAM_CHUNK)]


def _add_wsframe(cat: _Catalog, label: str, mod: Any) -> None:
    from wsframe.errors import InvalidUTF8

    impl = f"wsframe {label}"
    cat.add("mask_inplace", impl, "wsframe", lambda buf, key: Prepared(mod.apply_mask_inplace, (buf, key)))
    cat.add("mask_copy", impl, "wsframe", lambda data, key: Prepared(mod.apply_mask, (data, key)))
    cat.add("utf8", impl, "wsframe", lambda data: Prepared(mod.validate_utf8, (data,)))
    stream = _stream_validator(mod, InvalidUTF8)
    cat.add(
        "utf8",
        f"{impl} stream",
        "wsframe",
        lambda data: Prepared(stream, (_chunks(data),)),
        note=f"Utf8Validator fed {STREAM_CHUNK // 1024} KiB chunks",
    )

    def parse(stream_bytes: bytes, count: int) -> Prepared:
        parser = mod.FrameParser(is_server=True)
        return Prepared(parser.feed, (stream_bytes,))

    cat.add("parse", impl, "wsframe", parse, note="FrameParser(is_server=True).feed(all frames)")
    cat.add("encode", impl, "wsframe", lambda payload: Prepared(mod.encode_frame, (_OP_BINARY, payload)))


# ---- references: what the hardware and CPython give for free ---------------


def _decoder(valid: bool) -> Callable[[bytes], Any]:
    if valid:
        return bytes.decode  # utf-8, strict: the fastest possible call

    def decode_or_false(data: bytes) -> Any:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return False

    return decode_or_false


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _add_references(cat: _Catalog) -> None:
    cat.add(
        "mask_copy",
        "memcpy",
        "reference",
        lambda data, key: Prepared(bytes, (memoryview(data),)),
        note="bytes(memoryview(data)): a plain copy of the same size",
        checked=False,
    )
    cat.add(
        "mask_inplace",
        "memcpy",
        "reference",
        lambda buf, key: Prepared(bytes, (memoryview(buf),)),
        note="bytes(memoryview(buf)): a plain copy of the same size",
        checked=False,
    )
    cat.add("utf8", "bytes.decode", "reference", lambda data: Prepared(_decoder(_is_utf8(data)), (data,)))

    def incremental(data: bytes) -> Prepared:
        import codecs

        factory = codecs.getincrementaldecoder("utf-8")

        def run(chunks: Sequence[Any]) -> bool:
            decode = factory().decode
            try:
                for chunk in chunks[:-1]:
                    decode(chunk)
                decode(chunks[-1], True)
            except UnicodeDecodeError:
                return False
            return True

        return Prepared(run, (_chunks(data),))

    cat.add("utf8", "bytes.decode stream", "reference", incremental, note="codecs incremental decoder, 4 KiB chunks")

    def concat(payload: bytes) -> Prepared:
        header = frame_header(_OP_BINARY, len(payload))
        return Prepared(header.__add__, (payload,))

    cat.add("encode", "bytes concat", "reference", concat, note="header + payload: one allocation and copy")

    try:
        import numpy as np
    except ImportError as exc:
        cat.missing["numpy"] = str(exc)
        return

    def numpy_xor(buf: bytearray, key: bytes) -> Prepared:
        if len(buf) % 8:
            raise Unsupported("numpy uint64 XOR needs a multiple of 8 bytes")
        words = np.frombuffer(buf, dtype=np.uint64)
        key64 = np.frombuffer(key * 2, dtype=np.uint64)[0]
        return Prepared(words.__ixor__, (key64,))

    cat.add("mask_inplace", "numpy", "reference", numpy_xor, note="numpy in-place uint64 XOR")


# ---- peers ---------------------------------------------------------------------


def _add_websockets(cat: _Catalog) -> None:
    try:
        from websockets import frames as ws_frames
        from websockets import utils as ws_utils
        from websockets.protocol import OPEN, Protocol, Side
    except ImportError as exc:
        cat.missing["websockets"] = str(exc)
        return
    try:
        from websockets.speedups import apply_mask as fast_mask
    except ImportError as exc:
        cat.missing["websockets (speedups)"] = str(exc)
    else:
        cat.add("mask_copy", "websockets", "peer", lambda data, key: Prepared(fast_mask, (data, key)), note="websockets.speedups.apply_mask")
    cat.add("mask_copy", "websockets py", "peer", lambda data, key: Prepared(ws_utils.apply_mask, (data, key)), note="websockets.utils.apply_mask")

    text_op = ws_frames.Opcode.TEXT

    def parser(pure: bool) -> Callable[[bytes, int], Prepared]:
        def prepare(stream_bytes: bytes, count: int) -> Prepared:
            proto = Protocol(Side.SERVER, state=OPEN, max_size=None)

            def run(data: bytes) -> int:
                saved = ws_frames.apply_mask
                if pure:  # websockets' own pure path, as without its C speedups
                    ws_frames.apply_mask = ws_utils.apply_mask
                try:
                    proto.receive_data(data)
                finally:
                    ws_frames.apply_mask = saved
                events = proto.events_received()
                for frame in events:  # the connection layer decodes text (validation)
                    if frame.opcode is text_op:
                        frame.data.decode()
                return len(events)

            return Prepared(run, (stream_bytes,))

        return prepare

    note = "Protocol.receive_data + events_received, then decode() of each text frame"
    if "websockets (speedups)" not in cat.missing:
        cat.add("parse", "websockets", "peer", parser(False), note=note)
    cat.add("parse", "websockets py", "peer", parser(True), note=note + " (pure apply_mask)")

    ws_frame = ws_frames.Frame
    binary = ws_frames.Opcode.BINARY

    def encode(payload: bytes) -> bytes:
        return ws_frame(binary, payload).serialize(mask=False)

    cat.add("encode", "websockets", "peer", lambda payload: Prepared(encode, (payload,)), note="Frame(...).serialize(mask=False)")


class _AiohttpProtocolStub:
    """The few attributes aiohttp's reader and writer look at on their protocol."""

    _reading_paused = True  # never ask us to pause: nothing reads the queue here
    _paused = False  # the writer waits for drain only when paused

    def pause_reading(self) -> None:  # pragma: no cover - not reached with _reading_paused
        pass

    def resume_reading(self) -> None:  # pragma: no cover
        pass

    async def _drain_helper(self) -> None:
        return None


class _SinkTransport:
    """An asyncio-transport look-alike that keeps the last bytes written."""

    def __init__(self) -> None:
        self.last: bytes = b""

    def write(self, data: bytes) -> None:
        self.last = data

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 1  # non-zero: picows then hands bytes to write() instead of send(2)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return _FakeSocket() if name == "socket" else default


class _FakeSocket:
    """Enough of a socket for picows' connection_made (never sent to)."""

    def fileno(self) -> int:
        return -1

    def setsockopt(self, *args: Any) -> None:
        return None

    def getsockopt(self, *args: Any) -> int:
        return 0


def _add_aiohttp(cat: _Catalog) -> None:
    try:
        from aiohttp._websocket import helpers as aio_helpers
    except ImportError as exc:
        cat.missing["aiohttp"] = str(exc)
        return
    # The compiled mask moved between versions; look in the known places.
    fast_mask = None
    for where in ("aiohttp._websocket.mask", "aiohttp._websocket.helpers", "aiohttp.http_websocket"):
        try:
            fast_mask = getattr(importlib.import_module(where), "_websocket_mask_cython", None)
        except ImportError:
            continue
        if fast_mask is not None:
            break
    if fast_mask is not None:
        cat.add("mask_inplace", "aiohttp", "peer", lambda buf, key: Prepared(fast_mask, (key, buf)), note="compiled _websocket_mask_cython")
    else:
        cat.missing["aiohttp (compiled mask)"] = "no _websocket_mask_cython in this aiohttp"
    pure_mask = getattr(aio_helpers, "_websocket_mask_python", None)
    if pure_mask is not None:
        cat.add("mask_inplace", "aiohttp py", "peer", lambda buf, key: Prepared(pure_mask, (key, buf)), note="_websocket_mask_python")

    def reader(module: str) -> Optional[Callable[[bytes, int], Prepared]]:
        try:
            mod = importlib.import_module(module)
            queue_cls, reader_cls = mod.WebSocketDataQueue, mod.WebSocketReader
        except (ImportError, AttributeError):
            return None

        def prepare(stream_bytes: bytes, count: int) -> Prepared:
            stub = _AiohttpProtocolStub()

            def run(data: bytes) -> int:
                # A fresh reader per call: its queue only drains through an
                # async read(); construction costs about a microsecond, under
                # 0.1 % of 10,000 frames.
                queue = queue_cls(stub, 1 << 30, loop=None)
                reader_cls(queue, 1 << 20, False, True).feed_data(data)
                return len(queue._buffer)

            return Prepared(run, (stream_bytes,))

        return prepare

    note = "WebSocketReader(decode_text=True).feed_data(all frames)"
    compiled = reader("aiohttp._websocket.reader_c")
    if compiled is not None:
        cat.add("parse", "aiohttp", "peer", compiled, note=note)
    else:
        cat.missing["aiohttp (compiled reader)"] = "aiohttp._websocket.reader_c not importable"
    pure = reader("aiohttp._websocket.reader_py")
    if pure is not None:
        cat.add("parse", "aiohttp py", "peer", pure, note=note)

    try:
        from aiohttp._websocket.writer import WebSocketWriter
    except ImportError as exc:
        cat.missing["aiohttp (writer)"] = str(exc)
        return

    def encode(payload: bytes) -> Prepared:
        sink = _SinkTransport()
        send_frame = WebSocketWriter(_AiohttpProtocolStub(), sink, use_mask=False).send_frame  # type: ignore[arg-type]

        def run(data: bytes) -> None:
            coro = send_frame(data, _OP_BINARY)
            try:
                coro.send(None)  # completes without suspending: no compression, no drain wait
            except StopIteration:
                pass

        return Prepared(run, (payload,), output=lambda: sink.last)

    cat.add("encode", "aiohttp", "peer", encode, note="WebSocketWriter.send_frame driven without a loop")


def _add_wsproto(cat: _Catalog) -> None:
    try:
        from wsproto.frame_protocol import FrameProtocol, XorMaskerSimple
    except ImportError as exc:
        cat.missing["wsproto"] = str(exc)
        return
    cat.add("mask_copy", "wsproto", "peer", lambda data, key: Prepared(XorMaskerSimple(key).process, (data,)), note="XorMaskerSimple.process (pure Python)")

    def parse(stream_bytes: bytes, count: int) -> Prepared:
        proto = FrameProtocol(client=False, extensions=[])

        def run(data: bytes) -> int:
            proto.receive_bytes(data)
            n = 0
            for _ in proto.received_frames():  # text frames are decoded (validated) here
                n += 1
            return n

        return Prepared(run, (stream_bytes,))

    cat.add("parse", "wsproto", "peer", parse, note="FrameProtocol.receive_bytes + received_frames")
    cat.add("encode", "wsproto", "peer", lambda payload: Prepared(FrameProtocol(client=False, extensions=[]).send_data, (payload,)), note="FrameProtocol.send_data")


def _add_wsaccel(cat: _Catalog) -> None:
    try:
        from wsaccel.utf8validator import Utf8Validator
        from wsaccel.xormask import XorMaskerSimple
    except ImportError as exc:
        cat.missing["wsaccel"] = str(exc)
        return
    cat.add("mask_copy", "wsaccel", "peer", lambda data, key: Prepared(XorMaskerSimple(key).process, (data,)), note="XorMaskerSimple.process")

    def utf8(data: bytes) -> Prepared:
        validator = Utf8Validator()

        def run(buf: bytes) -> bool:
            validator.reset()
            valid, complete = validator.validate(buf)[:2]
            return bool(valid and complete)

        return Prepared(run, (data,))

    cat.add("utf8", "wsaccel", "peer", utf8, note="Utf8Validator.validate after reset()")


def _add_tornado(cat: _Catalog) -> None:
    try:
        from tornado.speedups import websocket_mask
    except ImportError as exc:
        cat.missing["tornado"] = str(exc)
        return
    cat.add("mask_copy", "tornado", "peer", lambda data, key: Prepared(websocket_mask, (key, data)), note="tornado.speedups.websocket_mask")


def _add_picows(cat: _Catalog) -> None:
    try:
        from picows import picows as pw
    except ImportError as exc:
        cat.missing["picows"] = str(exc)
        return
    cat.missing["picows (mask, UTF-8)"] = "no Python-level mask or UTF-8 function; measured in parse and encode"
    logger = logging.getLogger("wsframe.bench.picows")
    logger.disabled = True

    class Sink(pw.WSListener):  # type: ignore[misc,name-defined]
        """Counts frames and decodes text ones, as an application would."""

        count = 0

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type == pw.WSMsgType.TEXT:
                frame.get_payload_as_utf8_text()  # picows does not validate by itself
            self.count += 1

    def new_protocol(listener: Any) -> Any:
        async def build() -> Any:
            return pw.WSProtocol(
                None, "/", False, lambda request: listener, logger, False, None,
                False, 20.0, 10.0, pw.WSAutoPingStrategy.PING_WHEN_IDLE, False,
                1 << 20, None, 1 << 21,
            )

        loop = asyncio.new_event_loop()
        try:
            proto = loop.run_until_complete(build())
            proto.connection_made(_SinkTransport())
            handshake = (
                b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            _picows_feed(proto, handshake)
        finally:
            loop.close()
        return proto

    def parse(stream_bytes: bytes, count: int) -> Prepared:
        listener = Sink()
        proto = new_protocol(listener)

        def run(data: bytes) -> int:
            before = listener.count
            _picows_feed(proto, data)
            return listener.count - before

        return Prepared(run, (stream_bytes,))

    cat.add("parse", "picows", "peer", parse, note="WSProtocol.get_buffer/buffer_updated (no socket) + get_payload_as_utf8_text")

    def encode(payload: bytes) -> Prepared:
        loop = asyncio.new_event_loop()
        sink = _SinkTransport()
        try:
            transport = pw.WSTransport(False, sink, logger, loop)
        finally:
            loop.close()
        return Prepared(transport.send, (pw.WSMsgType.BINARY, payload), output=lambda: sink.last)

    cat.add("encode", "picows", "peer", encode, note="WSTransport.send into an in-memory transport")


def _picows_feed(proto: Any, data: bytes) -> None:
    """Copy ``data`` into picows' read buffer as the event loop would."""
    view = memoryview(data)
    pos, end = 0, len(data)
    while pos < end:
        target = proto.get_buffer(-1)
        n = min(len(target), end - pos)
        target[:n] = view[pos : pos + n]
        proto.buffer_updated(n)
        pos += n


# ---- the catalogue -----------------------------------------------------------------

_PEER_LOADERS = (_add_websockets, _add_aiohttp, _add_wsproto, _add_wsaccel, _add_tornado, _add_picows)


def adapters(backends: Sequence[str] = ("c", "py"), peers: bool = True) -> Tuple[List[Adapter], Dict[str, str]]:
    """Every adapter that can run here, and the reasons for those that cannot.

    Args:
        backends: wsframe backends to include ("c", "py").
        peers: include third-party libraries (references are always included).

    Returns:
        (adapters, {implementation: why it is missing}).
    """
    cat = _Catalog()
    for name in backends:
        mod, why = load_backend(name)
        label = "C" if name == "c" else "py"
        if mod is None:
            cat.missing[f"wsframe {label}"] = why or "unavailable"
        else:
            _add_wsframe(cat, label, mod)
    _add_references(cat)
    if peers:
        for loader in _PEER_LOADERS:
            try:
                loader(cat)
            except Exception as exc:  # an incompatible peer version must not stop the run
                cat.missing[loader.__name__[5:]] = f"{type(exc).__name__}: {exc}"
    return cat.adapters, cat.missing

"""aiohttp: compiled and pure mask, compiled and pure WebSocketReader, WebSocketWriter."""

from __future__ import annotations

from typing import Callable, Optional

from ._base import OP_BINARY, Catalog, Prepared, load
from .fakes import AiohttpProtocolStub, SinkTransport

__all__ = ["add_aiohttp"]


def add_aiohttp(cat: Catalog) -> None:
    """Add aiohttp's masks (compiled, pure), readers (compiled, pure) and writer."""
    try:
        aio_helpers = load("aiohttp._websocket.helpers")
    except ImportError as exc:
        cat.missing["aiohttp"] = str(exc)
        return
    # The compiled mask moved between versions; look in the known places.
    fast_mask = None
    for where in ("aiohttp._websocket.mask", "aiohttp._websocket.helpers", "aiohttp.http_websocket"):
        try:
            fast_mask = getattr(load(where), "_websocket_mask_cython", None)
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
            mod = load(module)
            queue_cls, reader_cls = mod.WebSocketDataQueue, mod.WebSocketReader
            # aiohttp < 3.14 has no decode_text argument: no like-for-like reader.
            reader_cls(queue_cls(AiohttpProtocolStub(), 1 << 30, loop=None), 1 << 20, False, True)
        except (ImportError, AttributeError, TypeError):
            return None

        def prepare(stream_bytes: bytes, count: int) -> Prepared:
            stub = AiohttpProtocolStub()

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
        cat.missing["aiohttp (compiled reader)"] = "aiohttp._websocket.reader_c not importable (or aiohttp < 3.14)"
    pure = reader("aiohttp._websocket.reader_py")
    if pure is not None:
        cat.add("parse", "aiohttp py", "peer", pure, note=note)

    try:
        WebSocketWriter = load("aiohttp._websocket.writer").WebSocketWriter
    except ImportError as exc:
        cat.missing["aiohttp (writer)"] = str(exc)
        return

    def encode(payload: bytes) -> Prepared:
        sink = SinkTransport()
        send_frame = WebSocketWriter(AiohttpProtocolStub(), sink, use_mask=False).send_frame

        def run(data: bytes) -> None:
            coro = send_frame(data, OP_BINARY)
            try:
                coro.send(None)  # completes without suspending: no compression, no drain wait
            except StopIteration:
                pass

        return Prepared(run, (payload,), output=lambda: sink.last)

    cat.add("encode", "aiohttp", "peer", encode, note="WebSocketWriter.send_frame driven without a loop")

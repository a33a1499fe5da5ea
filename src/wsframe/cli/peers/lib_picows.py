"""picows, driven without a socket: its BufferedProtocol is fed through
get_buffer/buffer_updated after an in-memory handshake, and its transport
writes into a sink."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ._base import Catalog, Prepared, load
from .fakes import SinkTransport

__all__ = ["add_picows"]


def add_picows(cat: Catalog) -> None:
    """Add picows' parser (WSProtocol) and writer (WSTransport.send)."""
    try:
        pw = load("picows.picows")
    except ImportError as exc:
        cat.missing["picows"] = str(exc)
        return
    cat.missing["picows (mask, UTF-8)"] = "no Python-level mask or UTF-8 function; measured in parse and encode"
    logger = logging.getLogger("wsframe.bench.picows")
    logger.disabled = True

    listener_base: Any = pw.WSListener

    class Sink(listener_base):  # type: ignore[misc, unused-ignore]
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
            proto.connection_made(SinkTransport())
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
        sink = SinkTransport()
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

"""tornado's WebSocket frame reading and writing on wsframe's compiled codec.

tornado's ``WebSocketProtocol13._receive_frame`` reads every frame with 3-4
awaited ``IOStream.read_bytes`` calls (header, extended length, mask,
payload), each a Future and a pass through the stream's buffer, then unpacks
with ``struct`` and unmasks in Python. :func:`make_receive_frame_loop` makes
a ``_receive_frame_loop`` that reads whatever the stream has
(``read_bytes(65536, partial=True)``, or the exact rest of a frame whose
header is in), feeds :class:`wsframe.FrameParser` and, for each frame, does
tornado's per-frame bookkeeping (RSV1 and the compression flag, the message
size check, fragment assembly, the wire byte count, the yield every 256 KiB)
before calling tornado's own ``_handle_message`` (decompression, UTF-8
decoding, ``on_message``, ping/pong, awaiting a coroutine handler).

The rule that keeps tornado's behaviour exact, as for websockets: the
compiled parser only ever *accepts* frames. When it rejects one, or a frame
is anything tornado could judge differently (an RSV bit tornado aborts on, a
frame over ``max_message_size`` counting the fragments so far, a frame
larger than the stream's buffer, a close frame, a control frame whose length
uses the 16- or 64-bit form, a continuation tornado has no message for, a
new message inside one), the rest of the stream, from that
frame's first byte, goes to tornado's original loop and ``_receive_frame``:
the bytes already taken from the stream are served first by a per-connection
``_read_bytes``. tornado then aborts, closes with 1009 or handles the close
frame itself, at the same point and with the same code.

:func:`make_write_frame` builds each frame with :func:`wsframe.encode_frame`
(mask from ``os.urandom(4)`` on the client side, as tornado) after tornado's
own control-frame checks.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from typing import Any, Awaitable, Callable, List, Tuple

import wsframe
from wsframe.errors import ProtocolError as _WsframeError

__all__ = ["make_receive_frame_loop", "make_write_frame", "swaps_for"]

# Larger than any frame a bytes object can hold: "no limit" for FrameParser.
_UNLIMITED = (1 << 63) - 1
#: Bytes asked of the stream per read when no frame is in progress.
READ_SIZE = 65536
_CLOSE = 0x8


def _header_size(code: int, masked: bool) -> int:
    """Bytes before the payload, from the 7-bit length code (RFC 6455 5.2)."""
    return (2 if code < 126 else 4 if code == 126 else 10) + (4 if masked else 0)


def _serve_first(protocol: Any, leftover: bytes) -> None:
    """Make ``protocol._read_bytes`` return ``leftover`` before reading the stream.

    The fast loop took these bytes from the IOStream and did not use them;
    tornado's own ``_receive_frame`` must see them first, counted in
    ``_wire_bytes_in`` as it counts every read. The instance attribute goes
    away once they are used up, leaving tornado's method.
    """
    if not leftover:
        return
    held = [leftover]

    async def _read_bytes(n: int) -> bytes:
        data = held[0]
        if len(data) >= n:
            chunk, held[0] = data[:n], data[n:]
        else:
            held[0] = b""
            chunk = data + await protocol.stream.read_bytes(n - len(data))
        if not held[0]:
            vars(protocol).pop("_read_bytes", None)
        protocol._wire_bytes_in += n
        return chunk

    protocol._read_bytes = _read_bytes


def _rest(pending: bytes, data: bytes, pos: int) -> bytes:
    """``(pending + data)[pos:]``, copying only what is kept."""
    held = len(pending)
    if pos >= held:
        return data[pos - held :]  # the whole of data is data itself, not a copy
    return pending[pos:] + data


class _Handback(Exception):
    """Internal: tornado's own reader takes over from ``leftover``."""

    def __init__(self, leftover: bytes) -> None:
        super().__init__()
        self.leftover = leftover


def make_receive_frame_loop(original: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
    """``WebSocketProtocol13._receive_frame_loop`` on FrameParser; ``original`` is tornado's."""
    websocket = importlib.import_module("tornado.websocket")
    StreamClosedError = importlib.import_module("tornado.iostream").StreamClosedError
    yield_threshold: int = websocket._YIELD_THRESHOLD
    frame_cost: int = websocket._FRAME_YIELD_COST

    def acceptable(self: Any, opcode: int, rsv1: bool, rsv2: bool, rsv3: bool, length: int) -> bool:
        """Whether tornado would go on to read this frame's payload and keep
        the connection: the checks ``_receive_frame`` makes on the header."""
        if rsv2 or rsv3 or opcode == _CLOSE:
            return False
        if rsv1 and (opcode == 0 or self._decompressor is None):
            return False
        buffered = self._fragmented_message_buffer
        if length + (0 if buffered is None else len(buffered)) > self.params.max_message_size:
            return False
        limit: int = self.stream.max_buffer_size
        return length <= limit

    async def fast(self: Any) -> None:
        """Read and handle frames until the connection ends or tornado must take over."""
        stream = self.stream
        parser = wsframe.FrameParser(
            is_server=not self.mask_outgoing,
            max_frame_size=_UNLIMITED,
            max_message_size=_UNLIMITED,
            max_fragments=_UNLIMITED,
            reassemble=False,
            validate_utf8=False,  # tornado decodes text itself
            rsv_allowed=(True, True, True),  # RSV policy stays tornado's
        )
        masked = not self.mask_outgoing
        pending = b""  # bytes fed to the parser that do not finish a frame yet
        need = 0  # bytes still missing from the frame in progress (0: unknown)
        work = 0
        while not self.client_terminated:
            if need:
                data = await stream.read_bytes(need)
            else:
                data = await stream.read_bytes(READ_SIZE, partial=True)
            held = len(pending)  # the stream so far is pending + data, never joined unless needed
            try:
                frames, broken = parser.feed(data), False
            except _WsframeError as exc:
                frames, broken = exc.frames, True
            pos = 0  # where the next frame starts in pending + data
            for item in frames:
                if self.client_terminated:
                    return  # tornado stops reading here: the rest is dropped
                payload = item.payload
                opcode = item.opcode
                length = len(payload)
                code = (data[pos + 1 - held] if pos + 1 >= held else pending[pos + 1]) & 0x7F
                size = _header_size(code, masked) + length
                buffered = self._fragmented_message_buffer
                if not acceptable(self, opcode, item.rsv1, item.rsv2, item.rsv3, length) or (
                    (buffered is None) if opcode == 0 else (buffered is not None if opcode < 8 else code >= 126)
                ):
                    raise _Handback(_rest(pending, data, pos))
                pos += size
                if opcode and self._decompressor is not None:
                    self._frame_compressed = item.rsv1
                self._wire_bytes_in += size
                if opcode == 0:
                    buffered.extend(payload)
                    if item.fin:
                        opcode = self._fragmented_message_opcode
                        payload = bytes(buffered)
                        self._fragmented_message_buffer = None
                elif opcode < 8 and not item.fin:
                    self._fragmented_message_opcode = opcode
                    self._fragmented_message_buffer = bytearray(payload)
                if item.fin:
                    handled = self._handle_message(opcode, payload)
                    if handled is not None:
                        await handled
                work += frame_cost + size
                if work >= yield_threshold:
                    work = 0
                    await asyncio.sleep(0)
            if broken:
                raise _Handback(_rest(pending, data, pos))
            pending = _rest(pending, data, pos)
            need = 0
            if pending:
                need = _missing(self, pending, masked, acceptable)

    async def _receive_frame_loop(self: Any) -> None:
        try:
            await fast(self)
        except _Handback as handback:
            _serve_first(self, handback.leftover)
        except StreamClosedError:
            self._abort()
        except BaseException:
            # tornado's loop calls this in a ``finally`` whatever happens.
            self.handler.on_ws_connection_close(self.close_code, self.close_reason)
            raise
        await original(self)  # ends at once when client_terminated; reports the close

    _receive_frame_loop.__wrapped__ = original  # type: ignore[attr-defined]
    _receive_frame_loop.__doc__ = original.__doc__
    _receive_frame_loop.__qualname__ = getattr(original, "__qualname__", "_receive_frame_loop")
    return _receive_frame_loop


def _missing(self: Any, pending: bytes, masked: bool, acceptable: Callable[..., bool]) -> int:
    """Bytes still to read for the partial frame ``pending`` (0: length not in yet).

    Raises _Handback as soon as tornado would decide on this header before
    the payload arrives: from the first two bytes (RSV bits, a close frame, a
    control frame with a long length code) and from the length (too large).
    A mask bit tornado does not expect goes to tornado too (FrameParser would
    reject it; tornado accepts either).
    """
    n = len(pending)
    if n < 2:
        return 0
    first, second = pending[0], pending[1]
    opcode, code = first & 0x0F, second & 0x7F
    rsv1, rsv2, rsv3 = bool(first & 0x40), bool(first & 0x20), bool(first & 0x10)
    if (opcode & 0x8 and code >= 126) or bool(second & 0x80) != masked:
        raise _Handback(pending)
    if not acceptable(self, opcode, rsv1, rsv2, rsv3, 0):
        raise _Handback(pending)
    if code < 126:
        length = code
    else:
        end = 4 if code == 126 else 10
        if n < end:
            return 0
        length = int.from_bytes(pending[2:end], "big")
    if not acceptable(self, opcode, rsv1, rsv2, rsv3, length):
        raise _Handback(pending)
    return _header_size(code, masked) + length - n


def make_write_frame(original: Callable[..., Any]) -> Callable[..., Any]:
    """``WebSocketProtocol13._write_frame`` on :func:`wsframe.encode_frame`."""
    encode = wsframe.encode_frame

    def _write_frame(self: Any, fin: bool, opcode: int, data: bytes, flags: int = 0) -> Any:
        if opcode & 0x8:
            # RFC 6455 5.5: control frames are short and never fragmented.
            if not fin:
                raise ValueError("control frames may not be fragmented")
            if len(data) > 125:
                raise ValueError("control frame payloads may not exceed 125 bytes")
        mask = os.urandom(4) if self.mask_outgoing else None
        frame = encode(
            opcode, data, fin=fin, rsv1=bool(flags & 0x40), rsv2=bool(flags & 0x20), rsv3=bool(flags & 0x10), mask=mask
        )
        self._wire_bytes_out += len(frame)
        return self.stream.write(frame)

    _write_frame.__wrapped__ = original  # type: ignore[attr-defined]
    _write_frame.__doc__ = original.__doc__
    return _write_frame


def swaps_for(protocol_cls: Any, *, reader: bool, writer: bool) -> List[Tuple[Any, str, Any]]:
    """(owner, attribute, replacement): the reader and the writer, as asked."""
    result: List[Tuple[Any, str, Any]] = []
    if reader:
        loop = make_receive_frame_loop(vars(protocol_cls)["_receive_frame_loop"])
        result.append((protocol_cls, "_receive_frame_loop", loop))
    if writer:
        result.append((protocol_cls, "_write_frame", make_write_frame(vars(protocol_cls)["_write_frame"])))
    return result

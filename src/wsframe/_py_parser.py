"""The streaming frame parser (RFC 6455 section 5) of the ``_codec_py`` backend.

Design, for speed in pure Python:

* Input is parsed straight out of the bytes object given to ``feed()``; only
  an incomplete header (< 14 bytes) is kept between calls and prepended to
  the next chunk, so a complete frame costs no extra buffer copy.
* A frame whose payload is already complete takes one fast path: a few
  integer operations for the header, one slice, one big-int XOR to unmask
  and ``bytes.isascii()`` (or the C UTF-8 decoder) to validate.
* A frame that is not complete yet, or part of a fragmented message, goes
  through the general path, which consumes payload bytes as they arrive:
  they are unmasked at the right key phase and text is validated at once,
  so invalid UTF-8 fails fast and nothing unchecked piles up.

Header checks run in the order documented in ``_reasons.py``; limits are
checked against the declared length before any payload is held.
"""

from __future__ import annotations

from codecs import utf_8_decode
from operator import index
from typing import List, Optional, Sequence, Union

from . import _reasons
from ._py_close import check_close_payload
from ._py_frames import OPCODES, Frame, _FrameSlots, new_frame
from ._py_mask import as_bytes_view, mask_bytes
from ._py_utf8 import utf8_step
from .enums import CloseCode
from .errors import InvalidUTF8, MessageTooBig, ProtocolError

Buffer = Union[bytes, bytearray, memoryview]

__all__ = ["FrameParser", "DEFAULT_MAX_FRAME_SIZE", "DEFAULT_MAX_MESSAGE_SIZE", "DEFAULT_MAX_FRAGMENTS"]

DEFAULT_MAX_FRAME_SIZE = 1 << 20
DEFAULT_MAX_MESSAGE_SIZE = 1 << 20
DEFAULT_MAX_FRAGMENTS = 1 << 17


def _limit(name: str, value: int) -> int:
    value = index(value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


class FrameParser:
    """Streaming RFC 6455 section 5 frame decoder.

    Args:
        is_server: True when frames come from a client (they must be masked),
            False when they come from a server (they must not be).
        max_frame_size: largest payload of one frame (MessageTooBig above).
        max_message_size: largest payload of one data message, all fragments.
        max_fragments: most frames in one data message.
        reassemble: emit whole data messages (True) or each frame (False).
        validate_utf8: check that text messages are UTF-8 (fail-fast).
        rsv_allowed: per RSV bit, whether a negotiated extension uses it;
            RSV1 is only ever allowed on the first frame of a data message.

    After an error the parser drops its buffers and every later ``feed`` or
    ``feed_eof`` raises the same exception again.
    """

    def __init__(
        self,
        *,
        is_server: bool,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_fragments: int = DEFAULT_MAX_FRAGMENTS,
        reassemble: bool = True,
        validate_utf8: bool = True,
        rsv_allowed: Sequence[bool] = (False, False, False),
    ) -> None:
        self._is_server = bool(is_server)
        self._max_frame = _limit("max_frame_size", max_frame_size)
        self._max_message = _limit("max_message_size", max_message_size)
        self._max_fragments = _limit("max_fragments", max_fragments)
        self._reassemble = bool(reassemble)
        self._validate = bool(validate_utf8)
        allowed = tuple(rsv_allowed)
        if len(allowed) != 3:
            raise ValueError("rsv_allowed must have 3 items (RSV1, RSV2, RSV3)")
        self._rsv_ok = (bool(allowed[0]), bool(allowed[1]), bool(allowed[2]))
        # RSV bits (as in byte 0) that never need a closer look.
        self._rsv_free = (0x20 if allowed[1] else 0) | (0x10 if allowed[2] else 0)

        self._rest = b""  # an incomplete header, kept for the next feed
        self._error: Optional[ProtocolError] = None

        # The frame in progress (its header is decoded, payload incomplete).
        self._in_frame = False
        self._f_op = 0
        self._f_fin = True
        self._f_rsv = (False, False, False)
        self._f_key: Optional[bytes] = None
        self._f_len = 0
        self._f_got = 0
        self._f_parts: List[bytes] = []
        self._f_text = False

        # The data message in progress (None when between messages).
        self._m_op: Optional[int] = None
        self._m_rsv = (False, False, False)
        self._m_size = 0  # declared payload bytes of its frames so far
        self._m_frames = 0
        self._m_parts: List[bytes] = []  # completed fragments (reassembling)
        self._m_held = 0
        self._m_text = False  # validate this message's text
        self._m_pending = b""  # unfinished code point carried across chunks
        self._m_vpos = 0  # message bytes fed to the validator so far

    # ---- public API ------------------------------------------------------

    @property
    def buffered(self) -> int:
        """Bytes held that do not yet form a complete frame (or message)."""
        return len(self._rest) + self._f_got + self._m_held

    @property
    def failed(self) -> bool:
        """True once the parser has raised an error."""
        return self._error is not None

    def feed_eof(self) -> None:
        """The peer closed the stream.

        Raises:
            ProtocolError: code 1006 when the stream ends inside a frame
                (EOF_IN_FRAME) or a fragmented message (EOF_IN_MESSAGE).
        """
        if self._error is not None:
            raise self._error.with_traceback(None)
        if self._rest or self._in_frame:
            reason = _reasons.EOF_IN_FRAME
        elif self._m_op is not None:
            reason = _reasons.EOF_IN_MESSAGE
        else:
            return
        exc = ProtocolError(reason, CloseCode.ABNORMAL_CLOSURE)
        self._fail(exc, [])
        raise exc

    def feed(self, data: Buffer) -> List[Frame]:
        """Parse every complete frame in the held input plus ``data``.

        Returns:
            Frames (whole data messages when reassembling) in order; control
            frames as soon as they are complete, also between fragments.

        Raises:
            ProtocolError: the peer broke RFC 6455 (InvalidUTF8, MessageTooBig
                are subclasses); ``exc.frames`` holds the frames completed
                earlier in this call.
            TypeError: ``data`` is not a buffer.
        """
        if self._error is not None:
            raise self._error.with_traceback(None)
        if type(data) is not bytes:
            data = bytes(as_bytes_view(data))
        if self._rest:
            data = self._rest + data
            self._rest = b""
        frames: List[Frame] = []
        try:
            self._parse(data, frames)
        except ProtocolError as exc:
            self._fail(exc, frames)
            raise
        return frames

    # ---- internals -------------------------------------------------------

    def _fail(self, exc: ProtocolError, frames: List[Frame]) -> None:
        """Remember ``exc`` for good and let go of every buffer (bounded after errors)."""
        exc.frames = frames
        self._error = exc
        self._rest = b""
        self._in_frame = False
        self._f_parts = []
        self._f_got = 0
        self._m_parts = []
        self._m_held = 0
        self._m_pending = b""

    def _parse(self, data: bytes, frames: List[Frame]) -> None:
        """Parse ``data`` (held bytes already prepended), appending to ``frames``."""
        end = len(data)
        pos = 0
        if self._in_frame:
            take = min(self._f_len - self._f_got, end)
            self._frame_data(data[:take])
            pos = take
            if self._f_got < self._f_len:
                return
            self._finish_frame(frames)

        # Cache everything the loop touches in locals (CPython's fastest lookups).
        append = frames.append
        is_server = self._is_server
        max_frame = self._max_frame
        max_message = self._max_message
        max_fragments = self._max_fragments
        rsv_free = self._rsv_free
        validate = self._validate
        from_bytes = int.from_bytes
        decode = utf_8_decode
        opcodes = OPCODES
        slots = _FrameSlots
        frame_cls = Frame

        while True:
            avail = end - pos
            if avail < 2:
                break
            b0 = data[pos]
            b1 = data[pos + 1]
            # RFC 6455 5.2: 7-bit length, or 126 + 16-bit, or 127 + 64-bit.
            length = b1 & 0x7F
            hsize = 2
            if length > 125:
                if length == 126:
                    if avail < 4:
                        break
                    length = (data[pos + 2] << 8) | data[pos + 3]
                    hsize = 4
                else:
                    if avail < 10:
                        break
                    length = from_bytes(data[pos + 2:pos + 10], "big")
                    hsize = 10
            if b1 & 0x80:
                if avail < hsize + 4:
                    break
                key: Optional[bytes] = data[pos + hsize:pos + hsize + 4]
                hsize += 4
            else:
                key = None
            op = b0 & 0x0F
            fin = b0 > 0x7F

            # ---- header checks, in the order of _reasons.py ----
            if length >> 63:
                # RFC 6455 5.2: the most significant bit MUST be 0.
                raise ProtocolError(_reasons.LENGTH_MSB)
            if b0 & 0x70 & ~rsv_free:
                self._check_rsv(b0, op)
            if op > 2:
                if op < 8 or op > 10:
                    # RFC 6455 5.2: reserved opcodes must fail the connection.
                    raise ProtocolError(_reasons.RESERVED_OPCODE)
                # RFC 6455 5.5: control frames are not fragmented, payload <= 125.
                if not fin:
                    raise ProtocolError(_reasons.FRAGMENTED_CONTROL)
                if length > 125:
                    raise ProtocolError(_reasons.CONTROL_TOO_LONG)
            # RFC 6455 5.1: clients mask every frame, servers mask none.
            if key is None:
                if is_server:
                    raise ProtocolError(_reasons.MUST_BE_MASKED)
            elif not is_server:
                raise ProtocolError(_reasons.MUST_NOT_BE_MASKED)
            if op < 3:
                # RFC 6455 5.4: fragments of one message, not interleaved.
                if op == 0:
                    if self._m_op is None:
                        raise ProtocolError(_reasons.UNEXPECTED_CONTINUATION)
                elif self._m_op is not None:
                    raise ProtocolError(_reasons.EXPECTED_CONTINUATION)
            if length > max_frame:
                raise MessageTooBig(_reasons.FRAME_TOO_BIG)
            if op < 3:
                if op:
                    if length > max_message:
                        raise MessageTooBig(_reasons.MESSAGE_TOO_BIG)
                    if max_fragments < 1:
                        raise MessageTooBig(_reasons.TOO_MANY_FRAGMENTS)
                else:
                    if self._m_size + length > max_message:
                        raise MessageTooBig(_reasons.MESSAGE_TOO_BIG)
                    if self._m_frames + 1 > max_fragments:
                        raise MessageTooBig(_reasons.TOO_MANY_FRAGMENTS)

            start = pos + hsize
            stop = start + length
            if stop <= end and fin and op:
                # Fast path: a whole unfragmented message or control frame.
                payload = data[start:stop]
                if key is not None and length:
                    # RFC 6455 5.3: XOR with the key, octet i with key[i % 4].
                    payload = (
                        from_bytes(payload, "little")
                        ^ from_bytes((key * ((length >> 2) + 1))[:length], "little")
                    ).to_bytes(length, "little")
                if op == 1:
                    if validate and not b0 & 0x40 and not payload.isascii():
                        try:
                            decode(payload, "strict", True)
                        except UnicodeDecodeError as exc:
                            # RFC 6455 8.1: invalid UTF-8 fails the connection.
                            raise InvalidUTF8(_reasons.INVALID_UTF8, exc.start) from None
                elif op == 8:
                    check_close_payload(payload)
                frame = slots()
                frame.opcode = opcodes[op]
                frame.payload = payload
                frame.fin = True
                frame.rsv1 = b0 & 0x40 != 0
                frame.rsv2 = b0 & 0x20 != 0
                frame.rsv3 = b0 & 0x10 != 0
                frame.__class__ = frame_cls
                append(frame)
                pos = stop
                continue

            # General path: fragments and frames whose payload is still arriving.
            self._begin_frame(op, fin, b0, key, length)
            take = min(length, end - start)
            if take:
                self._frame_data(data[start:start + take])
            pos = start + take
            if self._f_got < length:
                return
            self._finish_frame(frames)

        if pos < end:
            self._rest = data[pos:]

    def _check_rsv(self, b0: int, op: int) -> None:
        """RFC 6455 5.2: RSV bits must be 0 unless an extension defines them.

        RSV1 (permessage-deflate, RFC 7692 6) is only valid on the first frame
        of a data message.
        """
        ok1, ok2, ok3 = self._rsv_ok
        if (
            (b0 & 0x40 and not (ok1 and (op == 1 or op == 2)))
            or (b0 & 0x20 and not ok2)
            or (b0 & 0x10 and not ok3)
        ):
            raise ProtocolError(_reasons.RSV_NOT_ALLOWED)

    def _begin_frame(self, op: int, fin: bool, b0: int, key: Optional[bytes], length: int) -> None:
        """Enter a frame whose header passed every check (general path)."""
        rsv = (b0 & 0x40 != 0, b0 & 0x20 != 0, b0 & 0x10 != 0)
        if op < 3:
            if op:
                # First frame of a data message; RSV1 marks it compressed, and
                # compressed text is validated after inflation, not here.
                self._m_op = OPCODES[op]
                self._m_rsv = rsv
                self._m_size = 0
                self._m_frames = 0
                self._m_parts = []
                self._m_held = 0
                self._m_text = op == 1 and self._validate and not rsv[0]
                self._m_pending = b""
                self._m_vpos = 0
            self._m_size += length
            self._m_frames += 1
            self._f_text = self._m_text
        else:
            self._f_text = False
        self._in_frame = True
        self._f_op = op
        self._f_fin = fin
        self._f_rsv = rsv
        self._f_key = key
        self._f_len = length
        self._f_got = 0
        self._f_parts = []

    def _frame_data(self, chunk: bytes) -> None:
        """Take the next payload bytes of the frame in progress: unmask, validate, hold."""
        if not chunk:
            return
        key = self._f_key
        if key is not None:
            chunk = mask_bytes(chunk, key, self._f_got & 3)
        if self._f_text:
            pending = self._m_pending
            bad, self._m_pending = utf8_step(pending, chunk, False)
            if bad >= 0:
                raise InvalidUTF8(_reasons.INVALID_UTF8, self._m_vpos - len(pending) + bad)
            self._m_vpos += len(chunk)
        self._f_parts.append(chunk)
        self._f_got += len(chunk)

    def _finish_frame(self, frames: List[Frame]) -> None:
        """The frame in progress is complete: check its payload and emit it."""
        parts = self._f_parts
        payload = parts[0] if len(parts) == 1 else b"".join(parts)
        op = self._f_op
        fin = self._f_fin
        rsv1, rsv2, rsv3 = self._f_rsv
        self._in_frame = False
        self._f_parts = []
        self._f_got = 0
        if op > 7:
            if op == 8:
                check_close_payload(payload)
            frames.append(new_frame(OPCODES[op], payload, True, rsv1, rsv2, rsv3))
            return
        if fin and self._f_text and self._m_pending:
            # The message ends inside a code point.
            raise InvalidUTF8(_reasons.INVALID_UTF8, self._m_vpos - len(self._m_pending))
        if self._reassemble:
            if not fin:
                self._m_parts.append(payload)
                self._m_held += len(payload)
                return
            if self._m_parts:
                self._m_parts.append(payload)
                payload = b"".join(self._m_parts)
            r1, r2, r3 = self._m_rsv
            frames.append(new_frame(self._m_op, payload, True, r1, r2, r3))  # type: ignore[arg-type]
        else:
            frames.append(new_frame(OPCODES[op], payload, fin, rsv1, rsv2, rsv3))
        if fin:
            self._m_op = None
            self._m_parts = []
            self._m_held = 0
            self._m_pending = b""

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
from typing import Any, List, Optional, Sequence, Union

from .. import _reasons
from ..enums import CloseCode
from ..errors import InvalidUTF8, MessageTooBig, ProtocolError
from .busy import take, token_of
from .close import check_close_payload
from .frames import OPCODES, Frame, _FrameSlots, new_frame
from .mask import TRANSLATE_FROM, as_bytes_view, mask_bytes
from .utf8 import utf8_step

Buffer = Union[bytes, bytearray, memoryview]

__all__ = ["FrameParser", "DEFAULT_MAX_FRAME_SIZE", "DEFAULT_MAX_MESSAGE_SIZE", "DEFAULT_MAX_FRAGMENTS"]

DEFAULT_MAX_FRAME_SIZE = 1 << 20
DEFAULT_MAX_MESSAGE_SIZE = 1 << 20
DEFAULT_MAX_FRAGMENTS = 1 << 17

_IN_USE = _reasons.IN_USE.format("FrameParser")


def _limit(name: str, value: int) -> int:
    value = index(value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


# Kinds of first header byte, by which checks of rules 2-4 of _reasons.py it
# can skip: FIN set, allowed RSV bits, and a TEXT/BINARY or control opcode.
_OTHER = 0  # anything else: run every check (_check_header)
_DATA = 1  # FIN + TEXT/BINARY, RSV bits allowed: a whole message
_CONTROL = 2  # FIN + CLOSE/PING/PONG, RSV bits allowed


def _classify(rsv_ok: Sequence[bool]) -> bytes:
    """The kind (_OTHER, _DATA, _CONTROL) of each of the 256 first header bytes."""
    kinds = bytearray(256)
    for b0 in range(128, 256):  # FIN set
        op = b0 & 0x0F
        rsv1, rsv2, rsv3 = b0 & 0x40, b0 & 0x20, b0 & 0x10
        if (rsv2 and not rsv_ok[1]) or (rsv3 and not rsv_ok[2]):
            continue
        if op in (1, 2):
            if not rsv1 or rsv_ok[0]:
                kinds[b0] = _DATA
        elif op in (8, 9, 10) and not rsv1:
            kinds[b0] = _CONTROL
    return bytes(kinds)


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
        bare_messages: a whole data message with RSV1-3 clear comes out as
            its value (``bytes`` for binary, ``str`` for validated text), not
            as a Frame: one Python object per message.

    After an error the parser drops its buffers and every later ``feed`` or
    ``feed_eof`` raises the same exception again.

    One instance is for one thread at a time: a call while another thread is
    inside ``feed``/``feed_eof`` raises RuntimeError (see ``busy.py``).
    """

    _free: List[None]  # the busy token (busy.py), made by the first __init__

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
        bare_messages: bool = False,
    ) -> None:
        free = token_of(self)
        take(free, "FrameParser")  # calling __init__ again drops the buffers
        try:
            self._configure(is_server, max_frame_size, max_message_size, max_fragments,
                            reassemble, validate_utf8, rsv_allowed)
            self._bare = bool(bare_messages)
        finally:
            free.append(None)

    def _configure(
        self,
        is_server: bool,
        max_frame_size: int,
        max_message_size: int,
        max_fragments: int,
        reassemble: bool,
        validate_utf8: bool,
        rsv_allowed: Sequence[bool],
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
        self._kinds = _classify(self._rsv_ok)
        # One bound for the first frame of a message, so the common case pays
        # one comparison for all three limits (the exact check runs above it).
        self._max_single = min(self._max_frame, self._max_message) if self._max_fragments else -1

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
            RuntimeError: another thread is inside a call on this parser.
        """
        free = self._free
        take(free, "FrameParser")
        try:
            self._feed_eof()
        finally:
            free.append(None)

    def _feed_eof(self) -> None:
        if self._error is not None:
            raise self._sticky_error()
        if self._rest or self._in_frame:
            reason = _reasons.EOF_IN_FRAME
        elif self._m_op is not None:
            reason = _reasons.EOF_IN_MESSAGE
        else:
            return
        exc = ProtocolError(reason, CloseCode.ABNORMAL_CLOSURE)
        self._fail(exc, [])
        raise exc

    def feed(self, data: Buffer) -> List[Any]:
        """Parse every complete frame in the held input plus ``data``.

        Returns:
            Frames (whole data messages when reassembling) in order; control
            frames as soon as they are complete, also between fragments.

        Raises:
            ProtocolError: the peer broke RFC 6455 (InvalidUTF8, MessageTooBig
                are subclasses); ``exc.frames`` holds the frames completed
                earlier in this call.
            TypeError: ``data`` is not a buffer.
            RuntimeError: another thread is inside a call on this parser.
        """
        free = self._free
        try:
            free.pop()  # busy.take(), inlined on the hot path
        except IndexError:
            raise RuntimeError(_IN_USE) from None
        try:
            if self._error is not None:
                raise self._sticky_error()
            if type(data) is not bytes:
                data = bytes(as_bytes_view(data))
            if self._rest:
                data = self._rest + data
                self._rest = b""
            frames: List[Any] = []
            try:
                self._parse(data, frames)
            except ProtocolError as exc:
                self._fail(exc, frames)
                raise
            return frames
        finally:
            free.append(None)

    # ---- internals -------------------------------------------------------

    def _sticky_error(self) -> ProtocolError:
        """The stored error, raised again by a call after the failure; that
        call completed no frames, so ``frames`` is emptied (a caller that
        handles ``exc.frames`` must not get the first call's frames twice)."""
        exc = self._error
        assert exc is not None
        exc.frames = []
        return exc.with_traceback(None)

    def _fail(self, exc: ProtocolError, frames: List[Any]) -> None:
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

    def _parse(self, data: bytes, frames: List[Any]) -> None:
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
        kinds = self._kinds
        max_single = self._max_single
        max_frame = self._max_frame
        validate = self._validate
        bare = self._bare
        in_message = self._m_op is not None
        from_bytes = int.from_bytes
        translate_from = TRANSLATE_FROM
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
            # RFC 6455 5.2: 7-bit length, or 126 + 16-bit, or 127 + 64-bit,
            # then the 4-byte key if MASK is set; judged once it is all here.
            length = b1 & 0x7F
            masked = b1 > 0x7F
            if length < 126:
                start = pos + 6 if masked else pos + 2
            elif length == 126:
                start = pos + 8 if masked else pos + 4
                if start > end:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
            else:
                start = pos + 14 if masked else pos + 10
                if start > end:
                    break
                length = from_bytes(data[pos + 2:pos + 10], "big")
                if length >> 63:
                    # RFC 6455 5.2: the most significant bit MUST be 0.
                    raise ProtocolError(_reasons.LENGTH_MSB)
            if start > end:
                break
            stop = start + length

            kind = kinds[b0]
            if kind == 1:  # _DATA
                # FIN + TEXT/BINARY with allowed RSV bits: rules 2-4 hold.
                if masked is not is_server:
                    self._check_header(b0, length, masked)
                if in_message:
                    raise ProtocolError(_reasons.EXPECTED_CONTINUATION)
                if length > max_single:
                    self._check_header(b0, length, masked)
            elif kind == 2:  # _CONTROL
                # FIN + CLOSE/PING/PONG with allowed RSV bits: rules 2-3 hold.
                if length > 125 or masked is not is_server or length > max_frame:
                    self._check_header(b0, length, masked)
            else:
                self._check_header(b0, length, masked)  # every rule, in order

            if kind and stop <= end:
                # Fast path: a whole unfragmented message or control frame.
                payload = data[start:stop]
                if masked and length:
                    # RFC 6455 5.3: octet i is XORed with key octet i MOD 4.
                    key = data[start - 4:start]
                    if length < translate_from:
                        payload = (
                            from_bytes(payload, "little")
                            ^ from_bytes((key * ((length >> 2) + 1))[:length], "little")
                        ).to_bytes(length, "little")
                    else:
                        payload = mask_bytes(payload, key, 0)
                op = b0 & 0x0F
                if bare and not b0 & 0x70 and (op == 2 or (op == 1 and validate)):
                    # bare_messages: the message itself, not a Frame.
                    if op == 2:
                        append(payload)
                    else:
                        try:
                            append(decode(payload, "strict", True)[0])
                        except UnicodeDecodeError as exc:
                            raise InvalidUTF8(_reasons.INVALID_UTF8, exc.start) from None
                    pos = stop
                    continue
                if op == 1:
                    if validate and b0 < 0xC0 and not payload.isascii():
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
                if b0 & 0x70:
                    frame.rsv1 = b0 & 0x40 != 0
                    frame.rsv2 = b0 & 0x20 != 0
                    frame.rsv3 = b0 & 0x10 != 0
                else:
                    frame.rsv1 = frame.rsv2 = frame.rsv3 = False
                frame.__class__ = frame_cls
                append(frame)  # its class is Frame now
                pos = stop
                continue

            # General path: fragments and frames whose payload is still arriving.
            self._begin_frame(b0, data[start - 4:start] if masked else None, length)
            take = min(length, end - start)
            if take:
                self._frame_data(data[start:start + take])
            pos = start + take
            if self._f_got < length:
                return
            self._finish_frame(frames)
            in_message = self._m_op is not None

        if pos < end:
            self._rest = data[pos:]

    def _check_header(self, b0: int, length: int, masked: bool) -> None:
        """Apply rules 2-7 of ``_reasons.py`` to a decoded header, in order.

        Raises:
            ProtocolError: the first rule the header breaks (MessageTooBig
                for the limits).
        """
        op = b0 & 0x0F
        fin = b0 > 0x7F
        if b0 & 0x70:
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
        if not masked:
            if self._is_server:
                raise ProtocolError(_reasons.MUST_BE_MASKED)
        elif not self._is_server:
            raise ProtocolError(_reasons.MUST_NOT_BE_MASKED)
        if op < 3:
            # RFC 6455 5.4: fragments of one message, not interleaved.
            if op == 0:
                if self._m_op is None:
                    raise ProtocolError(_reasons.UNEXPECTED_CONTINUATION)
            elif self._m_op is not None:
                raise ProtocolError(_reasons.EXPECTED_CONTINUATION)
        # Limits (1009), against the declared length, before buffering.
        if length > self._max_frame:
            raise MessageTooBig(_reasons.FRAME_TOO_BIG)
        if op < 3:
            prior_size = self._m_size if op == 0 else 0
            prior_frames = self._m_frames if op == 0 else 0
            if length > self._max_message - prior_size:
                raise MessageTooBig(_reasons.MESSAGE_TOO_BIG)
            if prior_frames >= self._max_fragments:
                raise MessageTooBig(_reasons.TOO_MANY_FRAGMENTS)

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

    def _begin_frame(self, b0: int, key: Optional[bytes], length: int) -> None:
        """Enter a frame whose header passed every check (general path)."""
        op = b0 & 0x0F
        fin = b0 > 0x7F
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

    def _bare_message(self, op: int, payload: bytes) -> Any:
        """(``bare_messages``) A whole plain data message as its value: the
        bytes for binary, the str for validated text, else a Frame."""
        if op == 2:
            return payload
        if self._validate:
            return payload.decode()  # validated as it arrived
        return new_frame(OPCODES[op], payload, True, False, False, False)

    def _finish_frame(self, frames: List[Any]) -> None:
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
            if self._bare and not (r1 or r2 or r3):
                frames.append(self._bare_message(self._m_op or 0, payload))
            else:
                frames.append(new_frame(self._m_op, payload, True, r1, r2, r3))
        elif self._bare and fin and op and not (rsv1 or rsv2 or rsv3):
            frames.append(self._bare_message(op, payload))
        else:
            frames.append(new_frame(OPCODES[op], payload, fin, rsv1, rsv2, rsv3))
        if fin:
            self._m_op = None
            self._m_parts = []
            self._m_held = 0
            self._m_pending = b""

"""The runtime half of permessage-deflate: compress and inflate messages (RFC 7692 section 7.2).

:class:`PerMessageDeflate` plugs into :class:`wsframe.Connection` as its
:class:`~wsframe.extension.Extension`. Outgoing messages are compressed with
a raw-deflate stream flushed with ``Z_SYNC_FLUSH``, whose trailing
``00 00 ff ff`` is stripped (7.2.1); incoming messages with RSV1 get it back
and are inflated (7.2.2).

Inflating is bounded: zlib is never asked for more than the message limit
plus one byte (``decompress(data, max_length)``), so a message that inflates
past the limit fails with :class:`MessageTooBig` (1009) after producing at
most ``max_size + 1`` bytes, however small the input (websockets#1715,
autobahn GHSA-hxp9-w8x3-p566). Corrupt deflate data is a
:class:`ProtocolError` with 1002: it breaks the extension's framing, not the
message type (1007 stays for text that inflates to invalid UTF-8).

One thread at a time per direction: the zlib streams are kept across
messages, and two threads interleaving ``compress``/``flush`` (or
``decompress``) calls on one of them would corrupt it, so a second caller
gets RuntimeError at once instead of waiting (like ``FrameParser``).
"""

from __future__ import annotations

import threading
from typing import Any, Optional, Tuple

from .. import _reasons
from ..enums import CloseCode, Opcode
from ..errors import MessageTooBig, ProtocolError
from ..extension import Extension
from .params import EXTENSION_NAME, Agreement
from .zlib_impl import IMPL, ZlibImpl

__all__ = ["PerMessageDeflate", "DEFAULT_COMPRESS_LEVEL", "DEFAULT_MEM_LEVEL", "DEFAULT_MIN_SIZE"]

#: zlib's own default level: the usual speed/ratio balance.
DEFAULT_COMPRESS_LEVEL = 6
#: memLevel 5 (zlib's default is 8): a 16 KiB instead of 128 KiB hash/buffer
#: area per compressor, for a few percent of ratio on chat traffic.
DEFAULT_MEM_LEVEL = 5
#: Messages shorter than this go out uncompressed (RSV1 clear, RFC 7692 section 6):
#: a deflate block costs a few bytes, more than tiny messages can save.
DEFAULT_MIN_SIZE = 32

# RFC 7692 section 7.2.1: the tail a sync flush ends with, removed by the
# sender and appended again by the receiver (7.2.2).
_TAIL = b"\x00\x00\xff\xff"

# zlib cannot compress raw deflate with an 8-bit window (it refuses wbits=-8
# since 1.2.9), and an endpoint that negotiated 8 may still be sent a 9-bit
# stream by a peer in the same situation that "rounds up"; inflate with 9.
_MIN_ZLIB_BITS = 9

_IN_USE = _reasons.IN_USE.format("PerMessageDeflate")


def _take(lock: threading.Lock) -> None:
    """Take a direction's busy lock without waiting, or raise RuntimeError."""
    if not lock.acquire(blocking=False):
        raise RuntimeError(_IN_USE)


class PerMessageDeflate(Extension):
    """permessage-deflate for one connection, as negotiated.

    Args:
        role: ``"server"`` or ``"client"``: which end we are.
        agreement: the negotiated parameters.
        compress_level: zlib level 0-9 (0 stores without compressing).
        mem_level: zlib memLevel 1-9: memory of the compressor's hash table.
        min_size: messages shorter than this are sent uncompressed.
        zlib_impl: the zlib to use (default: :data:`wsframe.deflate.zlib_impl.IMPL`).

    When the agreement limits our window to 8 bits (which zlib cannot
    produce) every message is sent uncompressed, which RFC 7692 section 6
    allows; receiving still inflates.
    """

    name = EXTENSION_NAME
    uses_rsv1 = True
    decodes_fragments = True

    def __init__(
        self,
        role: str,
        agreement: Agreement,
        *,
        compress_level: int = DEFAULT_COMPRESS_LEVEL,
        mem_level: int = DEFAULT_MEM_LEVEL,
        min_size: int = DEFAULT_MIN_SIZE,
        zlib_impl: Optional[ZlibImpl] = None,
    ) -> None:
        if role not in ("server", "client"):
            raise ValueError(f"role must be 'server' or 'client', not {role!r}")
        if not 0 <= compress_level <= 9:
            raise ValueError("compress_level must be 0..9")
        if not 1 <= mem_level <= 9:
            raise ValueError("mem_level must be 1..9")
        if min_size < 0:
            raise ValueError("min_size must be >= 0")
        remote = "client" if role == "server" else "server"
        self.role = role
        self.agreement = agreement
        self.compress_level = compress_level
        self.mem_level = mem_level
        self.min_size = min_size
        self.zlib: ZlibImpl = IMPL if zlib_impl is None else zlib_impl
        self.local_window_bits = agreement.window_bits(role)
        self.local_no_context_takeover = agreement.no_context_takeover(role)
        self.remote_window_bits = agreement.window_bits(remote)
        self.remote_no_context_takeover = agreement.no_context_takeover(remote)
        self.compresses = self.local_window_bits >= _MIN_ZLIB_BITS
        # Created on first use and, without context takeover, dropped after
        # each message: an idle connection then holds no zlib state at all.
        self._encoder: Any = None
        self._decoder: Any = None
        # Held for a whole encode_message / decode_message call (see _take).
        self._send_busy = threading.Lock()
        self._recv_busy = threading.Lock()

    def __repr__(self) -> str:
        return f"<PerMessageDeflate {self.role} {self.agreement} zlib={self.zlib.name}>"

    # ---- sending (RFC 7692 section 7.2.1) ----------------------------------------

    def encode_message(self, opcode: Opcode, payload: bytes) -> Tuple[bytes, bool]:
        """Compress one outgoing message; (payload, RSV1).

        Raises:
            RuntimeError: another thread is inside ``encode_message``.
        """
        if len(payload) < self.min_size or not self.compresses:
            return payload, False
        _take(self._send_busy)
        try:
            return self._encode(payload)
        finally:
            self._send_busy.release()

    def _encode(self, payload: bytes) -> Tuple[bytes, bool]:
        zlib = self.zlib
        if self.local_no_context_takeover:
            # 7.1.1: a fresh stream per message, so nothing refers back.
            encoder = zlib.compressobj(self.compress_level, self.local_window_bits, self.mem_level)
        else:
            encoder = self._encoder
            if encoder is None:
                encoder = self._encoder = zlib.compressobj(self.compress_level, self.local_window_bits, self.mem_level)
        data = encoder.compress(payload) + encoder.flush(zlib.sync_flush)
        # 7.2.1: remove the 4 octets 0x00 0x00 0xff 0xff at the tail end.
        if data.endswith(_TAIL):
            data = data[:-4]
        if self.local_no_context_takeover and len(data) >= len(payload):
            # Incompressible: the raw message is smaller, and with no shared
            # window nothing is lost by sending it as it is.
            return payload, False
        return data, True

    # ---- receiving (RFC 7692 section 7.2.2) -----------------------------------------

    def decode_message(self, opcode: Opcode, payload: bytes, max_size: int) -> bytes:
        """Inflate one incoming message (RSV1 set) without exceeding ``max_size`` bytes.

        Raises:
            MessageTooBig: the message inflates beyond ``max_size`` (1009);
                at most ``max_size + 1`` bytes were produced.
            ProtocolError: the payload is not valid deflate data (1002).
            RuntimeError: another thread is inside ``decode_message``.
        """
        _take(self._recv_busy)
        try:
            return self._decode(payload, max_size)
        finally:
            self._recv_busy.release()

    def decode_fragment(self, opcode: Opcode, payload: bytes, first: bool, fin: bool, max_size: int) -> bytes:
        """Inflate one frame of a compressed fragmented message, as it comes.

        The frames of a message are one deflate stream (RFC 7692 section
        7.2.2), so the stream is kept from ``first`` to ``fin``; ``max_size``
        is what the message may still grow by.

        Raises:
            MessageTooBig: the message inflates beyond its limit (1009).
            ProtocolError: the payload is not valid deflate data (1002).
            RuntimeError: another thread is inside a decode call.
        """
        _take(self._recv_busy)
        try:
            return self._inflate(payload, max_size, first, fin)
        finally:
            self._recv_busy.release()

    def _decode(self, payload: bytes, max_size: int) -> bytes:
        return self._inflate(payload, max_size, True, True)

    def _inflate(self, payload: bytes, max_size: int, first: bool, fin: bool) -> bytes:
        """Inflate ``payload`` (a whole message, or the part of one from
        ``first`` to ``fin``) into at most ``max_size`` bytes."""
        zlib = self.zlib
        decoder = None if first and self.remote_no_context_takeover else self._decoder
        if decoder is None:
            decoder = zlib.decompressobj(max(self.remote_window_bits, _MIN_ZLIB_BITS))
        # Asking for max_size + 1 bytes at most: output longer than max_size
        # proves the message too big, shorter output proves zlib consumed all
        # input (it stops early only when the output budget is used up).
        budget = max_size + 1
        try:
            data: bytes = decoder.decompress(payload, budget)
            if fin and len(data) < budget:
                # 7.2.2: append 0x00 0x00 0xff 0xff to the payload and inflate;
                # the empty stored block may release the last bytes.
                rest = decoder.decompress(_TAIL, budget - len(data))
                if rest:
                    data += rest
        except zlib.error:
            self._decoder = None
            raise ProtocolError("invalid compressed data (permessage-deflate)", CloseCode.PROTOCOL_ERROR) from None
        if len(data) > max_size or decoder.unconsumed_tail:
            self._decoder = None
            raise MessageTooBig(f"message over {max_size} bytes after decompression")
        if decoder.eof:
            # The sender ended the stream with a BFINAL block (RFC 7692 section 7.2.3.3 allows
            # it). Only (part of) our tail may follow; the next message starts
            # a fresh stream.
            if not (_TAIL.endswith(decoder.unused_data) if fin else not decoder.unused_data):
                self._decoder = None
                raise ProtocolError("data after the end of the deflate stream", CloseCode.PROTOCOL_ERROR)
            if fin:
                decoder = None
        # Between the frames of a message the stream is kept whatever the
        # context takeover; after the last one only with it.
        self._decoder = None if fin and self.remote_no_context_takeover else decoder
        return data

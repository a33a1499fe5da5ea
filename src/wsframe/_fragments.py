"""Turning the frames of a fragmented message into parts a host can stream.

:class:`wsframe.Connection` with ``stream_fragments=True`` parses frames
without reassembling them (``FrameParser(reassemble=False)``) and hands each
frame of a fragmented data message to one :class:`FragmentDecoder`, which
makes the :class:`~wsframe.events.MessageFragment` the host delivers. The
parser has already checked the frame rules, the message size limit (of the
bytes on the wire), and, without an extension, that text is UTF-8 across the
frames. What is left is done here, frame by frame:

* decoding text to ``str`` on code point boundaries (an incremental
  decoder keeps the bytes of a code point cut between two frames);
* inflating a compressed message (RSV1 on its first frame) with the
  extension's :meth:`~wsframe.extension.Extension.decode_fragment`, within
  what is left of the message size limit; an extension that cannot inflate
  in parts gets the gathered message at its last frame;
* validating text after inflating (or whenever an extension is active,
  because the parser then leaves text to the connection), fail-fast across
  frames with :class:`wsframe.Utf8Validator`.
"""

from __future__ import annotations

import codecs
from typing import Any, List, Optional, Union

from ._backend import codec as _codec
from .enums import Opcode
from .events import MessageFragment
from .extension import Extension

__all__ = ["FragmentDecoder"]

_utf8_decoder = codecs.getincrementaldecoder("utf-8")


class FragmentDecoder:
    """The per-message state of fragments being streamed, for one connection.

    Args:
        extension: the connection's runtime extension, or None.
        max_message_size: the message size limit, after decompression.
        text_as_bytes: keep text as validated UTF-8 bytes.
    """

    __slots__ = (
        "_extension",
        "_max_size",
        "_text_as_bytes",
        "_opcode",
        "_compressed",
        "_size",
        "_decoder",
        "_validator",
        "_parts",
    )

    def __init__(self, extension: Optional[Extension], max_message_size: int, text_as_bytes: bool) -> None:
        self._extension = extension
        self._max_size = max_message_size
        self._text_as_bytes = text_as_bytes
        self._opcode = Opcode.BINARY
        self._compressed = False
        self._size = 0  # bytes of the message produced so far (after inflating)
        self._decoder: Any = None  # incremental UTF-8 decoder of a text message
        self._validator: Optional[_codec.Utf8Validator] = None
        self._parts: Optional[List[bytes]] = None  # a compressed message gathered whole

    def feed(self, frame: Any) -> Optional[MessageFragment]:
        """The next frame of a fragmented message (the first has opcode
        TEXT or BINARY and ``fin`` False, the others CONTINUATION).

        Returns:
            The part to deliver, or None while an extension that cannot
            inflate in parts gathers the message.

        Raises:
            ProtocolError: InvalidUTF8 (1007), MessageTooBig (1009) or
                corrupt compressed data, from this frame.
        """
        first = frame.opcode != Opcode.CONTINUATION
        if first:
            self._start(frame)
        fin: bool = frame.fin
        payload: bytes = frame.payload
        if self._compressed:
            inflated = self._inflate(payload, first, fin)
            if inflated is None:
                return None
            payload = inflated
            self._size += len(payload)
        text = self._opcode == Opcode.TEXT
        data: Union[str, bytes] = payload
        if text:
            if self._validator is not None:
                self._validator.feed(payload, fin)
            if not self._text_as_bytes:
                data = self._decoder.decode(payload, fin)
        return MessageFragment(data, text, fin)

    def _start(self, frame: Any) -> None:
        extension = self._extension
        opcode = Opcode(frame.opcode)
        self._opcode = opcode
        self._compressed = extension is not None and bool(frame.rsv1)
        self._size = 0
        self._parts = None
        if self._compressed and extension is not None and not extension.decodes_fragments:
            self._parts = []
        if opcode != Opcode.TEXT:
            return
        # Without an extension the parser validated the text already.
        self._validator = _codec.Utf8Validator() if extension is not None else None
        self._decoder = None if self._text_as_bytes else _utf8_decoder()

    def _inflate(self, payload: bytes, first: bool, fin: bool) -> Optional[bytes]:
        """Inflate one frame (or, for an extension that cannot, the gathered
        message at its last frame)."""
        extension = self._extension
        assert extension is not None
        room = self._max_size - self._size
        parts = self._parts
        if parts is None:
            return extension.decode_fragment(self._opcode, payload, first, fin, room)
        parts.append(payload)
        if not fin:
            return None
        self._parts = None
        return extension.decode_message(self._opcode, b"".join(parts), room)

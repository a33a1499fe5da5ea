"""The hook a negotiated extension (e.g. permessage-deflate) plugs into.

RFC 6455 section 9 lets an extension transform message payloads and use the
RSV bits. :class:`wsframe.Connection` asks its extension to transform each
outgoing data message (and whether to set RSV1), and each incoming reassembled
data message whose first frame had RSV1 set, within the message size limit.
Control frames are never transformed (RFC 7692 section 6).
"""

from __future__ import annotations

from typing import Tuple

from .enums import Opcode

__all__ = ["Extension"]


class Extension:
    """Runtime half of a negotiated extension; subclass and override.

    Attributes:
        name: the extension token, e.g. ``"permessage-deflate"``.
        uses_rsv1: whether received messages may have RSV1 set; the connection
            builds its frame parser with RSV1 allowed accordingly.
    """

    name: str = ""
    uses_rsv1: bool = True
    #: Whether :meth:`decode_fragment` is implemented. When False, a
    #: connection that streams fragments (``stream_fragments=True``) gathers
    #: a compressed fragmented message and calls :meth:`decode_message` once.
    decodes_fragments: bool = False

    def encode_message(self, opcode: Opcode, payload: bytes) -> Tuple[bytes, bool]:
        """Transform an outgoing TEXT or BINARY message before framing.

        Args:
            opcode: Opcode.TEXT or Opcode.BINARY.
            payload: the whole message (text already encoded as UTF-8).

        Returns:
            (payload to send, whether to set RSV1 on its first frame).
        """
        return payload, False

    def decode_message(self, opcode: Opcode, payload: bytes, max_size: int) -> bytes:
        """Transform an incoming reassembled message whose RSV1 bit was set.

        Text is validated as UTF-8 by the connection *after* this call.

        Args:
            opcode: Opcode.TEXT or Opcode.BINARY.
            payload: the message as received.
            max_size: the message size limit; output beyond it must not be
                produced.

        Raises:
            MessageTooBig: the output would exceed ``max_size`` (close 1009).
            ProtocolError: the payload is corrupt (close 1002, or the code the
                error carries).
        """
        return payload

    def decode_fragment(self, opcode: Opcode, payload: bytes, first: bool, fin: bool, max_size: int) -> bytes:
        """Transform one frame of an incoming fragmented message whose first
        frame had RSV1 set, as it arrives (when :attr:`decodes_fragments`).

        Args:
            opcode: Opcode.TEXT or Opcode.BINARY (the message's).
            payload: this frame's payload as received.
            first: the first frame of the message.
            fin: the last frame of the message.
            max_size: what the message may still grow by; output beyond it
                must not be produced.

        Raises:
            MessageTooBig: the output would exceed ``max_size`` (close 1009).
            ProtocolError: the payload is corrupt.
        """
        raise NotImplementedError

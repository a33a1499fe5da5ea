"""Close frame payloads (RFC 6455 section 5.5.1) for the ``_codec_py`` backend."""

from __future__ import annotations

from codecs import utf_8_decode
from operator import index
from typing import Optional, Tuple, Union

from .. import _reasons
from ..enums import is_valid_close_code
from ..errors import InvalidUTF8, ProtocolError
from .mask import as_bytes_view

Buffer = Union[bytes, bytearray, memoryview]

__all__ = ["decode_close_payload", "encode_close_payload", "check_close_payload"]

# Codes that describe a closure locally and must never be sent (RFC 6455 7.4.1).
_NEVER_SENT = frozenset({1005, 1006, 1015})


def check_close_payload(payload: Buffer) -> Tuple[int, str]:
    """Validate and decode a received close payload (shared with the parser).

    Returns:
        ``(code, reason)``; ``(1005, "")`` for an empty payload (RFC 6455 7.1.5).

    Raises:
        ProtocolError: 1-byte payload or a code not allowed on the wire (1002).
        InvalidUTF8: the reason is not UTF-8 (1007); ``position`` is the offset
            of the bad sequence within the close payload.
    """
    n = len(payload)
    if n == 0:
        return 1005, ""
    if n == 1:
        # RFC 6455 5.5.1: if there is a body, its first two bytes are the code.
        raise ProtocolError(_reasons.CLOSE_ONE_BYTE)
    code = (payload[0] << 8) | payload[1]
    if not is_valid_close_code(code):
        raise ProtocolError(_reasons.CLOSE_BAD_CODE)
    try:
        # RFC 6455 5.5.1: the reason is UTF-8 encoded data.
        reason, _ = utf_8_decode(payload[2:], "strict", True)
    except UnicodeDecodeError as exc:
        raise InvalidUTF8(_reasons.CLOSE_BAD_REASON, exc.start + 2) from None
    return code, reason


def decode_close_payload(payload: Buffer) -> Tuple[int, str]:
    """(code, reason) of a received close frame payload; (1005, "") if empty.

    Raises:
        ProtocolError: 1-byte payload or a code that may not be on the wire (1002).
        InvalidUTF8: a reason that is not UTF-8 (1007).
        TypeError: ``payload`` is not a buffer.
    """
    return check_close_payload(as_bytes_view(payload))


def encode_close_payload(code: Optional[int] = None, reason: str = "") -> bytes:
    """Payload of a close frame to send; b"" when ``code`` is None.

    Raises:
        ValueError: ``code`` is 1005, 1006, 1015 or otherwise not allowed on the
            wire, a reason is given without a code, or the reason is longer
            than 123 bytes of UTF-8 (RFC 6455 5.5: control payloads <= 125).
    """
    if code is None:
        if reason:
            raise ValueError("a close reason needs a close code")
        return b""
    code = index(code)  # TypeError for non-integers, as a C int argument would
    if code in _NEVER_SENT:
        raise ValueError(f"close code {code} must not be sent on the wire")
    if not is_valid_close_code(code):
        raise ValueError(f"invalid close code {code}")
    data = reason.encode("utf-8")
    if len(data) > 123:
        raise ValueError(f"close reason is {len(data)} bytes of UTF-8, at most 123 allowed")
    return code.to_bytes(2, "big") + data

"""The exception tree of wsframe.

Framing errors say which close code the peer deserves, so a host server can
close with ``exc.code`` and ``exc.reason`` without a mapping table::

    WebSocketError                 base of everything wsframe raises on bad input
    ├── ProtocolError              RFC 6455 violation; .code (CloseCode), .reason
    │   ├── InvalidUTF8            1007, .position: offset of the bad sequence
    │   └── MessageTooBig          1009, a frame, message or fragment limit
    └── InvalidHandshake           opening handshake errors (wsframe.handshake)

Handshake errors (``InvalidHandshake`` and its subclasses) live apart from
framing errors because they are answered with an HTTP status, not a close code.
"""

from __future__ import annotations

from typing import Any, List

from .enums import CloseCode

__all__ = [
    "WebSocketError",
    "ProtocolError",
    "InvalidUTF8",
    "MessageTooBig",
]


class WebSocketError(Exception):
    """Base class of every error wsframe raises because of bad input."""


class ProtocolError(WebSocketError):
    """The peer broke RFC 6455: close the connection with ``code``.

    Attributes:
        code: the close code to send (a :class:`CloseCode`).
        reason: a short human-readable reason, safe to put in a close frame
            (at most 123 bytes of UTF-8).
        frames: frames completed by the same ``FrameParser.feed()`` call before
            the error, so nothing the peer sent correctly is lost.
    """

    default_code = CloseCode.PROTOCOL_ERROR

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason: str = reason
        self.code: CloseCode = CloseCode(self.default_code if code is None else code)
        self.frames: List[Any] = []

    def __str__(self) -> str:
        return f"{self.reason} (close code {int(self.code)})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, code={int(self.code)})"

    def __reduce__(self) -> Any:
        return (type(self), (self.reason, int(self.code)))


class InvalidUTF8(ProtocolError):
    """A text payload or close reason is not valid UTF-8 (close code 1007).

    ``position`` is the offset of the first byte of the invalid sequence,
    counted from the start of the message (or of everything fed to a
    :class:`Utf8Validator`); it equals ``UnicodeDecodeError.start`` for the
    same bytes.
    """

    default_code = CloseCode.INVALID_DATA

    def __init__(self, reason: str, position: int = 0, code: int | None = None) -> None:
        super().__init__(reason, code)
        self.position: int = position

    def __repr__(self) -> str:
        return f"InvalidUTF8({self.reason!r}, position={self.position})"

    def __reduce__(self) -> Any:
        return (type(self), (self.reason, self.position, int(self.code)))


class MessageTooBig(ProtocolError):
    """A frame, message or fragment count is over its limit (close code 1009)."""

    default_code = CloseCode.MESSAGE_TOO_BIG

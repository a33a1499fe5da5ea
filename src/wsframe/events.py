"""What :class:`wsframe.Connection` reports: one small object per happening.

``Connection.events()`` returns a list of these, in order. Data events are
deliberately tiny (one slotted object per message) because they are the hot
path; handshake and close events carry more detail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Tuple, Union

if TYPE_CHECKING:  # pragma: no cover
    from .extension import Extension
    from .handshake.errors import InvalidHandshake
    from .handshake.http11 import Request, Response
    from .errors import WebSocketError

__all__ = [
    "Event",
    "HandshakeRequest",
    "HandshakeAccepted",
    "HandshakeRejected",
    "TextMessage",
    "BinaryMessage",
    "MessageFragment",
    "Ping",
    "Pong",
    "CloseReceived",
    "ProtocolViolation",
    "Closed",
]


class Event:
    """Base class of every connection event."""

    __slots__: Tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]


class HandshakeRequest(Event):
    """(server, ``auto_accept=False``) A handshake request awaits the host's
    answer: ``Connection.accept()``, ``reject()``, ``respond()`` or
    ``send_response()``.

    The event comes for every request head that parses as HTTP, valid
    WebSocket upgrade or not, so the host can serve plain HTTP (a page, a
    health check) on the same port. ``accept()`` on an invalid request sends
    the error's response instead.

    Attributes:
        request: the parsed request (method, target, headers).
        subprotocols: the subprotocols the client offered, in its order.
        error: why the request is not a valid upgrade, or None when it is.
    """

    __slots__ = ("request", "subprotocols", "error")

    def __init__(
        self, request: "Request", subprotocols: List[str], error: Optional["InvalidHandshake"] = None
    ) -> None:
        self.request = request
        self.subprotocols = subprotocols
        self.error = error


class HandshakeAccepted(Event):
    """The opening handshake succeeded; the connection is OPEN.

    Attributes:
        subprotocol: the negotiated subprotocol, or None.
        extensions: the runtime extensions in use.
        request: the handshake request (ours as a client, the peer's as a server).
        response: (client) the server's response; None on the server side.
    """

    __slots__ = ("subprotocol", "extensions", "request", "response")

    def __init__(
        self,
        subprotocol: Optional[str],
        extensions: List["Extension"],
        request: "Request",
        response: Optional["Response"] = None,
    ) -> None:
        self.subprotocol = subprotocol
        self.extensions = extensions
        self.request = request
        self.response = response


class HandshakeRejected(Event):
    """The opening handshake failed; the connection is CLOSED.

    On a server the error response is queued in ``data_to_send()`` and the
    transport should be closed once it is written. On a client, the server
    refused (``status`` is its status) or its answer was invalid.

    Attributes:
        status: the HTTP status sent (server) or received (client: 101 when
            the 101 response itself was invalid, 0 when no response could be
            parsed).
        error: the exception describing why.
        response: (client) the server's parsed response, when there was one.
    """

    __slots__ = ("status", "error", "response")

    def __init__(self, status: int, error: "InvalidHandshake", response: Optional["Response"] = None) -> None:
        self.status = status
        self.error = error
        self.response = response


class TextMessage(Event):
    """A whole text message: ``str``, or validated UTF-8 ``bytes`` with
    ``text_as_bytes=True``."""

    __slots__ = ("data",)

    def __init__(self, data: Union[str, bytes]) -> None:
        self.data = data


class BinaryMessage(Event):
    """A whole binary message."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class MessageFragment(Event):
    """(``stream_fragments=True``) One frame of a fragmented message, as it
    arrives, so a host can stream a message without holding it whole.

    Text is decoded on code point boundaries (a code point split between
    frames comes out with the later part), or stays validated UTF-8
    ``bytes`` with ``text_as_bytes=True`` (then cut where the frames were).
    A compressed message is inflated frame by frame when its extension can
    (permessage-deflate can). A message that was not fragmented still comes
    as one :class:`TextMessage` or :class:`BinaryMessage`.

    Attributes:
        data: this part of the message (``str`` or ``bytes`` for text,
            ``bytes`` for binary); may be empty.
        text: True for a text message.
        fin: True on the last part of the message.
    """

    __slots__ = ("data", "text", "fin")

    def __init__(self, data: Union[str, bytes], text: bool, fin: bool) -> None:
        self.data = data
        self.text = text
        self.fin = fin


class Ping(Event):
    """A ping; with ``auto_pong=True`` (default) the pong is already queued."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Pong(Event):
    """A pong (solicited or not, RFC 6455 section 5.5.3)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class CloseReceived(Event):
    """The peer's close frame (RFC 6455 section 5.5.1).

    ``code`` is 1005 (NO_STATUS_RCVD) when the frame had no payload. If we had
    not sent a close yet, the echo is already queued.
    """

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class ProtocolViolation(Event):
    """The peer broke the protocol; the close frame with ``error.code`` is
    queued and further input is ignored.

    Attributes:
        error: the ProtocolError (or subclass) raised by the parser or an
            extension.
    """

    __slots__ = ("error",)

    def __init__(self, error: "WebSocketError") -> None:
        self.error = error

    @property
    def code(self) -> int:
        """The close code sent to the peer."""
        return int(getattr(self.error, "code", 1002))

    @property
    def reason(self) -> str:
        """The close reason sent to the peer."""
        return str(getattr(self.error, "reason", ""))


class Closed(Event):
    """The last event: the WebSocket connection is closed (RFC 6455 section 7.1.4).

    Attributes:
        code: the close code of the connection: the peer's (or ours, when we
            failed it), 1005 when a close frame had no code, 1006 when the
            stream ended without a closing handshake.
        reason: the matching reason.
        clean: True when both close frames were exchanged (section 7.1.4's
            "cleanly"); the TCP close is then the server's to do.
        error: the exception that ended the connection, if any.
    """

    __slots__ = ("code", "reason", "clean", "error")

    def __init__(self, code: int, reason: str, clean: bool, error: Optional[Any] = None) -> None:
        self.code = code
        self.reason = reason
        self.clean = clean
        self.error = error

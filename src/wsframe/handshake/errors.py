"""Opening handshake errors (RFC 6455 section 4), apart from framing errors.

A handshake error is answered with an HTTP status, not a close code, so each
error knows its status and the extra headers its response needs; ``response``
gives the bytes a server sends back. The tree::

    WebSocketError
    └── InvalidHandshake           .status, .reason, .response
        ├── InvalidMessage         malformed HTTP head (400)
        │   └── HeadTooLarge       over a line, header-count or size limit (431)
        ├── InvalidHeader          a required header missing or wrong (400); .name
        │   ├── InvalidUpgrade     Upgrade/Connection do not ask for websocket (400)
        │   ├── InvalidVersion     Sec-WebSocket-Version is not 13 (426)
        │   └── InvalidOrigin      Origin not in the allow-list (403)
        ├── NegotiationError       subprotocol or extension negotiation failed
        ├── InvalidStatus          (client) the server answered something other than 101
        ├── RequestRejected        (server) the application refused the request
        └── ProxyError             (client) the HTTP proxy did not open a tunnel
            ├── InvalidProxyMessage    its answer is not a valid HTTP response head
            └── InvalidProxyStatus     it answered CONNECT with a status other than 2xx
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from ..errors import WebSocketError
from .responses import error_response

__all__ = [
    "InvalidHandshake",
    "InvalidMessage",
    "HeadTooLarge",
    "InvalidHeader",
    "InvalidUpgrade",
    "InvalidVersion",
    "InvalidOrigin",
    "NegotiationError",
    "InvalidStatus",
    "RequestRejected",
    "ProxyError",
    "InvalidProxyMessage",
    "InvalidProxyStatus",
]


class InvalidHandshake(WebSocketError):
    """The opening handshake failed; a server answers with :attr:`response`.

    Attributes:
        reason: a short human-readable reason (the response body unless
            ``body`` is given).
        status: the HTTP status a server should answer with.
        headers: extra response headers the status calls for.
        body: the response body to send instead of the reason, or None.
    """

    default_status = 400

    def __init__(
        self,
        reason: str,
        status: Optional[int] = None,
        headers: Sequence[Tuple[str, str]] = (),
        *,
        body: Optional[bytes] = None,
    ) -> None:
        super().__init__(reason)
        self.reason: str = reason
        self.status: int = self.default_status if status is None else status
        self.headers: List[Tuple[str, str]] = list(headers)
        self.body: Optional[bytes] = body

    @property
    def response(self) -> bytes:
        """The complete HTTP error response for this error (head and body).

        Raises:
            ValueError: a header, the status or the body cannot be sent
                (see :func:`~wsframe.handshake.error_response`).
        """
        return error_response(self.status, self.reason, self.headers, self.body)

    def __str__(self) -> str:
        return f"{self.reason} (HTTP {self.status})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, status={self.status})"


class InvalidMessage(InvalidHandshake):
    """The HTTP head is malformed (RFC 7230 section 3)."""


class HeadTooLarge(InvalidMessage):
    """The HTTP head is over a limit: line length, header count or total size.

    Answered with 431 (RFC 6585 section 5) instead of buffering without end.
    """

    default_status = 431


class InvalidHeader(InvalidHandshake):
    """A header the handshake needs is missing, repeated or has a wrong value.

    Attributes:
        name: the header's name.
        value: the offending value, or None when the header is missing.
    """

    def __init__(
        self,
        name: str,
        value: Optional[str] = None,
        reason: Optional[str] = None,
        status: Optional[int] = None,
        headers: Sequence[Tuple[str, str]] = (),
    ) -> None:
        if reason is None:
            reason = f"missing {name} header" if value is None else f"invalid {name} header"
        super().__init__(reason, status, headers)
        self.name: str = name
        self.value: Optional[str] = value


class InvalidUpgrade(InvalidHeader):
    """``Upgrade: websocket`` or ``Connection: upgrade`` is missing (RFC 6455 4.2.1)."""


class InvalidVersion(InvalidHeader):
    """``Sec-WebSocket-Version`` is not 13: answered with 426 and the version
    we speak (RFC 6455 section 4.4)."""

    default_status = 426

    def __init__(self, value: Optional[str] = None, reason: Optional[str] = None) -> None:
        super().__init__(
            "Sec-WebSocket-Version",
            value,
            reason or "unsupported WebSocket version, 13 is required",
            headers=[("Sec-WebSocket-Version", "13"), ("Upgrade", "websocket"), ("Connection", "Upgrade, close")],
        )


class InvalidOrigin(InvalidHeader):
    """The ``Origin`` is not allowed: answered with 403 (RFC 6455 section 4.2.2)."""

    default_status = 403

    def __init__(self, value: Optional[str] = None) -> None:
        super().__init__("Origin", value, "origin not allowed")


class NegotiationError(InvalidHandshake):
    """Subprotocol or extension negotiation failed (RFC 6455 sections 4.1, 9.1)."""


class InvalidStatus(InvalidHandshake):
    """(client) The server answered with a status other than 101.

    Attributes:
        http_response: the parsed :class:`~wsframe.handshake.http11.Response`
            (``response``, inherited, is what a server would have sent).
    """

    def __init__(self, http_response: object, status: int) -> None:
        super().__init__(f"server refused the upgrade with HTTP {status}", status)
        self.http_response = http_response


class RequestRejected(InvalidHandshake):
    """(server) The application refused the request with its own status."""


class ProxyError(InvalidHandshake):
    """(client) The HTTP proxy did not open a tunnel to the server."""

    default_status = 502


class InvalidProxyMessage(ProxyError):
    """(client) The proxy's answer to CONNECT is not a valid HTTP response
    head, is over the head size limit, or the proxy closed the connection."""


class InvalidProxyStatus(ProxyError):
    """(client) The proxy answered CONNECT with a status other than 2xx,
    e.g. 407 (Proxy Authentication Required) or 403.

    Attributes:
        status: the proxy's status.
        http_response: the parsed :class:`~wsframe.handshake.http11.Response`.
    """

    def __init__(self, http_response: object, status: int) -> None:
        super().__init__(f"proxy refused the tunnel with HTTP {status}", status)
        self.http_response = http_response

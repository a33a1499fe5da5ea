"""Client side of the opening handshake (RFC 6455 sections 4.1 and 4.2.2).

:func:`build_request` makes the request with a fresh key; :func:`check_response`
verifies the server's answer against it and returns what was negotiated.
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

from ..extension import Extension
from .errors import InvalidHeader, InvalidMessage, InvalidStatus, InvalidUpgrade, NegotiationError
from .extensions import ClientExtensionFactory, accept_client_extensions, format_extensions, parse_extensions
from .http11 import Request, Response, header_tokens, serialize_request
from .keys import accept_key, generate_key
from .responses import _TOKEN

__all__ = ["ClientRequest", "build_request", "check_response"]


class ClientRequest:
    """A handshake request and what its response must match.

    Attributes:
        request: the request head.
        data: its bytes, ready to write.
        key: the Sec-WebSocket-Key sent.
        subprotocols: the subprotocols offered.
        extensions: the extension factories whose offers were sent.
    """

    __slots__ = ("request", "data", "key", "subprotocols", "extensions")

    def __init__(
        self,
        request: Request,
        key: str,
        subprotocols: Sequence[str],
        extensions: Sequence[ClientExtensionFactory],
    ) -> None:
        self.request = request
        self.data = serialize_request(request)
        self.key = key
        self.subprotocols = list(subprotocols)
        self.extensions = list(extensions)


def build_request(
    host: str,
    target: str = "/",
    *,
    subprotocols: Sequence[str] = (),
    origin: Optional[str] = None,
    extensions: Sequence[ClientExtensionFactory] = (),
    extra_headers: Iterable[Tuple[str, str]] = (),
    key: Optional[str] = None,
) -> ClientRequest:
    """Build the opening handshake request (RFC 6455 section 4.1).

    Args:
        host: the Host header value (``host`` or ``host:port``).
        target: the request target (path and query).
        subprotocols: subprotocols to offer, most preferred first.
        origin: the Origin header, if any.
        extensions: extension factories whose offers to send.
        extra_headers: more request fields (checked against injection).
        key: the Sec-WebSocket-Key; a fresh random one by default (tests only).

    Raises:
        ValueError: a header or the target would break the request, or a
            subprotocol is not a token.
    """
    for protocol in subprotocols:
        # RFC 6455 4.1 item 10: each offered subprotocol is a token; anything
        # else would be split or merged by the comma-joined header.
        if not _TOKEN.fullmatch(protocol):
            raise ValueError(f"invalid subprotocol (not an HTTP token): {protocol!r}")
    if key is None:
        key = generate_key()
    headers = [
        ("Host", host),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
    ]
    if origin is not None:
        headers.append(("Origin", origin))
    if subprotocols:
        headers.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
    if extensions:
        # A factory with an offers() method (permessage-deflate) may make
        # several offers, most preferred first (RFC 7692 section 5); the
        # server accepts at most one and the factory's accept() finds which.
        offers = [(f.name, params) for f in extensions for params in getattr(f, "offers", lambda f=f: [f.offer()])()]
        headers.append(("Sec-WebSocket-Extensions", format_extensions(offers)))
    headers += list(extra_headers)
    return ClientRequest(Request("GET", target, headers), key, subprotocols, extensions)


def check_response(response: Response, request: ClientRequest) -> Tuple[Optional[str], List[Extension]]:
    """Verify the server's answer (RFC 6455 section 4.1, the client's checks).

    Returns:
        (selected subprotocol or None, runtime extensions).

    Raises:
        InvalidStatus: the status is not 101.
        InvalidMessage: a 101 in an HTTP version other than 1.1.
        InvalidUpgrade: Upgrade or Connection is wrong.
        InvalidHeader: Sec-WebSocket-Accept is missing or wrong.
        NegotiationError: a subprotocol or extension we did not offer.
    """
    if response.status != 101:
        raise InvalidStatus(response, response.status)
    if response.version != "HTTP/1.1":
        # The request was HTTP/1.1 and Upgrade is an HTTP/1.1 mechanism
        # (RFC 9110 section 7.8); check_request refuses HTTP/1.0 the same way.
        raise InvalidMessage(f"a 101 response must be HTTP/1.1, not {response.version}")
    headers = response.headers
    if [t.lower() for t in header_tokens(headers.get_all("Upgrade"))] != ["websocket"]:
        raise InvalidUpgrade("Upgrade", headers.get("Upgrade"), "response lacks Upgrade: websocket")
    if not any(t.lower() == "upgrade" for t in header_tokens(headers.get_all("Connection"))):
        raise InvalidUpgrade("Connection", headers.get("Connection"), "response lacks Connection: Upgrade")
    accept_values = headers.get_all("Sec-WebSocket-Accept")
    if len(accept_values) != 1:
        raise InvalidHeader("Sec-WebSocket-Accept", ", ".join(accept_values) or None)
    if accept_values[0] != accept_key(request.key):
        raise InvalidHeader("Sec-WebSocket-Accept", accept_values[0], "Sec-WebSocket-Accept does not match the key")
    protocols = header_tokens(headers.get_all("Sec-WebSocket-Protocol"))
    if len(protocols) > 1:
        raise NegotiationError("server selected more than one subprotocol")
    subprotocol = protocols[0] if protocols else None
    if subprotocol is not None and subprotocol not in request.subprotocols:
        raise NegotiationError(f"server selected a subprotocol we did not offer: {subprotocol}")
    extensions = accept_client_extensions(
        parse_extensions(headers.get_all("Sec-WebSocket-Extensions")), request.extensions
    )
    return subprotocol, extensions

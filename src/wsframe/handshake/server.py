"""Server side of the opening handshake (RFC 6455 section 4.2).

:func:`accept` checks a parsed request and returns the 101 response with the
negotiated subprotocol and extensions, or raises an :class:`InvalidHandshake`
whose ``response`` is the error to send (400, 403, 426 or 431). A host
server that parsed the request itself passes ``Request(method, target,
headers)``; one that has raw bytes uses :func:`parse_request` first (or lets
:class:`wsframe.Connection` do everything).
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional, Sequence, Tuple

from ..extension import Extension
from .errors import InvalidHeader, InvalidMessage, InvalidOrigin, InvalidUpgrade, InvalidVersion
from .extensions import ServerExtensionFactory, format_extensions, negotiate_server_extensions, parse_extensions
from .http11 import Request, Response, header_tokens, serialize_response
from .keys import accept_key, is_valid_key
from .responses import error_response, validate_header

# A Content-Length that announces no body: "0", "00", ...
_ZERO = re.compile(r"0+")
# The request-target of a GET (RFC 9112 section 3.2): origin-form, "/path?query",
# or absolute-form, an absolute URI with a host (RFC 6455 4.2.1 names http and
# https; ws and wss are taken too). Never a fragment (RFC 6455 section 3).
# Asterisk-form is for OPTIONS only, authority-form for CONNECT only.
_GET_TARGET = re.compile(r"/[^#]*|(?i:https?|wss?)://[^/?#]+(?:[/?][^#]*)?")

__all__ = ["Accepted", "accept", "check_request", "offered_subprotocols", "select_subprotocol", "reject"]


class Accepted:
    """A request that passed: what to send and what was negotiated.

    Attributes:
        request: the request.
        response: the 101 response head as bytes, ready to write.
        headers: the 101 response's header fields.
        subprotocol: the selected subprotocol, or None.
        extensions: the runtime extensions accepted, in negotiation order.
    """

    __slots__ = ("request", "response", "headers", "subprotocol", "extensions")

    def __init__(
        self,
        request: Request,
        response: bytes,
        headers: List[Tuple[str, str]],
        subprotocol: Optional[str],
        extensions: List[Extension],
    ) -> None:
        self.request = request
        self.response = response
        self.headers = headers
        self.subprotocol = subprotocol
        self.extensions = extensions

    def __repr__(self) -> str:
        return f"Accepted(subprotocol={self.subprotocol!r}, extensions={self.extensions!r})"


def _single(request: Request, name: str) -> str:
    """The one value of a header that must appear exactly once."""
    values = request.headers.get_all(name)
    if not values:
        raise InvalidHeader(name)
    if len(values) > 1:
        raise InvalidHeader(name, ", ".join(values), f"more than one {name} header")
    return values[0]


def _check_no_body(request: Request) -> None:
    """Refuse a request that announces a body (RFC 7230 section 3.3).

    The handshake GET has none: bytes after the head are WebSocket frames,
    so a body would be parsed as frames (or smuggle a second request past a
    proxy that reads it as a body). ``Content-Length: 0`` is tolerated (some
    clients send it); the value is matched, never converted, so an absurdly
    long number costs nothing.
    """
    if request.headers.get_all("Transfer-Encoding"):
        raise InvalidMessage("a handshake request must not have a body (Transfer-Encoding)")
    for value in request.headers.get_all("Content-Length"):
        if not _ZERO.fullmatch(value):
            raise InvalidMessage("a handshake request must not have a body (Content-Length)")


def check_request(request: Request, origins: Optional[Sequence[Optional[str]]] = None) -> str:
    """Validate a handshake request in RFC 6455 section 4.2.1 order; return its key.

    Args:
        request: the parsed request.
        origins: allowed Origin values, or None to allow any; include None in
            the list to allow requests without an Origin (non-browser clients).

    Raises:
        InvalidHandshake: a subclass saying what is wrong; ``exc.response``
            is the error response to send.
    """
    # 4.2.1 item 1: an HTTP/1.1 or higher GET request.
    if request.method != "GET":
        raise InvalidMessage("method must be GET")
    if not (request.version.startswith("HTTP/1.") and request.version >= "HTTP/1.1"):
        raise InvalidMessage("HTTP/1.1 is required")
    if not _GET_TARGET.fullmatch(request.target):
        raise InvalidMessage("the request target must be a path (origin-form) or an absolute URI")
    # Item 2: a Host header (RFC 7230 section 5.4: exactly one).
    _single(request, "Host")
    _check_no_body(request)
    # Item 3: an Upgrade header containing "websocket" (case-insensitive).
    upgrade = request.headers.get_all("Upgrade")
    if not any(token.lower() == "websocket" for token in header_tokens(upgrade)):
        raise InvalidUpgrade("Upgrade", ", ".join(upgrade) or None, "Upgrade: websocket is required")
    # Item 4: a Connection header whose token list includes "Upgrade".
    connection = request.headers.get_all("Connection")
    if not any(token.lower() == "upgrade" for token in header_tokens(connection)):
        raise InvalidUpgrade("Connection", ", ".join(connection) or None, "Connection: Upgrade is required")
    # Item 5: Sec-WebSocket-Key, base64 of a 16-byte nonce.
    key = _single(request, "Sec-WebSocket-Key")
    if not is_valid_key(key):
        raise InvalidHeader("Sec-WebSocket-Key", key, "Sec-WebSocket-Key must be base64 of 16 bytes")
    # Item 6: Sec-WebSocket-Version 13; anything else (or nothing) gets 426
    # with the version we speak (section 4.4).
    versions = request.headers.get_all("Sec-WebSocket-Version")
    if versions != ["13"]:
        raise InvalidVersion(", ".join(versions) or None)
    # Item 7 (optional): Origin, checked against the allow-list (section 4.2.2 and 10.2).
    if origins is not None:
        origin_values = request.headers.get_all("Origin")
        if len(origin_values) > 1:
            raise InvalidHeader("Origin", ", ".join(origin_values), "more than one Origin header")
        origin = origin_values[0] if origin_values else None
        if origin not in origins:
            raise InvalidOrigin(origin)
    return key


def offered_subprotocols(request: Request) -> List[str]:
    """The subprotocols a client offered, in its order (RFC 6455 section 4.1 item 10)."""
    return header_tokens(request.headers.get_all("Sec-WebSocket-Protocol"))


def select_subprotocol(offered: Sequence[str], supported: Sequence[str]) -> Optional[str]:
    """The first of the server's ``supported`` (its preference) that the client offered."""
    offered_set = set(offered)
    for protocol in supported:
        if protocol in offered_set:
            return protocol
    return None


def accept(
    request: Request,
    *,
    subprotocols: Sequence[str] = (),
    origins: Optional[Sequence[Optional[str]]] = None,
    extensions: Sequence[ServerExtensionFactory] = (),
    extra_headers: Iterable[Tuple[str, str]] = (),
    subprotocol: Optional[str] = None,
    max_extensions: Optional[int] = None,
) -> Accepted:
    """Check ``request`` and build the 101 response (RFC 6455 section 4.2.2).

    Args:
        request: the parsed request.
        subprotocols: subprotocols the server supports, most preferred first;
            none is selected when the client offered none of them.
        origins: Origin allow-list (see :func:`check_request`).
        extensions: server extension factories, tried against the client's
            offers in the client's order.
        extra_headers: more response fields (checked against injection).
        subprotocol: force this subprotocol (must be one the client offered)
            instead of selecting from ``subprotocols``.
        max_extensions: accept at most this many extensions (the client's
            first acceptable offers); None for no limit.

    Raises:
        InvalidHandshake: the request is refused; send ``exc.response``.
    """
    key = check_request(request, origins)
    offered = offered_subprotocols(request)
    if subprotocol is None:
        chosen = select_subprotocol(offered, subprotocols)
    elif subprotocol in offered:
        chosen = subprotocol
    else:
        raise ValueError(f"the client did not offer subprotocol {subprotocol!r}")
    answer, runtime = negotiate_server_extensions(
        parse_extensions(request.headers.get_all("Sec-WebSocket-Extensions")), extensions, max_extensions
    )
    headers = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(key)),
    ]
    if chosen is not None:
        headers.append(("Sec-WebSocket-Protocol", chosen))
    if answer:
        headers.append(("Sec-WebSocket-Extensions", format_extensions(answer)))
    for name, value in extra_headers:
        validate_header(name, value)
        headers.append((name, value))
    response = serialize_response(Response(101, "Switching Protocols", headers))
    return Accepted(request, response, headers, chosen, runtime)


def reject(status: int, reason: str = "", headers: Iterable[Tuple[str, str]] = ()) -> bytes:
    """An error response refusing the upgrade, e.g. ``reject(404, "no such path")``."""
    if not 200 <= status <= 999:
        raise ValueError("reject() needs a final (non-1xx) status")
    return error_response(status, reason or "request refused", headers)

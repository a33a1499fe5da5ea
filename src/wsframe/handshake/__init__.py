"""The opening handshake of RFC 6455 section 4, sans I/O.

Server side: :func:`accept` (or :func:`check_request`) on a :class:`Request`
parsed by :func:`parse_request` or built by a host server. Client side:
:func:`build_request` then :func:`check_response`. Errors are
:class:`InvalidHandshake` subclasses carrying the HTTP status and the response
bytes to send; they never surface as tracebacks from bad input. A server
answering plain HTTP instead builds the response with :func:`build_response`.
"""

from __future__ import annotations

from .client import ClientRequest, build_request, check_response
from .errors import (
    HeadTooLarge,
    InvalidHandshake,
    InvalidHeader,
    InvalidMessage,
    InvalidOrigin,
    InvalidProxyMessage,
    InvalidProxyStatus,
    InvalidStatus,
    InvalidUpgrade,
    InvalidVersion,
    NegotiationError,
    ProxyError,
    RequestRejected,
)
from .extensions import (
    ClientExtensionFactory,
    ExtensionOffer,
    ExtensionParams,
    ServerExtensionFactory,
    format_extensions,
    parse_extensions,
)
from .http11 import (
    DEFAULT_MAX_HEAD_SIZE,
    DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_LINE_SIZE,
    HeadReader,
    Headers,
    Request,
    Response,
    header_tokens,
    parse_request,
    parse_response,
    serialize_request,
    serialize_response,
)
from .keys import GUID, accept_key, generate_key, is_valid_key
from .proxy import Proxy, ProxyTunnel, parse_proxy, proxy_from_environment
from .responses import build_response, error_response
from .server import Accepted, accept, check_request, offered_subprotocols, reject, select_subprotocol

__all__ = [
    "GUID",
    "accept_key",
    "generate_key",
    "is_valid_key",
    "DEFAULT_MAX_HEAD_SIZE",
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_LINE_SIZE",
    "Headers",
    "Request",
    "Response",
    "HeadReader",
    "parse_request",
    "parse_response",
    "serialize_request",
    "serialize_response",
    "build_response",
    "error_response",
    "header_tokens",
    "ExtensionOffer",
    "ExtensionParams",
    "parse_extensions",
    "format_extensions",
    "ServerExtensionFactory",
    "ClientExtensionFactory",
    "Accepted",
    "accept",
    "check_request",
    "offered_subprotocols",
    "select_subprotocol",
    "reject",
    "ClientRequest",
    "build_request",
    "check_response",
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
    "Proxy",
    "ProxyTunnel",
    "parse_proxy",
    "proxy_from_environment",
]

"""``connect()``: an asyncio WebSocket client on :class:`wsframe.aio.WebSocket`.

``ws = await connect("ws://host:port/path")`` or
``async with connect(uri) as ws:``. ``wss://`` URIs use TLS with certificate
and host name verification on by default
(:func:`ssl.create_default_context`); pass ``ssl=`` a context of your own
to trust a private CA or a self-signed certificate.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
import urllib.parse
from typing import Any, Dict, Generator, Iterable, Optional, Sequence, Tuple

from .. import (
    deflate as _deflate,  # permessage-deflate, on by default (compression="deflate")
)
from .._backend import codec as _codec
from ..connection import Connection
from .connection import WebSocket
from .exceptions import InvalidURI
from .protocol import DEFAULT_MAX_QUEUE, DEFAULT_READ_BUFFER_SIZE, DEFAULT_WRITE_LIMIT

__all__ = ["connect", "Connect", "ClientConnection", "parse_uri"]


class ClientConnection(WebSocket):
    """The client side of one connection: sends the request as soon as TCP is up."""

    def __init__(self, conn: Connection, **options: Any) -> None:
        super().__init__(**options)
        self._conn = conn  # CONNECTING: the request is queued already

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._flush()

    def _receive_head(self, data: memoryview) -> None:  # pragma: no cover - _conn exists from the start
        raise AssertionError("a client connection always has its Connection")


def parse_uri(uri: str) -> Tuple[bool, str, int, str, str]:
    """Split a ``ws://`` or ``wss://`` URI (RFC 6455 section 3).

    Returns:
        (secure, host, port, target, host header value).

    Raises:
        InvalidURI: another scheme, no host, a fragment, or user info.
    """
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("ws", "wss"):
        raise InvalidURI(f"{uri!r} is not a ws:// or wss:// URI")
    if parts.fragment:
        raise InvalidURI("fragment identifiers are not allowed in WebSocket URIs")
    if parts.username is not None or parts.password is not None:
        raise InvalidURI("user info is not supported in WebSocket URIs")
    host = parts.hostname
    if not host:
        raise InvalidURI(f"{uri!r} has no host")
    secure = parts.scheme == "wss"
    try:
        port = parts.port or (443 if secure else 80)
    except ValueError as exc:
        raise InvalidURI(str(exc)) from None
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    host_header = f"[{host}]" if ":" in host else host
    if port != (443 if secure else 80):
        host_header += f":{port}"
    return secure, host, port, target, host_header


class Connect:
    """The awaitable / async context manager :func:`connect` returns."""

    def __init__(self, uri: str, options: Dict[str, Any]) -> None:
        self._uri = uri
        self._options = options
        self._ws: Optional[ClientConnection] = None

    async def _open(self) -> ClientConnection:
        o = self._options
        secure, host, port, target, host_header = parse_uri(self._uri)
        ssl_context = o["ssl"]
        if ssl_context is not None and not secure:
            raise ValueError("ssl= needs a wss:// URI")
        if secure and ssl_context is None:
            ssl_context = _ssl.create_default_context()  # verification on by default
        conn = Connection(
            "client",
            host=host_header,
            target=target,
            origin=o["origin"],
            subprotocols=o["subprotocols"],
            extension_factories=o["extension_factories"],
            extra_headers=o["extra_headers"],
            max_frame_size=o["max_frame_size"],
            max_message_size=o["max_size"],
            max_fragments=o["max_fragments"],
            auto_pong=False,  # the protocol answers pings (WebSocketProtocol._on_ping)
        )
        loop = asyncio.get_running_loop()
        protocol_options = {
            key: o[key]
            for key in (
                "max_queue",
                "read_buffer_size",
                "write_limit",
                "ping_interval",
                "ping_timeout",
                "close_timeout",
            )
        }
        transport = None

        async def open_connection() -> ClientConnection:
            nonlocal transport
            kwargs: Dict[str, Any] = dict(o["create_connection_kwargs"])
            if ssl_context is not None:
                kwargs["ssl"] = ssl_context
                kwargs.setdefault("server_hostname", host)
            transport, ws = await loop.create_connection(
                lambda: ClientConnection(conn, **protocol_options), host, port, **kwargs
            )
            await ws._opened  # HandshakeAccepted, or the handshake error
            return ws

        try:
            return await asyncio.wait_for(open_connection(), o["open_timeout"])
        except BaseException:
            if transport is not None:
                transport.abort()
            raise

    def __await__(self) -> Generator[Any, None, ClientConnection]:
        return self._open().__await__()

    async def __aenter__(self) -> ClientConnection:
        self._ws = await self._open()
        return self._ws

    async def __aexit__(self, *exc_info: object) -> None:
        if self._ws is not None:
            await self._ws.close()


def connect(
    uri: str,
    *,
    ssl: Optional[_ssl.SSLContext] = None,
    origin: Optional[str] = None,
    subprotocols: Sequence[str] = (),
    extension_factories: Sequence[Any] = (),
    compression: Optional[str] = "deflate",
    extra_headers: Iterable[Tuple[str, str]] = (),
    max_size: int = _codec.DEFAULT_MAX_MESSAGE_SIZE,
    max_frame_size: Optional[int] = None,
    max_fragments: int = _codec.DEFAULT_MAX_FRAGMENTS,
    max_queue: int = DEFAULT_MAX_QUEUE,
    read_buffer_size: int = DEFAULT_READ_BUFFER_SIZE,
    write_limit: int = DEFAULT_WRITE_LIMIT,
    ping_interval: Optional[float] = 20.0,
    ping_timeout: Optional[float] = 20.0,
    open_timeout: Optional[float] = 10.0,
    close_timeout: Optional[float] = 10.0,
    **create_connection_kwargs: Any,
) -> Connect:
    """Open a WebSocket connection to ``uri``.

    Args:
        uri: ``ws://host[:port]/path`` or ``wss://...``.
        ssl: a client :class:`ssl.SSLContext` for ``wss://`` (default: the
            system trust store with host name checking).
        origin: the Origin header to send.
        subprotocols: offered subprotocols, most preferred first.
        extension_factories: client extension factories.
        compression: ``"deflate"`` (default, like websockets) offers
            permessage-deflate (:class:`wsframe.deflate.ClientPerMessageDeflate`)
            unless ``extension_factories`` has one; None disables it.
        extra_headers: more request header fields.
        max_size, max_frame_size, max_fragments: receive limits (1009 above).
        max_queue, read_buffer_size, write_limit: flow control.
        ping_interval, ping_timeout: keepalive (None disables).
        open_timeout: seconds for TCP, TLS and the handshake together.
        close_timeout: seconds to wait during the closing handshake.
        **create_connection_kwargs: passed to ``loop.create_connection``.

    Returns:
        A :class:`Connect`: ``await`` it for the connection, or use
        ``async with connect(uri) as ws``.

    Raises:
        InvalidURI: a bad URI.
        wsframe.handshake.InvalidHandshake: the server refused the handshake.
        asyncio.TimeoutError: ``open_timeout`` ran out.
        OSError: the TCP connection failed.
    """
    if compression not in ("deflate", None):
        raise ValueError(f"unsupported compression: {compression!r} (use 'deflate' or None)")
    options = {
        "ssl": ssl,
        "origin": origin,
        "subprotocols": list(subprotocols),
        "extension_factories": _deflate.enable_client(extension_factories)
        if compression == "deflate"
        else list(extension_factories),
        "extra_headers": list(extra_headers),
        "max_size": max_size,
        "max_frame_size": max_size if max_frame_size is None else max_frame_size,
        "max_fragments": max_fragments,
        "max_queue": max_queue,
        "read_buffer_size": read_buffer_size,
        "write_limit": write_limit,
        "ping_interval": ping_interval,
        "ping_timeout": ping_timeout,
        "open_timeout": open_timeout,
        "close_timeout": close_timeout,
        "create_connection_kwargs": create_connection_kwargs,
    }
    return Connect(uri, options)

"""``connect()``: an asyncio WebSocket client on :class:`wsframe.aio.WebSocket`.

``ws = await connect("ws://host:port/path")`` or
``async with connect(uri) as ws:``. ``wss://`` URIs use TLS with certificate
and host name verification on by default
(:func:`ssl.create_default_context`); pass ``ssl=`` a context of your own
to trust a private CA or a self-signed certificate. ``proxy="http://host:port"``
goes through an HTTP proxy (CONNECT);
``proxy=True`` takes it from the environment (``https_proxy`` ...).
"""

from __future__ import annotations

import asyncio
import socket
import ssl as _ssl
import urllib.parse
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Dict, Generator, Optional, Tuple, Union, cast

from ..connection import Connection
from ..handshake.proxy import proxy_from_environment
from .base import WebSocketBase
from .connection import WebSocket
from .exceptions import InvalidURI
from .options import Options
from .proxy import open_tunnel
from .reconnect import reconnecting

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .options import CommonOptions

__all__ = ["connect", "unix_connect", "Connect", "ClientConnection", "parse_uri"]


class ClientConnection(WebSocket):
    """The client side of one connection: sends the request as soon as TCP is up."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._flush()  # the request, queued by the CONNECTING Connection


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

    def __init__(
        self,
        uri: str,
        *,
        ssl: Optional[_ssl.SSLContext],
        origin: Optional[str],
        options: Options,
        create_connection_kwargs: Dict[str, Any],
        proxy: Union[str, bool, None] = None,
        protocol: Optional[Callable[[Connection, Options], WebSocketBase]] = None,
        track_delivery: bool = True,
        stream_fragments: bool = True,
    ) -> None:
        self._protocol = protocol or ClientConnection
        self._track_delivery = track_delivery
        self._stream_fragments = stream_fragments
        self._uri = uri
        self._proxy = proxy
        self._ssl = ssl
        self._origin = origin
        self._options = options
        self._kwargs = create_connection_kwargs
        self._ws: Optional[ClientConnection] = None

    async def _open(self) -> ClientConnection:
        return cast(ClientConnection, await self._open_protocol())

    async def _open_protocol(self) -> WebSocketBase:
        """TCP (and TLS), the handshake; the protocol object once OPEN."""
        options = self._options
        protocol = self._protocol
        secure, host, port, target, host_header = parse_uri(self._uri)
        ssl_context = self._ssl
        if ssl_context is not None and not secure:
            raise ValueError("ssl= needs a wss:// URI")
        if secure and ssl_context is None:
            ssl_context = _ssl.create_default_context()  # verification on by default
        conn = Connection(
            "client",
            host=host_header,
            target=target,
            origin=self._origin,
            extension_factories=options.client_extensions(),
            # One object per message (the str or bytes: bare_messages);
            # fragments as they come for recv_streaming() (recv() joins them).
            **{
                **options.connection_kwargs(),
                "track_delivery": self._track_delivery,
                "bare_messages": True,
                "stream_fragments": self._stream_fragments,
            },
        )
        loop = asyncio.get_running_loop()
        transport = None
        tunnel: Optional[socket.socket] = None
        proxy = self._proxy
        if proxy is True:
            proxy = proxy_from_environment(secure, host)
        elif proxy is False:
            proxy = None
        if proxy is not None and ("sock" in self._kwargs or "unix_path" in self._kwargs):
            raise ValueError("proxy= cannot be combined with sock= or a Unix socket")

        async def open_connection() -> WebSocketBase:
            nonlocal transport, tunnel
            kwargs = dict(self._kwargs)
            if proxy is not None:
                kwargs["sock"] = tunnel = await open_tunnel(
                    proxy, host, port, max_head_size=options.max_head_size, local_addr=kwargs.pop("local_addr", None)
                )
            if ssl_context is not None:
                kwargs["ssl"] = ssl_context
                kwargs.setdefault("server_hostname", host)
            unix_path = kwargs.pop("unix_path", None)
            if unix_path is not None:
                transport, ws = await loop.create_unix_connection(
                    lambda: protocol(conn, options), unix_path, **kwargs
                )
            elif kwargs.get("sock") is not None:
                transport, ws = await loop.create_connection(lambda: protocol(conn, options), **kwargs)
            else:
                transport, ws = await loop.create_connection(
                    lambda: protocol(conn, options), host, port, **kwargs
                )
            await ws._opened  # HandshakeAccepted, or the handshake error
            return ws

        try:
            return await asyncio.wait_for(open_connection(), options.open_timeout)
        except BaseException:
            if transport is not None:
                transport.abort()
            elif tunnel is not None:
                tunnel.close()
            raise

    def __await__(self) -> Generator[Any, None, ClientConnection]:
        return self._open().__await__()

    async def __aenter__(self) -> ClientConnection:
        self._ws = await self._open()
        return self._ws

    async def __aexit__(self, *exc_info: object) -> None:
        if self._ws is not None:
            await self._ws.close()

    def __aiter__(self) -> AsyncIterator[ClientConnection]:
        """``async for ws in connect(uri)``: a new connection after each
        outage, with the default backoff (see :mod:`wsframe.aio.reconnect`;
        :func:`~wsframe.aio.reconnect.reconnecting` tunes it)."""
        return reconnecting(self)


def connect(
    uri: str,
    *,
    ssl: Optional[_ssl.SSLContext] = None,
    origin: Optional[str] = None,
    server_hostname: Optional[str] = None,
    sock: Optional[socket.socket] = None,
    local_addr: Optional[Tuple[str, int]] = None,
    proxy: Union[str, bool, None] = None,
    **options: "Unpack[CommonOptions]",
) -> Connect:
    """Open a WebSocket connection to ``uri``.

    Args:
        uri: ``ws://host[:port]/path`` or ``wss://...``.
        ssl: a client :class:`ssl.SSLContext` for ``wss://`` (default: the
            system trust store with host name checking).
        origin: the Origin header to send.
        server_hostname, sock, local_addr: passed to ``loop.create_connection``.
        proxy: an HTTP proxy URL (``http://[user:password@]host[:port]``)
            to tunnel through with CONNECT; True to take it from the
            environment (``https_proxy`` for ``wss://``, ``http_proxy`` for
            ``ws://``, then ``all_proxy``; ``no_proxy`` is honoured); None
            or False (default) to connect directly.
        **options: the options shared with :func:`~wsframe.aio.serve`
            (:class:`~wsframe.aio.options.Options`): ``subprotocols``
            (offered, most preferred first), ``extension_factories``,
            ``compression`` (``"deflate"`` offers permessage-deflate),
            ``extra_headers``, ``max_size``, ``max_frame_size``,
            ``max_fragments``, ``max_head_size``, ``max_queue``,
            ``max_queue_bytes``, ``read_buffer_size``, ``write_limit``,
            ``ping_interval``, ``ping_timeout``, ``open_timeout`` (TCP, TLS
            and the handshake together), ``close_timeout``.

    Returns:
        A :class:`Connect`: ``await`` it for the connection, or use
        ``async with connect(uri) as ws``.

    Raises:
        InvalidURI: a bad URI.
        ValueError: an unsupported proxy URL (not ``http://``).
        wsframe.handshake.InvalidHandshake: the server refused the handshake;
            :class:`~wsframe.handshake.ProxyError` (a subclass): the proxy
            did not open the tunnel (``InvalidProxyStatus`` carries its
            ``status``, e.g. 407).
        asyncio.TimeoutError: ``open_timeout`` ran out.
        OSError: the TCP connection failed.
    """
    return Connect(
        uri,
        ssl=ssl,
        origin=origin,
        options=Options(**options),
        create_connection_kwargs=create_connection_kwargs(server_hostname, sock, local_addr),
        proxy=proxy,
    )


def create_connection_kwargs(
    server_hostname: Optional[str], sock: Optional[socket.socket], local_addr: Optional[Tuple[str, int]]
) -> Dict[str, Any]:
    """The ``loop.create_connection`` arguments given (the loop's defaults otherwise)."""
    kwargs: Dict[str, Any] = {}
    if server_hostname is not None:
        kwargs["server_hostname"] = server_hostname
    if sock is not None:
        kwargs["sock"] = sock
    if local_addr is not None:
        kwargs["local_addr"] = local_addr
    return kwargs


def unix_connect(
    path: str,
    uri: str = "ws://localhost/",
    *,
    ssl: Optional[_ssl.SSLContext] = None,
    origin: Optional[str] = None,
    server_hostname: Optional[str] = None,
    **options: "Unpack[CommonOptions]",
) -> Connect:
    """:func:`connect` over the Unix socket at ``path``; ``uri`` gives the
    Host header and the request target (its host and port are not dialled)."""
    kwargs: Dict[str, Any] = {"unix_path": path}
    if server_hostname is not None:
        kwargs["server_hostname"] = server_hostname
    return Connect(uri, ssl=ssl, origin=origin, options=Options(**options), create_connection_kwargs=kwargs)

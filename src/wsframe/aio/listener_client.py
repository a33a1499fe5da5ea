"""``connect_listener()``: the callback API's client (see :mod:`wsframe.aio.listener`).

The same connection set-up as :func:`~wsframe.aio.connect` (URI, TLS,
options, ``open_timeout``), with a listener as the application::

    ws = await connect_listener(MyListener, "ws://127.0.0.1:8765/")
    ws.send("hello")                     # replies come to MyListener.on_message
    ws.close()
    await ws.wait_closed()
"""

from __future__ import annotations

import asyncio
import socket
import ssl as _ssl
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple, cast

from ..connection import Connection
from .client import Connect, create_connection_kwargs
from .listener import ListenerConnection, ListenerFactory
from .options import Options

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .options import CommonOptions

__all__ = ["connect_listener", "unix_connect_listener", "ListenerClientConnection"]


class ListenerClientConnection(ListenerConnection):
    """The client side of one connection of :func:`connect_listener`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._flush()  # the request, queued by the CONNECTING Connection


async def connect_listener(
    listener_factory: ListenerFactory,
    uri: str,
    *,
    ssl: Optional[_ssl.SSLContext] = None,
    origin: Optional[str] = None,
    server_hostname: Optional[str] = None,
    sock: Optional[socket.socket] = None,
    local_addr: Optional[Tuple[str, int]] = None,
    **options: "Unpack[CommonOptions]",
) -> ListenerClientConnection:
    """Open a WebSocket connection to ``uri`` whose application is a listener.

    Args:
        listener_factory: called without arguments once the handshake is
            accepted; returns the listener (see :class:`~wsframe.aio.Listener`),
            whose ``on_open`` runs before this coroutine returns.
        uri: ``ws://host[:port]/path`` or ``wss://...``.
        ssl, origin, server_hostname, sock, local_addr: as for
            :func:`~wsframe.aio.connect`.
        options: the options shared with :func:`~wsframe.aio.serve`
            (:class:`~wsframe.aio.options.Options`), as for ``connect()``.

    Returns:
        The open :class:`ListenerClientConnection`.

    Raises:
        InvalidURI: a bad URI; and the other errors of :func:`~wsframe.aio.connect`.
    """

    kwargs = create_connection_kwargs(server_hostname, sock, local_addr)
    return await _open(listener_factory, uri, ssl, origin, Options(**options), kwargs)


async def unix_connect_listener(
    listener_factory: ListenerFactory,
    path: str,
    uri: str = "ws://localhost/",
    *,
    ssl: Optional[_ssl.SSLContext] = None,
    origin: Optional[str] = None,
    server_hostname: Optional[str] = None,
    **options: "Unpack[CommonOptions]",
) -> ListenerClientConnection:
    """:func:`connect_listener` over the Unix socket at ``path``; ``uri``
    gives the Host header and the request target (its host and port are not
    dialled)."""
    kwargs: Dict[str, Any] = {"unix_path": path}
    if server_hostname is not None:
        kwargs["server_hostname"] = server_hostname
    return await _open(listener_factory, uri, ssl, origin, Options(**options), kwargs)


async def _open(
    listener_factory: ListenerFactory,
    uri: str,
    ssl: Optional[_ssl.SSLContext],
    origin: Optional[str],
    options: Options,
    create_kwargs: Dict[str, Any],
) -> ListenerClientConnection:
    """The opening both clients share: the handshake, with a listener as the application."""

    def protocol(conn: Connection, opts: Options) -> ListenerClientConnection:
        return ListenerClientConnection(conn, opts, listener_factory)

    opener = Connect(
        uri,
        ssl=ssl,
        origin=origin,
        options=options,
        create_connection_kwargs=create_kwargs,
        protocol=protocol,
        track_delivery=ListenerClientConnection._track_delivery,
        stream_fragments=ListenerClientConnection._stream_fragments,
    )
    return cast(ListenerClientConnection, await opener._open_protocol())

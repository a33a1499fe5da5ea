"""``serve_listener()``: the callback API's server (see :mod:`wsframe.aio.listener`).

The same :class:`~wsframe.aio.Server` as :func:`~wsframe.aio.serve`, with
the same options, limits, handshake hooks (``process_request``,
``process_response``) and shutdown (``close()`` sends 1001 to every
connection); only the application differs: a listener per connection
instead of a handler task.
"""

from __future__ import annotations

import socket
import ssl as _ssl
from typing import TYPE_CHECKING, Optional, Sequence

from .listener import ListenerConnection, ListenerFactory
from .options import Options
from .server import ProcessRequest, ProcessResponse, Server, ServerHandshake, create_server_kwargs

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .options import CommonOptions

__all__ = ["serve_listener", "unix_serve_listener", "ListenerServerConnection"]


class ListenerServerConnection(ServerHandshake, ListenerConnection):
    """The server side of one connection of :func:`serve_listener`: the
    handshake hooks, then the listener's callbacks."""

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self._listener_factory = server._handler


def serve_listener(
    listener_factory: ListenerFactory,
    host: Optional[str] = "127.0.0.1",
    port: int = 0,
    *,
    ssl: Optional[_ssl.SSLContext] = None,
    origins: Optional[Sequence[Optional[str]]] = None,
    process_request: Optional[ProcessRequest] = None,
    process_response: Optional[ProcessResponse] = None,
    reuse_port: Optional[bool] = None,
    backlog: int = 100,
    sock: Optional[socket.socket] = None,
    **options: "Unpack[CommonOptions]",
) -> Server:
    """A WebSocket server calling a listener per connection (the callback API).

    Args:
        listener_factory: called without arguments when a connection's
            handshake is done; returns its listener (an object with
            ``on_message(ws, message)`` and optionally ``on_open``,
            ``on_ping``, ``on_close``, ``on_drain``; see
            :class:`~wsframe.aio.Listener`). A class will do.
        host, port: where to listen, as for :func:`~wsframe.aio.serve`.
        ssl, origins, process_request, process_response: as for
            :func:`~wsframe.aio.serve` (a hook gets the
            :class:`ListenerServerConnection`).
        reuse_port, backlog, sock: passed to ``loop.create_server``.
        options: the options shared with :func:`~wsframe.aio.connect`
            (:class:`~wsframe.aio.options.Options`), as for ``serve()``.

    Returns:
        A :class:`~wsframe.aio.Server`: ``await`` it or use ``async with``.
    """
    return Server(
        listener_factory,
        host,
        port,
        ssl=ssl,
        origins=origins,
        process_request=process_request,
        process_response=process_response,
        options=Options(**options),
        create_server_kwargs=create_server_kwargs(reuse_port, backlog, sock),
        protocol=ListenerServerConnection,
    )


def unix_serve_listener(
    listener_factory: ListenerFactory,
    path: str,
    *,
    ssl: Optional[_ssl.SSLContext] = None,
    origins: Optional[Sequence[Optional[str]]] = None,
    process_request: Optional[ProcessRequest] = None,
    process_response: Optional[ProcessResponse] = None,
    backlog: int = 100,
    **options: "Unpack[CommonOptions]",
) -> Server:
    """:func:`serve_listener` on a Unix socket at ``path`` (e.g. behind a
    reverse proxy on the same host); the same listener, hooks and options."""
    return Server(
        listener_factory,
        None,
        0,
        ssl=ssl,
        origins=origins,
        process_request=process_request,
        process_response=process_response,
        options=Options(**options),
        create_server_kwargs={"backlog": backlog, "unix_path": path},
        protocol=ListenerServerConnection,
    )

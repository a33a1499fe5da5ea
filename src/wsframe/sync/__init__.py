"""A threaded WebSocket server and client on the sans-I/O :class:`wsframe.Connection`.

::

    from wsframe.sync import serve, connect

    def echo(ws):
        for message in ws:
            ws.send(message)

    with serve(echo, "127.0.0.1", 0) as server:
        server.start()                      # or server.serve_forever() in this thread
        with connect(f"ws://127.0.0.1:{server.port}/") as ws:
            ws.send("hello")
            assert ws.recv(timeout=5) == "hello"

The same options, limits and behaviour as :mod:`wsframe.aio` (both are thin
hosts of :class:`wsframe.Connection`), for programs without an event loop:
a thread per connection runs the handler, a reader thread per connection
owns the input. The exceptions are :mod:`wsframe.aio`'s
(:class:`ConnectionClosed`, :class:`ConnectionClosedOK`,
:class:`ConnectionClosedError`, :class:`InvalidURI`), so code catching them
works with either; :func:`route` is :func:`wsframe.aio.route` for plain
functions. ``ws://`` only: no TLS yet. See ``docs/sync.md``.
"""

from __future__ import annotations

from ..aio.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK, InvalidURI
from .client import ClientConnection, connect
from .connection import Data, WebSocket
from .router import Router, respond, route
from .server import HTTPResponse, Server, ServerConnection, serve

__all__ = [
    "serve",
    "connect",
    "Server",
    "WebSocket",
    "ServerConnection",
    "ClientConnection",
    "HTTPResponse",
    "Data",
    "ConnectionClosed",
    "ConnectionClosedOK",
    "ConnectionClosedError",
    "InvalidURI",
    "route",
    "Router",
    "respond",
]

"""asyncio WebSocket server and client on the sans-I/O :class:`wsframe.Connection`.

::

    from wsframe.aio import serve, connect

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 8765) as server:
        async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"

Built on ``asyncio.BufferedProtocol`` (asyncio reads into a buffer the frame
parser consumes), with flow control both ways, keepalive pings, open and
close timeouts and TLS. Works on uvloop's loop too.

For the lowest latency, the callback API calls a listener from the read
itself (same options, limits and hooks)::

    class Echo(Listener):
        def on_message(self, ws, message):
            ws.send(message)

    async with serve_listener(Echo, "127.0.0.1", 8765) as server:
        await server.serve_forever()
"""

from __future__ import annotations

from .base import WebSocketBase
from .broadcast import broadcast
from .client import ClientConnection, Connect, connect, parse_uri, unix_connect
from .connection import WebSocket
from .exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidURI,
)
from .listener import Listener, ListenerConnection, ListenerFactory
from .listener_client import ListenerClientConnection, connect_listener, unix_connect_listener
from .listener_server import ListenerServerConnection, serve_listener, unix_serve_listener
from .reconnect import RETRY_CODES, Reconnecting, reconnecting
from .router import Router, respond, route
from .server import HTTPResponse, Server, ServerConnection, ServerHandshake, serve, unix_serve

__all__ = [
    "serve",
    "connect",
    "unix_serve",
    "unix_connect",
    "broadcast",
    "serve_listener",
    "connect_listener",
    "unix_serve_listener",
    "unix_connect_listener",
    "Listener",
    "ListenerFactory",
    "ListenerConnection",
    "ListenerServerConnection",
    "ListenerClientConnection",
    "WebSocketBase",
    "ServerHandshake",
    "Server",
    "Connect",
    "WebSocket",
    "ServerConnection",
    "ClientConnection",
    "HTTPResponse",
    "ConnectionClosed",
    "ConnectionClosedOK",
    "ConnectionClosedError",
    "InvalidURI",
    "parse_uri",
    "reconnecting",
    "Reconnecting",
    "RETRY_CODES",
    "route",
    "Router",
    "respond",
]

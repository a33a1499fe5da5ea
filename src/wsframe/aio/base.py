"""What both connection APIs of :mod:`wsframe.aio` show: state, handshake, addresses.

:class:`WebSocketBase` is the common base of the coroutine API
(:class:`~wsframe.aio.WebSocket`: ``await ws.recv()``) and the callback API
(:class:`~wsframe.aio.ListenerConnection`: ``listener.on_message(ws,
message)``). It only reads: the :class:`wsframe.State`, the close code, what
the handshake said, the socket addresses, and waiting for the TCP close.
Sending, receiving and closing differ between the two and live in each.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from ..connection import State
from ..handshake.http11 import Headers, Request
from .protocol import WebSocketProtocol

__all__ = ["WebSocketBase"]


class WebSocketBase(WebSocketProtocol):
    """The read-only side of one :mod:`wsframe.aio` connection, either API."""

    async def wait_closed(self) -> None:
        """Wait until the TCP connection is closed."""
        await asyncio.shield(self._connection_lost_waiter)

    # ---- what the handshake said -------------------------------------------------

    @property
    def state(self) -> State:
        """The :class:`wsframe.State` of the connection."""
        return self._conn.state

    @property
    def open(self) -> bool:
        """True while messages can be sent."""
        return self._conn.state is State.OPEN and not self._conn.failure_pending

    @property
    def closed(self) -> bool:
        """True once the connection is closed (close code known)."""
        return self._closed_event is not None

    @property
    def close_code(self) -> Optional[int]:
        """The close code once closed (1006 for a dropped connection), else None."""
        event = self._closed_event
        return None if event is None else int(event.code)

    @property
    def close_reason(self) -> Optional[str]:
        """The close reason once closed, else None."""
        event = self._closed_event
        return None if event is None else event.reason

    @property
    def subprotocol(self) -> Optional[str]:
        """The negotiated subprotocol, or None."""
        return self._conn.subprotocol

    @property
    def request(self) -> Optional[Request]:
        """The handshake request (the client's, on both sides)."""
        return self._conn.request

    @property
    def path(self) -> str:
        """The request target, e.g. ``"/chat?room=lobby"``."""
        request = self._conn.request
        return "/" if request is None else request.target

    @property
    def request_headers(self) -> Headers:
        """The handshake request's header fields."""
        request = self._conn.request
        return Headers() if request is None else request.headers

    @property
    def response_headers(self) -> Headers:
        """The handshake response's header fields (the 101)."""
        response = self._conn.response
        return Headers() if response is None else response.headers

    @property
    def remote_address(self) -> Any:
        """The peer's address as the socket reports it, or None."""
        transport = self._transport
        return None if transport is None else transport.get_extra_info("peername")

    @property
    def local_address(self) -> Any:
        """Our end's address, or None."""
        transport = self._transport
        return None if transport is None else transport.get_extra_info("sockname")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.state.name} {self.path!r} peer={self.remote_address!r}>"

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
from typing import Any

from .._connection_view import ConnectionView
from .protocol import WebSocketProtocol

__all__ = ["WebSocketBase"]


class WebSocketBase(ConnectionView, WebSocketProtocol):
    """The read-only side of one :mod:`wsframe.aio` connection, either API
    (state and handshake from ``ConnectionView``)."""

    async def wait_closed(self) -> None:
        """Wait until the TCP connection is closed."""
        await asyncio.shield(self._connection_lost_waiter)

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

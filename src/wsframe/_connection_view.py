"""What every host's connection object shows of its ``Connection``.

The asyncio APIs (:class:`wsframe.aio.WebSocketBase`) and the threaded one
(:class:`wsframe.sync.WebSocket`) read the same facts from the sans-I/O
:class:`~wsframe.Connection` they host: its state, how it closed, and what
the handshake said. One mixin says it once; addresses and waiting differ per
host and stay there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .connection import State
from .handshake.http11 import Headers, Request

if TYPE_CHECKING:
    from . import events as ev
    from .connection import Connection

__all__ = ["ConnectionView"]


class ConnectionView:
    """Read-only properties over ``self._conn`` and ``self._closed_event``."""

    _conn: "Connection"
    _closed_event: "Optional[ev.Closed]"

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

"""Errors of the asyncio layer: the connection is closed, how and why.

``recv``, ``send`` and ``ping`` raise :class:`ConnectionClosed` once the
connection is closed (or closing, for sends). :class:`ConnectionClosedOK`
means a clean closing handshake with 1000 or 1001 (or no code at all);
anything else is :class:`ConnectionClosedError`. ``async for`` over a
connection stops quietly on the first and raises the second.
"""

from __future__ import annotations

from typing import Optional

from ..errors import WebSocketError

__all__ = ["ConnectionClosed", "ConnectionClosedOK", "ConnectionClosedError", "InvalidURI"]

# Codes that mean "closed on purpose, nothing went wrong" (RFC 6455 section 7.4.1).
_OK_CODES = frozenset({1000, 1001, 1005})


class ConnectionClosed(WebSocketError):
    """The connection is closed: no more messages in or out.

    Attributes:
        code: the close code (1006 when the TCP connection dropped without
            a closing handshake; 1005 when the close frame had no code).
        reason: the close reason, possibly empty.
        clean: whether both close frames were exchanged.
    """

    def __init__(self, code: int, reason: str = "", clean: bool = False) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
        self.clean = clean

    def __str__(self) -> str:
        text = f"connection closed with code {self.code}"
        if self.reason:
            text += f" ({self.reason})"
        return text if self.clean else text + ", not cleanly"

    @staticmethod
    def for_close(code: Optional[int], reason: Optional[str], clean: bool) -> "ConnectionClosed":
        """The right subclass for a close with ``code`` (1006 when unknown)."""
        code = 1006 if code is None else int(code)
        cls = ConnectionClosedOK if clean and code in _OK_CODES else ConnectionClosedError
        return cls(code, reason or "", clean)


class ConnectionClosedOK(ConnectionClosed):
    """Closed cleanly with 1000 (normal), 1001 (going away) or no code."""


class ConnectionClosedError(ConnectionClosed):
    """Closed with an error code, or without a closing handshake (1006)."""


class InvalidURI(WebSocketError, ValueError):
    """A ``connect()`` URI that is not ``ws://`` or ``wss://`` with a host."""

"""A client that reconnects: ``async for ws in connect(uri):``.

Each turn of the loop gets an open connection. When the body of the loop
comes back for the next one, the iterator looks at how the last connection
ended:

- still open (the body gave it up): it is closed (1000), and a new one opened;
- closed with a code in ``retry_codes`` (default 1001 going away, 1006
  dropped, 1011 internal error, 1012 service restart, 1013 try again later,
  1014 bad gateway): a new one is opened, after a backoff;
- closed with any other code, 1000 included: the iteration ends.

Opening retries, with jittered exponential backoff, on what a restart or an
outage looks like: ``OSError`` (refused, reset, unreachable), timeouts,
a connection dropped during the handshake and, as websockets does, a
refusal with status 500, 502, 503 or 504 (a server, or a proxy in front of
one, failing or restarting). Every other handshake failure (a 4xx or 501
status, a response that is not HTTP, a failed negotiation, a bad URI) is
raised from the ``async for``.

::

    async for ws in wsframe.aio.connect("ws://example.com/feed"):
        try:
            async for message in ws:
                handle(message)
        except wsframe.aio.ConnectionClosed:
            continue                      # reconnect, per the close code

Tune it with :func:`reconnecting`::

    async for ws in reconnecting(connect(uri), initial_delay=1, max_delay=60):
        ...

Breaking out of the loop leaves the current connection to the caller.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import TYPE_CHECKING, Callable, FrozenSet, Iterable, Optional

from ..handshake.errors import InvalidHandshake, InvalidStatus
from .exceptions import ConnectionClosed

if TYPE_CHECKING:
    from .client import ClientConnection, Connect

__all__ = ["reconnecting", "Reconnecting", "RETRY_CODES", "RETRY_STATUSES", "retryable"]

logger = logging.getLogger("wsframe.aio")

#: Close codes after which a new connection is opened (RFC 6455 section
#: 7.4.1 and the IANA registry): going away, dropped, internal error,
#: service restart, try again later, bad gateway.
RETRY_CODES: FrozenSet[int] = frozenset({1001, 1006, 1011, 1012, 1013, 1014})


#: Refusals worth retrying, as websockets retries them: a server or a proxy
#: in front of it failing or restarting (500, 502, 503, 504).
RETRY_STATUSES: FrozenSet[int] = frozenset({500, 502, 503, 504})


def retryable(exc: BaseException) -> bool:
    """Whether opening a connection that failed with ``exc`` is worth retrying.

    True for ``OSError`` (refused, reset, unreachable), timeouts, a connection
    dropped during the handshake (``ConnectionClosed``, ``EOFError``) and a
    refusal with status 500, 502, 503 or 504 (:data:`RETRY_STATUSES`, the
    statuses websockets retries); False for everything else: another
    refusal (4xx, 501), a response that is not HTTP (``InvalidMessage``), a
    failed negotiation, a bad URI.
    """
    if isinstance(exc, InvalidStatus):
        return exc.status in RETRY_STATUSES
    if isinstance(exc, InvalidHandshake):
        return False
    return isinstance(exc, (OSError, asyncio.TimeoutError, TimeoutError, EOFError, ConnectionClosed))


class Reconnecting:
    """Connections from ``connect``, opened again after an outage: an async
    iterator (``async for ws in connect(...)`` makes one with the defaults).

    Args:
        connect: what :func:`wsframe.aio.connect` returned (its URI and options
            are used for every attempt).
        initial_delay: seconds before the first retry.
        factor: each retry in a row waits this many times longer...
        max_delay: ...up to this many seconds.
        jitter: each wait is drawn from ``[delay * (1 - jitter), delay]``, so
            clients cut off together do not come back together.
        reset_after: a connection that stayed open this long (default
            ``max_delay``) resets the backoff to ``initial_delay``.
        retry_codes: close codes after which a new connection is opened
            (default :data:`RETRY_CODES`); any other close ends the iteration.
        retry: ``f(exception) -> bool``, whether a failed attempt is retried
            (default :func:`retryable`).
        max_attempts: give up (raise the last error) after this many failed
            attempts in a row; None retries forever.

    Raises:
        ValueError: inconsistent delays or jitter.
    """

    def __init__(
        self,
        connect: "Connect",
        *,
        initial_delay: float = 0.5,
        factor: float = 2.0,
        max_delay: float = 30.0,
        jitter: float = 0.5,
        reset_after: Optional[float] = None,
        retry_codes: Iterable[int] = RETRY_CODES,
        retry: Callable[[BaseException], bool] = retryable,
        max_attempts: Optional[int] = None,
    ) -> None:
        if initial_delay < 0 or max_delay < initial_delay or factor < 1:
            raise ValueError("need 0 <= initial_delay <= max_delay and factor >= 1")
        if not 0 <= jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")
        self._connect = connect
        self._initial = initial_delay
        self._factor = factor
        self._max = max_delay
        self._jitter = jitter
        self._reset_after = max_delay if reset_after is None else reset_after
        self._retry_codes = frozenset(retry_codes)
        self._retry = retry
        self._max_attempts = max_attempts
        self._delay = initial_delay
        self._ws: Optional["ClientConnection"] = None
        self._opened_at = 0.0
        self._done = False
        #: Connections opened so far.
        self.connections = 0

    def __aiter__(self) -> "Reconnecting":
        return self

    def _next_delay(self) -> float:
        """The jittered wait before the next attempt; the next one is longer."""
        delay = self._delay
        self._delay = min(self._delay * self._factor, self._max)
        return delay * random.uniform(1.0 - self._jitter, 1.0)

    async def __anext__(self) -> "ClientConnection":
        """The next open connection.

        Raises:
            StopAsyncIteration: the last connection closed with a code not
                in ``retry_codes`` (1000 among them).
            wsframe.handshake.InvalidHandshake: a refusal not worth retrying.
            Exception: the last error, once ``max_attempts`` attempts in a row failed.
        """
        if self._done:
            raise StopAsyncIteration
        ws = self._ws
        if ws is not None:
            self._ws = None
            if not ws.closed:
                await ws.close()  # the body gave it up: another one, at once
            elif ws.close_code not in self._retry_codes:
                self._done = True
                raise StopAsyncIteration
            else:
                if time.monotonic() - self._opened_at >= self._reset_after:
                    self._delay = self._initial  # it was stable: start the backoff again
                delay = self._next_delay()
                logger.info("connection closed with %s: reconnecting in %.2fs", ws.close_code, delay)
                await asyncio.sleep(delay)
        attempts = 0
        while True:
            attempts += 1
            try:
                ws = await self._connect._open()
            except Exception as exc:
                if not self._retry(exc) or (self._max_attempts is not None and attempts >= self._max_attempts):
                    self._done = True
                    raise
                delay = self._next_delay()
                logger.info("connect failed (%s: %s): retrying in %.2fs", type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                continue
            self._ws = ws
            self._opened_at = time.monotonic()
            self.connections += 1
            return ws


#: ``reconnecting(connect(uri), max_delay=60)``: the function-style name of
#: :class:`Reconnecting` (one definition of the options).
reconnecting = Reconnecting

"""The incoming message queue of one :mod:`wsframe.aio` connection.

Messages the connection decoded wait here for ``recv()``. The queue only
holds them and wakes the one waiting reader; its high and low water marks
tell the protocol when to pause and resume reading (the protocol also obeys
the :class:`wsframe.Connection` memory budget, which counts bytes).
"""

from __future__ import annotations

import asyncio
from typing import Deque, List, Optional, Union, cast

from ..events import MessageFragment

__all__ = ["MessageQueue", "join_parts"]

#: A whole message, or one part of a fragmented message (``recv()`` joins
#: the parts, ``recv_streaming()`` hands them over as they come).
Message = Union[str, bytes, MessageFragment]


class MessageQueue(Deque[Message]):
    """Messages waiting for the application, and the one coroutine waiting for them.

    A ``collections.deque`` (so ``len``, truth and ``popleft`` stay C calls
    on the per-message path) with water marks and a waiter.

    Args:
        high: length at which the protocol pauses reading.
        low: length at or below which it resumes (``high // 4`` by default).
    """

    __slots__ = ("_waiter", "high", "low")

    def __init__(self, high: int, low: Optional[int] = None) -> None:
        if high < 1:
            raise ValueError("max_queue must be at least 1")
        super().__init__()
        self._waiter: Optional[asyncio.Future[None]] = None
        self.high = high
        self.low = high // 4 if low is None else low

    @property
    def full(self) -> bool:
        """At or above the high water mark."""
        return len(self) >= self.high

    @property
    def drained(self) -> bool:
        """At or below the low water mark."""
        return len(self) <= self.low

    def put(self, message: Message) -> None:
        """Append a message and wake the reader."""
        self.append(message)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Wait until a message arrives or :meth:`wake` is called.

        Raises:
            RuntimeError: another coroutine is already waiting.
        """
        if self._waiter is not None:
            raise RuntimeError("another coroutine is already waiting for the next message")
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    def wake(self) -> None:
        """Wake the reader: messages were appended, or the connection closed."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def join_parts(parts: List[Union[str, bytes]]) -> Union[str, bytes]:
    """The parts of a fragmented message (all ``str`` or all ``bytes``) as
    one message: what ``recv()`` returns for it."""
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], str):
        return "".join(cast(List[str], parts))
    return b"".join(cast(List[bytes], parts))

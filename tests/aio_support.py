"""Helpers of the wsframe.aio tests: run a coroutine with a time limit, echo handlers.

Every test coroutine runs under ``run()``, which bounds it in time, so a bug
hangs nothing; servers listen on 127.0.0.1 port 0.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Optional

#: Upper bound of any single test coroutine, in seconds (never a timing assertion).
TEST_TIMEOUT = 30.0


def run(
    coro: Awaitable[Any],
    timeout: float = TEST_TIMEOUT,
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
) -> Any:
    """Run ``coro`` on a fresh event loop, failing the test after ``timeout`` seconds."""
    loop = (loop_factory or asyncio.new_event_loop)()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, timeout))
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


async def echo(ws: Any) -> None:
    """Echo handler: each message back unchanged."""
    async for message in ws:
        await ws.send(message)

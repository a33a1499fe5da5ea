"""Helpers of the wsframe.aio tests: run a coroutine with a time limit, echo handlers.

Every test coroutine runs under ``run()``, which bounds it in time, so a bug
hangs nothing; servers listen on 127.0.0.1 port 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, Optional, Sequence

import wsframe

#: Where this run imports wsframe from (src/ or site-packages); children use the same.
IMPORT_ROOT = str(Path(wsframe.__file__).resolve().parents[1])

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


@contextlib.contextmanager
def cli_server(
    subcommand: str, url_prefix: str, startup_timeout: float = 60.0, extra_args: Sequence[str] = ()
) -> Iterator[int]:
    """Run ``python -m wsframe SUBCOMMAND --port 0 [EXTRA_ARGS]`` and yield the port it announces.

    The child imports the same wsframe as the test. A watchdog kills it if it
    never prints its URL (bounding ``readline()``); it is always stopped after.
    """
    env = dict(os.environ, PYTHONPATH=IMPORT_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsframe", subcommand, "--port", "0", *extra_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    watchdog = threading.Timer(startup_timeout, proc.kill)
    watchdog.start()
    try:
        line = proc.stdout.readline()
        assert url_prefix in line, line + proc.stderr.read() if proc.poll() is not None else line
        yield int(line.split(url_prefix)[1].split("/")[0])
    finally:
        watchdog.cancel()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()

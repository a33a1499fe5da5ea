"""Memory per idle WebSocket connection: the server's RSS before and after N connections.

Used by ``bench_asgi.py --idle N``. The client process opens N connections
(wsframe.aio, no keepalive pings, permessage-deflate offered or not) to a
server process and leaves them idle; the server's resident set size is read
from ``/proc/PID/status`` (Linux) before and after, so the difference over N
is what one open, idle connection costs the server: its protocol objects,
buffers, tasks and, when negotiated, its zlib streams. A few connections are
opened and closed first so that lazy imports and first-use allocations land
in the "before" number, not in the per-connection one.
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any, List, Optional, Tuple

from wsframe.aio import connect

#: Connections being opened at once (uvicorn's listen backlog is 128 here).
OPENING_AT_ONCE = 64
#: Opened and closed before the first reading.
WARM_UP = 8
#: How long the connections stay idle before the second reading (seconds).
SETTLE = 1.0


def raise_nofile(need: int) -> None:
    """Lift this process's soft RLIMIT_NOFILE to ``need`` descriptors (a
    thousand sockets pass the usual soft limit of 1,024), within the hard limit.

    Raises:
        SystemExit: the hard limit is below ``need``.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        raise SystemExit(f"RLIMIT_NOFILE hard limit {hard} < {need}: raise it (ulimit -Hn) or use fewer connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def rss_kib(pid: int) -> int:
    """The resident set size of process ``pid`` in KiB (``VmRSS`` of /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


async def idle_rss(url: str, pid: int, count: int, compression: Optional[str]) -> Tuple[int, int]:
    """Open ``count`` idle connections to ``url``; return the server's RSS
    (KiB) before and after, the connections open and settled."""
    opened: List[Any] = []

    async def open_one() -> Any:
        ws = await asyncio.wait_for(connect(url, compression=compression, ping_interval=None), 30)
        opened.append(ws)
        return ws

    try:
        for _ in range(WARM_UP):
            await open_one()
        await _close_all(opened)
        await asyncio.sleep(SETTLE / 2)
        before = rss_kib(pid)
        gate = asyncio.Semaphore(OPENING_AT_ONCE)

        async def open_gated() -> None:
            async with gate:
                await open_one()

        await asyncio.gather(*(open_gated() for _ in range(count)))
        await asyncio.sleep(SETTLE)
        return before, rss_kib(pid)
    finally:
        await _close_all(opened)


async def _close_all(connections: List[Any]) -> None:
    """Close every connection (bounded in time) and empty the list."""
    closing = [ws.close() for ws in connections]
    connections.clear()
    if closing:
        await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 60)

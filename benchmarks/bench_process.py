"""Server processes of the socket benchmarks: their CPU time, and one core each.

``bench_echo.py`` and ``bench_load.py`` run every server in a process of its
own and one client in theirs. Two helpers they share:

* :func:`cpu_seconds`: a process's user + system CPU time (Linux ``/proc``),
  the steadier measure on a shared machine (per message or per delivery);
* :func:`pin_client` / :func:`pin_server`: the client on one core and the
  servers on another, so every run pays the same cross-core wake-ups
  whatever else the machine runs (on one shared core a round trip is a
  hand-over, about twice as fast, and results swing with the load).
"""

from __future__ import annotations

import os
from typing import Optional, Tuple

#: (server CPU, client CPU) once :func:`pin_client` pinned, else None.
PINNED: Optional[Tuple[int, int]] = None


def cpu_seconds(pid: int) -> Optional[float]:
    """User + system CPU time of process ``pid`` (Linux /proc), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def pin_client(enabled: bool = True) -> Optional[Tuple[int, int]]:
    """Put this process (the client) on one core and reserve another for the
    servers (:func:`pin_server`); a no-op with fewer than two cores."""
    global PINNED
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if enabled and len(cores) >= 2:
        PINNED = (cores[0], cores[1])
        os.sched_setaffinity(0, {cores[1]})
    return PINNED


def pin_server(pid: int) -> None:
    """Put a server process on the servers' core (when :func:`pin_client` pinned)."""
    if PINNED is not None:
        os.sched_setaffinity(pid, {PINNED[0]})


def describe() -> str:
    """Where client and servers run, for a benchmark's header line."""
    if PINNED is None:
        return "unpinned"
    return f"server on CPU {PINNED[0]}, client on CPU {PINNED[1]}"

"""Progress lines with an estimate of the time left, for long measurements.

A measurement of many cells prints one line per result on stderr; this
adds how far it is (``[12/80]``) and, from the pace so far, about how long
the rest will take, so ``python -m wsframe bench`` and the benchmark
scripts never leave the user guessing.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Hashable, Optional, Set, TextIO

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    """``"~45 s"`` or ``"~3 min 10 s"``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"~{seconds} s"
    return f"~{seconds // 60} min {seconds % 60:02d} s"


class Progress:
    """Counts finished steps out of ``total`` and estimates the time left.

    Args:
        total: how many steps (cells, rounds) the whole run has.
        stream: where lines go (stderr by default: the table stays on stdout).
        clock: a monotonic clock in seconds (tests pass their own).
    """

    def __init__(self, total: int, stream: Optional[TextIO] = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = max(1, total)
        self._stream = stream
        self._clock = clock
        self._start = clock()
        self._done: Set[Hashable] = set()

    def step(self, key: Hashable) -> str:
        """Mark step ``key`` done (repeats of a key count once); return ``[i/N, ~T left]``."""
        self._done.add(key)
        done = min(len(self._done), self.total)
        elapsed = self._clock() - self._start
        left = elapsed / done * (self.total - done)
        return f"[{done}/{self.total}, {format_duration(left)} left]" if done < self.total else f"[{done}/{self.total}, done]"

    def line(self, key: Hashable, text: str) -> None:
        """Print ``text`` after the progress mark of step ``key``."""
        print(f"{self.step(key)} {text}", file=self._stream or sys.stderr, flush=True)

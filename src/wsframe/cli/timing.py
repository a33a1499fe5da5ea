"""Timing without pytest: auto-scaled repetitions, best of several rounds.

``timeit`` compiles the call inline (no extra Python frame per repetition)
and switches the garbage collector off while timing; we give it
``time.perf_counter_ns`` as its clock. The minimum over rounds is reported:
on a shared machine noise only ever adds time, so the minimum is the least
noisy estimate of what the code costs. :class:`Calibrated` lets a caller
interleave the rounds of several calls, so that a burst of load from another
process hits all of them alike instead of one.
"""

from __future__ import annotations

import time
import timeit
from dataclasses import dataclass
from typing import Any, Callable, Sequence

__all__ = ["Budget", "Timing", "Calibrated", "time_call"]


@dataclass(frozen=True)
class Budget:
    """How long to spend on one measurement.

    Attributes:
        round_ns: target duration of one round (repetitions are scaled to it).
        rounds: number of rounds; the best one is kept.
        max_reps: upper bound of repetitions per round (keeps tiny calls bounded).
    """

    round_ns: int = 20_000_000
    rounds: int = 5
    max_reps: int = 1_000_000

    @classmethod
    def from_ms(cls, total_ms: float, rounds: int = 5) -> "Budget":
        """A budget of about ``total_ms`` per measurement, split into ``rounds``."""
        rounds = max(1, rounds)
        return cls(round_ns=max(100_000, int(total_ms * 1e6 / rounds)), rounds=rounds)


@dataclass(frozen=True)
class Timing:
    """Result of one measurement: best nanoseconds per call and how it was got."""

    ns_per_call: float
    reps: int
    rounds: int


def _timer(func: Callable[..., Any], args: Sequence[Any]) -> timeit.Timer:
    """A Timer whose statement is the bare call ``f(a0, a1, ...)``."""
    names = {f"_a{i}": arg for i, arg in enumerate(args)}
    call = "_f(" + ", ".join(names) + ")"
    return timeit.Timer(call, timer=time.perf_counter_ns, globals={"_f": func, **names})


class Calibrated:
    """A call with its repetition count fixed: run :meth:`round` as often as wanted."""

    def __init__(self, func: Callable[..., Any], args: Sequence[Any], budget: Budget) -> None:
        """Warm up once, then double the repetitions until one batch lasts a
        tenth of a round; size a round to about ``budget.round_ns``."""
        self._timer = _timer(func, args)
        self._timer.timeit(1)  # warm-up: caches, lazy imports, allocator
        reps = 1
        while True:
            elapsed = self._timer.timeit(reps)
            if elapsed * 10 >= budget.round_ns or reps >= budget.max_reps:
                break
            reps *= 2
        per_call = max(elapsed, 1) / reps
        self.reps = int(min(budget.max_reps, max(1, budget.round_ns / per_call)))
        self.best = float("inf")  # best ns per call seen so far
        self.rounds = 0

    def round(self) -> float:
        """Time one round; returns its ns per call and keeps the best."""
        per_call = self._timer.timeit(self.reps) / self.reps
        self.best = min(self.best, per_call)
        self.rounds += 1
        return per_call

    def timing(self) -> Timing:
        return Timing(ns_per_call=self.best, reps=self.reps, rounds=self.rounds)


def time_call(func: Callable[..., Any], args: Sequence[Any] = (), budget: Budget = Budget()) -> Timing:
    """Time ``func(*args)``: calibrate, then keep the best of ``budget.rounds`` rounds.

    Args:
        func: the callable to time.
        args: its positional arguments (bound once, outside the timed loop).
        budget: round length, round count, repetition cap.

    Returns:
        The best time per call over the rounds.
    """
    calibrated = Calibrated(func, args, budget)
    for _ in range(budget.rounds):
        calibrated.round()
    return calibrated.timing()

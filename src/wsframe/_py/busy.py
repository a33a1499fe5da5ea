"""One thread at a time per object: the pure twin of ``_codec_c``'s busy flag.

A stateful object (``FrameParser``, ``Utf8Validator``) holds ``_free``, a
list with one token. A call takes the token with ``pop()`` and puts it back
with ``append(None)`` when it returns; a call from another thread meanwhile
finds the list empty and raises RuntimeError, with the same words as the
compiled backend. Both list operations are atomic (one C call under the GIL,
the list's own lock on free-threaded CPython), and the pair costs about a
third of ``threading.Lock.acquire(False)`` plus ``release()``.

The hot ``feed()`` methods inline the ``pop()`` (a function call would cost
as much again); the others call :func:`take`.
"""

from __future__ import annotations

from typing import List, Optional

from .. import _reasons

__all__ = ["take", "token_of"]


def take(free: List[None], name: str) -> None:
    """Take the token of an object of class ``name``.

    Raises:
        RuntimeError: another thread holds it (nothing waits).
    """
    try:
        free.pop()
    except IndexError:
        raise RuntimeError(_reasons.IN_USE.format(name)) from None


def token_of(obj: object) -> List[None]:
    """The token list of ``obj``, created on the first ``__init__``.

    ``__init__`` may be called again on a live object, and must then take the
    same token as the other methods, so it is made once and kept.
    """
    free: Optional[List[None]] = getattr(obj, "_free", None)
    if free is None:
        free = [None]
        obj._free = free  # type: ignore[attr-defined]
    return free

"""Message ids: ``"<milliseconds>-<sequence>"``, the form of Redis Stream ids.

Both hubs give every stored message such an id, increasing per topic, so a
client can say "the last one I saw" and get what followed. The in-memory
hub makes them the way Redis does (the clock in ms, a sequence within one
ms, never going back), so its ids still grow after a restart of the process.
"""

from __future__ import annotations

import time
from typing import Optional, Tuple

__all__ = ["IdKey", "id_key", "IdClock"]

#: An id as a pair of integers, for comparing.
IdKey = Tuple[int, int]


def id_key(message_id: Optional[str]) -> Optional[IdKey]:
    """``"12-3"`` as ``(12, 3)``; None for None or anything malformed (never raises)."""
    if not isinstance(message_id, str) or len(message_id) > 41:
        return None
    ms, sep, seq = message_id.partition("-")
    if not (ms.isdigit() and (not sep or seq.isdigit())):
        return None
    return int(ms), int(seq) if sep else 0


class IdClock:
    """Makes increasing ids from the wall clock, like Redis's XADD ``*``."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: IdKey = (0, 0)

    def next(self) -> Tuple[str, IdKey]:
        """A new id, greater than every one made before; as text and as a key."""
        ms = int(time.time() * 1000)
        last_ms, last_seq = self._last
        key = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        self._last = key
        return f"{key[0]}-{key[1]}", key

"""The rooms one chat process holds, bounded in number and in time.

A room exists while someone here is in it, and for ``empty_ttl`` seconds
after the last one left (so the history is still there for who comes
back); then it is dropped and the hub forgets its history (an in-memory
hub frees it; Redis Streams expire on their own). At ``max_rooms`` a new
room first drops the room empty longest; when none is empty, it is refused.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Dict

from ..aio import WebSocket

__all__ = ["Rooms"]


class Rooms:
    """room -> {connection: name} for this process, with the bounds above.

    Args:
        max_rooms: rooms held at once.
        empty_ttl: seconds an empty room is kept.
        forget: called with a room's name when it is dropped.
    """

    def __init__(self, max_rooms: int, empty_ttl: float, forget: Callable[[str], None]) -> None:
        self.max_rooms = max_rooms
        self.empty_ttl = empty_ttl
        self.people: Dict[str, Dict[WebSocket, str]] = {}
        self._empty: Dict[str, asyncio.TimerHandle] = {}  # longest empty first
        self._forget = forget

    def __contains__(self, room: object) -> bool:
        return room in self.people

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self.people))

    def __len__(self) -> int:
        return len(self.people)

    def can_open(self, room: str) -> bool:
        """Whether a join to ``room`` fits: it exists, there is space, or an empty room can go."""
        return room in self.people or len(self.people) < self.max_rooms or bool(self._empty)

    def enter(self, room: str, ws: WebSocket, name: str) -> None:
        """Put ``ws`` in ``room`` (made if need be, dropping the longest-empty room at the cap)."""
        people = self.people.get(room)
        if people is None:
            if len(self.people) >= self.max_rooms:
                self.drop(next(iter(self._empty)))
            people = self.people[room] = {}
        timer = self._empty.pop(room, None)
        if timer is not None:
            timer.cancel()
        people[ws] = name

    def leave(self, room: str, ws: WebSocket) -> bool:
        """Take ``ws`` out of ``room``; False when it was not there."""
        people = self.people.get(room)
        if people is None or people.pop(ws, None) is None:
            return False
        if not people:
            if self.empty_ttl > 0:
                self._empty[room] = asyncio.get_running_loop().call_later(self.empty_ttl, self.drop, room)
            else:
                self.drop(room)
        return True

    def drop(self, room: str) -> None:
        """Forget an empty room and its history."""
        timer = self._empty.pop(room, None)
        if timer is not None:
            timer.cancel()
        if self.people.pop(room, None) is not None:
            self._forget(room)

"""The in-memory hub: one process, nothing to set up (the chat's default).

History is a bounded deque per topic; ids come from the wall clock like
Redis Stream ids (:class:`~wsframe.hub.ids.IdClock`), so they keep growing
across restarts of the process. Presence is a dict. Nothing here can be
unavailable, so nothing raises :class:`~wsframe.hub.base.HubUnavailable`.
"""

from __future__ import annotations

import collections
from typing import Any, Deque, Dict, List, Mapping, Optional, Tuple

from ..aio.connection import WebSocket
from .base import Hub, Replay, encode, with_id
from .ids import IdClock, IdKey

__all__ = ["MemoryHub"]


class _Topic:
    """A topic's last messages, and the newest id dropped from them."""

    __slots__ = ("entries", "dropped")

    def __init__(self, history: int) -> None:
        self.entries: Deque[Tuple[IdKey, str, str]] = collections.deque(maxlen=history)  # (key, id, text)
        self.dropped: Optional[IdKey] = None


class MemoryHub(Hub):
    """A :class:`~wsframe.hub.base.Hub` within one process.

    Args:
        history: messages kept per topic.
    """

    def __init__(self, *, history: int = 1000) -> None:
        super().__init__(history=history)
        self._clock = IdClock()
        self._topics: Dict[str, _Topic] = {}
        self._rooms: Dict[str, Dict[str, str]] = {}  # room -> name -> owner

    async def publish(self, topic: str, message: Mapping[str, Any]) -> str:
        message_id, key = self._clock.next()
        text = with_id(message_id, encode(message))
        held = self._topics.get(topic)
        if held is None:
            held = self._topics[topic] = _Topic(self.history)
        if len(held.entries) == held.entries.maxlen:
            held.dropped = held.entries[0][0]
        held.entries.append((key, message_id, text))
        self.local.deliver(topic, key, text)
        return message_id

    async def signal(self, topic: str, message: Mapping[str, Any], *, skip: Optional[WebSocket] = None) -> None:
        self.local.deliver(topic, None, encode(message), skip)

    def forget(self, topic: str) -> None:
        self._topics.pop(topic, None)

    async def _replay(self, topic: str, after: Optional[IdKey], recent: int) -> Replay:
        held = self._topics.get(topic)
        if held is None or not held.entries:
            return Replay([], False, None, after)
        entries = list(held.entries)
        if after is None:
            entries = entries[len(entries) - recent :] if recent > 0 else []
            gap = False
        else:
            entries = [entry for entry in entries if entry[0] > after]
            gap = held.dropped is not None and held.dropped > after
        last = entries[-1][0] if entries else after
        return Replay([text for _, _, text in entries], gap, held.entries[0][1], last)

    async def claim(self, room: str, name: str, owner: str) -> bool:
        names = self._rooms.setdefault(room, {})
        if names.get(name, owner) != owner:
            return False
        names[name] = owner
        return True

    async def release(self, room: str, name: str, owner: str) -> None:
        names = self._rooms.get(room)
        if names is not None and names.get(name) == owner:
            del names[name]
            if not names:
                del self._rooms[room]

    async def members(self, room: str) -> List[str]:
        return sorted(self._rooms.get(room, ()))

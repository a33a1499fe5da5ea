"""The connections of one process subscribed to each topic, and the fan-out to them.

A message for a topic is encoded once and queued on every live subscriber
with :func:`wsframe.aio.broadcast` (which closes a connection that cannot
keep up with 1013 rather than buffer for it). A subscriber that is still
being given its history is *held*: messages for it wait in a list until
the history is out, so it sees everything once and in order.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..aio.broadcast import broadcast
from ..aio.connection import WebSocket
from .ids import IdKey

__all__ = ["LocalTopics"]

Held = List[Tuple[Optional[IdKey], str]]


class LocalTopics:
    """topic -> {connection: None when live, else the messages held for it}."""

    def __init__(self) -> None:
        self._topics: Dict[str, Dict[WebSocket, Optional[Held]]] = {}
        self._last: Dict[str, IdKey] = {}  # the newest id delivered per topic

    def add(self, topic: str, ws: WebSocket) -> bool:
        """Subscribe ``ws``, held; True when the topic is new in this process."""
        subscribers = self._topics.get(topic)
        fresh = subscribers is None
        if subscribers is None:
            subscribers = self._topics[topic] = {}
        subscribers[ws] = []
        return fresh

    def remove(self, topic: str, ws: WebSocket) -> bool:
        """Unsubscribe ``ws``; True when nobody here listens to the topic any more."""
        subscribers = self._topics.get(topic)
        if subscribers is None or subscribers.pop(ws, 0) == 0:
            return False
        if subscribers:
            return False
        del self._topics[topic]
        self._last.pop(topic, None)
        return True

    def has(self, topic: str, ws: WebSocket) -> bool:
        subscribers = self._topics.get(topic)
        return subscribers is not None and ws in subscribers

    def topics(self) -> List[str]:
        return list(self._topics)

    def count(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))

    def last(self, topic: str) -> Optional[IdKey]:
        """The id of the newest message delivered here for ``topic``."""
        return self._last.get(topic)

    def deliver(self, topic: str, key: Optional[IdKey], text: str, skip: Optional[WebSocket] = None) -> int:
        """Queue ``text`` on the topic's subscribers; how many live ones got it.

        A message with an id not newer than the last one delivered is a
        duplicate (a catch-up after a reconnect overlapping the live feed)
        and is dropped. ``key`` None: a live-only message, never dropped.
        """
        subscribers = self._topics.get(topic)
        if not subscribers:
            return 0
        if key is not None:
            last = self._last.get(topic)
            if last is not None and key <= last:
                return 0
            self._last[topic] = key
        live = []
        for ws, held in subscribers.items():
            if ws is skip:
                continue
            if held is None:
                live.append(ws)
            else:
                held.append((key, text))
        return broadcast(live, text) if live else 0

    def release(self, topic: str, ws: WebSocket, seen: Optional[IdKey]) -> None:
        """Send what was held for ``ws`` that is newer than ``seen``; it is live from now."""
        subscribers = self._topics.get(topic)
        if subscribers is None or ws not in subscribers:
            return
        held = subscribers[ws] or []
        subscribers[ws] = None
        for key, text in held:
            if key is None or seen is None or key > seen:
                broadcast([ws], text)

"""The hub interface: publish to a topic, subscribe local connections to topics.

A *topic* is a name ("room:lobby", "user:ada"). A *message* is a JSON object.
:meth:`Hub.publish` stores it with a new id (``"<ms>-<seq>"``, increasing per
topic) and delivers it, as the JSON text ``{"id": ..., ...}``, to every
connection subscribed to the topic in every process sharing the hub.
:meth:`Hub.signal` delivers without storing (no id, no history: presence
notices). :meth:`Hub.subscribe` can replay what a connection missed after
the last id it saw, in order and without duplicates, or report a *gap*
when that is older than the bounded history.

Inside each process the fan-out is wsframe's encode-once broadcast
(:class:`~wsframe.hub.local.LocalTopics`). The hub also keeps *presence*:
which names are in a room, each name held by one owner at a time.
"""

from __future__ import annotations

import json
from typing import Any, Callable, List, Mapping, NamedTuple, Optional

from ..aio.broadcast import broadcast
from ..aio.connection import WebSocket
from .ids import IdKey, id_key
from .local import LocalTopics

__all__ = ["Hub", "HubUnavailable", "Replay", "Greeter", "encode", "with_id", "HISTORY"]

#: Messages kept per topic by default.
HISTORY = 1000


class HubUnavailable(Exception):
    """The shared backend (Redis) cannot be reached now.

    Raised by :meth:`Hub.publish` and the presence calls during an outage,
    so the caller knows the message did not reach other processes. The
    message was still delivered, without an id, to ``delivered``
    subscribers of this process; the hub keeps reconnecting on its own.
    """

    def __init__(self, message: str, delivered: int = 0) -> None:
        super().__init__(message)
        self.delivered = delivered


class Replay(NamedTuple):
    """What :meth:`Hub.subscribe` found for a connection that (re)subscribed.

    Attributes:
        messages: the stored messages to send it, oldest first, as JSON text.
        gap: True when messages newer than ``after`` were already dropped
            from the bounded history (they cannot be replayed).
        first: the id of the oldest message the hub still holds (None if none).
        last: the id key of the newest message in ``messages``, else of ``after``.
    """

    messages: List[str]
    gap: bool
    first: Optional[str]
    last: Optional[IdKey]


#: ``greet(replay)``: sends a (re)subscribed connection its history; called
#: after the history is read and before the live messages held meanwhile.
Greeter = Callable[[Replay], None]


def encode(message: Mapping[str, Any]) -> str:
    """A message as compact JSON text (UTF-8 characters kept as they are)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def with_id(message_id: str, body: str) -> str:
    """The JSON object text ``body`` with ``"id"`` put first, without decoding it."""
    head = '{"id":' + json.dumps(message_id)
    return head + "}" if body == "{}" else head + "," + body[1:]


class Hub:
    """Topics with history and presence, shared by the processes using the same backend.

    Subclasses implement storage and transport (:class:`MemoryHub`,
    :class:`RedisHub`); this class holds the local subscribers and the
    subscribe-with-replay protocol. Use it as ``async with hub:`` or call
    :meth:`start` and :meth:`close`.

    Args:
        history: messages kept per topic (the resume window).
    """

    def __init__(self, *, history: int = HISTORY) -> None:
        if history < 1:
            raise ValueError("history must be >= 1")
        self.history = history
        self.local = LocalTopics()
        #: ``on_expired(room, names)``: called when names left a room without
        #: saying so (their process died); set by the application.
        self.on_expired: Optional[Callable[[str, List[str]], None]] = None

    async def start(self) -> "Hub":
        """Connect to the backend (idempotent); return self."""
        return self

    async def close(self) -> None:
        """Stop background work and release the backend."""

    async def __aenter__(self) -> "Hub":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ---- messages --------------------------------------------------------------------

    async def publish(self, topic: str, message: Mapping[str, Any]) -> str:
        """Store ``message`` under a new id and deliver it everywhere; return the id.

        Raises:
            HubUnavailable: the backend is down; the message went to this
                process's subscribers only, without an id.
        """
        raise NotImplementedError

    async def signal(self, topic: str, message: Mapping[str, Any], *, skip: Optional[WebSocket] = None) -> None:
        """Deliver ``message`` everywhere without storing it (no id, no replay).

        ``skip``: a local connection that does not get it (the one it is about).

        Raises:
            HubUnavailable: as :meth:`publish`.
        """
        raise NotImplementedError

    async def subscribe(
        self,
        topic: str,
        ws: WebSocket,
        *,
        after: Optional[str] = None,
        recent: int = 0,
        greet: Optional[Greeter] = None,
    ) -> Replay:
        """Subscribe ``ws`` to ``topic`` and give it what it missed.

        Args:
            after: the last id the connection saw: it gets every stored
                message after it (a ``gap`` when some were dropped).
                None: it gets the ``recent`` newest messages.
            greet: sends the replay (default: a ``{"type": "gap"}`` message
                when there is a gap, then the messages). Messages arriving
                meanwhile are held and sent after it, without duplicates.

        Raises:
            HubUnavailable: the backend is down; ``ws`` is not subscribed.
        """
        self.local.add(topic, ws)
        try:
            await self._listen(topic)
            replay = await self._replay(topic, id_key(after), recent)
        except BaseException:
            self.unsubscribe(topic, ws)
            raise
        if not self.local.has(topic, ws):  # unsubscribed while we waited
            return replay
        if greet is None:
            self._greet(ws, topic, after, replay)
        else:
            greet(replay)
        self.local.release(topic, ws, replay.last)
        return replay

    def unsubscribe(self, topic: str, ws: WebSocket) -> None:
        """Stop delivering ``topic`` to ``ws`` (nothing if it was not subscribed)."""
        if self.local.remove(topic, ws):
            self._unlisten(topic)

    def forget(self, topic: str) -> None:
        """Drop the history of ``topic`` if this hub holds it in memory."""

    @staticmethod
    def _greet(ws: WebSocket, topic: str, after: Optional[str], replay: Replay) -> None:
        if replay.gap:
            broadcast([ws], encode({"type": "gap", "topic": topic, "after": after, "first": replay.first}))
        for text in replay.messages:
            broadcast([ws], text)

    # ---- what subclasses implement ------------------------------------------------------

    async def _listen(self, topic: str) -> None:
        """Make sure this process receives the topic's live messages."""

    def _unlisten(self, topic: str) -> None:
        """Nobody here listens to ``topic`` any more."""

    async def _replay(self, topic: str, after: Optional[IdKey], recent: int) -> Replay:
        raise NotImplementedError

    # ---- presence ----------------------------------------------------------------------

    async def claim(self, room: str, name: str, owner: str) -> bool:
        """Hold ``name`` in ``room`` for ``owner``; False when another owner holds it.

        The same owner may claim again (a client reconnecting, maybe to
        another process). Claims of a process that dies expire on their own.
        """
        raise NotImplementedError

    async def release(self, room: str, name: str, owner: str) -> None:
        """Give ``name`` in ``room`` back, if ``owner`` holds it."""
        raise NotImplementedError

    async def members(self, room: str) -> List[str]:
        """The names present in ``room``, sorted."""
        raise NotImplementedError

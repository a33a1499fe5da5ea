"""The Redis hub: topics shared by processes on any number of hosts.

Design (docs/scale-out.md has the long form):

* **history**: one Stream per topic (``XADD ... MAXLEN ~ history``); the
  Stream id is the message id. A replay reads the Stream after the id a
  client saw. Each entry records the id before it, so a replay knows
  exactly whether entries it needed were trimmed (a *gap*).
* **live delivery**: one pub/sub channel per topic, subscribed while a
  connection of this process listens to the topic. Publishing is one Lua
  script (XADD then PUBLISH), so live order is id order everywhere. The
  publisher's own process gets its message back from the channel too.
* **presence**: per room a sorted set (name -> expiry) and a hash (name ->
  owner). Each process refreshes its names every ``presence_ttl / 3``
  seconds; the names of a process that died expire, are pruned, and
  :attr:`Hub.on_expired` is told.
* **outage**: every command is bounded by ``timeout``. Publishing during
  an outage delivers locally without an id and raises
  :class:`~wsframe.hub.base.HubUnavailable`; the pub/sub reader reconnects
  with jittered exponential backoff, logs it, and on reconnecting reads
  from each Stream what it missed, so live delivery resumes without loss.

Needs redis-py (``pip install wsframe[redis]``), imported only here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from typing import Any, Awaitable, Dict, List, Mapping, Optional, Set, Tuple, TypeVar, Union

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..aio.connection import WebSocket
from . import scripts
from .base import HISTORY, Hub, HubUnavailable, Replay, encode, with_id
from .ids import IdKey, id_key

__all__ = ["RedisHub"]

logger = logging.getLogger("wsframe.hub")

T = TypeVar("T")

#: Errors that mean "Redis is not there now".
_DOWN = (RedisError, OSError, asyncio.TimeoutError)


class RedisHub(Hub):
    """A :class:`~wsframe.hub.base.Hub` on a Redis server (or Cluster-compatible keys).

    Args:
        url: ``redis://host:port/db``.
        history: messages kept per topic (approximately: ``MAXLEN ~``).
        prefix: prepended to every key and channel, to share a Redis.
        history_ttl: seconds a topic's Stream lives after its last message.
        presence_ttl: seconds a name stays present without a heartbeat.
        timeout: seconds any one Redis call may take before it counts as down.
        backoff: first and largest reconnect delay, in seconds (jittered).
    """

    def __init__(
        self,
        url: str,
        *,
        history: int = HISTORY,
        prefix: str = "wsframe:",
        history_ttl: float = 86400.0,
        presence_ttl: float = 15.0,
        timeout: float = 2.0,
        backoff: Tuple[float, float] = (0.1, 5.0),
    ) -> None:
        super().__init__(history=history)
        self.url = url
        self.prefix = prefix
        self.history_ttl = history_ttl
        self.presence_ttl = presence_ttl
        self.timeout = timeout
        self.backoff = backoff
        common: Dict[str, Any] = {
            "decode_responses": True,
            "socket_connect_timeout": timeout,
            "retry": Retry(NoBackoff(), 0),  # we retry ourselves, never blocking a caller
        }
        self._redis = aioredis.Redis.from_url(url, socket_timeout=timeout, **common)
        self._pubsub_client = aioredis.Redis.from_url(url, **common)
        self._scripts = {
            name: self._redis.register_script(getattr(scripts, name))
            for name in ("PUBLISH", "CLAIM", "RELEASE", "MEMBERS", "PRUNE")
        }
        self._pubsub: Optional[Any] = None
        self._up = False
        self._up_event: Optional[asyncio.Event] = None
        self._subscribed: Set[str] = set()  # channels confirmed
        self._confirm: Dict[str, "asyncio.Future[None]"] = {}
        self._claims: Dict[Tuple[str, str], str] = {}  # (room, name) -> owner, held by this process
        self._tasks: List["asyncio.Task[None]"] = []
        self._leaving: Dict[str, "asyncio.Task[None]"] = {}  # channel -> its UNSUBSCRIBE under way
        self._started = False
        self._token = secrets.token_hex(6)  # this process, in signal nonces
        self._nonce = 0
        self._skips: Dict[str, WebSocket] = {}  # nonce -> connection not to send it to

    # ---- keys --------------------------------------------------------------------------

    def _stream(self, topic: str) -> str:
        return f"{self.prefix}s:{topic}"

    def _channel(self, topic: str) -> str:
        return f"{self.prefix}c:{topic}"

    def _room_keys(self, room: str) -> List[str]:
        return [f"{self.prefix}p:{{{room}}}", f"{self.prefix}o:{{{room}}}"]

    # ---- life --------------------------------------------------------------------------

    async def start(self) -> "RedisHub":
        """Start the pub/sub reader and the presence heartbeat (they wait out outages)."""
        if not self._started:
            self._started = True
            loop = asyncio.get_running_loop()
            self._up_event = asyncio.Event()
            self._tasks = [loop.create_task(self._read_forever()), loop.create_task(self._heartbeat())]
            try:
                await self._call(self._up_event.wait())
            except HubUnavailable:
                logger.warning("hub: redis at %s unavailable at start; serving locally until it is back", self.url)
        return self

    async def close(self) -> None:
        """Stop the reader and the heartbeat, give this process's names back, disconnect."""
        for task in list(self._leaving.values()):
            task.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []
        for (room, name), owner in list(self._claims.items()):
            try:
                await self.release(room, name, owner)
            except HubUnavailable:
                break
        await self._drop_pubsub()
        for client in (self._redis, self._pubsub_client):
            try:
                await client.aclose()
            except _DOWN:
                pass

    async def _call(self, call: Awaitable[T]) -> T:
        """One Redis call, bounded by ``timeout``; any failure is HubUnavailable."""
        try:
            return await asyncio.wait_for(call, self.timeout)
        except _DOWN as exc:
            raise HubUnavailable(f"redis at {self.url} unavailable: {exc!r}") from exc

    # ---- messages ----------------------------------------------------------------------

    async def publish(self, topic: str, message: Mapping[str, Any]) -> str:
        body = encode(message)
        args: List[Union[str, int]] = [self._channel(topic), self.history, body, int(self.history_ttl * 1000)]
        try:
            message_id: str = await self._call(self._scripts["PUBLISH"](keys=[self._stream(topic)], args=args))
        except HubUnavailable as exc:
            exc.delivered = self.local.deliver(topic, None, body)
            raise
        return message_id

    async def signal(self, topic: str, message: Mapping[str, Any], *, skip: Optional[WebSocket] = None) -> None:
        body = encode(message)
        # " <nonce> <body>": no id; the nonce finds ``skip`` when it comes back here.
        nonce = "-"
        if skip is not None:
            self._nonce += 1
            nonce = f"{self._token}.{self._nonce}"
            self._skips[nonce] = skip
            if len(self._skips) > 4096:  # never came back (an outage): forget the oldest
                del self._skips[next(iter(self._skips))]
        try:
            await self._call(self._redis.publish(self._channel(topic), f" {nonce} {body}"))
        except HubUnavailable as exc:
            self._skips.pop(nonce, None)
            exc.delivered = self.local.deliver(topic, None, body, skip)
            raise

    def _on_message(self, channel: str, data: str) -> None:
        topic = channel[len(self.prefix) + 2 :]
        message_id, _, body = data.partition(" ")
        if not message_id:
            nonce, _, body = body.partition(" ")
            self.local.deliver(topic, None, body, self._skips.pop(nonce, None))
            return
        key = id_key(message_id)
        if key is not None:
            self.local.deliver(topic, key, with_id(message_id, body))

    async def _replay(self, topic: str, after: Optional[IdKey], recent: int) -> Replay:
        stream = self._stream(topic)
        if after is None and recent <= 0:
            return Replay([], False, None, None)
        low = "-" if after is None else f"({after[0]}-{after[1]}"
        count = min(recent, self.history) if after is None else self.history
        pipe = self._redis.pipeline(transaction=False)
        pipe.xrevrange(stream, "+", low, count=count)
        pipe.xrange(stream, "-", "+", count=1)
        newest, oldest = await self._call(pipe.execute())
        newest.reverse()
        first = oldest[0][0] if oldest else None
        gap = False
        if after is not None and newest:
            before = id_key(newest[0][1].get("p"))
            gap = before is not None and before > after
        messages = [with_id(entry_id, fields.get("m", "{}")) for entry_id, fields in newest]
        last = id_key(newest[-1][0]) if newest else after
        return Replay(messages, gap, first, last)

    # ---- pub/sub -----------------------------------------------------------------------

    async def _listen(self, topic: str) -> None:
        channel = self._channel(topic)
        leaving = self._leaving.get(channel)
        if leaving is not None:  # an UNSUBSCRIBE on its way: after it, not before
            await asyncio.shield(leaving)
        if channel in self._subscribed:
            return
        if not self._up and self._up_event is not None:
            await self._call(self._up_event.wait())  # a reconnect under way: wait a little
        if not self._up or self._pubsub is None:
            raise HubUnavailable(f"redis at {self.url} unavailable (reconnecting)")
        waiter = self._confirm.get(channel)
        if waiter is None:
            waiter = self._confirm[channel] = asyncio.get_running_loop().create_future()
            try:
                await self._call(self._pubsub.subscribe(channel))
            except HubUnavailable:
                self._confirm.pop(channel, None)
                raise
        await self._call(asyncio.shield(waiter))

    def _unlisten(self, topic: str) -> None:
        channel = self._channel(topic)
        self._subscribed.discard(channel)
        pubsub = self._pubsub
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # torn down with its loop: nothing to tell Redis
            return
        if pubsub is not None and self._up and channel not in self._leaving:
            task = loop.create_task(self._unsubscribe(topic, pubsub))
            self._leaving[channel] = task
            task.add_done_callback(lambda _: self._leaving.pop(channel, None))

    async def _unsubscribe(self, topic: str, pubsub: Any) -> None:
        """UNSUBSCRIBE, unless somebody here subscribed to the topic again meanwhile."""
        if self.local.count(topic) == 0:
            await self._quietly(pubsub.unsubscribe(self._channel(topic)))

    async def _quietly(self, call: Awaitable[Any]) -> None:
        try:
            await self._call(call)
        except HubUnavailable:
            pass

    def _set_up(self, up: bool) -> None:
        self._up = up
        if self._up_event is not None:
            self._up_event.set() if up else self._up_event.clear()

    async def _drop_pubsub(self) -> None:
        self._set_up(False)
        self._subscribed.clear()
        for waiter in self._confirm.values():
            if not waiter.done():
                waiter.set_exception(HubUnavailable(f"redis at {self.url} went away"))
                waiter.exception()  # retrieved: nobody may be waiting
        self._confirm.clear()
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await asyncio.wait_for(pubsub.aclose(), self.timeout)
            except _DOWN:
                pass

    async def _read_forever(self) -> None:
        """Read live messages; after an outage reconnect with jittered backoff."""
        first, cap = self.backoff
        delay = first
        failed = False
        while True:
            try:
                await self._connect_pubsub()
                if failed:
                    logger.warning("hub: redis at %s is back; catching up", self.url)
                    await self._catch_up()
                failed, delay = False, first
                await self._read()
            except asyncio.CancelledError:
                raise
            except (HubUnavailable, *_DOWN) as exc:
                if not failed:
                    logger.warning("hub: redis at %s unavailable (%r); reconnecting", self.url, exc)
                failed = True
            await self._drop_pubsub()
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(cap, delay * 2)

    async def _connect_pubsub(self) -> None:
        pubsub = self._pubsub_client.pubsub()
        self._pubsub = pubsub
        # A control channel, so the connection exists before any topic.
        channels = [f"{self.prefix}control"] + [self._channel(topic) for topic in self.local.topics()]
        await self._call(pubsub.subscribe(*channels))
        self._subscribed.update(channels[1:])
        self._set_up(True)

    async def _read(self) -> None:
        pubsub = self._pubsub
        assert pubsub is not None
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            kind, channel = message["type"], message["channel"]
            if kind == "message":
                self._on_message(channel, message["data"])
            elif kind == "subscribe":
                self._subscribed.add(channel)
                waiter = self._confirm.pop(channel, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    async def _catch_up(self) -> None:
        """Deliver what was published while the channels were down (from the Streams)."""
        for topic in self.local.topics():
            last = self.local.last(topic)
            if last is None:
                continue
            low = f"({last[0]}-{last[1]}"
            entries: Any = await self._call(self._redis.xrange(self._stream(topic), low, "+", count=self.history))
            if len(entries) >= self.history:
                logger.warning("hub: %r got %d+ messages in the outage; subscribers get the last ones", topic, self.history)
                entries = await self._call(self._redis.xrevrange(self._stream(topic), "+", low, count=self.history))
                entries.reverse()
            for entry_id, fields in entries:
                key = id_key(entry_id)
                if key is not None:
                    self.local.deliver(topic, key, with_id(entry_id, fields.get("m", "{}")))

    # ---- presence ----------------------------------------------------------------------

    async def claim(self, room: str, name: str, owner: str) -> bool:
        ttl = int(self.presence_ttl * 1000)
        held = await self._call(self._scripts["CLAIM"](keys=self._room_keys(room), args=[name, owner, ttl]))
        if held:
            self._claims[(room, name)] = owner
        return bool(held)

    async def release(self, room: str, name: str, owner: str) -> None:
        if self._claims.get((room, name)) == owner:
            del self._claims[(room, name)]
        await self._call(self._scripts["RELEASE"](keys=self._room_keys(room), args=[name, owner]))

    async def members(self, room: str) -> List[str]:
        names = await self._call(self._scripts["MEMBERS"](keys=self._room_keys(room)))
        return sorted(names)

    async def _heartbeat(self) -> None:
        """Refresh this process's names; prune the expired ones of its rooms."""
        while True:
            await asyncio.sleep(self.presence_ttl / 3)
            try:
                await self._beat()
            except HubUnavailable as exc:
                logger.warning("hub: presence heartbeat failed: %s", exc)

    async def _beat(self) -> None:
        claims = list(self._claims.items())
        rooms = sorted({room for room, _ in self._claims})
        if not claims:
            return
        ttl = int(self.presence_ttl * 1000)
        pipe = self._redis.pipeline(transaction=False)
        for (room, name), owner in claims:
            await self._scripts["CLAIM"](keys=self._room_keys(room), args=[name, owner, ttl], client=pipe)
        for room in rooms:
            await self._scripts["PRUNE"](keys=self._room_keys(room), client=pipe)
        results = await self._call(pipe.execute())
        for ((room, name), _), held in zip(claims, results):
            if not held:  # expired in an outage and taken by another client meanwhile
                logger.warning("hub: %r in %r is held by another client now", name, room)
        for room, gone in zip(rooms, results[len(claims) :]):
            if gone and self.on_expired is not None:
                self.on_expired(room, list(gone))

"""The chat demo's server: one web page, one WebSocket endpoint, rooms on a hub.

``GET /`` returns ``static/index.html`` (plain HTML and JavaScript, shipped in
the package); ``POST /push`` pushes a notice to one user (:mod:`.push`); a
WebSocket on any path speaks this JSON protocol:

client -> server
    ``{"type": "join", "room": "lobby", "name": "ada", "client": "...",
    "after": "<id>", "inbox_after": "<id>"}`` (again to switch rooms; ``client``
    is a random token the page keeps, so a reconnect may take its name back;
    ``after`` / ``inbox_after`` are the last ids seen, to get what was missed),
    ``{"type": "message", "text": "hi"}``,
    ``{"type": "direct", "to": "bob", "text": "psst"}``,
    ``{"type": "members"}`` (who is in my room now)
server -> client
    ``{"type": "joined", "room", "name", "members": [...], "history": [...]}`` to the joiner,
    ``{"type": "gap", "room" | "topic", "after", "first"}`` before it when messages
    after ``after`` were dropped from the bounded history,
    ``{"type": "join" | "leave", "room", "name", "members": [...]}`` to the others
    (in rooms of at most 100 members; above that, ask),
    ``{"type": "members", "room", "members": [...]}`` to a ``{"type": "members"}`` request,
    ``{"id", "type": "message", "room", "name", "text", "time"}`` to everybody in the room,
    ``{"id", "type": "direct", "from", "to", "text", "time"}`` to both people,
    ``{"id", "type": "notice", "to", "text", "time"}`` pushed over HTTP,
    ``{"type": "error", "message"}`` for a bad request.

Messages go through a hub (:mod:`wsframe.hub`): in memory by default, or
Redis, so rooms, direct messages and presence span processes and hosts.
Each room is the topic ``room:<name>``, each user's inbox ``user:<name>``.

Everything is bounded, so a visitor cannot make the server hold memory that
outlives them (the options of :class:`ChatServer` in brackets):

* names and rooms at 32 characters, messages at 2,000, a frame at 16 KiB;
* at most 1,000 rooms per process (``max_rooms``). A join to a new room
  beyond that first drops the room that has been empty longest; when every
  room has people in it, the join gets an ``error`` event;
* the history at 1,000 messages per room and inbox (``history``); a joiner
  gets the last 50 (or everything after the id it sends);
* the history of a room nobody is in is dropped after 60 s (``empty_ttl``)
  by the in-memory hub (Redis Streams expire a day after their last message);
* 20 messages per second per connection, bursts of 40 (``rate``, ``burst``:
  a token bucket on the loop's clock). Every incoming message counts, bad
  ones included; beyond it the server closes that connection with 1008
  (policy violation) and the others go on;
* 60 s for a new connection to join a room (1008 after that).

Fan-out encodes each message once per process (:func:`wsframe.aio.broadcast`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from importlib import resources
from typing import Any, Awaitable, Dict, List, Optional, Union

from ..aio import WebSocket, serve
from ..aio.broadcast import broadcast
from ..aio.server import HTTPResponse, Server, ServerConnection
from ..handshake.http11 import Request
from ..hub import Hub, HubUnavailable, MemoryHub, Replay
from ..hub.base import encode
from .push import push
from .rooms import Rooms

__all__ = [
    "ChatServer",
    "TokenBucket",
    "MAX_NAME",
    "MAX_TEXT",
    "HISTORY",
    "RECENT",
    "MAX_ROOMS",
    "EMPTY_TTL",
    "RATE",
    "BURST",
]

logger = logging.getLogger("wsframe.chat")

MAX_NAME = 32  # characters of a name or a room
MAX_TEXT = 2000  # characters of a message
HISTORY = 1000  # messages kept per room and per inbox (the resume window)
RECENT = 50  # messages a new joiner gets
MAX_ROOMS = 1000  # rooms held at once per process, with people or with history
EMPTY_TTL = 60.0  # seconds an empty room keeps its history
RATE = 20.0  # messages per second a connection may send, on average
BURST = 40  # messages a connection may send at once
MAX_FRAME = 16 * 1024  # bytes of one incoming message
JOIN_TIMEOUT = 60.0  # seconds a new connection may take to join a room
NOTICE_MEMBERS = 100  # rooms up to this many members get join/leave notices


def _same_origin(origin: str, host: str) -> bool:
    """Whether an Origin header (``scheme://host[:port]``) names ``host`` (the Host header)."""
    scheme, sep, rest = origin.partition("://")
    return bool(sep) and scheme in ("http", "https") and rest.lower() == host.lower()


def clean(value: Any, limit: int) -> Optional[str]:
    """A stripped, non-empty string of at most ``limit`` characters, or None."""
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    if not value or len(value) > limit:
        return None
    return str(value)  # already a str; str() tells the type checker


def text_ok(text: Any) -> bool:
    """Whether ``text`` is a message text the chat takes (1-MAX_TEXT characters, not blank)."""
    return isinstance(text, str) and bool(text.strip()) and len(text) <= MAX_TEXT


def _optional_id(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and len(value) <= 41 else None


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; one per message.

    Times are the caller's clock in seconds (the chat uses ``loop.time()``).
    """

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float) -> bool:
        """Spend one token; False (and nothing spent) when the bucket is empty."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class _Person:
    """Where one connection is: room, name, its owner token, the inbox it listens to."""

    __slots__ = ("room", "name", "owner", "inbox")

    def __init__(self, owner: str) -> None:
        self.room: Optional[str] = None
        self.name: Optional[str] = None
        self.owner = owner
        self.inbox: Optional[str] = None


class ChatServer:
    """Rooms of connected people on a hub; :meth:`handler` runs once per WebSocket.

    Args:
        hub: where messages, history and presence live; default a
            :class:`~wsframe.hub.MemoryHub` with ``history`` (one process).
        max_rooms: rooms held at once; a new room beyond it drops the room
            empty longest, or is refused with an ``error`` event.
        history: messages kept per room by the default hub.
        empty_ttl: seconds an empty room keeps its history (0: none).
        rate, burst: messages per second per connection on average, and at
            once (a token bucket); beyond them the connection is closed
            with 1008. ``rate=None`` turns the limit off.
        push_token: the shared secret of ``POST /push`` (None: push is off).
    """

    def __init__(
        self,
        *,
        hub: Optional[Hub] = None,
        max_rooms: int = MAX_ROOMS,
        history: int = HISTORY,
        empty_ttl: float = EMPTY_TTL,
        rate: Optional[float] = RATE,
        burst: int = BURST,
        push_token: Optional[str] = None,
    ) -> None:
        if max_rooms < 1 or history < 1 or empty_ttl < 0 or burst < 1 or (rate is not None and rate <= 0):
            raise ValueError("need max_rooms >= 1, history >= 1, empty_ttl >= 0, rate > 0 (or None), burst >= 1")
        self.hub = hub if hub is not None else MemoryHub(history=history)
        self.hub.on_expired = self._expired
        self.max_rooms = max_rooms
        self.history = history
        self.empty_ttl = empty_ttl
        self.rate = rate
        self.burst = burst
        self.push_token = push_token
        self.rooms = Rooms(max_rooms, empty_ttl, lambda room: self.hub.forget("room:" + room))
        self._page: Optional[bytes] = None
        self._tasks: "set[asyncio.Task[None]]" = set()

    # ---- HTTP: the page and the push endpoint ------------------------------------------

    def page(self) -> bytes:
        """The HTML page, read once from the package data."""
        if self._page is None:
            self._page = resources.files("wsframe.chat").joinpath("static/index.html").read_bytes()
        return self._page

    def process_request(
        self, conn: ServerConnection, request: Request
    ) -> Union[None, HTTPResponse, Awaitable[HTTPResponse]]:
        """Serve the page and ``POST /push`` over plain HTTP; let WebSocket upgrades through.

        A browser's upgrade must come from our own page: its Origin must name
        the host it connects to, so another web site cannot join the chat in
        a visitor's name (RFC 6455 section 10.2). Clients that send no Origin
        (not browsers) are let through.
        """
        if "websocket" in (request.headers.get("Upgrade") or "").lower():
            origin = request.headers.get("Origin")
            if origin is not None and not _same_origin(origin, request.headers.get("Host") or ""):
                return 403, [("Content-Type", "text/plain")], b"cross-origin WebSocket refused\n"
            return None
        path = request.target.split("?", 1)[0]
        if path == "/push":
            if request.method != "POST":
                return 405, [("Allow", "POST"), ("Content-Type", "text/plain")], b"method not allowed\n"
            return push(self.hub, self.push_token, conn, request)
        if request.method not in ("GET", "HEAD"):
            return 405, [("Allow", "GET"), ("Content-Type", "text/plain")], b"method not allowed\n"
        if path in ("/", "/index.html"):
            body = self.page() if request.method == "GET" else b""
            return 200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache")], body
        return 404, [("Content-Type", "text/plain")], b"not found\n"

    # ---- WebSocket: the rooms ------------------------------------------------------------

    async def members(self, room: str) -> List[str]:
        """Who is in ``room``, on every process sharing the hub."""
        return await self.hub.members(room)

    async def _notice(self, kind: str, room: str, name: str, skip: Optional[WebSocket] = None) -> None:
        """Tell a room who joined or left (live only), with the members now.

        Rooms above NOTICE_MEMBERS get no notices (clients ask with a
        ``members`` request): a notice per join, with the list, to everyone
        makes a crowd joining cost members^2 frames and members^3 bytes.
        """
        try:
            members = await self.hub.members(room)
            if len(members) > NOTICE_MEMBERS:
                return
            notice = {"type": kind, "room": room, "name": name, "members": members}
            await self.hub.signal("room:" + room, notice, skip=skip)
        except HubUnavailable as exc:
            logger.warning("chat: %s notice for %r not shared: %s", kind, room, exc)

    def _expired(self, room: str, names: List[str]) -> None:
        """Names that vanished with their process: tell the room they left."""
        for name in names:
            task = asyncio.get_running_loop().create_task(self._notice("leave", room, name))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _join(self, ws: WebSocket, who: _Person, request: Dict[str, Any]) -> Optional[str]:
        """A join request; the error to report, or None once joined."""
        room = clean(request.get("room"), MAX_NAME)
        name = clean(request.get("name"), MAX_NAME)
        if room is None or name is None:
            return f"room and name: 1-{MAX_NAME} characters"
        if not self.rooms.can_open(room):
            return f"all {self.max_rooms} rooms are in use: join one of them"
        client = clean(request.get("client"), 64)
        if client is not None:
            who.owner = "c:" + client
        if not await self.hub.claim(room, name, who.owner):
            return f"the name {name!r} is taken in #{room}"
        if who.room is not None and (who.room, who.name) != (room, name):
            await self._leave(ws, who)
        await self._notice("join", room, name, skip=ws)
        self.rooms.enter(room, ws, name)
        who.room, who.name = room, name
        members = await self.hub.members(room)

        def greet(replay: Replay) -> None:
            if replay.gap:
                gap = {"type": "gap", "room": room, "after": request.get("after"), "first": replay.first}
                broadcast([ws], encode(gap))
            history = [json.loads(text) for text in replay.messages]
            joined = {"type": "joined", "room": room, "name": name, "members": members, "history": history}
            broadcast([ws], encode(joined))

        try:
            after = _optional_id(request.get("after"))
            await self.hub.subscribe("room:" + room, ws, after=after, recent=RECENT, greet=greet)
        except HubUnavailable:
            await self._leave(ws, who)  # not half in: the page joins again
            raise
        # The client has "joined" now (the room's greet): an outage from here
        # on must not take it out of the room again, so the inbox failing is
        # reported, not raised; joining again retries it.
        inbox = "user:" + name
        if who.inbox != inbox:
            if who.inbox is not None:
                self.hub.unsubscribe(who.inbox, ws)
                who.inbox = None
            try:
                await self.hub.subscribe(inbox, ws, after=_optional_id(request.get("inbox_after")), recent=RECENT)
            except HubUnavailable as exc:
                logger.warning("chat: inbox of %r not subscribed: %s", name, exc)
                return "joined, but direct messages and notices are unavailable until you join again"
            who.inbox = inbox
        return None

    async def _leave(self, ws: WebSocket, who: _Person) -> None:
        room, name = who.room, who.name
        if room is None or name is None:
            return
        who.room = None
        self.hub.unsubscribe("room:" + room, ws)
        self.rooms.leave(room, ws)
        if name in self.rooms.people.get(room, {}).values():
            return  # the same client again on another connection here (a reconnect): still present
        try:
            await self.hub.release(room, name, who.owner)
        except HubUnavailable:
            pass  # it expires without the heartbeat
        await self._notice("leave", room, name)

    async def _say(self, who: _Person, text: str) -> None:
        assert who.room is not None
        event = {"type": "message", "room": who.room, "name": who.name, "text": text, "time": time.time()}
        await self.hub.publish("room:" + who.room, event)

    async def _direct(self, who: _Person, request: Dict[str, Any]) -> Optional[str]:
        to = clean(request.get("to"), MAX_NAME)
        text = request.get("text")
        if to is None or not text_ok(text):
            return f"to: 1-{MAX_NAME} characters, text: 1-{MAX_TEXT} characters"
        event = {"type": "direct", "from": who.name, "to": to, "text": text, "time": time.time()}
        await self.hub.publish("user:" + to, event)
        if to != who.name:
            await self.hub.publish("user:" + str(who.name), event)
        return None

    async def _serve_one(self, ws: WebSocket, who: _Person, raw: Any) -> Optional[str]:
        """One request; the error to report, or None."""
        request = self._parse(raw)
        kind = None if request is None else request.get("type")
        if request is None:
            return "expected a JSON object with a type"
        if kind == "join":
            return await self._join(ws, who, request)
        if kind not in ("message", "direct", "members"):
            return f"unknown type {str(kind)[:40]!r}"
        if who.room is None:
            return "join a room first"
        if kind == "members":
            members = await self.hub.members(who.room)
            await ws.send(encode({"type": "members", "room": who.room, "members": members}))
            return None
        if kind == "direct":
            return await self._direct(who, request)
        text = request.get("text")
        if not isinstance(text, str) or not text_ok(text):
            return f"text: 1-{MAX_TEXT} characters"
        await self._say(who, text)
        return None

    async def handler(self, ws: WebSocket) -> None:
        """One person: join a room, then talk; leaving the socket leaves the room."""
        await self.hub.start()
        who = _Person("w:" + secrets.token_hex(8))
        loop = asyncio.get_running_loop()
        bucket = None if self.rate is None else TokenBucket(self.rate, self.burst, loop.time())
        try:
            while True:
                if who.room is None:
                    raw = await asyncio.wait_for(ws.recv(), JOIN_TIMEOUT)
                else:
                    raw = await ws.recv()
                if bucket is not None and not bucket.take(loop.time()):
                    await ws.close(1008, f"more than {self.rate:g} messages per second")
                    return
                try:
                    error = await self._serve_one(ws, who, raw)
                except HubUnavailable as exc:
                    logger.warning("chat: %s", exc)
                    error = "the message service is unavailable; this message reached this server only"
                    if exc.delivered == 0:
                        error = "the message service is unavailable; try again"
                if error is not None:
                    await ws.send(encode({"type": "error", "message": error}))
        except asyncio.TimeoutError:
            await ws.close(1008, "join a room first")
        finally:
            if who.inbox is not None:
                self.hub.unsubscribe(who.inbox, ws)
            await self._leave(ws, who)

    @staticmethod
    def _parse(raw: Any) -> Optional[Dict[str, Any]]:
        if not isinstance(raw, str):
            return None
        try:
            request = json.loads(raw)
        except ValueError:
            return None
        return request if isinstance(request, dict) else None

    # ---- running -------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 8765, **options: Any) -> Server:
        """The WebSocket server for this chat (``await`` it or ``async with``)."""
        options.setdefault("max_size", MAX_FRAME)
        return serve(self.handler, host, port, process_request=self.process_request, **options)

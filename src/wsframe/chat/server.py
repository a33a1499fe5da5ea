"""The chat demo's server: one web page and one WebSocket endpoint, rooms in memory.

``GET /`` returns ``static/index.html`` (plain HTML and JavaScript, shipped in
the package); a WebSocket on any path speaks this JSON protocol:

client -> server
    ``{"type": "join", "room": "lobby", "name": "ada"}`` (again to switch rooms),
    ``{"type": "message", "text": "hi"}``
server -> client
    ``{"type": "joined", "room", "name", "members": [...], "history": [...]}`` to the joiner,
    ``{"type": "join" | "leave", "room", "name", "members": [...]}`` to the others,
    ``{"type": "message", "room", "name", "text", "time"}`` to everybody in the room,
    ``{"type": "error", "message"}`` for a bad request.

Everything is bounded, so a visitor cannot make the server hold memory that
outlives them (the options of :class:`ChatServer` in brackets):

* names and rooms at 32 characters, messages at 2,000, a frame at 16 KiB;
* at most 1,000 rooms (``max_rooms``). A join to a new room beyond that
  first drops the room that has been empty longest; when every room has
  people in it, the join gets an ``error`` event and the connection stays
  where it was;
* the history at 50 messages per room (``history``), given to whoever joins;
* the history of a room nobody is in is dropped after 60 s (``empty_ttl``,
  on the event loop's clock); an empty room without history goes at once;
* 20 messages per second per connection, bursts of 40 (``rate``, ``burst``:
  a token bucket on the loop's clock). Every incoming message counts, bad
  ones included; beyond it the server closes that connection with 1008
  (policy violation) and the others go on;
* 60 s for a new connection to join a room (1008 after that).

So the history never holds more than ``max_rooms * history`` messages (at
most 50,000 by default), and none of it once the rooms have been empty for
``empty_ttl``. Fan-out encodes each message once (:func:`wsframe.aio.broadcast`).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from importlib import resources
from typing import Any, Deque, Dict, List, Optional, Tuple

from ..aio import WebSocket, broadcast, serve
from ..aio.server import HTTPResponse, Server
from ..handshake.http11 import Request

__all__ = ["ChatServer", "TokenBucket", "MAX_NAME", "MAX_TEXT", "HISTORY", "MAX_ROOMS", "EMPTY_TTL", "RATE", "BURST"]

logger = logging.getLogger("wsframe.chat")

MAX_NAME = 32  # characters of a name or a room
MAX_TEXT = 2000  # characters of a message
HISTORY = 50  # messages kept per room for people who join later
MAX_ROOMS = 1000  # rooms held at once, with people or with history
EMPTY_TTL = 60.0  # seconds an empty room keeps its history
RATE = 20.0  # messages per second a connection may send, on average
BURST = 40  # messages a connection may send at once
MAX_FRAME = 16 * 1024  # bytes of one incoming message
JOIN_TIMEOUT = 60.0  # seconds a new connection may take to join a room


def _same_origin(origin: str, host: str) -> bool:
    """Whether an Origin header (``scheme://host[:port]``) names ``host`` (the Host header)."""
    scheme, sep, rest = origin.partition("://")
    return bool(sep) and scheme in ("http", "https") and rest.lower() == host.lower()


def _clean(value: Any, limit: int) -> Optional[str]:
    """A stripped, non-empty string of at most ``limit`` characters, or None."""
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    if not value or len(value) > limit:
        return None
    return str(value)  # already a str; str() tells the type checker


def _encode(event: Dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False)


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


class _Room:
    """The people in one room (connection -> name) and its last messages."""

    __slots__ = ("people", "history")

    def __init__(self, history: int) -> None:
        self.people: Dict[WebSocket, str] = {}
        self.history: Deque[Dict[str, Any]] = collections.deque(maxlen=history)


class ChatServer:
    """Rooms of connected people; :meth:`handler` runs once per WebSocket.

    Args:
        max_rooms: rooms held at once; a new room beyond it drops the room
            empty longest, or is refused with an ``error`` event.
        history: messages kept per room for people who join later.
        empty_ttl: seconds an empty room keeps its history (0: none).
        rate, burst: messages per second per connection on average, and at
            once (a token bucket); beyond them the connection is closed
            with 1008. ``rate=None`` turns the limit off.
    """

    def __init__(
        self,
        *,
        max_rooms: int = MAX_ROOMS,
        history: int = HISTORY,
        empty_ttl: float = EMPTY_TTL,
        rate: Optional[float] = RATE,
        burst: int = BURST,
    ) -> None:
        if max_rooms < 1 or history < 0 or empty_ttl < 0 or burst < 1 or (rate is not None and rate <= 0):
            raise ValueError("need max_rooms >= 1, history >= 0, empty_ttl >= 0, rate > 0 (or None), burst >= 1")
        self.max_rooms = max_rooms
        self.history = history
        self.empty_ttl = empty_ttl
        self.rate = rate
        self.burst = burst
        self.rooms: Dict[str, _Room] = {}
        # Empty rooms still holding history, longest empty first, with the timer that drops each.
        self._empty: Dict[str, asyncio.TimerHandle] = {}
        self._page: Optional[bytes] = None

    # ---- HTTP: the page ------------------------------------------------------------

    def page(self) -> bytes:
        """The HTML page, read once from the package data."""
        if self._page is None:
            self._page = resources.files("wsframe.chat").joinpath("static/index.html").read_bytes()
        return self._page

    def process_request(self, conn: WebSocket, request: Request) -> Optional[HTTPResponse]:
        """Serve the page over plain HTTP; let WebSocket upgrades through.

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
        if request.method not in ("GET", "HEAD"):
            return 405, [("Allow", "GET"), ("Content-Type", "text/plain")], b"method not allowed\n"
        if path in ("/", "/index.html"):
            body = self.page() if request.method == "GET" else b""
            return 200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache")], body
        return 404, [("Content-Type", "text/plain")], b"not found\n"

    # ---- WebSocket: the rooms --------------------------------------------------------

    def members(self, room: str) -> List[str]:
        held = self.rooms.get(room)
        return sorted(held.people.values()) if held is not None else []

    def _send_all(self, room: str, event: Dict[str, Any]) -> None:
        held = self.rooms.get(room)
        if held is not None and held.people:
            broadcast(list(held.people), _encode(event))

    def _can_open(self, room: str) -> bool:
        """Whether a join to ``room`` fits: it exists, there is space, or an empty room can go."""
        return room in self.rooms or len(self.rooms) < self.max_rooms or bool(self._empty)

    def _open(self, room: str) -> _Room:
        """The room, made if need be (dropping the longest-empty room at the cap)."""
        held = self.rooms.get(room)
        if held is not None:
            timer = self._empty.pop(room, None)
            if timer is not None:
                timer.cancel()
            return held
        if len(self.rooms) >= self.max_rooms:
            self._drop(next(iter(self._empty)))
        held = self.rooms[room] = _Room(self.history)
        return held

    def _drop(self, room: str) -> None:
        """Forget an empty room and its history."""
        timer = self._empty.pop(room, None)
        if timer is not None:
            timer.cancel()
        del self.rooms[room]

    def _join(self, ws: WebSocket, room: str, name: str) -> None:
        held = self._open(room)
        held.people[ws] = name
        members = self.members(room)
        others = [peer for peer in held.people if peer is not ws]
        broadcast(others, _encode({"type": "join", "room": room, "name": name, "members": members}))
        joined = {"type": "joined", "room": room, "name": name, "members": members, "history": list(held.history)}
        broadcast([ws], _encode(joined))

    def _leave(self, ws: WebSocket, room: str) -> None:
        held = self.rooms.get(room)
        if held is None or ws not in held.people:
            return
        name = held.people.pop(ws)
        if held.people:
            self._send_all(room, {"type": "leave", "room": room, "name": name, "members": self.members(room)})
        elif held.history and self.empty_ttl > 0:
            self._empty[room] = asyncio.get_running_loop().call_later(self.empty_ttl, self._drop, room)
        else:
            self._drop(room)

    def _say(self, room: str, name: str, text: str) -> None:
        event = {"type": "message", "room": room, "name": name, "text": text, "time": time.time()}
        self.rooms[room].history.append(event)
        self._send_all(room, event)

    async def handler(self, ws: WebSocket) -> None:
        """One person: join a room, then talk; leaving the socket leaves the room."""
        where: Optional[Tuple[str, str]] = None  # (room, name)
        loop = asyncio.get_running_loop()
        bucket = None if self.rate is None else TokenBucket(self.rate, self.burst, loop.time())
        try:
            while True:
                if where is None:
                    raw = await asyncio.wait_for(ws.recv(), JOIN_TIMEOUT)
                else:
                    raw = await ws.recv()
                if bucket is not None and not bucket.take(loop.time()):
                    await ws.close(1008, f"more than {self.rate:g} messages per second")
                    return
                request = self._parse(raw)
                kind = None if request is None else request.get("type")
                error: Optional[str] = None
                if request is None:
                    error = "expected a JSON object with a type"
                elif kind == "join":
                    room = _clean(request.get("room"), MAX_NAME)
                    name = _clean(request.get("name"), MAX_NAME)
                    if room is None or name is None:
                        error = f"room and name: 1-{MAX_NAME} characters"
                    elif not self._can_open(room):
                        error = f"all {self.max_rooms} rooms are in use: join one of them"
                    else:
                        if where is not None:
                            self._leave(ws, where[0])
                        where = (room, name)
                        self._join(ws, room, name)
                elif kind == "message":
                    text = request.get("text")
                    if where is None:
                        error = "join a room first"
                    elif not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                        error = f"text: 1-{MAX_TEXT} characters"
                    else:
                        self._say(where[0], where[1], text)
                else:
                    error = f"unknown type {kind!r}"
                if error is not None:
                    await ws.send(_encode({"type": "error", "message": error}))
        except asyncio.TimeoutError:
            await ws.close(1008, "join a room first")
        finally:
            if where is not None:
                self._leave(ws, where[0])

    @staticmethod
    def _parse(raw: Any) -> Optional[Dict[str, Any]]:
        if not isinstance(raw, str):
            return None
        try:
            request = json.loads(raw)
        except ValueError:
            return None
        return request if isinstance(request, dict) else None

    # ---- running -----------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 8765, **options: Any) -> Server:
        """The WebSocket server for this chat (``await`` it or ``async with``)."""
        options.setdefault("max_size", MAX_FRAME)
        return serve(self.handler, host, port, process_request=self.process_request, **options)

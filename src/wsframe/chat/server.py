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

Everything is bounded: names and rooms at 32 characters, messages at 2,000,
a frame at 16 KiB, the history at 50 messages per room. Fan-out encodes each
message once (:func:`wsframe.aio.broadcast`).
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

__all__ = ["ChatServer", "MAX_NAME", "MAX_TEXT", "HISTORY"]

logger = logging.getLogger("wsframe.chat")

MAX_NAME = 32  # characters of a name or a room
MAX_TEXT = 2000  # characters of a message
HISTORY = 50  # messages kept per room for people who join later
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


class ChatServer:
    """Rooms of connected people; :meth:`handler` runs once per WebSocket."""

    def __init__(self) -> None:
        self.rooms: Dict[str, Dict[WebSocket, str]] = {}
        self.history: Dict[str, Deque[Dict[str, Any]]] = {}
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
        return sorted(self.rooms.get(room, {}).values())

    def _send_all(self, room: str, event: Dict[str, Any]) -> None:
        people = self.rooms.get(room)
        if people:
            broadcast(list(people), json.dumps(event, ensure_ascii=False))

    def _join(self, ws: WebSocket, room: str, name: str) -> None:
        people = self.rooms.setdefault(room, {})
        people[ws] = name
        history = list(self.history.get(room, ()))
        members = self.members(room)
        others = [peer for peer in people if peer is not ws]
        broadcast(
            others, json.dumps({"type": "join", "room": room, "name": name, "members": members}, ensure_ascii=False)
        )
        broadcast(
            [ws],
            json.dumps(
                {"type": "joined", "room": room, "name": name, "members": members, "history": history},
                ensure_ascii=False,
            ),
        )

    def _leave(self, ws: WebSocket, room: str) -> None:
        people = self.rooms.get(room)
        if not people or ws not in people:
            return
        name = people.pop(ws)
        if not people:
            del self.rooms[room]
            return
        self._send_all(room, {"type": "leave", "room": room, "name": name, "members": self.members(room)})

    def _say(self, room: str, name: str, text: str) -> None:
        event = {"type": "message", "room": room, "name": name, "text": text, "time": time.time()}
        self.history.setdefault(room, collections.deque(maxlen=HISTORY)).append(event)
        self._send_all(room, event)

    async def handler(self, ws: WebSocket) -> None:
        """One person: join a room, then talk; leaving the socket leaves the room."""
        where: Optional[Tuple[str, str]] = None  # (room, name)
        try:
            while True:
                if where is None:
                    raw = await asyncio.wait_for(ws.recv(), JOIN_TIMEOUT)
                else:
                    raw = await ws.recv()
                request = self._parse(raw)
                if request is None:
                    await ws.send(json.dumps({"type": "error", "message": "expected a JSON object with a type"}))
                    continue
                kind = request.get("type")
                if kind == "join":
                    room = _clean(request.get("room"), MAX_NAME)
                    name = _clean(request.get("name"), MAX_NAME)
                    if room is None or name is None:
                        await ws.send(
                            json.dumps({"type": "error", "message": f"room and name: 1-{MAX_NAME} characters"})
                        )
                        continue
                    if where is not None:
                        self._leave(ws, where[0])
                    where = (room, name)
                    self._join(ws, room, name)
                elif kind == "message":
                    text = request.get("text")
                    if where is None:
                        await ws.send(json.dumps({"type": "error", "message": "join a room first"}))
                    elif not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                        await ws.send(json.dumps({"type": "error", "message": f"text: 1-{MAX_TEXT} characters"}))
                    else:
                        self._say(where[0], where[1], text)
                else:
                    await ws.send(json.dumps({"type": "error", "message": f"unknown type {kind!r}"}))
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

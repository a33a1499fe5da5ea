"""``POST /push``: a notice to one user, from another program, on the chat's port.

::

    curl -H "Authorization: Bearer $WSFRAME_PUSH_TOKEN" \\
         -d '{"user": "ada", "text": "your build passed"}' http://127.0.0.1:8765/push

The notice is published on the user's inbox topic (``user:<name>``), so it
reaches them on whichever process (worker, host) holds their connection, and
waits in the inbox history (replayed on their next connection) when they
are away. Answers: 202 with ``{"id": ...}``, 401 without the right token,
403 when push is off (no token configured), 400 for a bad body, 413 when
it is over 8 KiB, 503 when the hub is unavailable.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from typing import Optional

from ..aio.server import HTTPResponse, ServerConnection
from ..handshake.http11 import Request
from ..hub import Hub, HubUnavailable

__all__ = ["push", "MAX_BODY"]

MAX_BODY = 8192  # bytes of a push request body
BODY_TIMEOUT = 10.0  # seconds for the body to arrive


def _answer(status: int, payload: object) -> HTTPResponse:
    body = (json.dumps(payload) + "\n").encode()
    return status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body


def authorized(token: Optional[str], request: Request) -> bool:
    """Whether the request carries ``Authorization: Bearer <token>`` (compared in constant time)."""
    if not token:
        return False
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def push(hub: Hub, token: Optional[str], conn: ServerConnection, request: Request) -> HTTPResponse:
    """Answer one ``POST /push`` request (see the module docstring)."""
    from .server import MAX_NAME, clean, text_ok

    if not token:
        return _answer(403, {"error": "push is off: start the chat with --push-token or WSFRAME_PUSH_TOKEN"})
    if not authorized(token, request):
        return _answer(401, {"error": "missing or wrong token (Authorization: Bearer ...)"})
    try:
        raw = await conn.request_body(MAX_BODY, BODY_TIMEOUT)
    except ValueError as exc:
        return _answer(413 if "over" in str(exc) else 400, {"error": str(exc)})
    except (asyncio.TimeoutError, ConnectionError):
        return _answer(400, {"error": "the request body did not arrive"})
    try:
        payload = json.loads(raw)
    except ValueError:
        return _answer(400, {"error": "the body is not JSON"})
    if not isinstance(payload, dict):
        return _answer(400, {"error": "expected a JSON object"})
    user = clean(payload.get("user"), MAX_NAME)
    text = payload.get("text")
    if user is None or not text_ok(text):
        return _answer(400, {"error": "user: 1-32 characters, text: 1-2000 characters"})
    await hub.start()
    notice = {"type": "notice", "to": user, "text": text, "time": time.time()}
    try:
        message_id = await hub.publish("user:" + user, notice)
    except HubUnavailable as exc:
        return _answer(503, {"error": str(exc), "delivered_here": exc.delivered})
    return _answer(202, {"id": message_id})

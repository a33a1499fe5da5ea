"""Helpers of the chat tests that use the hub (tests/test_chat_resume.py,
tests/test_chat_redis.py): read the next event, join a room, wait for the close."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, Optional, Tuple

import pytest

from wsframe.aio import ConnectionClosed, connect


async def next_event(ws: Any, kind: Optional[str] = None, timeout: float = 15) -> Dict[str, Any]:
    """The next JSON event (of type ``kind`` if given, skipping others), bounded in time."""
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if kind is None or event["type"] == kind:
            return event


async def join(port: int, room: str, name: str, **extra: Any) -> Tuple[Any, Dict[str, Any]]:
    """Connect and join; the connection and its ``joined`` event (with ``gap``
    set to the gap event when one came first)."""
    ws = await connect(f"ws://127.0.0.1:{port}/ws")
    await ws.send(json.dumps({"type": "join", "room": room, "name": name, **extra}))
    event = await next_event(ws)
    if event["type"] == "gap":
        event = dict(await next_event(ws, "joined"), gap=event)
    assert event["type"] == "joined", event
    return ws, event


async def close_code(ws: Any) -> Optional[int]:
    """Read (and drop) everything until the connection closes; its close code."""
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), 20)
    await asyncio.wait_for(ws.wait_closed(), 20)  # the TCP connection too
    return ws.close_code

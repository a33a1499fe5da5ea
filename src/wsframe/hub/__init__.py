"""Hubs: publish to topics and reach subscribed connections in every process.

::

    from wsframe.hub import MemoryHub, hub_from_url

    hub = hub_from_url(None)                        # in memory, one process
    hub = hub_from_url("redis://127.0.0.1:6379")    # shared by processes and hosts

    async with hub:
        await hub.subscribe("room:lobby", ws, after=last_id_seen)
        message_id = await hub.publish("room:lobby", {"type": "message", "text": "hi"})

:class:`RedisHub` needs redis-py (``pip install wsframe[redis]``); it is
imported on first use, so ``import wsframe.hub`` never imports redis.
See docs/scale-out.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .base import HISTORY, Greeter, Hub, HubUnavailable, Replay
from .ids import IdClock, id_key
from .local import LocalTopics
from .memory import MemoryHub

if TYPE_CHECKING:
    from .redis import RedisHub

__all__ = [
    "Hub",
    "MemoryHub",
    "RedisHub",
    "HubUnavailable",
    "Replay",
    "Greeter",
    "LocalTopics",
    "IdClock",
    "id_key",
    "hub_from_url",
    "HISTORY",
]


def hub_from_url(url: Optional[str], **options: Any) -> Hub:
    """A :class:`MemoryHub` for None or ``"memory://"``, a :class:`RedisHub`
    for ``redis://`` or ``rediss://`` URLs; ``options`` go to the class."""
    if url is None or url == "memory://":
        return MemoryHub(**options)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisHub

        return RedisHub(url, **options)
    raise ValueError(f"unknown hub URL {url!r}: expected redis://HOST:PORT or memory://")


def __dir__() -> "list[str]":
    return sorted(set(globals()) | {"RedisHub"})


def __getattr__(name: str) -> Any:
    if name == "RedisHub":
        from .redis import RedisHub

        return RedisHub
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

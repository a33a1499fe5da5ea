"""The chat demo: ``python -m wsframe chat`` serves a web page and a WebSocket
endpoint for a real-time group chat with rooms (see :mod:`wsframe.chat.server`)."""

from __future__ import annotations

from .server import ChatServer

__all__ = ["ChatServer"]

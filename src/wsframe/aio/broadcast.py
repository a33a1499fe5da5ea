"""Send one message to many server connections, encoded once, without waiting.

``broadcast(connections, message)`` queues the same frame bytes on every
open server connection (server frames are unmasked, so one encoding fits
all; see :func:`wsframe.broadcast`). It never awaits: a connection whose
peer does not read, and whose write buffer has grown past ``max_buffer``,
is closed with 1013 (try again later) instead of buffering without bound.
"""

from __future__ import annotations

from typing import Iterable, Union

from ..broadcast import encode_broadcast
from ..connection import State
from .connection import WebSocket

__all__ = ["broadcast"]

#: Write-buffer size above which a broadcast gives up on a slow connection.
DEFAULT_MAX_BUFFER = 4 * 1024 * 1024


def broadcast(
    connections: Iterable[WebSocket],
    message: Union[str, bytes, bytearray, memoryview],
    max_buffer: int = DEFAULT_MAX_BUFFER,
) -> int:
    """Queue ``message`` on every open server connection; return how many got it.

    Args:
        connections: server-side connections (client frames need a mask each).
        message: text (``str``) or binary (bytes-like).
        max_buffer: a connection with more than this many bytes waiting in
            its transport is closed with 1013 rather than sent to.
    """
    frame = encode_broadcast(message)
    count = 0
    for ws in connections:
        conn = ws._conn
        transport = ws._transport
        if conn.state is not State.OPEN or conn.failure_pending or transport is None:
            continue
        if conn.role != "server":
            raise ValueError("broadcast() is for server connections (client frames are masked)")
        if transport.get_write_buffer_size() > max_buffer:
            ws._start_closing(1013, "too slow to keep up")
            continue
        conn.send_prepared(frame)
        if ws._write_paused:
            ws._flush(force=True)  # into the transport, where max_buffer sees it
        else:
            ws._queued(len(frame))
        count += 1
    return count

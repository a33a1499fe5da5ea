"""Send one message to many server connections, encoded once, without waiting.

``broadcast(connections, message)`` queues the same frame bytes on every
open server connection (server frames are unmasked, so one encoding fits
all; see :func:`wsframe.broadcast`). It never awaits: a connection whose
peer does not read, and whose write buffer has grown past ``max_buffer``,
is closed with 1013 (try again later) instead of buffering without bound.
Per connection it costs little more than the ``transport.write`` itself.
"""

from __future__ import annotations

from typing import Iterable, Union

from ..broadcast import encode_broadcast
from ..connection import State
from .protocol import WebSocketProtocol

_OPEN = State.OPEN

__all__ = ["broadcast"]

#: Write-buffer size above which a broadcast gives up on a slow connection.
DEFAULT_MAX_BUFFER = 4 * 1024 * 1024


def broadcast(
    connections: Iterable[WebSocketProtocol],
    message: Union[str, bytes, bytearray, memoryview],
    max_buffer: int = DEFAULT_MAX_BUFFER,
) -> int:
    """Queue ``message`` on every open server connection; return how many got it.

    Works for both APIs (:class:`~wsframe.aio.WebSocket` and
    :class:`~wsframe.aio.ListenerConnection`). Per connection the common
    case costs one ``transport.write`` and a few attribute reads: when the
    connection has no output of its own waiting, the frame goes straight to
    the transport (whose buffer keeps the order); otherwise it is queued
    behind that output.

    Args:
        connections: server-side connections (client frames need a mask each).
        message: text (``str``) or binary (bytes-like).
        max_buffer: a connection with more than this many bytes waiting in
            its transport is closed with 1013 rather than sent to.

    Raises:
        ValueError: a client connection among them.
    """
    frame = encode_broadcast(message)
    size = len(frame)
    count = 0
    for ws in connections:
        # Plain attribute reads, not properties: this loop runs once per
        # delivery (docs/hardening.md, "Where the fan-out time goes").
        conn = ws._conn
        transport = ws._transport
        if conn._state is not _OPEN or conn._failure is not None or transport is None:
            continue
        if not conn._is_server:
            raise ValueError("broadcast() is for server connections (client frames are masked)")
        # Unpaused, the transport holds at most its high-water mark
        # (write_limit): the size is only worth asking for above that.
        if (ws._write_paused or ws._write_limit > max_buffer) and transport.get_write_buffer_size() > max_buffer:
            ws._start_closing(1013, "too slow to keep up")
            continue
        if not conn._out:
            transport.write(frame)  # nothing of the connection's waits: straight out
        else:
            conn.send_prepared(frame)  # after the replies and pongs already queued
            if ws._write_paused:
                ws._flush(force=True)  # into the transport, where max_buffer sees it
            else:
                ws._queued(size)
        count += 1
    return count

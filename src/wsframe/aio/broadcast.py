"""Send one message to many server connections, encoded once, without waiting.

``broadcast(connections, message)`` sends the same frame bytes to every
open server connection (server frames are unmasked, so one encoding fits
all; see :func:`wsframe.broadcast`). It never awaits: a connection whose
peer does not read, and whose write buffer has grown past ``max_buffer``,
is closed with 1013 (try again later) instead of buffering without bound.

Per connection the common case is one ``send()`` system call made from a
compiled loop (``wsframe._fanout_c``), with no Python function call: a
connection that is OPEN, has no output of its own waiting and whose plain
socket transport (asyncio's, uvloop's) holds nothing gets the frame
straight into its socket. Everything else takes the Python path of
:func:`_deliver`: TLS transports, a transport holding unsent bytes, output
queued in the connection, paused writing. Without the extension (PyPy,
``WSFRAME_NO_EXTENSIONS=1``) the same loop runs in Python with
``transport.write`` in place of ``send()``.
"""

from __future__ import annotations

from typing import Iterable, Union

from .._fanout import fanout as _fanout
from ..broadcast import encode_broadcast
from ..connection import State
from .protocol import WebSocketProtocol

__all__ = ["broadcast"]

#: Write-buffer size above which a broadcast gives up on a slow connection.
DEFAULT_MAX_BUFFER = 4 * 1024 * 1024


def broadcast(
    connections: Iterable[WebSocketProtocol],
    message: Union[str, bytes, bytearray, memoryview],
    max_buffer: int = DEFAULT_MAX_BUFFER,
) -> int:
    """Send ``message`` to every open server connection; return how many got it.

    Works for both APIs (:class:`~wsframe.aio.WebSocket` and
    :class:`~wsframe.aio.ListenerConnection`), over TCP, Unix sockets and
    TLS, on asyncio's loop and uvloop. The message is encoded once. A
    connection with nothing waiting (neither in the connection nor in its
    transport) gets the frame with one non-blocking ``send()`` from a
    compiled loop; what the socket does not take goes to the transport,
    which buffers it. A connection with output waiting gets the frame
    queued behind that output, so each connection's order is kept.
    Connections that are closing, closed or failing are skipped.

    Args:
        connections: server-side connections (client frames need a mask
            each); any iterable, a set or a list is iterated without a
            Python call per connection.
        message: text (``str``) or binary (bytes-like).
        max_buffer: a connection with more than this many bytes waiting in
            its transport is closed with 1013 rather than sent to.

    Returns:
        How many connections got the message (sent or buffered).

    Raises:
        ValueError: a client connection among them.
    """
    return _fanout.fanout(connections, encode_broadcast(message), max_buffer, State.OPEN, _deliver)


def _deliver(ws: WebSocketProtocol, frame: bytes, max_buffer: int) -> bool:
    """One delivery the compiled loop does not make itself (the connection
    is OPEN, not failing, and has a transport): return whether it was sent."""
    conn = ws._conn
    transport = ws._transport
    assert transport is not None
    if not conn._is_server:
        raise ValueError("broadcast() is for server connections (client frames are masked)")
    # Unpaused, the transport holds at most its high-water mark
    # (write_limit): the size is only worth asking for above that.
    if (ws._write_paused or ws._write_limit > max_buffer) and transport.get_write_buffer_size() > max_buffer:
        ws._start_closing(1013, "too slow to keep up")
        return False
    if conn._fragmenting is not None and conn._held_prepared_size + len(frame) > max_buffer:
        # Frames held until a message sent in parts ends count too: a handler
        # stuck between parts must not hold broadcasts without bound.
        ws._start_closing(1013, "too slow to keep up")
        return False
    if not conn._out and conn._fragmenting is None:
        transport.write(frame)  # nothing of the connection's waits: the transport keeps the order
    else:
        conn.send_prepared(frame)  # after the replies and pongs queued (and a message sent in parts)
        if ws._write_paused:
            ws._flush(force=True)  # into the transport, where max_buffer sees it
        else:
            ws._queued(len(frame))
    return True

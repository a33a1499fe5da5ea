"""Encode a server message once, queue the same bytes on many connections.

:func:`encode_broadcast` only encodes; :func:`queue_broadcast` queues the
frame on sans-I/O connections (``wsframe.aio.broadcast`` sends it).

Server frames are unmasked (RFC 6455 section 5.1), so one encoding fits every
client; only the copy into each transport remains per connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Union

from ._backend import codec as _codec
from .enums import Opcode

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection

__all__ = ["encode_broadcast", "queue_broadcast"]


def encode_broadcast(message: Union[str, bytes, bytearray, memoryview]) -> bytes:
    """One unmasked frame for ``message``: TEXT for str, BINARY for bytes.

    Hand the result to :meth:`wsframe.Connection.send_prepared` of each
    server connection, or write it to transports directly. It is sent
    uncompressed even when a connection negotiated permessage-deflate
    (RSV1 clear is always valid, RFC 7692 section 6).
    """
    if isinstance(message, str):
        return _codec.encode_frame(Opcode.TEXT, message.encode("utf-8"))
    return _codec.encode_frame(Opcode.BINARY, message)


def queue_broadcast(connections: Iterable["Connection"], message: Union[str, bytes, bytearray, memoryview]) -> int:
    """Queue ``message``, encoded once, on every OPEN server connection.

    Connections that are not OPEN are skipped. Returns how many got it.
    """
    from .connection import State

    frame = encode_broadcast(message)
    count = 0
    for connection in connections:
        if connection.state is State.OPEN:
            connection.send_prepared(frame)
            count += 1
    return count

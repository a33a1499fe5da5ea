"""The pure-Python fan-out loop: the twin of ``_fanout_c`` (same API, ``_fanout_c.pyi``).

Used on PyPy, with ``WSFRAME_NO_EXTENSIONS=1`` and when the extension is
not built. An idle plain-socket connection gets ``transport.write(frame)``,
which makes the same ``send()`` the compiled loop makes (a Python-level
``socket.send`` here would save nothing); the others go to ``slow``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

__all__ = ["KIND_NONE", "KIND_SELECTOR", "KIND_UVLOOP", "fanout"]

#: ``WebSocketProtocol._fanout_kind`` values (see ``_fanout_c.pyx``).
KIND_NONE = 0
KIND_SELECTOR = 1
KIND_UVLOOP = 2


def fanout(
    connections: Iterable[Any],
    frame: bytes,
    max_buffer: int,
    open_state: Any,
    slow: Callable[[Any, bytes, int], bool],
) -> int:
    """Deliver ``frame`` to every OPEN connection; return how many got it.

    See ``_fanout_c.fanout``: connections with ``_fanout_fd >= 0``, no
    output waiting, no fragmented message under way and a ``write_limit``
    within ``max_buffer`` (so the slow-consumer rule cannot apply) get
    ``transport.write(frame)``; every other connection
    (OPEN, not failing, with a transport) is handed to
    ``slow(ws, frame, max_buffer)``, which returns whether it delivered.
    """
    count = 0
    for ws in connections:
        conn = ws._conn
        if conn._state is not open_state or conn._failure is not None:
            continue
        transport = ws._transport
        if transport is None:
            continue
        if (
            ws._fanout_fd >= 0
            and not conn._out
            and conn._fragmenting is None
            and not ws._write_paused
            and ws._write_limit <= max_buffer  # unpaused, the transport holds at most write_limit
        ):
            transport.write(frame)  # behind whatever the transport holds: order kept
            count += 1
        elif slow(ws, frame, max_buffer):
            count += 1
    return count

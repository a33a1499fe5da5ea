"""The contract of the fan-out loop: ``_fanout_c`` (compiled) and ``_fanout_py`` satisfy it."""

from typing import Any, Callable, Iterable

KIND_NONE: int
KIND_SELECTOR: int
KIND_UVLOOP: int

def fanout(
    connections: Iterable[Any],
    frame: bytes,
    max_buffer: int,
    open_state: Any,
    slow: Callable[[Any, bytes, int], bool],
) -> int:
    """Deliver ``frame`` to every OPEN connection; return how many got it.

    Idle plain-socket connections (``_fanout_fd >= 0``, no output waiting,
    nothing in the transport) get one ``send()`` (the compiled loop) or
    ``transport.write`` (the pure twin); the others go to
    ``slow(ws, frame, max_buffer)``, which returns whether it delivered.
    """

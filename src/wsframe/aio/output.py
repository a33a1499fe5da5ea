"""Writing a connection's output to an asyncio transport without copying big payloads.

:meth:`wsframe.Connection.data_to_send_buffers` hands over a list: usually
one ``bytes``, and for a large message (``LARGE_PAYLOAD``, 64 KiB) the
caller's payload as its own buffer after the frame header. This module
writes such a list in the cheapest way the transport offers:

* a transport whose ``writelines`` is vectored (uvloop's, and asyncio's own
  socket transport from Python 3.12, which uses ``sendmsg``) gets the list
  as it is: one system call, no copy;
* any other transport (asyncio's socket transport before 3.12, whose
  ``writelines`` joins; TLS, which copies into the TLS layer anyway) gets a
  payload big enough for a copy to cost more than a second system call
  (``SEPARATE_WRITE_MIN``) in a ``write`` of its own, and everything
  between such payloads joined into one ``write``.

:func:`direct_send_target` tells ``wsframe.aio.broadcast`` once per
connection whether its compiled loop may ``send()`` to the socket itself.
"""

from __future__ import annotations

import asyncio
import collections
import platform
import sys
from typing import Dict, List, Tuple

from .._buffers import coalesce
from .._fanout import fanout as _fanout

__all__ = ["write_buffers", "direct_send_target", "SEPARATE_WRITE_MIN"]

#: Without a vectored ``writelines``, buffers are written one by one only
#: when the output is at least this big: measured on the 2-core test machine,
#: joining 64 KiB costs about 1.4 us and 256 KiB about 14 us, against about
#: 3 us for the extra small ``send()`` a separate header costs.
SEPARATE_WRITE_MIN = 256 * 1024

# Transport type -> whether its writelines is vectored (no join).
_VECTORED: Dict[type, bool] = {}


def _is_vectored(transport: asyncio.Transport) -> bool:
    cls = type(transport)
    known = _VECTORED.get(cls)
    if known is None:
        module = cls.__module__ or ""
        known = module.startswith("uvloop") or (
            sys.version_info >= (3, 12) and cls.__name__ == "_SelectorSocketTransport"
        )
        _VECTORED[cls] = known
    return known


def write_buffers(transport: asyncio.Transport, buffers: List[bytes]) -> None:
    """Write ``buffers`` (from ``data_to_send_buffers()``) in order.

    Without a vectored ``writelines``, a buffer of at least
    ``SEPARATE_WRITE_MIN`` bytes is written on its own (no copy) and the
    smaller ones around it are joined, so many replies of 64 KiB still cost
    one join and one write, not two writes each.

    Args:
        transport: an open transport.
        buffers: the chunks; empty writes nothing.
    """
    if len(buffers) == 1:
        transport.write(buffers[0])
    elif not buffers:
        return
    elif _is_vectored(transport):
        transport.writelines(buffers)
    else:
        for buffer in coalesce(buffers, SEPARATE_WRITE_MIN):
            transport.write(buffer)


# asyncio versions whose _SelectorSocketTransport was read for the idle test
# of the compiled fan-out (its _buffer, its _closing); a newer one falls back
# to transport.write until someone checks it again.
_SELECTOR_VERSIONS = ((3, 11), (3, 14))
_UVLOOP_TRANSPORTS = frozenset({"TCPTransport", "UnixTransport"})


def _kind_of(transport: asyncio.BaseTransport) -> int:
    cls = type(transport)
    module = cls.__module__ or ""
    if module == "uvloop.loop" and cls.__name__ in _UVLOOP_TRANSPORTS:
        return _fanout.KIND_UVLOOP
    if (
        module == "asyncio.selector_events"
        and cls.__name__ == "_SelectorSocketTransport"
        and platform.python_implementation() == "CPython"
        and _SELECTOR_VERSIONS[0] <= sys.version_info[:2] <= _SELECTOR_VERSIONS[1]
        and isinstance(vars(transport).get("_buffer"), (bytearray, collections.deque))
        and isinstance(vars(transport).get("_closing"), bool)
    ):
        return _fanout.KIND_SELECTOR
    return _fanout.KIND_NONE


def direct_send_target(transport: asyncio.BaseTransport) -> Tuple[int, int]:
    """The socket's file descriptor and the transport's kind when broadcast's
    compiled loop may ``send()`` to it directly, else ``(-1, KIND_NONE)``.

    Only plain stream-socket transports whose "nothing buffered" state can
    be read without a Python call qualify: asyncio's
    ``_SelectorSocketTransport`` on CPython 3.11-3.14 and uvloop's TCP and
    Unix transports. TLS (its bytes must be encrypted first), pipes and
    unknown transports do not; they keep ``transport.write``.
    """
    kind = _kind_of(transport)
    if kind == _fanout.KIND_NONE:
        return -1, kind
    sock = transport.get_extra_info("socket")
    fileno = getattr(sock, "fileno", None)
    fd = fileno() if fileno is not None else -1
    return (fd, kind) if fd >= 0 else (-1, _fanout.KIND_NONE)

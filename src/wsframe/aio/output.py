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
"""

from __future__ import annotations

import asyncio
import sys
from typing import Dict, List

from .._buffers import coalesce

__all__ = ["write_buffers", "SEPARATE_WRITE_MIN"]

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

"""Grouping output chunks: small ones joined, big ones left as they are.

Used by :meth:`wsframe.Connection.data_to_send_buffers` (big = a payload
queued without a copy) and :func:`wsframe.aio.output.write_buffers` (big =
worth a system call of its own), each with its own threshold.
"""

from __future__ import annotations

from typing import List

__all__ = ["coalesce"]


def coalesce(chunks: List[bytes], threshold: int) -> List[bytes]:
    """``chunks`` in order, each run of chunks under ``threshold`` bytes
    joined into one ``bytes``, each bigger chunk the very object it was."""
    out: List[bytes] = []
    small: List[bytes] = []
    for chunk in chunks:
        if len(chunk) < threshold:
            small.append(chunk)
            continue
        if small:
            out.append(small[0] if len(small) == 1 else b"".join(small))
            small = []
        out.append(chunk)
    if small:
        out.append(small[0] if len(small) == 1 else b"".join(small))
    return out

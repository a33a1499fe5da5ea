"""Drop-in for tornado's ``websocket_mask(mask, data)`` and a patch for tornado.

Replaces ``from tornado.speedups import websocket_mask`` (and the pure
``tornado.util._websocket_mask_python``).

:func:`patch` swaps ``_websocket_mask`` where tornado looks it up:
``tornado.websocket`` (masking of client frames and unmasking of received
frames, RFC 6455 section 5.3), ``tornado.web`` (XSRF token masking) and
``tornado.util`` (for later importers). UTF-8: tornado decodes whole text
messages with ``bytes.decode``; behaviour is unchanged.

With ``frames=True`` (the default) it also moves
``WebSocketProtocol13._receive_frame_loop`` onto :class:`wsframe.FrameParser`
(see :mod:`wsframe.compat._tornado_frames`: tornado's own code still handles
every message, control frame and error); ``writer=True`` also builds
outgoing frames with :func:`wsframe.encode_frame` (off by default: it does
not gain end to end, docs/compat.md).
"""

from __future__ import annotations

import importlib
from typing import Any, List

import wsframe

from . import _patching, _tornado_frames

__all__ = ["websocket_mask", "spec"]


def _read_only_bytes(obj: Any, position: int) -> bytes:
    # What the C extension's "s#" arguments take: str (as UTF-8) and bytes.
    if isinstance(obj, bytes):
        return obj
    if isinstance(obj, str):
        return obj.encode("utf-8")
    try:
        memoryview(obj)
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(obj).__name__}'") from None
    raise TypeError(f"argument {position} must be read-only bytes-like object, not {type(obj).__name__}")


def websocket_mask(mask: bytes, data: bytes, /) -> bytes:
    """Return ``data`` XORed with the 4-byte ``mask`` (RFC 6455 section 5.3).

    Same contract as ``tornado.speedups.websocket_mask``: positional only;
    each argument is ``bytes`` or ``str`` (encoded as UTF-8).

    Raises:
        TypeError: an argument is another type (bytearray and memoryview too).
        ValueError: ``mask`` is not 4 bytes.
    """
    if type(mask) is bytes and type(data) is bytes and len(mask) == 4:
        return wsframe.apply_mask(data, mask)  # the common case, checks done
    mask = _read_only_bytes(mask, 1)
    data = _read_only_bytes(data, 2)
    if len(mask) != 4:
        raise ValueError("mask must be 4 bytes")
    return wsframe.apply_mask(data, mask)


def spec(*, frames: bool = True, writer: bool = False) -> _patching.PatchSpec:
    """The patch of tornado.

    Args:
        frames: read frames with wsframe's parser (the speedup); False swaps
            the masking function only.
        writer: build outgoing frames with ``wsframe.encode_frame``.
    """

    def swaps() -> List[_patching.Swap]:
        result = [
            _patching.Swap(importlib.import_module(name), "_websocket_mask", websocket_mask)
            for name in ("tornado.util", "tornado.web", "tornado.websocket")
        ]
        protocol = importlib.import_module("tornado.websocket").WebSocketProtocol13
        if frames or writer:
            for owner, attribute, replacement in _tornado_frames.swaps_for(protocol, reader=frames, writer=writer):
                result.append(_patching.Swap(owner, attribute, replacement))
        return result

    return _patching.PatchSpec(
        name="tornado",
        distribution="tornado",
        minimum=(6, 6),
        below=(6, 7),
        swaps=swaps,
        module="tornado",
    )

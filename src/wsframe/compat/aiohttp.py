"""Drop-in for aiohttp's in-place ``websocket_mask(mask, data)`` and a patch for aiohttp.

Replaces ``from aiohttp._websocket.helpers import websocket_mask`` (the
compiled ``aiohttp._websocket.mask._websocket_mask_cython`` or the pure
``_websocket_mask_python``).

What :func:`patch` reaches: the writer (a client masks every frame it sends,
RFC 6455 section 5.3), the pure-Python reader (used with
``AIOHTTP_NO_EXTENSIONS=1`` or without aiohttp's C extensions) and the helper
later importers read. What it cannot reach: aiohttp's compiled reader
(``reader_c``) calls its Cython mask at C level (a ``cimport``), so server-side
unmasking there keeps aiohttp's own 8-bytes-at-a-time loop. UTF-8: aiohttp
decodes whole text messages with ``bytes.decode`` inside that compiled reader,
so there is nothing to swap; behaviour is unchanged.
"""

from __future__ import annotations

import importlib
from typing import List

import wsframe

from . import _patching

__all__ = ["websocket_mask", "spec"]


def websocket_mask(mask: bytes, data: bytearray) -> None:
    """XOR ``data`` in place with the 4-byte ``mask`` (RFC 6455 section 5.3).

    Same contract as aiohttp's Cython version: ``mask`` must be exactly
    ``bytes`` and ``data`` exactly ``bytearray`` (no subclasses; None passes
    the type check and then fails on ``len``).

    Raises:
        TypeError: wrong argument types.
        AssertionError: ``mask`` is not 4 bytes.
    """
    if type(mask) is bytes and type(data) is bytearray and len(mask) == 4:
        wsframe.apply_mask_inplace(data, mask)  # the common case, checks done
        return
    if mask is not None and type(mask) is not bytes:
        raise TypeError(f"Argument 'mask' has incorrect type (expected bytes, got {type(mask).__name__})")
    if data is not None and type(data) is not bytearray:
        raise TypeError(f"Argument 'data' has incorrect type (expected bytearray, got {type(data).__name__})")
    if len(mask) != 4:
        raise AssertionError()
    if len(data):
        wsframe.apply_mask_inplace(data, mask)


def spec() -> _patching.PatchSpec:
    """The patch of aiohttp (see the module docstring for its reach)."""

    def swaps() -> List[_patching.Swap]:
        helpers = importlib.import_module("aiohttp._websocket.helpers")
        writer = importlib.import_module("aiohttp._websocket.writer")
        reader_py = importlib.import_module("aiohttp._websocket.reader_py")
        return [
            _patching.Swap(helpers, "websocket_mask", websocket_mask),
            _patching.Swap(writer, "websocket_mask", websocket_mask),
            _patching.Swap(reader_py, "websocket_mask", websocket_mask),
        ]

    return _patching.PatchSpec(
        name="aiohttp",
        distribution="aiohttp",
        minimum=(3, 14),
        below=(3, 15),
        swaps=swaps,
        module="aiohttp",
    )

"""Stateful XOR maskers with a byte pointer, the shape wsaccel and Autobahn use.

A masker is made for one frame's 4-byte key (RFC 6455 section 5.3) and
``process()`` may be called on consecutive slices of the payload: the pointer
remembers how many bytes were masked, so the key phase carries over.
"""

from __future__ import annotations

from typing import Any

import wsframe

from ._buffers import uchar_view


class XorMaskerNull:
    """A pass-through masker for unmasked frames: counts bytes, returns data as is.

    Replaces ``wsaccel.xormask.XorMaskerNull`` and Autobahn's ``XorMaskerNull``.
    """

    __slots__ = ("_ptr",)

    def __init__(self, mask: Any = None) -> None:
        self._ptr = 0

    def pointer(self) -> int:
        """Bytes processed since creation or :meth:`reset`."""
        return self._ptr

    def reset(self) -> None:
        """Start over at key phase 0."""
        self._ptr = 0

    def process(self, data: Any) -> Any:
        """Return ``data`` unchanged (TypeError if it has no ``len()``)."""
        self._ptr += len(data)
        return data


class XorMaskerSimple:
    """Drop-in for ``wsaccel.xormask.XorMaskerSimple``: masks with our SIMD kernel.

    ``mask`` and the data are coerced like wsaccel's ``const unsigned char[:]``
    arguments; ``process()`` always returns new ``bytes``.

    Raises:
        ValueError: ``mask`` is not 4 bytes ("mask should be 4byte.").
    """

    __slots__ = ("_key", "_ptr")

    def __init__(self, mask: Any) -> None:
        key = uchar_view(mask)
        if key is None or len(key) != 4:
            raise ValueError("mask should be 4byte.")
        self._key = bytes(key)
        self._ptr = 0

    def pointer(self) -> int:
        """Bytes processed since creation or :meth:`reset`."""
        return self._ptr

    def reset(self) -> None:
        """Start over at key phase 0."""
        self._ptr = 0

    def process(self, data: Any) -> bytes:
        """Mask (or unmask) the next slice of the payload; returns bytes."""
        view = uchar_view(data)
        if view is None:
            return b""
        out = wsframe.apply_mask(view, self._key, self._ptr & 3)
        self._ptr += len(view)
        return out


def create_xor_masker(mask: Any, length: Any = None) -> XorMaskerSimple:
    """A masker for ``mask``; ``length`` is a size hint the originals use to pick
    a SIMD or scalar loop, which we never need (our kernel handles every size)."""
    return XorMaskerSimple(mask)

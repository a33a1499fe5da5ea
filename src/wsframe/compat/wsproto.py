"""Drop-in for wsproto's maskers (``wsproto.frame_protocol``) and a patch for wsproto.

Replaces ``from wsproto.frame_protocol import XorMaskerSimple, XorMaskerNull``.

wsproto is pure Python: its ``XorMaskerSimple`` masks with four strided
``bytes.translate`` passes and two copies per call. :func:`patch` swaps that
class in ``wsproto.frame_protocol``, where the frame decoder (unmasking what a
client sends) and the client's frame encoder (RFC 6455 section 5.3) create one
per frame. ``XorMaskerNull`` is already a no-op and is not swapped. UTF-8:
wsproto decodes text frames with CPython's incremental decoder as they arrive
(already fail-fast per frame); behaviour is unchanged.
"""

from __future__ import annotations

import importlib
from typing import Any, List, Union

import wsframe

from . import _patching

__all__ = ["XorMaskerSimple", "XorMaskerNull", "spec"]


class XorMaskerSimple:
    """Masks consecutive chunks of one frame with a 4-byte key.

    Same contract as wsproto's: ``process(data)`` copies ``data`` into a new
    ``bytearray`` (so it takes whatever ``bytearray()`` takes), masks it
    continuing the key phase of the previous call, and returns it.
    """

    __slots__ = ("_key", "_phase")

    def __init__(self, masking_key: Union[bytearray, bytes]) -> None:
        self._key = masking_key
        self._phase = 0

    @property
    def _masking_key(self) -> Union[bytearray, bytes]:
        # wsproto rotates its key after each chunk; show the same rotated key.
        key = self._key
        return key[self._phase :] + key[: self._phase]

    def process(self, data: Any) -> bytearray:
        """Return a masked copy of ``data`` as a bytearray."""
        out = bytearray(data)
        if out:
            if len(self._key) != 4:
                # wsproto unpacks the key into 4 names and fails the same way.
                raise ValueError(f"expected 4 key bytes to unpack (got {len(self._key)})")
            wsframe.apply_mask_inplace(out, self._key, self._phase)
            self._phase = (self._phase + len(out)) % 4
        return out


class XorMaskerNull:
    """The masker of unmasked frames: returns ``data`` unchanged."""

    __slots__ = ()

    def process(self, data: Any) -> Any:
        """Return ``data`` as is."""
        return data


def spec() -> _patching.PatchSpec:
    """The patch of wsproto."""

    def swaps() -> List[_patching.Swap]:
        frame_protocol = importlib.import_module("wsproto.frame_protocol")
        return [_patching.Swap(frame_protocol, "XorMaskerSimple", XorMaskerSimple)]

    return _patching.PatchSpec(
        name="wsproto",
        distribution="wsproto",
        minimum=(1, 3),
        below=(1, 4),
        swaps=swaps,
        module="wsproto",
    )

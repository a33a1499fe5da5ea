"""Drop-ins for Autobahn's maskers and UTF-8 validator and a patch for Autobahn.

Replaces, in ``autobahn.websocket.protocol`` (and the modules it imports them
from, ``autobahn.websocket.xormasker`` / ``utf8validator``)::

    Utf8Validator, XorMaskerNull, create_xor_masker

Autobahn's NVX backend (CFFI, SSE2) copies every chunk three times (into a
CFFI buffer, masks, then back to bytes) and its pure fallback masks one byte
per Python loop iteration; ours makes one ``bytes`` per call.

The validator keeps the 4-tuple of ``validate()`` and the failure indexes of
Autobahn's pure-Python reference (the byte where validation fails). One
difference from the NVX backend: after a failure NVX starts validating
afresh while the reference (and we) keep failing until ``reset()``; Autobahn
fails the connection on the first failure (close code 1007), so its protocol
never sees the difference.

Patch before opening connections: Autobahn makes a connection's UTF-8
validator when the connection opens (maskers are made per frame, so those
follow the patch at once).
"""

from __future__ import annotations

import importlib
from typing import Any, List

from . import _patching
from ._maskers import XorMaskerNull
from ._maskers import XorMaskerSimple as _WsaccelMasker
from ._utf8dfa import Utf8Validator

__all__ = ["Utf8Validator", "XorMaskerNull", "XorMaskerSimple", "XorMaskerShifted1", "create_xor_masker", "spec"]


class XorMaskerSimple(_WsaccelMasker):
    """Autobahn's masker: any 4-item mask (bytes, bytearray, list of ints).

    Raises:
        AssertionError: ``mask`` does not have 4 items, as Autobahn's ``assert``.
    """

    __slots__ = ()

    def __init__(self, mask: Any) -> None:
        if len(mask) != 4:
            raise AssertionError("Mask must be exactly 4 bytes")
        super().__init__(bytes(mask))


# Autobahn picks a shifted-table variant for long payloads; one kernel serves both.
XorMaskerShifted1 = XorMaskerSimple


def create_xor_masker(mask: Any, length: Any = None) -> XorMaskerSimple:
    """A masker for ``mask``; ``length`` is Autobahn's size hint, not needed here."""
    return XorMaskerSimple(mask)


def spec() -> _patching.PatchSpec:
    """The patch of Autobahn's WebSocket protocol (asyncio and Twisted alike)."""

    def swaps() -> List[_patching.Swap]:
        protocol = importlib.import_module("autobahn.websocket.protocol")
        xormasker = importlib.import_module("autobahn.websocket.xormasker")
        utf8validator = importlib.import_module("autobahn.websocket.utf8validator")
        return [
            _patching.Swap(protocol, "Utf8Validator", Utf8Validator),
            _patching.Swap(protocol, "XorMaskerNull", XorMaskerNull),
            _patching.Swap(protocol, "create_xor_masker", create_xor_masker),
            _patching.Swap(xormasker, "create_xor_masker", create_xor_masker),
            _patching.Swap(xormasker, "XorMaskerNull", XorMaskerNull),
            _patching.Swap(utf8validator, "Utf8Validator", Utf8Validator),
        ]

    return _patching.PatchSpec(
        name="autobahn",
        distribution="autobahn",
        minimum=(26, 0),
        below=(27, 0),
        swaps=swaps,
        module="autobahn",
    )

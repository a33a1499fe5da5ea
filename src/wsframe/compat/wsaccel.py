"""Drop-in replacements for wsaccel (``wsaccel.xormask`` and ``wsaccel.utf8validator``).

Replaces::

    from wsaccel.xormask import XorMaskerNull, XorMaskerSimple, createXorMasker
    from wsaccel.utf8validator import Utf8Validator

with the same classes on wsframe's kernels: wsaccel masks and validates one
byte per loop iteration. Semantics are wsaccel 0.6's, including the 4-tuple
of ``Utf8Validator.validate()``, whose indexes point at the byte where
validation failed (for ``E0 80`` the ``80``, not the ``E0`` CPython reports),
and the sticky failure state. There is no ``patch("wsaccel")``: libraries
import these names once at import time, so use
``patch("websocket-client")`` or ``patch("autobahn")``, or import from here.
"""

from __future__ import annotations

from typing import Any

from ._maskers import XorMaskerNull, XorMaskerSimple
from ._utf8dfa import Utf8Validator

__all__ = ["XorMaskerNull", "XorMaskerSimple", "createXorMasker", "Utf8Validator"]


def createXorMasker(mask: Any, len: Any = None) -> XorMaskerSimple:  # noqa: N802 - wsaccel's name
    """``XorMaskerSimple(mask)``; ``len`` is accepted and ignored, as in wsaccel."""
    return XorMaskerSimple(mask)

"""Argument coercions shared by the shims, so each one accepts exactly what it replaces.

The libraries we stand in for differ in which objects they accept as "bytes":
a C ``y*`` argument, a Cython typed memoryview, a ``bytearray`` only... These
helpers turn an argument into a flat view of unsigned bytes the wsframe codec
takes, and raise the error the original raises for anything else.
"""

from __future__ import annotations

from typing import Any, Optional


def flat_bytes(obj: Any) -> Any:
    """``obj`` itself when it is bytes/bytearray, else a 1-D ``"B"`` view of its buffer.

    Any buffer is accepted; a non-contiguous one is copied (once) into bytes,
    which is what ``PyMemoryView_GetContiguous`` does in C accelerators.

    Raises:
        TypeError: ``obj`` does not support the buffer protocol.
    """
    if type(obj) is bytes or type(obj) is bytearray:
        return obj
    view = memoryview(obj)
    if not view.c_contiguous:
        return view.tobytes()
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


_UCHAR_FORMATS = frozenset({"B", "c", "<B", "=B", "@B", "<c", "=c", "@c"})


def uchar_view(obj: Any, *, allow_none: bool = True) -> Optional[Any]:
    """Coerce like a Cython ``const unsigned char[:]`` argument (wsaccel's signatures).

    Accepts any 1-D buffer of unsigned chars, strided or not (copied to bytes
    when strided), and ``None`` (Cython lets None through typed memoryviews),
    returned as None.

    Raises:
        TypeError: not a bytes-like object (e.g. ``str``, ``int``, ``list``).
        ValueError: a buffer of another item type or dimension count.
    """
    if obj is None and allow_none:
        return None
    if type(obj) is bytes or type(obj) is bytearray:
        return obj
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(obj).__name__}'") from None
    if view.ndim != 1:
        raise ValueError(f"Buffer has wrong number of dimensions (expected 1, got {view.ndim})")
    if view.format not in _UCHAR_FORMATS:
        raise ValueError(f"Buffer dtype mismatch, expected 'const unsigned char' but got format {view.format!r}")
    if not view.c_contiguous:
        return view.tobytes()
    return view.cast("B") if view.format != "B" else view

"""Error messages in the words of the C accelerators we replace."""

from __future__ import annotations

_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE


def tp_name(obj: object) -> str:
    """The type name C code prints (``tp_name``): ``"str"``, ``"array.array"``, ``"MyClass"``."""
    cls = type(obj)
    if cls.__flags__ & _HEAPTYPE or cls.__module__ == "builtins":
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"

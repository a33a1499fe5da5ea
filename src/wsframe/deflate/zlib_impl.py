"""Which zlib compresses and inflates permessage-deflate messages.

The standard library's :mod:`zlib` is the default. Two zlib-compatible
libraries on PyPI could replace it: ``zlib-ng`` (``zlib_ng.zlib_ng``) and
``python-isal`` (``isal.isal_zlib``). Measured on this project's JSON chat
workload (``benchmarks/bench_deflate.py --zlib``: 150-byte messages, one
sync flush each, window 12, memLevel 5) neither is faster where it matters:
per-message call overhead dominates small messages, zlib-ng inflated about
half as fast and isal only offers levels 0-3. So they are used only when asked
for with ``WSFRAME_ZLIB=zlib_ng`` or ``WSFRAME_ZLIB=isal`` (ImportError if
missing); docs/deflate.md has the numbers.

:data:`IMPL` is the choice, made once at import; ``wsframe.backend_info()``
reports its ``name`` under ``"deflate"``.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any, Dict, Tuple, Type

__all__ = ["ZlibImpl", "IMPL", "load", "available"]

#: name -> (module to import, the attribute holding the zlib-like API or "").
_MODULES: Dict[str, Tuple[str, str]] = {
    "zlib": ("zlib", ""),
    "zlib_ng": ("zlib_ng", "zlib_ng"),
    "isal": ("isal", "isal_zlib"),
}


class ZlibImpl:
    """A zlib-compatible module behind the three calls the codec makes.

    Attributes:
        name: "zlib", "zlib_ng" or "isal".
        version: the library's version string.
        error: the module's exception class for corrupt data.
    """

    def __init__(self, name: str, module: ModuleType, version: str = "?") -> None:
        self.name = name
        self.module = module
        self.error: Type[BaseException] = module.error
        self.sync_flush: int = module.Z_SYNC_FLUSH
        self.version = version
        # ISA-L has levels 0-3 only; map zlib's 1-9 onto them.
        self._max_level = 3 if name == "isal" else 9

    def compressobj(self, level: int, window_bits: int, mem_level: int) -> Any:
        """A raw-deflate compressor (negative wbits: no zlib header, RFC 7692 section 7.2.1)."""
        if level > self._max_level:
            level = self._max_level
        return self.module.compressobj(level, self.module.DEFLATED, -window_bits, mem_level)

    def decompressobj(self, window_bits: int) -> Any:
        """A raw-deflate decompressor with a window of 2**window_bits bytes."""
        return self.module.decompressobj(-window_bits)

    def __repr__(self) -> str:
        return f"<ZlibImpl {self.name} {self.version}>"


def load(name: str) -> ZlibImpl:
    """The implementation called ``name``; ImportError if it is not installed,
    ValueError for an unknown name."""
    if name not in _MODULES:
        raise ValueError(f"unknown zlib implementation {name!r}; choose from {sorted(_MODULES)}")
    module_name, attribute = _MODULES[name]
    package = importlib.import_module(module_name)
    module = importlib.import_module(f"{module_name}.{attribute}") if attribute else package
    # The library's own version: zlib's runtime one, zlib-ng's, ISA-L's.
    version = getattr(module, "ZLIBNG_VERSION", None) or getattr(module, "ZLIB_RUNTIME_VERSION", None)
    version = version or getattr(package, "ISAL_VERSION", None) or getattr(package, "__version__", "?")
    return ZlibImpl(name, module, str(version))


def available() -> Dict[str, ZlibImpl]:
    """Every implementation that imports here, by name (for tests and benchmarks)."""
    found = {}
    for name in _MODULES:
        try:
            found[name] = load(name)
        except ImportError:
            pass
    return found


IMPL: ZlibImpl = load(os.environ.get("WSFRAME_ZLIB", "").strip() or "zlib")

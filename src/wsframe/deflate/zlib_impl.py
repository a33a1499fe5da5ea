"""Which zlib compresses and inflates permessage-deflate messages.

The standard library's :mod:`zlib` is the default. Two zlib-compatible
libraries on PyPI could replace it: ``zlib-ng`` (``zlib_ng.zlib_ng``) and
``python-isal`` (``isal.isal_zlib``). Measured on the JSON chat workload
(``benchmarks/bench_deflate.py --zlib``: ~150-byte messages, one sync flush
each, level 6, window 12, memLevel 5; numbers in docs/deflate.md):

* zlib-ng compresses 1.3-1.7x faster and carries 17-38% more messages per
  second through a connection, but holds about 4x the memory per idle
  compressed connection (it ignores memLevel: ~206 KiB instead of ~53 KiB);
* isal compresses about 20% worse (levels 0-3 only), inflates 2x slower and
  holds about 7x the memory.

Memory per connection is what the defaults protect (websockets#896), so the
standard library stays the default. ``WSFRAME_ZLIB=zlib_ng`` (or ``isal``)
selects another one, an ImportError if it is not installed;
``WSFRAME_ZLIB=auto`` takes zlib-ng when installed, else zlib: the better
choice for throughput-bound servers with few connections.

:data:`IMPL` is the choice, made once at import; ``wsframe.backend_info()``
reports it under ``"deflate"``.
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


def _choose(requested: str) -> ZlibImpl:
    """The implementation WSFRAME_ZLIB asks for ("" is zlib, "auto" prefers zlib-ng)."""
    if requested == "auto":
        try:
            return load("zlib_ng")
        except ImportError:
            return load("zlib")
    return load(requested or "zlib")


IMPL: ZlibImpl = _choose(os.environ.get("WSFRAME_ZLIB", "").strip().lower())

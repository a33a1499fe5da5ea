"""Choose the codec backend once, loudly.

The compiled ``_codec_c`` is used when it imports; otherwise the pure-Python
``_codec_py`` twin, with the reason kept in :data:`C_IMPORT_ERROR` (reported
by ``wsframe.backend_info()``, :mod:`wsframe._info`):

* ``WSFRAME_NO_EXTENSIONS=1`` (or a non-CPython interpreter) selects the pure
  backend without trying the extension;
* ``WSFRAME_REQUIRE_EXTENSIONS=1`` turns a missing or broken extension into an
  ImportError instead of a fallback;
* ``WSFRAME_FORCE_SIMD=generic|sse2|avx2|avx512`` is read by the extension
  itself to pick a kernel level.
"""

from __future__ import annotations

import importlib
import os
import platform
import warnings
from types import ModuleType
from typing import TYPE_CHECKING, Optional, Tuple

_TRUTHY = frozenset({"1", "true", "yes", "on"})


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUTHY


def _select() -> Tuple[ModuleType, Optional[str]]:
    """Import a backend; return it and why the C one is not in use (or None)."""
    require = _env_flag("WSFRAME_REQUIRE_EXTENSIONS")
    if _env_flag("WSFRAME_NO_EXTENSIONS"):
        reason: Optional[str] = "disabled by WSFRAME_NO_EXTENSIONS=1"
    elif platform.python_implementation() != "CPython":
        reason = f"{platform.python_implementation()} uses the pure-Python backend"
    else:
        try:
            # import_module, not "from . import": its error names the missing
            # module instead of blaming a circular import of the package.
            return importlib.import_module(f"{__package__}._codec_c"), None
        except ImportError as exc:  # not built, or a forced SIMD level the CPU lacks
            reason = f"{type(exc).__name__}: {exc}"
    if require:
        raise ImportError(f"WSFRAME_REQUIRE_EXTENSIONS=1 but the C backend is unavailable ({reason})")
    from . import _codec_py

    if not _env_flag("WSFRAME_NO_EXTENSIONS") and platform.python_implementation() == "CPython":
        warnings.warn(
            f"wsframe: C extension unavailable, using the slower pure-Python backend ({reason})",
            RuntimeWarning,
            stacklevel=3,
        )
    return _codec_py, reason


if TYPE_CHECKING:  # type checkers see the one contract both backends satisfy
    from . import _codec_c

    codec = _codec_c
    C_IMPORT_ERROR: Optional[str]
else:
    codec, C_IMPORT_ERROR = _select()
BACKEND: str = "c" if C_IMPORT_ERROR is None else "python"
HAS_C_EXTENSION: bool = BACKEND == "c"


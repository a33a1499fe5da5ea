"""``wsframe.backend_info()``: what this ``import wsframe`` runs on, in one dict.

The codec selector (:mod:`wsframe._backend`) knows only the codecs; this
report adds what the rest of the package chose (permessage-deflate's zlib)
and what the interpreter is (free-threaded build, GIL on or off).
"""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
from typing import Any, Dict

from . import _backend

__all__ = ["backend_info"]


def backend_info() -> Dict[str, Any]:
    """Which backend and kernels are live, and why the C backend is not, if so.

    Returns:
        ``backend`` ("c" or "python"), ``has_c_extension``, ``mask_kernel``,
        ``utf8_kernel``, ``supported_kernels``, ``forced_simd``
        (``WSFRAME_FORCE_SIMD`` or None), ``c_import_error`` (None when C is
        in use), ``python``, ``deflate`` (the zlib permessage-deflate uses),
        ``free_threaded`` (a ``Py_GIL_DISABLED`` build) and ``gil_enabled``
        (whether the GIL is on right now: always True on a GIL build).
    """
    from .deflate.zlib_impl import IMPL as deflate_zlib  # here, not at import: deflate imports the handshake package

    kernels = _backend.codec.kernel_info()
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return {
        "backend": _backend.BACKEND,
        "has_c_extension": _backend.HAS_C_EXTENSION,
        "mask_kernel": kernels["mask"],
        "utf8_kernel": kernels["utf8"],
        "supported_kernels": kernels["supported"],
        "forced_simd": os.environ.get("WSFRAME_FORCE_SIMD") or None,
        "c_import_error": _backend.C_IMPORT_ERROR,
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "deflate": f"{deflate_zlib.name} {deflate_zlib.version}",
        "free_threaded": sysconfig.get_config_var("Py_GIL_DISABLED") == 1,
        "gil_enabled": bool(is_gil_enabled()) if is_gil_enabled is not None else True,
    }

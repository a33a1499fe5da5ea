"""Choose the fan-out loop once, with the same switches as the codec (:mod:`wsframe._backend`).

``fanout`` is the compiled ``_fanout_c`` when the compiled codec is in use
and the module imports, else the pure ``_fanout_py``: with
``WSFRAME_NO_EXTENSIONS=1``, on other interpreters, or (with a
RuntimeWarning, or an ImportError under ``WSFRAME_REQUIRE_EXTENSIONS=1``)
when only the codec was built. :data:`BACKEND` and :data:`IMPORT_ERROR`
say which and why.
"""

from __future__ import annotations

import importlib
import os
import warnings
from types import ModuleType
from typing import TYPE_CHECKING, Optional, Tuple

from . import _backend


def _select() -> Tuple[ModuleType, Optional[str]]:
    if os.name != "posix":  # setup.py builds the send() loop for POSIX only
        reason: Optional[str] = f"no compiled fan-out on {os.name}"
    elif _backend.HAS_C_EXTENSION:
        try:
            return importlib.import_module(f"{__package__}._fanout_c"), None
        except ImportError as exc:  # a partial build, or a platform without send()
            reason = f"{type(exc).__name__}: {exc}"
        if _backend._env_flag("WSFRAME_REQUIRE_EXTENSIONS"):
            raise ImportError(f"WSFRAME_REQUIRE_EXTENSIONS=1 but the compiled fan-out is unavailable ({reason})")
        warnings.warn(f"wsframe: compiled fan-out unavailable, using the pure-Python loop ({reason})", RuntimeWarning, stacklevel=3)
    else:
        reason = _backend.C_IMPORT_ERROR or "the pure-Python backend is in use"
    from . import _fanout_py

    return _fanout_py, reason


if TYPE_CHECKING:  # one contract for both loops
    from . import _fanout_c

    fanout = _fanout_c
    IMPORT_ERROR: Optional[str]
else:
    fanout, IMPORT_ERROR = _select()
BACKEND: str = "c" if IMPORT_ERROR is None else "python"

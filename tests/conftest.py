"""Shared fixtures of the test suite.

The ``codec`` fixture runs every codec test on the pure-Python twin (``py``)
and on the compiled backend at every SIMD level this CPU supports
(``c-generic``, ``c-sse2``, ``c-avx2``, ``c-avx512``), so one machine covers
every dispatch path. A level the CPU (or the build) lacks is skipped, and so is
the compiled backend when it is not built or ``WSFRAME_NO_EXTENSIONS=1``
(the pure-only run); ``test_backend_selection.py`` fails instead when
``WSFRAME_REQUIRE_EXTENSIONS=1`` and the extension does not import.

Environment:
    WSFRAME_HYPOTHESIS_EXAMPLES: hypothesis ``max_examples`` (default 200).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Iterator, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, settings

try:
    import tracemalloc  # noqa: F401
except ImportError:  # PyPy has none: a test that measures with it skips, the others run

    class _NoTracemalloc(ModuleType):
        """Stands in for tracemalloc where the interpreter has none: asking
        whether it traces says no (warnings ask), starting it skips the test."""

        @staticmethod
        def is_tracing() -> bool:
            return False

        @staticmethod
        def get_object_traceback(obj: object) -> None:
            return None

        @staticmethod
        def start(nframe: int = 1) -> None:
            pytest.skip("tracemalloc is CPython's: not on this interpreter")

    import sys

    sys.modules["tracemalloc"] = _NoTracemalloc("tracemalloc")

TRUTHY = frozenset({"1", "true", "yes", "on"})

#: SIMD levels of the kernels, lowest first (wsf_kernels.h, wsf_dispatch_init).
SIMD_LEVELS = ("generic", "sse2", "avx2", "avx512")

#: Params of the ``codec`` fixture; they are also its test ids.
CODEC_PARAMS = ["py"] + [f"c-{level}" for level in SIMD_LEVELS]


def env_flag(name: str) -> bool:
    """Whether an environment switch is on, read like ``wsframe._backend`` does."""
    return os.environ.get(name, "").strip().lower() in TRUTHY


# ---- hypothesis -------------------------------------------------------------

settings.register_profile(
    "wsframe",
    deadline=None,  # never assert on timings: a loaded 2-core box is slow
    max_examples=int(os.environ.get("WSFRAME_HYPOTHESIS_EXAMPLES", "200")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile("wsframe")


# ---- backend modules --------------------------------------------------------


def _import(name: str) -> Tuple[Optional[ModuleType], Optional[str]]:
    try:
        return importlib.import_module(name), None
    except ImportError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def load_c_codec() -> Tuple[Optional[ModuleType], Optional[str]]:
    """The compiled codec module, or None and why it is not usable here."""
    if env_flag("WSFRAME_NO_EXTENSIONS"):
        return None, "WSFRAME_NO_EXTENSIONS=1 (pure-only run)"
    return _import("wsframe._codec_c")


def load_py_codec() -> ModuleType:
    """The pure-Python codec module (always available)."""
    return importlib.import_module("wsframe._codec_py")


def _default_level(module: ModuleType) -> Optional[str]:
    try:
        return str(module.kernel_info()["mask"])
    except Exception:  # pragma: no cover - a broken kernel_info is reported elsewhere
        return None


_C_DEFAULT_LEVEL: List[Optional[str]] = []


def set_simd_level(module: ModuleType, level: str) -> None:
    """Switch the compiled backend to ``level``; skip the test if it can't run here."""
    if not _C_DEFAULT_LEVEL:
        _C_DEFAULT_LEVEL.append(_default_level(module))
    setter = getattr(module, "_set_simd_level", None)
    if setter is None:
        if level != _C_DEFAULT_LEVEL[0]:
            pytest.skip("_codec_c has no _set_simd_level(); only its default level runs")
        return
    try:
        setter(level)
    except ValueError as exc:
        pytest.skip(f"SIMD level {level!r} unavailable on this CPU/build: {exc}")


def restore_simd_level(module: ModuleType) -> None:
    """Put the compiled backend back on the level it chose at import."""
    setter = getattr(module, "_set_simd_level", None)
    if setter is not None and _C_DEFAULT_LEVEL and _C_DEFAULT_LEVEL[0]:
        setter(_C_DEFAULT_LEVEL[0])


@pytest.fixture(scope="session", params=CODEC_PARAMS)
def codec(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    """A codec module satisfying ``_codec_c.pyi``: the pure twin or C at one SIMD level.

    Session-scoped: pytest groups the tests by param and tears one level down
    before setting the next up, so the process-wide kernel choice always
    matches the param of the running test.
    """
    param: str = request.param
    if param == "py":
        yield load_py_codec()
        return
    module, error = load_c_codec()
    if module is None:
        pytest.skip(f"compiled backend unavailable: {error}")
    level = param.split("-", 1)[1]
    set_simd_level(module, level)
    try:
        yield module
    finally:
        restore_simd_level(module)


@pytest.fixture(scope="session", params=["py", "c"])
def backend(request: pytest.FixtureRequest) -> ModuleType:
    """Each backend module once, the compiled one at its default SIMD level
    (for tests that do not depend on the level: API parity, threads)."""
    if request.param == "py":
        return load_py_codec()
    module, error = load_c_codec()
    if module is None:
        pytest.skip(f"compiled backend unavailable: {error}")
    return module


@pytest.fixture(scope="session")
def py_codec() -> ModuleType:
    """The pure twin, the reference of the differential tests."""
    return load_py_codec()


@pytest.fixture(scope="session")
def c_codec() -> ModuleType:
    """The compiled backend at its default level; skipped when unavailable."""
    module, error = load_c_codec()
    if module is None:
        pytest.skip(f"compiled backend unavailable: {error}")
    return module


# ---- report header ----------------------------------------------------------


def pytest_report_header(config: pytest.Config) -> List[str]:
    """Say which backend and kernels run, and why C does not if so."""
    try:
        import wsframe

        info = wsframe.backend_info()
    except Exception as exc:  # show it, never crash the session header
        return [f"wsframe: import failed: {type(exc).__name__}: {exc}"]
    lines = [
        "wsframe: backend={backend} mask_kernel={mask_kernel} utf8_kernel={utf8_kernel} "
        "supported={supported_kernels} forced_simd={forced_simd}".format(**info)
    ]
    if info.get("c_import_error"):
        lines.append(f"wsframe: C backend not in use: {info['c_import_error']}")
    return lines

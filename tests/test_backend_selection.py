"""Backend selection: which codec ``import wsframe`` picks, and that it says so.

Each case runs ``import wsframe`` in a fresh interpreter (``sys.executable``)
with a controlled environment, so the environment switches of the README are
tested for real: WSFRAME_NO_EXTENSIONS, WSFRAME_REQUIRE_EXTENSIONS and
WSFRAME_FORCE_SIMD. The subprocess imports the same wsframe as this process
(its parent directory goes first on PYTHONPATH).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest
from conftest import SIMD_LEVELS, env_flag, pytest_report_header

# Not "import wsframe" here: under WSFRAME_REQUIRE_EXTENSIONS=1 without the C
# backend that import fails, and test_c_extension_loaded_when_required must run to say so.
_SPEC = importlib.util.find_spec("wsframe")
assert _SPEC is not None and _SPEC.submodule_search_locations
PKG_PARENT = str(Path(list(_SPEC.submodule_search_locations)[0]).resolve().parent)

PROBE = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import wsframe
info = wsframe.backend_info()
info["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
info["BACKEND"] = wsframe.BACKEND
info["HAS_C_EXTENSION"] = wsframe.HAS_C_EXTENSION
print(json.dumps(info))
"""


def run_probe(env_overrides: Dict[str, str], code: str = PROBE) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSFRAME_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PKG_PARENT, os.environ.get("PYTHONPATH", "")) if p)
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def probe(env_overrides: Dict[str, str]) -> Dict[str, object]:
    proc = run_probe(env_overrides)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def c_extension_file() -> Optional[str]:
    """Path of the built extension next to the package, or None when it is not built."""
    for path in Path(PKG_PARENT, "wsframe").glob("_codec_c.*"):
        if path.suffix in (".so", ".pyd"):
            return str(path)
    return None


needs_c_build = pytest.mark.skipif(c_extension_file() is None, reason="the C extension is not built")


def supported_levels():
    proc = run_probe({}, "import json, wsframe._codec_c as c; print(json.dumps(c.kernel_info()['supported']))")
    return json.loads(proc.stdout) if proc.returncode == 0 else []


# ---- required extension ------------------------------------------------------------------------


def test_c_extension_loaded_when_required():
    """With WSFRAME_REQUIRE_EXTENSIONS=1 a missing or broken C backend fails the run."""
    if not env_flag("WSFRAME_REQUIRE_EXTENSIONS") or env_flag("WSFRAME_NO_EXTENSIONS"):
        pytest.skip("only meaningful with WSFRAME_REQUIRE_EXTENSIONS=1")
    import wsframe
    import wsframe._codec_c  # noqa: F401 - must import: this is the point of the test

    assert wsframe.BACKEND == "c"
    assert wsframe.HAS_C_EXTENSION is True
    assert wsframe.backend_info()["c_import_error"] is None


# ---- the switches, in fresh interpreters ------------------------------------------------------------


def test_no_extensions_selects_python():
    info = probe({"WSFRAME_NO_EXTENSIONS": "1"})
    assert info["BACKEND"] == info["backend"] == "python"
    assert info["HAS_C_EXTENSION"] is False
    assert "WSFRAME_NO_EXTENSIONS" in str(info["c_import_error"])
    assert info["mask_kernel"] == info["utf8_kernel"] == "python"
    assert not [w for w in info["warnings"] if w.startswith("RuntimeWarning")], "an explicit choice is not warned about"


@needs_c_build
def test_default_selects_c_when_built():
    info = probe({})
    assert info["BACKEND"] == info["backend"] == "c", info
    assert info["HAS_C_EXTENSION"] is True
    assert info["c_import_error"] is None
    assert info["warnings"] == []
    assert info["mask_kernel"] in info["supported_kernels"]


@needs_c_build
def test_force_simd_generic():
    info = probe({"WSFRAME_FORCE_SIMD": "generic"})
    assert info["backend"] == "c"
    assert info["mask_kernel"] == "generic"
    assert info["utf8_kernel"] == "generic"
    assert info["forced_simd"] == "generic"


@needs_c_build
@pytest.mark.parametrize("level", SIMD_LEVELS)
def test_force_simd_each_level(level):
    if level not in supported_levels():
        pytest.skip(f"{level} not supported on this CPU/build")
    info = probe({"WSFRAME_FORCE_SIMD": level})
    assert info["backend"] == "c"
    assert info["mask_kernel"] == level


@needs_c_build
def test_force_simd_bogus_is_an_error_when_required():
    proc = run_probe({"WSFRAME_FORCE_SIMD": "bogus", "WSFRAME_REQUIRE_EXTENSIONS": "1"})
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert "bogus" in proc.stderr


@needs_c_build
def test_force_simd_bogus_falls_back_loudly():
    info = probe({"WSFRAME_FORCE_SIMD": "bogus"})
    assert info["backend"] == "python"
    assert "bogus" in str(info["c_import_error"])
    assert any(w.startswith("RuntimeWarning") and "pure-Python" in w for w in info["warnings"]), info["warnings"]


# ---- this process --------------------------------------------------------------------------------


def test_codec_fixture_level_in_effect(codec, request):
    """The SIMD level named by the codec param is the one the kernels use."""
    param = request.node.callspec.params["codec"]
    if param == "py":
        assert codec.kernel_info()["mask"] == "python"
        return
    assert codec.kernel_info()["mask"] == param.split("-", 1)[1]


def test_report_header_names_the_backend():
    import wsframe

    lines = pytest_report_header(None)  # type: ignore[arg-type]
    assert lines and lines[0].startswith("wsframe: backend=")
    assert wsframe.BACKEND in lines[0]


# ---- the report --------------------------------------------------------------------------------

REPORT_KEYS = [
    "backend",
    "has_c_extension",
    "mask_kernel",
    "utf8_kernel",
    "supported_kernels",
    "forced_simd",
    "c_import_error",
    "python",
    "deflate",
    "free_threaded",
    "gil_enabled",
]


def test_backend_info_keys_and_interpreter():
    import sysconfig

    import wsframe

    info = wsframe.backend_info()
    assert list(info) == REPORT_KEYS
    assert info["free_threaded"] is (sysconfig.get_config_var("Py_GIL_DISABLED") == 1)
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    assert info["gil_enabled"] is (True if is_gil_enabled is None else is_gil_enabled())
    if not info["free_threaded"]:
        assert info["gil_enabled"] is True


def test_selector_imports_only_codecs():
    """``_backend`` picks a codec and knows nothing else of the package (the report is ``_info``)."""
    import ast

    tree = ast.parse(Path(PKG_PARENT, "wsframe", "_backend.py").read_text(encoding="utf-8"))
    relative = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            relative.update(f"{node.module or ''}.{alias.name}".strip(".") for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            (name,) = node.args  # f"{__package__}._codec_c"
            assert isinstance(name, ast.JoinedStr)
            relative.update(v.value.strip(".") for v in name.values if isinstance(v, ast.Constant))
    assert relative == {"_codec_c", "_codec_py"}

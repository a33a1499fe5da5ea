"""The typed API: ``mypy --strict`` on the package and on a user program, and
``mypy.stubtest`` of the compiled module against ``_codec_c.pyi``.

Skipped when mypy is not installed (``pip install ".[typing]"``). mypy runs in
a subprocess with its own cache directory, so it never touches the checkout's
cache and runs the same from a source tree or against an installed wheel.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

import wsframe

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PACKAGE = Path(wsframe.__file__).resolve().parent  # src/wsframe, or site-packages/wsframe for a wheel
USER_PROGRAM = ROOT / "examples" / "typed_user.py"
ALLOWLIST = TESTS / "stubtest_allowlist.txt"
TIMEOUT = 600  # seconds; mypy's first run on a cold cache takes a while on a busy machine

needs_mypy = pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")


def run_mypy(args: List[str], cache: Path) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    """``python -m mypy ARGS`` where ``import wsframe`` finds the package under test."""
    env = dict(os.environ, MYPYPATH=str(PACKAGE.parent))
    if "site-packages" in PACKAGE.parts:
        env.pop("MYPYPATH")  # mypy refuses site-packages on MYPYPATH; it finds it there itself
    cmd = [sys.executable, "-m", "mypy", "--cache-dir", str(cache), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT, cwd=str(cache))


@needs_mypy
def test_mypy_strict_package(tmp_path: Path) -> None:
    if "site-packages" in PACKAGE.parts:
        # mypy cannot take a site-packages directory as a source (its neighbours
        # shadow library modules); the checkout's run covers the package.
        pytest.skip("wsframe is installed, not a source tree: checked from a checkout")
    result = run_mypy(["--strict", str(PACKAGE)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_mypy
def test_mypy_strict_user_program(tmp_path: Path) -> None:
    if not USER_PROGRAM.exists():
        pytest.skip(f"{USER_PROGRAM} is not in this tree")
    result = run_mypy(["--strict", str(USER_PROGRAM)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_user_program_runs() -> None:
    if not USER_PROGRAM.exists():
        pytest.skip(f"{USER_PROGRAM} is not in this tree")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PACKAGE.parent), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(USER_PROGRAM)], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "expected answers" in result.stdout


@needs_mypy
def test_stubtest_compiled_module(tmp_path: Path) -> None:
    if wsframe.BACKEND != "c":
        pytest.skip(f"compiled backend not in use: {wsframe.C_IMPORT_ERROR}")
    cmd = [sys.executable, "-m", "mypy.stubtest", "--allowlist", str(ALLOWLIST), "wsframe._codec_c"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PACKAGE.parent), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT, cwd=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_py_typed_and_stub_ship_with_the_package() -> None:
    assert (PACKAGE / "py.typed").exists()
    assert (PACKAGE / "_codec_c.pyi").exists()

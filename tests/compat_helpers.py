"""Helpers shared by the compat tests."""

from __future__ import annotations

import importlib

import pytest

from wsframe.compat import CompatError, _patching


def skip_unverified(name: str) -> None:
    """Skip when the installed ``name`` is outside the range its patch was verified
    against: patch() refuses it by design (Python 3.9 and PyPy get older releases)."""
    module = importlib.import_module(f"wsframe.compat.{name.replace('-', '_')}")
    try:
        _patching.check_version(module.spec())
    except CompatError as exc:
        pytest.skip(str(exc))

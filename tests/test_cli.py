"""Smoke tests of the command line: ``python -m wsframe`` runs on both backends.

The commands run in a child interpreter (the backend is chosen at import, by
environment), with a tiny time budget so each takes a second or two. Nothing
here asserts on a timing: only that the commands finish and say what ran.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

import wsframe
from wsframe import cli

SRC = str(Path(wsframe.__file__).resolve().parent.parent)
TIMEOUT = 180  # seconds; generous for a loaded 2-core machine, never reached normally


def _env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WSFRAME_NO_EXTENSIONS", "WSFRAME_FORCE_SIMD", "WSFRAME_REQUIRE_EXTENSIONS")}
    env["PYTHONPATH"] = os.pathsep.join([SRC] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONWARNINGS"] = "ignore::RuntimeWarning"  # the loud fallback warning is not under test here
    env.update(extra)
    return env


def _run(args: List[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wsframe", *args],
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_version() -> None:
    proc = _run(["--version"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"wsframe {wsframe.__version__}"


BACKENDS = [
    pytest.param({}, id="default"),
    pytest.param({"WSFRAME_NO_EXTENSIONS": "1"}, id="python"),
]


@pytest.mark.parametrize("env", BACKENDS)
def test_default_command_prints_backend_and_table(env: Dict[str, str]) -> None:
    proc = _run(["--budget-ms", "1"], **env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "import wsframe -> backend" in out
    # Without the switches the child picks C whenever it is built, even when
    # this process runs the pure backend (WSFRAME_NO_EXTENSIONS=1 in the parent).
    c_built = importlib.util.find_spec("wsframe._codec_c") is not None
    expected = "'python'" if env or not c_built else "'c'"
    assert f"backend {expected}" in out
    for row in ("mask in place 125 B", "mask copy-out 1 MiB", "UTF-8 validate 64 KiB chinese", "parse frames", "encode frame 125 B"):
        assert row in out
    assert "wrong answer" not in proc.stderr
    if env:
        assert "only the pure-Python twin was measured" in out


@pytest.mark.parametrize("env", BACKENDS)
def test_bench_quick_filter_json(env: Dict[str, str], tmp_path: Path) -> None:
    out_file = tmp_path / "bench.json"
    proc = _run(["bench", "--quick", "--budget-ms", "1", "--filter", "mask copy-out 125 B", "--json", str(out_file)], **env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out_file.read_text(encoding="utf-8"))
    assert data["environment"]["wsframe"] == wsframe.__version__
    results = data["results"]
    assert results and all(r["op"] == "mask_copy" and r["size"] == 125 for r in results)
    impls = {r["impl"]: r for r in results}
    assert impls["wsframe py"]["ns_per_call"] > 0
    assert impls["memcpy"]["ratio"] == pytest.approx(1.0)
    assert not [r for r in results if r["error"] and r["error"].startswith("wrong answer")]
    again = _run(["bench", "--from-json", str(out_file)], **env)  # re-render without measuring
    assert again.returncode == 0, again.stderr
    assert "mask copy-out 125 B" in again.stdout


def test_bench_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "bench.png"
    proc = _run(["bench", "--quick", "--budget-ms", "1", "--filter", "mask in place 125 B", "--plot", str(png)], WSFRAME_NO_EXTENSIONS="1")
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("command", sorted(cli.SUBCOMMANDS))
def test_every_command_has_help_and_rejects_unknown_options(command: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: wsframe {command}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--no-such-option"])
    assert info.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


@pytest.mark.skipif(not wsframe.HAS_C_EXTENSION, reason="needs the compiled backend")
def test_bench_simd_reruns_with_forced_level() -> None:
    proc = _run(["bench", "--simd", "generic", "--quick", "--budget-ms", "1", "--no-peers", "--filter", "mask in place 125 B"])
    assert proc.returncode == 0, proc.stderr
    assert "forced by WSFRAME_FORCE_SIMD=generic" in proc.stdout
    assert "mask generic" in proc.stdout

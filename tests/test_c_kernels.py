"""Compile and run the C unit tests of the kernels (tests/c/test_kernels.c).

The kernels have no Python API, so they are tested on their own: every SIMD
level this CPU supports, under AddressSanitizer and UBSan, with warnings as
errors. Each SIMD file gets the instruction-set flags setup.py gives it (the
SIMD_FLAGS table is read from setup.py, so there is one source of truth).
Skipped when there is no C compiler or it lacks the sanitizer runtimes.
With an aarch64 cross compiler and qemu-user installed (Debian:
gcc-aarch64-linux-gnu qemu-user), the NEON kernels are tested too.
"""

from __future__ import annotations

import ast
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ROOT / "src" / "wsframe" / "_kernels"
C_TESTS = ROOT / "tests" / "c"

WARN = ["-std=c11", "-Wall", "-Wextra", "-Werror"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
IS_X86_64 = platform.machine().lower() in {"x86_64", "amd64", "x64"}


def find_compiler(kind: str) -> Optional[str]:
    """The compiler for `kind` ("gcc": $CC, gcc or cc; "clang"), or None."""
    names = (os.environ.get("CC"), "gcc", "cc") if kind == "gcc" else ("clang",)
    for name in names:
        if name and shutil.which(name):
            return name
    return None


def simd_flags() -> Dict[str, List[str]]:
    """SIMD_FLAGS from setup.py (suffix -> GCC flags), without running setup()."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SIMD_FLAGS" for t in node.targets):
            table = ast.literal_eval(node.value)
            return {suffix: list(flags[0]) for suffix, flags in table.items()}
    raise AssertionError("SIMD_FLAGS not found in setup.py")


def isa_flags(source: Path, table: Dict[str, List[str]]) -> List[str]:
    if not IS_X86_64:
        return []
    for suffix, flags in table.items():
        if source.name.endswith(suffix):
            return flags
    return []


def run(cmd: List[str], **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)


def build(cc: str, out: Path, main: Path, extra: List[str]) -> None:
    """Compile every kernel file with its ISA flags plus `main`, link to `out`."""
    table = simd_flags()
    objects = []
    for source in sorted(KERNELS.glob("*.c")):
        obj = out.parent / (source.name + ".o")
        res = run([cc, *WARN, *extra, *isa_flags(source, table), f"-I{KERNELS}", "-c", str(source), "-o", str(obj)])
        assert res.returncode == 0, f"{source.name} failed to compile:\n{res.stderr}"
        objects.append(str(obj))
    res = run([cc, *WARN, *extra, f"-I{KERNELS}", str(main), *objects, "-o", str(out)])
    assert res.returncode == 0, f"{main.name} failed to build:\n{res.stderr}"


@pytest.fixture(scope="module", params=["gcc", "clang"])
def cc(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """gcc (required by the brief, and what Linux wheels use) and clang
    (macOS wheels; it warns about things gcc does not), when installed."""
    compiler = find_compiler(request.param)
    if compiler is None:
        pytest.skip(f"no {request.param} C compiler")
    probe = tmp_path_factory.mktemp("probe")
    (probe / "p.c").write_text("int main(void) { return 0; }\n")
    res = run([compiler, *SANITIZE, str(probe / "p.c"), "-o", str(probe / "p")])
    if res.returncode != 0:
        pytest.skip(f"{compiler} cannot build with sanitizers: {res.stderr.strip()[:200]}")
    return compiler


def test_kernels_under_sanitizers(cc: str, tmp_path: Path) -> None:
    """Every kernel at every supported level against the C reference code."""
    exe = tmp_path / "test_kernels"
    build(cc, exe, C_TESTS / "test_kernels.c", ["-O1", "-g", *SANITIZE])
    env = dict(os.environ, ASAN_OPTIONS="abort_on_error=0:detect_leaks=1", UBSAN_OPTIONS="print_stacktrace=1")
    res = run([str(exe)], env=env)
    print(res.stdout)
    if res.returncode != 0 and "LeakSanitizer does not work under ptrace" in res.stderr:
        env["ASAN_OPTIONS"] = "detect_leaks=0"  # e.g. under a debugger or strace
        res = run([str(exe)], env=env)
    assert res.returncode == 0, f"C kernel tests failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    assert "all passed" in res.stdout


def test_kernels_compile_cleanly_optimised(cc: str, tmp_path: Path) -> None:
    """-O3 finds warnings -O1 does not (inlining, maybe-uninitialized)."""
    build(cc, tmp_path / "bench_kernels", C_TESTS / "bench_kernels.c", ["-O3"])


def test_kernels_aarch64_neon_under_qemu(tmp_path: Path) -> None:
    """The NEON kernels, cross-compiled and run under qemu-user (if installed)."""
    cross, qemu = shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64")
    sysroot = Path("/usr/aarch64-linux-gnu")
    if not (cross and qemu and sysroot.is_dir()):
        pytest.skip("no aarch64 cross compiler / qemu-aarch64")
    exe = tmp_path / "test_kernels_arm64"
    sources = [str(p) for p in sorted(KERNELS.glob("*.c"))]
    res = run([cross, *WARN, "-O2", f"-I{KERNELS}", str(C_TESTS / "test_kernels.c"), *sources, "-o", str(exe)])
    assert res.returncode == 0, f"aarch64 build failed:\n{res.stderr}"
    res = run([qemu, "-L", str(sysroot), str(exe)])
    print(res.stdout)
    assert res.returncode == 0, f"aarch64 C kernel tests failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    assert "level neon" in res.stdout and "all passed" in res.stdout

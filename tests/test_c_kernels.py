"""Compile and run the C unit tests of the kernels (tests/c/test_kernels.c).

The kernels have no Python API, so they are tested on their own: every SIMD
level this CPU supports, under AddressSanitizer and UBSan, with warnings as
errors. Each SIMD file gets the instruction-set flags setup.py gives it (the
SIMD_FLAGS table is read from setup.py, so there is one source of truth).
Skipped when there is no C compiler or it lacks the sanitizer runtimes.
A last test loads the kernels with ctypes and compares them with CPython's
own decoder, the oracle for error positions (UnicodeDecodeError.start).
With an aarch64 cross compiler and qemu-user installed (Debian:
gcc-aarch64-linux-gnu qemu-user), the NEON kernels are tested too.
"""

from __future__ import annotations

import ast
import ctypes
import itertools
import os
import platform
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ROOT / "src" / "wsframe" / "_kernels"
C_TESTS = ROOT / "tests" / "c"

WARN = ["-std=c11", "-Wall", "-Wextra", "-Werror"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
IS_X86_64 = platform.machine().lower() in {"x86_64", "amd64", "x64"}

# The pure-Python run (WSFRAME_NO_EXTENSIONS=1) promises no compiler is needed,
# and CI runs the suite a second time that way: the kernels were tested already.
pytestmark = pytest.mark.skipif(
    os.environ.get("WSFRAME_NO_EXTENSIONS", "").strip().lower() in {"1", "true", "yes", "on"},
    reason="WSFRAME_NO_EXTENSIONS=1: pure-Python run, C kernels not in use",
)


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


# ---- the kernels against CPython's own decoder, through ctypes ---------------------


class _Stream(ctypes.Structure):
    """wsf_utf8_stream (wsf_kernels.h)."""

    _fields_ = [
        ("consumed", ctypes.c_uint64),
        ("carry", ctypes.c_uint8 * 4),
        ("ncarry", ctypes.c_uint8),
        ("failed", ctypes.c_uint8),
        ("error_pos", ctypes.c_uint64),
    ]


@pytest.fixture(scope="module")
def kernels_lib(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    """The kernels as a shared library (optimised, no sanitizers)."""
    compiler = find_compiler("gcc") or find_compiler("clang")
    if compiler is None:
        pytest.skip("no C compiler")
    out = tmp_path_factory.mktemp("lib")
    table = simd_flags()
    objects = []
    for source in sorted(KERNELS.glob("*.c")):
        obj = out / (source.name + ".o")
        res = run([compiler, *WARN, "-O2", "-fPIC", *isa_flags(source, table), f"-I{KERNELS}", "-c", str(source),
                   "-o", str(obj)])
        assert res.returncode == 0, res.stderr
        objects.append(str(obj))
    lib_path = out / "libwsfkernels.so"
    res = run([compiler, "-shared", *objects, "-o", str(lib_path)])
    assert res.returncode == 0, res.stderr
    lib = ctypes.CDLL(str(lib_path))
    lib.wsf_supported_levels.restype = ctypes.c_char_p
    return lib


def _decode_status(data: bytes) -> Tuple[int, int]:
    """(status, position) as wsf_utf8_check must report them, from CPython."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (1 if exc.reason == "unexpected end of data" else 2), exc.start
    return 0, 0


def _inputs() -> List[bytes]:
    """Kuhn-style edge sequences after varied prefixes, and mutated text."""
    rng = random.Random(6455)
    edge = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC,
            0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
    out = []
    for n in (1, 2, 3):
        for seq in itertools.product(edge, repeat=n):
            out.append(b"x" * rng.choice((0, 13, 61, 62, 63, 127)) + bytes(seq))
    alphabet = ["a", " ", "é", "ж", "中", "😀", "\u07ff", "\u0800", "\ud7ff", "\ue000", "\uffff", "\U0010ffff"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 300))).encode()
        buf = bytearray(text)
        for _ in range(rng.randrange(0, 3)):
            if buf:
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        if rng.random() < 0.3:
            buf = buf[: rng.randrange(len(buf) + 1)]
        out.append(bytes(buf))
    return out


def test_kernels_match_cpython_decode(kernels_lib: ctypes.CDLL) -> None:
    """Status and position equal UnicodeDecodeError's, at every level, for the
    one-shot, fused-unmask and streaming (split in two) validators."""
    lib = kernels_lib
    key = b"\x37\xfa\x21\x3d"
    inputs = _inputs()
    levels = lib.wsf_supported_levels().decode().split(",")
    for level in levels:
        assert lib.wsf_dispatch_init(level.encode()) == 0
        for i, data in enumerate(inputs):
            want = _decode_status(data)
            pos = ctypes.c_size_t(0)
            r = lib.wsf_utf8_check(data, len(data), ctypes.byref(pos))
            assert (r, pos.value if r else 0) == want, (level, data)

            masked = bytes(b ^ key[j % 4] for j, b in enumerate(data))
            dst = ctypes.create_string_buffer(len(data) + 1)
            r = lib.wsf_unmask_utf8_check(dst, masked, len(data), key, 0, ctypes.byref(pos))
            assert (r, pos.value if r else 0) == want and dst.raw[: len(data)] == data, (level, data)

            cut = i % (len(data) + 1)
            st, pos64 = _Stream(), ctypes.c_uint64(0)
            lib.wsf_utf8_stream_init(ctypes.byref(st))
            r = lib.wsf_utf8_stream_feed(ctypes.byref(st), data[:cut], cut, 0, ctypes.byref(pos64))
            if r == 0:
                rest = data[cut:]
                r = lib.wsf_utf8_stream_feed(ctypes.byref(st), rest, len(rest), 1, ctypes.byref(pos64))
            assert (r, pos64.value if r else 0) == ((2 if want[0] else 0), want[1]), (level, data, cut)
    lib.wsf_dispatch_init(None)


# Run in a child process: a read or write outside the buffer hits a page
# mapped PROT_NONE and kills the child with SIGSEGV instead of the suite.
_GUARD_CHILD = r"""
import ctypes, mmap, sys
lib = ctypes.CDLL(sys.argv[1])
lib.wsf_supported_levels.restype = ctypes.c_char_p
libc = ctypes.CDLL(None, use_errno=True)
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
PAGE = mmap.PAGESIZE

def fenced():
    # Three pages, the outer two inaccessible: usable bytes are the middle page.
    mm = mmap.mmap(-1, 3 * PAGE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(mm))
    for page in (0, 2):
        assert libc.mprotect(base + page * PAGE, PAGE, 0) == 0, ctypes.get_errno()
    return mm, base + PAGE

src_map, src_page = fenced()
dst_map, dst_page = fenced()
key = (ctypes.c_uint8 * 4)(0x37, 0xFA, 0x21, 0x3D)
pos = ctypes.c_size_t(0)
patterns = [b"a", "\u00e9".encode(), "\u4e2d".encode(), "\U0001f600".encode(), b"\xe2\x82", b"\xff"]
for level in lib.wsf_supported_levels().decode().split(","):
    assert lib.wsf_dispatch_init(level.encode()) == 0
    for n in range(0, 300):
        for pattern in patterns:
            data = (pattern * (n // len(pattern) + 1))[:n]
            # The input flush against the end of the page, then against its start.
            for at in (PAGE - n, 0):
                ctypes.memmove(src_page + at, data, n)
                s, d = ctypes.c_void_p(src_page + at), ctypes.c_void_p(dst_page + at)
                lib.wsf_utf8_check(s, ctypes.c_size_t(n), ctypes.byref(pos))
                lib.wsf_mask(d, s, ctypes.c_size_t(n), key, ctypes.c_size_t(n % 4))
                lib.wsf_unmask_utf8_check(d, s, ctypes.c_size_t(n), key, ctypes.c_size_t(0), ctypes.byref(pos))
                lib.wsf_mask(s, s, ctypes.c_size_t(n), key, ctypes.c_size_t(1))  # in place
print("ok")
"""


@pytest.mark.skipif(not hasattr(os, "fork") or platform.system() != "Linux", reason="needs mmap + mprotect (Linux)")
def test_kernels_stay_inside_their_buffers(kernels_lib: ctypes.CDLL, tmp_path: Path) -> None:
    """Every level, every length 0..299, inputs flush against an inaccessible
    page on either side: no full-width load or store may cross the end of a
    buffer (masked loads that touch no byte outside are fine)."""
    script = tmp_path / "guard.py"
    script.write_text(_GUARD_CHILD)
    res = subprocess.run([sys.executable, str(script), kernels_lib._name],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == "ok", (res.returncode, res.stderr[-2000:])

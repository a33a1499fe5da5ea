"""Build the compiled backend: Cython over plain C kernels.

Environment switches (read here and, for the first two, at import too):

* ``WSFRAME_NO_EXTENSIONS=1``: build a pure-Python package (no compiler needed).
* ``WSFRAME_REQUIRE_EXTENSIONS=1``: a failed C build is an error, not a fallback.
* ``WSFRAME_SANITIZE=1``: build with AddressSanitizer and UBSan (tests only;
  run Python with ``LD_PRELOAD=$(gcc -print-file-name=libasan.so)``).
* ``WSFRAME_WERROR=1``: turn C warnings into errors (CI uses it).
* ``WSFRAME_CFLAGS``: extra flags appended to every C compile.

Each SIMD kernel file (``*_sse2.c``, ``*_avx2.c``, ``*_avx512.c``) is compiled
with its own instruction-set flags and nothing else is, so a wheel built for
baseline x86-64 still runs on a CPU without AVX2: the kernels are chosen at
run time by ``wsf_dispatch_init()``.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
PKG = Path("src") / "wsframe"
KERNELS = PKG / "_kernels"

TRUTHY = {"1", "true", "yes", "on"}


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in TRUTHY


def banner(message: str) -> None:
    line = "*" * 75
    print(f"\n{line}\n{message}\n{line}\n", file=sys.stderr)


IS_X86_64 = platform.machine().lower() in {"x86_64", "amd64", "x64"}
IS_MSVC = sys.platform == "win32"

# Per-file instruction-set flags, by file-name suffix (GCC/Clang, then MSVC).
SIMD_FLAGS = {
    "_sse2.c": (["-msse2"], []),
    "_avx2.c": (["-mavx2", "-mbmi", "-mbmi2", "-mpopcnt"], ["/arch:AVX2"]),
    "_avx512.c": (
        ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx2", "-mbmi", "-mbmi2", "-mpopcnt"],
        ["/arch:AVX512"],
    ),
}


def simd_suffix(source: str) -> str | None:
    for suffix in SIMD_FLAGS:
        if source.endswith(suffix):
            return suffix
    return None


def common_cflags() -> list[str]:
    if IS_MSVC:
        return ["/O2", "/W3"]
    flags = ["-O3", "-std=c11", "-Wall", "-Wextra", "-fno-strict-aliasing"]
    if env_flag("WSFRAME_WERROR"):
        flags.append("-Werror")
    if env_flag("WSFRAME_SANITIZE"):
        flags += ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
    flags += os.environ.get("WSFRAME_CFLAGS", "").split()
    return flags


# Warnings Cython's generated C may raise on some Python/compiler versions
# (unused helpers of its utility code, unused `self` arguments, partial struct
# initialisers). Silenced for the generated file only: the kernels keep -Wall
# -Wextra and must stay warning-free (WSFRAME_WERROR=1 in CI).
GENERATED_C_FLAGS = (
    []
    if IS_MSVC
    else ["-Wno-unused-function", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
)


def is_kernel(source: str) -> bool:
    return Path(source).parent == KERNELS


def up_to_date(target: str, sources: list[str]) -> bool:
    """Whether ``target`` exists and is newer than every file of ``sources``."""
    try:
        built = os.path.getmtime(target)
    except OSError:
        return False
    return all(os.path.getmtime(s) <= built for s in sources if os.path.exists(s))


class BuildExt(build_ext):
    """Compile the kernels as objects with their own flags (SIMD files with
    their instruction sets), then the Cython module with its own warnings policy."""

    def build_extension(self, ext):  # type: ignore[no-untyped-def]
        try:
            self._build_wsframe(ext)
        except Exception as exc:  # a failed compile falls back to pure Python, loudly
            if env_flag("WSFRAME_REQUIRE_EXTENSIONS"):
                raise
            banner(f"wsframe: building the C extension failed ({exc});\nthe pure-Python backend will be used (slower).")

    def _build_wsframe(self, ext):  # type: ignore[no-untyped-def]
        target = self.get_ext_fullpath(ext.name)
        if not self.force and up_to_date(target, list(ext.sources) + list(ext.depends or [])):
            print(f"wsframe: {target} is up to date", file=sys.stderr)
            return
        kernels = [s for s in ext.sources if is_kernel(s)]
        # Cython output is C, but the kernels want C11; Cython's C compiles fine with it.
        base = list(ext.extra_compile_args)
        objects = []
        for source in kernels:
            suffix = simd_suffix(source)
            isa: list[str] = []
            if suffix and IS_X86_64:
                gcc_flags, msvc_flags = SIMD_FLAGS[suffix]
                isa = msvc_flags if IS_MSVC else gcc_flags
            objects += self.compiler.compile(
                [source],
                output_dir=self.build_temp,
                include_dirs=ext.include_dirs,
                macros=ext.define_macros,
                extra_postargs=base + isa,
                debug=self.debug,
            )
        ext.extra_objects = list(ext.extra_objects or []) + objects
        ext.sources = [s for s in ext.sources if not is_kernel(s)]
        ext.extra_compile_args = base + GENERATED_C_FLAGS
        # The kernel objects changed even if the generated C did not: relink.
        # Forced for every module from here on, as before the fan-out module
        # came: a sanitizer build in CI otherwise kept a _codec_c linked
        # without ASan.
        self.force = True
        super().build_extension(ext)


def extensions():
    if env_flag("WSFRAME_NO_EXTENSIONS"):
        banner("wsframe: WSFRAME_NO_EXTENSIONS=1, building the pure-Python package only.")
        return []
    if platform.python_implementation() != "CPython":
        banner(f"wsframe: {platform.python_implementation()} uses the pure-Python backend; no C extension built.")
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        if env_flag("WSFRAME_REQUIRE_EXTENSIONS"):
            raise
        banner("wsframe: Cython is not installed; building the pure-Python package only.")
        return []
    from setuptools import Extension

    kernel_sources = sorted(str(p) for p in KERNELS.glob("*.c") if not p.name.startswith("test_"))
    # SIMD objects are linked as extra_objects, which setuptools does not
    # track: list every kernel file so a changed kernel relinks the module.
    kernel_depends = sorted(str(p) for p in KERNELS.glob("*.[ch]") if not p.name.startswith("test_"))
    link_args = ["-fsanitize=address,undefined"] if env_flag("WSFRAME_SANITIZE") and not IS_MSVC else []
    ext = Extension(
        "wsframe._codec_c",
        sources=[str(PKG / "_codec_c.pyx")] + kernel_sources,
        include_dirs=[str(KERNELS)],
        depends=kernel_depends + [str(PKG / "_codec_c.pxd")],
        extra_compile_args=common_cflags(),
        extra_link_args=link_args,
        define_macros=[("CYTHON_USE_MODULE_STATE", "0")],
    )
    exts = [ext]
    if os.name == "posix":  # the fan-out loop calls send(2); elsewhere its pure twin runs
        exts.append(
            Extension(
                "wsframe._fanout_c",
                sources=[str(PKG / "_fanout_c.pyx")],
                extra_compile_args=common_cflags(),
                extra_link_args=link_args,
                define_macros=[("CYTHON_USE_MODULE_STATE", "0")],
            )
        )
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
            "freethreading_compatible": True,
        },
        quiet=True,
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})

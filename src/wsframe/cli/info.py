"""What ran: backend, kernels, interpreter, CPU and peer versions.

Printed above every table and stored in ``--json`` output, so a number is
never separated from the machine and the kernel that produced it.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from typing import Any, Dict, List, Optional

from .peers import load_backend

__all__ = ["environment", "describe", "PEER_DISTRIBUTIONS"]

#: Distributions whose versions are recorded (the peers and the references).
PEER_DISTRIBUTIONS = ("websockets", "aiohttp", "wsproto", "wsaccel", "picows", "tornado", "numpy")


def _cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> Optional[str]:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return None
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def environment() -> Dict[str, Any]:
    """A JSON-ready description of this run's software and hardware."""
    import wsframe

    c_mod, c_error = load_backend("c")
    c_kernels: Optional[Dict[str, Any]] = None
    if c_mod is not None:
        try:
            c_kernels = dict(c_mod.kernel_info())
        except Exception as exc:  # a broken kernel_info must not hide the table
            c_error = f"kernel_info() failed: {type(exc).__name__}: {exc}"
    return {
        "wsframe": wsframe.__version__,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "backend_info": wsframe.backend_info(),
        "c_kernels": c_kernels,
        "c_error": c_error,
        "forced_simd": os.environ.get("WSFRAME_FORCE_SIMD") or None,
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "peers": {dist: _version(dist) for dist in PEER_DISTRIBUTIONS},
    }


def describe(env: Dict[str, Any]) -> str:
    """A few human lines about ``env`` (output of :func:`environment`)."""
    info = env["backend_info"]
    lines: List[str] = [f"wsframe {env['wsframe']}  |  {env['python']}  |  {env['cpu']} ({env['machine']}, {env['cpu_count']} CPUs)  |  {env['date_utc']}"]
    lines.append(f"import wsframe -> backend {info['backend']!r} (mask kernel: {info['mask_kernel']}, UTF-8 kernel: {info['utf8_kernel']})")
    if info.get("c_import_error"):
        lines.append(f"  C backend not in use: {info['c_import_error']}")
    if info.get("free_threaded"):
        lines.append(f"free-threaded Python, GIL {'enabled' if info.get('gil_enabled') else 'disabled'}")
    kernels = env.get("c_kernels")
    if kernels:
        supported = kernels.get("supported") or []
        if not isinstance(supported, str):
            supported = ", ".join(str(s) for s in supported)
        forced = f"; forced by WSFRAME_FORCE_SIMD={env['forced_simd']}" if env.get("forced_simd") else ""
        lines.append(f"C kernels: mask {kernels.get('mask')}, UTF-8 {kernels.get('utf8')} (this CPU supports: {supported}{forced})")
    else:
        lines.append(f"C backend: not available ({env.get('c_error') or 'unknown reason'}); only the pure-Python twin is measured")
    peers = ", ".join(f"{d} {v}" for d, v in env["peers"].items() if v)
    if peers:
        lines.append(f"peers installed: {peers}")
    return "\n".join(lines)

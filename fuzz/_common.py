"""Helpers shared by the atheris harnesses: import paths, backends, frame streams.

Every harness imports this first, so ``python3 fuzz/fuzz_x.py`` works from a
checkout without installing wsframe (``src/`` goes on ``sys.path``). The frame
stream builder turns fuzz bytes into *mostly valid* RFC 6455 traffic with
controlled defects, which reaches far deeper into the parser than raw noise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
# WSFRAME_FUZZ_NATIVE: the src/ of a copy built by fuzz/build_native.sh, whose
# extension is instrumented for libFuzzer; otherwise this checkout's src/.
NATIVE = os.environ.get("WSFRAME_FUZZ_NATIVE", "").strip()


def _source_dir() -> Optional[str]:
    """Where to import wsframe from: the instrumented copy, this checkout's
    src/ when it has a built extension (or nothing is installed), else None
    (the installed package, as in CI after ``pip install .``)."""
    if NATIVE:
        return NATIVE
    import importlib.util

    src = ROOT / "src"
    if list((src / "wsframe").glob("_codec_c*.so")) or importlib.util.find_spec("wsframe") is None:
        return str(src)
    return None


_SOURCE = _source_dir()
if _SOURCE is not None:
    sys.path.insert(0, _SOURCE)
if NATIVE:  # a failed load of the instrumented extension must not fall back
    os.environ["WSFRAME_REQUIRE_EXTENSIONS"] = "1"

import atheris  # noqa: E402

# Opcodes the RFC defines (RFC 6455 section 5.2), chosen most of the time.
DEFINED_OPCODES = (0x0, 0x1, 0x2, 0x8, 0x9, 0xA)
LIMIT_CHOICES = (0, 1, 7, 125, 126, 1000, 65536, 1 << 20)
MAX_INPUT = 1 << 16  # inputs above this are truncated: keeps every run bounded


def backend_name(default: str = "c") -> str:
    """Backend a single-backend harness fuzzes: ``WSFRAME_FUZZ_BACKEND=c|py``."""
    name = os.environ.get("WSFRAME_FUZZ_BACKEND", default).strip().lower()
    if name not in ("c", "py"):
        raise SystemExit(f"WSFRAME_FUZZ_BACKEND must be c or py, not {name!r}")
    return name


def load_backend(name: str) -> Any:
    """Import ``wsframe._codec_c`` or ``wsframe._codec_py`` (instrumented)."""
    with atheris.instrument_imports(include=["wsframe"]):
        if name == "c":
            import wsframe._codec_c as codec
        else:
            import wsframe._codec_py as codec
    return codec


def pick(fdp: "atheris.FuzzedDataProvider", choices: Tuple[Any, ...]) -> Any:
    """One element of ``choices`` chosen by the fuzz input."""
    return choices[fdp.ConsumeIntInRange(0, len(choices) - 1)]


def payload_bytes(fdp: "atheris.FuzzedDataProvider", opcode: int) -> bytes:
    """A payload: valid UTF-8 text half the time for text/close, else raw bytes."""
    size = fdp.ConsumeIntInRange(0, 300)
    if opcode in (0x0, 0x1) and fdp.ConsumeBool():
        return fdp.ConsumeUnicodeNoSurrogates(size).encode("utf-8")
    if opcode == 0x8 and fdp.ConsumeBool():
        code = pick(fdp, (1000, 1001, 1002, 1005, 1006, 1011, 1015, 2999, 3000, 4999, 5000, 0))
        reason = fdp.ConsumeUnicodeNoSurrogates(min(size, 130)).encode("utf-8")
        return code.to_bytes(2, "big") + reason
    return fdp.ConsumeBytes(size)


def frame_stream(fdp: "atheris.FuzzedDataProvider", to_server: bool) -> bytes:
    """Up to 12 frames, built from the fuzz bytes, as one byte string.

    Masking follows the direction (``to_server``: client frames, masked) except
    when the input asks for a defect; opcodes, FIN and RSV bits are mostly
    legal. Raw bytes may be appended at the end.
    """
    from wsframe import _codec_py as py  # the reference encoder, not fuzzed here

    out = bytearray()
    for _ in range(fdp.ConsumeIntInRange(0, 12)):
        opcode = fdp.ConsumeIntInRange(0, 15) if fdp.ConsumeIntInRange(0, 15) == 0 else pick(fdp, DEFINED_OPCODES)
        fin = fdp.ConsumeIntInRange(0, 3) != 0
        rsv = fdp.ConsumeIntInRange(0, 31)
        rsv1, rsv2, rsv3 = rsv == 1, rsv == 2, rsv == 3
        masked = to_server if fdp.ConsumeIntInRange(0, 15) else not to_server
        payload = payload_bytes(fdp, opcode)
        mask = fdp.ConsumeBytes(4).ljust(4, b"\0") if masked else None
        header = py.encode_frame_header(opcode, len(payload), fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3, mask=mask)
        out += header
        out += py.apply_mask(payload, mask) if mask is not None else payload
    if fdp.ConsumeIntInRange(0, 7) == 0:
        out += fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64))
    return bytes(out)


def chunks(fdp: "atheris.FuzzedDataProvider", data: bytes) -> Iterator[bytes]:
    """Split ``data`` at points chosen by the fuzz input (all of it once exhausted)."""
    pos = 0
    while pos < len(data):
        if fdp.remaining_bytes() == 0:
            yield data[pos:]
            return
        size = fdp.ConsumeIntInRange(0, 96)
        yield data[pos : pos + size]
        pos += size


def parser_options(fdp: "atheris.FuzzedDataProvider") -> dict:
    """FrameParser keyword arguments chosen by the fuzz input (all legal)."""
    return {
        "is_server": fdp.ConsumeBool(),
        "max_frame_size": pick(fdp, LIMIT_CHOICES),
        "max_message_size": pick(fdp, LIMIT_CHOICES),
        "max_fragments": pick(fdp, (1, 2, 3, 16, 1 << 17)),
        "reassemble": fdp.ConsumeIntInRange(0, 3) != 0,
        "validate_utf8": fdp.ConsumeIntInRange(0, 7) != 0,
        "rsv_allowed": (fdp.ConsumeIntInRange(0, 3) == 0, False, fdp.ConsumeIntInRange(0, 15) == 0),
    }


def parser_input(fdp: "atheris.FuzzedDataProvider", to_server: bool) -> bytes:
    """Structured frames (3 inputs in 4) or the raw remaining bytes."""
    if fdp.ConsumeIntInRange(0, 3):
        return frame_stream(fdp, to_server)
    return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096))


def frame_tuple(frame: Any) -> Tuple[int, bytes, bool, bool, bool, bool]:
    """A backend-neutral view of a Frame, for comparisons."""
    return (int(frame.opcode), bytes(frame.payload), frame.fin, frame.rsv1, frame.rsv2, frame.rsv3)


def error_tuple(exc: BaseException) -> Tuple[Any, ...]:
    """A backend-neutral view of an error: type, code, reason, position, frames."""
    return (
        type(exc).__name__,
        int(getattr(exc, "code", -1)),
        getattr(exc, "reason", str(exc)),
        getattr(exc, "position", None),
        [frame_tuple(f) for f in getattr(exc, "frames", [])],
    )


def outcome(call: Callable[[], Any], expected: Tuple[type, ...]) -> Tuple[str, Any]:
    """("ok", result) or ("error", error_tuple); unexpected exceptions propagate."""
    try:
        return "ok", call()
    except expected as exc:
        return "error", error_tuple(exc)


def _export_libfuzzer() -> None:
    """Make the libFuzzer inside atheris global (it is loaded RTLD_LOCAL), so
    the coverage callbacks of an instrumented extension resolve to it."""
    import ctypes
    import glob

    pattern = os.path.join(os.path.dirname(atheris.__file__), "core_with_libfuzzer*.so")
    for path in glob.glob(pattern):
        ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_GLOBAL | os.RTLD_NOLOAD)


_target: List[Callable[[bytes], None]] = []
_build: List[Callable[[], Callable[[bytes], None]]] = []


def _trampoline(data: bytes) -> None:
    if not _target:  # first input: libFuzzer is loaded now, import wsframe
        if NATIVE:
            _export_libfuzzer()
        _target.append(_build[0]())
    _target[0](data)


def main(build: Callable[[], Callable[[bytes], None]], argv: Optional[List[str]] = None) -> None:
    """Run libFuzzer over the function ``build()`` returns (argv: libFuzzer flags).

    ``build`` imports wsframe. It runs at the first input, once atheris has
    loaded its libFuzzer, so an extension built by fuzz/build_native.sh finds
    the coverage callbacks it was compiled against.
    """
    _build.append(build)
    atheris.Setup(list(sys.argv if argv is None else argv), _trampoline)
    atheris.Fuzz()

"""wsframe's own backends, imported explicitly: ``_codec_c`` and ``_codec_py``."""

from __future__ import annotations

import importlib
import os
from typing import Any, Callable, Optional, Sequence, Tuple, Type

from ._base import OP_BINARY, STREAM_CHUNK, Catalog, Prepared, chunks

__all__ = ["load_backend", "add_wsframe"]


def load_backend(name: str) -> Tuple[Optional[Any], Optional[str]]:
    """Import ``wsframe._codec_c`` ("c") or ``wsframe._codec_py`` ("py") explicitly.

    Returns:
        (module, None), or (None, why it is not available).
    """
    modname = "wsframe._codec_c" if name == "c" else "wsframe._codec_py"
    if name == "c" and os.environ.get("WSFRAME_NO_EXTENSIONS", "").strip().lower() in {"1", "true", "yes", "on"}:
        return None, "disabled by WSFRAME_NO_EXTENSIONS=1"
    try:
        return importlib.import_module(modname), None
    except Exception as exc:  # ImportError, or a forced SIMD level the CPU lacks
        return None, f"{type(exc).__name__}: {exc}"


def _stream_validator(mod: Any, error: Type[BaseException]) -> Callable[[Sequence[Any]], bool]:
    """Feed chunks to a fresh ``mod.Utf8Validator``; True when all valid."""
    validator_cls = mod.Utf8Validator

    def run(chunks: Sequence[Any]) -> bool:
        feed = validator_cls().feed
        try:
            for chunk in chunks[:-1]:
                feed(chunk)
            feed(chunks[-1], True)
        except error:
            return False
        return True

    return run


def add_wsframe(cat: Catalog, label: str, mod: Any) -> None:
    """Add every operation of one wsframe backend module, named "wsframe <label>"."""
    from wsframe.errors import InvalidUTF8

    impl = f"wsframe {label}"
    cat.add("mask_inplace", impl, "wsframe", lambda buf, key: Prepared(mod.apply_mask_inplace, (buf, key)))
    cat.add("mask_copy", impl, "wsframe", lambda data, key: Prepared(mod.apply_mask, (data, key)))
    cat.add("utf8", impl, "wsframe", lambda data: Prepared(mod.validate_utf8, (data,)))
    stream = _stream_validator(mod, InvalidUTF8)
    cat.add(
        "utf8",
        f"{impl} stream",
        "wsframe",
        lambda data: Prepared(stream, (chunks(data),)),
        note=f"Utf8Validator fed {STREAM_CHUNK // 1024} KiB chunks",
    )

    def parse(stream_bytes: bytes, count: int) -> Prepared:
        parser = mod.FrameParser(is_server=True)
        return Prepared(parser.feed, (stream_bytes,))

    cat.add("parse", impl, "wsframe", parse, note="FrameParser(is_server=True).feed(all frames)")
    cat.add("encode", impl, "wsframe", lambda payload: Prepared(mod.encode_frame, (OP_BINARY, payload)))

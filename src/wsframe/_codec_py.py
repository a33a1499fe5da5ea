"""The pure-Python codec backend: the same API and behaviour as ``_codec_c``.

Used on PyPy, when the extension is not built, or with
``WSFRAME_NO_EXTENSIONS=1``. The contract is ``_codec_c.pyi``; each concept
lives in its own ``_py.*`` module (package ``wsframe._py``) and is re-exported here.
"""

from __future__ import annotations

from typing import Any, Dict

from ._py.close import decode_close_payload, encode_close_payload
from ._py.frames import Frame, FrameHeader, decode_frame_header, encode_frame, encode_frame_header
from ._py.mask import apply_mask, apply_mask_inplace
from ._py.parser import (
    DEFAULT_MAX_FRAGMENTS,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
    FrameParser,
)
from ._py.utf8 import Utf8Validator, find_invalid_utf8, validate_utf8

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_MAX_FRAGMENTS",
    "apply_mask",
    "apply_mask_inplace",
    "validate_utf8",
    "find_invalid_utf8",
    "Utf8Validator",
    "decode_close_payload",
    "encode_close_payload",
    "FrameHeader",
    "decode_frame_header",
    "encode_frame_header",
    "encode_frame",
    "Frame",
    "FrameParser",
    "kernel_info",
]


def kernel_info() -> Dict[str, Any]:
    """Kernels in use: the pure backend says "python" for both."""
    return {"mask": "python", "utf8": "python", "supported": ["python"]}

"""wsframe: fast, strict WebSocket (RFC 6455) framing for Python.

``import wsframe`` uses the compiled backend when it is built and falls back to
a pure-Python twin with the same API otherwise; ``wsframe.BACKEND`` and
``wsframe.backend_info()`` say which one is live.
"""

from __future__ import annotations

from ._backend import BACKEND, C_IMPORT_ERROR, HAS_C_EXTENSION, codec as _codec
from ._info import backend_info
from ._version import __version__
from .enums import CloseCode, Opcode, is_valid_close_code
from .errors import InvalidUTF8, MessageTooBig, ProtocolError, WebSocketError

apply_mask = _codec.apply_mask
apply_mask_inplace = _codec.apply_mask_inplace
validate_utf8 = _codec.validate_utf8
find_invalid_utf8 = _codec.find_invalid_utf8
Utf8Validator = _codec.Utf8Validator
decode_close_payload = _codec.decode_close_payload
encode_close_payload = _codec.encode_close_payload
FrameHeader = _codec.FrameHeader
decode_frame_header = _codec.decode_frame_header
encode_frame_header = _codec.encode_frame_header
encode_frame = _codec.encode_frame
Frame = _codec.Frame
FrameParser = _codec.FrameParser
DEFAULT_MAX_FRAME_SIZE = _codec.DEFAULT_MAX_FRAME_SIZE
DEFAULT_MAX_MESSAGE_SIZE = _codec.DEFAULT_MAX_MESSAGE_SIZE
DEFAULT_MAX_FRAGMENTS = _codec.DEFAULT_MAX_FRAGMENTS

# The sans-I/O connection and its events (after the codec names it uses).
from . import events, handshake  # noqa: E402
from .broadcast import encode_broadcast, queue_broadcast  # noqa: E402
from .connection import Connection, InvalidState, State  # noqa: E402
from .events import (  # noqa: E402
    BinaryMessage,
    Closed,
    CloseReceived,
    HandshakeAccepted,
    HandshakeRejected,
    HandshakeRequest,
    MessageFragment,
    Ping,
    Pong,
    ProtocolViolation,
    TextMessage,
)
from .extension import Extension  # noqa: E402

__all__ = [
    "BACKEND",
    "HAS_C_EXTENSION",
    "C_IMPORT_ERROR",
    "backend_info",
    "__version__",
    "Opcode",
    "CloseCode",
    "is_valid_close_code",
    "WebSocketError",
    "ProtocolError",
    "InvalidUTF8",
    "MessageTooBig",
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
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_MAX_FRAGMENTS",
    "Connection",
    "State",
    "InvalidState",
    "Extension",
    "encode_broadcast",
    "queue_broadcast",
    "events",
    "handshake",
    "HandshakeRequest",
    "HandshakeAccepted",
    "HandshakeRejected",
    "TextMessage",
    "BinaryMessage",
    "MessageFragment",
    "Ping",
    "Pong",
    "CloseReceived",
    "ProtocolViolation",
    "Closed",
]

"""Type stubs of the codec; the compiled ``_codec_c`` and the pure ``_codec_py``
both satisfy them (tests/test_api_parity.py checks names and signatures).

This file is the contract of the codec layer: every name, argument and
behaviour below is the same in both backends.
"""

from typing import Any, Dict, Iterable, List, Optional, Tuple, Union, final

from wsframe.enums import Opcode

Buffer = Union[bytes, bytearray, memoryview]

#: Default limits of FrameParser (1 MiB like websockets; fragments as Autobahn needs).
DEFAULT_MAX_FRAME_SIZE: int  # 1 << 20
DEFAULT_MAX_MESSAGE_SIZE: int  # 1 << 20
DEFAULT_MAX_FRAGMENTS: int  # 1 << 17

# ---- masking ---------------------------------------------------------------

def apply_mask(data: Buffer, mask: Buffer, offset: int = 0) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` starting at key phase ``offset % 4``.

    Accepts any buffer, contiguous or not. Raises ValueError if ``mask`` is not
    4 bytes, TypeError if an argument is not a buffer, ValueError for offset < 0.
    """

def apply_mask_inplace(buf: Buffer, mask: Buffer, offset: int = 0) -> None:
    """Same as :func:`apply_mask`, in place, on any writable buffer
    (TypeError if read-only; non-contiguous writable buffers are accepted)."""

# ---- UTF-8 -----------------------------------------------------------------

def validate_utf8(data: Buffer) -> bool:
    """Whether ``data`` is entirely valid UTF-8."""

def find_invalid_utf8(data: Buffer) -> int:
    """Offset of the first invalid sequence (``UnicodeDecodeError.start`` of
    ``bytes(data).decode()``), or -1 when valid. Truncated input at the end
    counts as invalid at the start of the truncated sequence."""

@final  # compiled types cannot be subclassed; the pure twin follows the same contract
class Utf8Validator:
    """Incremental, fail-fast UTF-8 validation across chunks.

    One thread at a time: a call while another thread is inside ``feed`` or
    ``reset`` (or ``__init__``) raises RuntimeError and changes nothing.
    """

    def __init__(self) -> None: ...
    def feed(self, data: Buffer, final: bool = False) -> None:
        """Validate one more chunk.

        Raises InvalidUTF8 (code 1007, ``position`` absolute across all feeds)
        as soon as the bytes seen so far cannot start valid UTF-8; with
        ``final=True`` also when the input ends inside a code point. After an
        error every call raises the same error until :meth:`reset`.
        """
    def reset(self) -> None: ...
    @property
    def position(self) -> int:
        """Number of bytes fed so far."""
    @property
    def pending(self) -> int:
        """Bytes (0-3) of an unfinished code point carried to the next feed."""

# ---- close payloads (RFC 6455 section 5.5.1) ---------------------------------

def decode_close_payload(payload: Buffer) -> Tuple[int, str]:
    """(code, reason) of a received close frame payload; (1005, "") if empty.

    Raises ProtocolError (1002) for a 1-byte payload or a code that may not be
    on the wire, InvalidUTF8 (1007) for a reason that is not UTF-8.
    """

def encode_close_payload(code: Optional[int] = None, reason: str = "") -> bytes:
    """Payload of a close frame to send; b"" when ``code`` is None.

    Raises ValueError for 1005, 1006, 1015 and any code that
    ``is_valid_close_code`` refuses, for a reason without a code, and for a
    reason longer than 123 bytes of UTF-8.
    """

# ---- headers and frames ---------------------------------------------------------

@final
class FrameHeader:
    """A decoded frame header (RFC 6455 section 5.2). Immutable."""

    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    opcode: int  # 0..15; an Opcode member when it is a defined opcode
    masked: bool
    length: int
    mask: Optional[bytes]  # 4 bytes when masked
    size: int  # header size in bytes, 2..14
    def __init__(
        self,
        fin: bool,
        rsv1: bool,
        rsv2: bool,
        rsv3: bool,
        opcode: int,
        masked: bool,
        length: int,
        mask: Optional[bytes],
        size: int,
    ) -> None: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __repr__(self) -> str: ...

def decode_frame_header(data: Buffer, offset: int = 0) -> Optional[FrameHeader]:
    """Decode the header at ``data[offset:]``; None if more bytes are needed.

    Raises ProtocolError (1002) only for a 64-bit length with the top bit set;
    opcode, RSV and size policy belong to FrameParser.
    """

def encode_frame_header(
    opcode: int,
    length: int,
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: Optional[Buffer] = None,
) -> bytes:
    """The header for a frame of ``length`` payload bytes, shortest length form.

    ``mask`` is None (unmasked) or a 4-byte key written into the header.
    ValueError for opcode outside 0..15, length outside 0..2**63-1, or a mask
    that is not 4 bytes.
    """

def encode_frame(
    opcode: int,
    payload: Buffer,
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: Union[None, bool, Buffer] = None,
) -> bytes:
    """Header plus payload (masked when ``mask`` is given) in one allocation.

    ``mask=True`` draws a fresh key from a cryptographic source
    (``os.urandom``/``secrets``); ``mask=None`` or ``False`` sends unmasked.
    """

@final
class Frame:
    """A frame, or a whole message when the parser reassembles. Immutable.

    For a reassembled message ``opcode`` is TEXT or BINARY, ``fin`` is True and
    ``rsv1..3`` are those of the first frame (RSV1 marks compression).
    Text payloads are UTF-8 that has been validated (unless the parser was
    built with ``validate_utf8=False``); they stay bytes, so they can go
    straight to a JSON parser: ``frame.payload.decode()`` gives the str.
    """

    opcode: int  # an Opcode member
    payload: bytes
    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    def __init__(
        self,
        opcode: int,
        payload: bytes,
        fin: bool = True,
        rsv1: bool = False,
        rsv2: bool = False,
        rsv3: bool = False,
    ) -> None: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __repr__(self) -> str: ...

@final
class FrameParser:
    """Streaming RFC 6455 section 5 frame decoder.

    ``is_server=True`` means frames come from a client, so they must be masked;
    ``False`` means they must not be. Limits are checked against the declared
    length before anything is buffered. ``max_fragments`` caps the frames of
    one data message.

    Errors (all ProtocolError subclasses with their close code):
      1002: mask direction, reserved opcode, RSV bit not allowed, fragmented or
        >125-byte control frame, 64-bit length with the top bit set,
        continuation without a message / new message inside one, close payload
        of 1 byte or with a code not allowed on the wire;
      1007 (InvalidUTF8): text or close reason not UTF-8, fail-fast across
        fragments, ``position`` relative to the message start;
      1009 (MessageTooBig): frame, message or fragment-count limit.
    After an error the parser drops its buffer, holds no more input, and every
    later ``feed``/``feed_eof`` raises the same error again (with ``frames``
    emptied: that call completed none).

    One thread at a time: a call while another thread is inside ``feed``,
    ``feed_eof`` (or ``__init__``) raises RuntimeError ("FrameParser is
    already in use by another thread") and leaves the parser as it was.
    """

    def __init__(
        self,
        *,
        is_server: bool,
        max_frame_size: int = ...,
        max_message_size: int = ...,
        max_fragments: int = ...,
        reassemble: bool = True,
        validate_utf8: bool = True,
        rsv_allowed: Tuple[bool, bool, bool] = (False, False, False),
        bare_messages: bool = False,
    ) -> None: ...
    def feed(self, data: Buffer) -> List[Any]:
        """Parse every complete frame in the buffered input plus ``data``.

        Returns frames (or whole data messages when reassembling) in order;
        with ``bare_messages=True`` a whole data message with RSV1-3 clear is
        its value instead (``bytes`` for binary, ``str`` for validated text).
        Control frames come out as soon as they are complete, also between
        the fragments of a message. On error, the frames completed earlier in
        the same call are attached to the exception as ``exc.frames``.
        """
    def feed_eof(self) -> None:
        """The peer closed the stream: ProtocolError (1006, ABNORMAL_CLOSURE)
        if it ends inside a frame or inside a fragmented message."""
    @property
    def buffered(self) -> int:
        """Bytes held that do not yet form a complete frame (or message)."""
    @property
    def failed(self) -> bool:
        """True once the parser has raised an error."""

# ---- backend description ----------------------------------------------------

def kernel_info() -> Dict[str, Any]:
    """Kernels in use: {"mask": name, "utf8": name, "supported": [levels]};
    the pure backend says "python" for both."""

"""Frame and header objects, header decoding and frame encoding (RFC 6455 section 5.2)
for the ``_codec_py`` backend."""

from __future__ import annotations

import os
import struct
from typing import Any, Iterator, Optional, Tuple, Union

from .. import _reasons
from ..enums import Opcode
from ..errors import ProtocolError
from .mask import TRANSLATE_FROM, as_bytes_view, mask_bytes

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "Frame",
    "FrameHeader",
    "decode_frame_header",
    "encode_frame_header",
    "encode_frame",
    "new_frame",
    "_FrameSlots",
    "OPCODES",
]

#: Opcode member for each defined value 0..15, the plain int for reserved ones,
#: so nobody calls the enum constructor per frame.
OPCODES: Tuple[Any, ...] = tuple(Opcode(i) if i in Opcode._value2member_map_ else i for i in range(16))

_MAX_LENGTH = (1 << 63) - 1
_new = object.__new__
_set = object.__setattr__


class FrameHeader:
    """A decoded frame header (RFC 6455 section 5.2). Immutable.

    ``opcode`` is an :class:`Opcode` member for defined opcodes and a plain int
    for reserved ones; ``mask`` is the 4-byte key when ``masked``; ``size`` is
    the header's length in bytes (2..14).
    """

    __slots__ = ("fin", "rsv1", "rsv2", "rsv3", "opcode", "masked", "length", "mask", "size")

    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    opcode: int
    masked: bool
    length: int
    mask: Optional[bytes]
    size: int

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
    ) -> None:
        if isinstance(opcode, int) and 0 <= opcode <= 15:
            opcode = OPCODES[opcode]
        _set(self, "fin", bool(fin))
        _set(self, "rsv1", bool(rsv1))
        _set(self, "rsv2", bool(rsv2))
        _set(self, "rsv3", bool(rsv3))
        _set(self, "opcode", opcode)
        _set(self, "masked", bool(masked))
        _set(self, "length", length)
        _set(self, "mask", mask)
        _set(self, "size", size)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"FrameHeader is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"FrameHeader is immutable (cannot delete {name!r})")

    def _fields(self) -> Tuple[Any, ...]:
        return (self.fin, self.rsv1, self.rsv2, self.rsv3, self.opcode,
                self.masked, self.length, self.mask, self.size)

    def __eq__(self, other: object) -> bool:
        if type(other) is not FrameHeader:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __reduce__(self) -> Any:
        return (FrameHeader, self._fields())

    def __repr__(self) -> str:
        op = self.opcode
        return (
            f"FrameHeader(fin={self.fin}, rsv1={self.rsv1}, rsv2={self.rsv2}, rsv3={self.rsv3}, "
            f"opcode={op!r}, masked={self.masked}, length={self.length}, "
            f"mask={self.mask!r}, size={self.size})"
        )


class _FrameSlots:
    """Storage of :class:`Frame`, writable, so the parser can fill it cheaply.

    The parser sets the slots of a ``_FrameSlots`` and then switches the
    object's class to :class:`Frame` (same layout): about twice as fast as
    going through an immutable ``__init__``, and the result is a real Frame.
    """

    __slots__ = ("opcode", "payload", "fin", "rsv1", "rsv2", "rsv3")

    opcode: Opcode
    payload: bytes
    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool


class Frame(_FrameSlots):
    """A frame, or a whole message when the parser reassembles. Immutable.

    ``opcode`` is an :class:`Opcode` member. Text payloads stay validated
    bytes: ``frame.payload.decode()`` gives the str.
    """

    __slots__ = ()

    def __init__(
        self,
        opcode: int,
        payload: bytes,
        fin: bool = True,
        rsv1: bool = False,
        rsv2: bool = False,
        rsv3: bool = False,
    ) -> None:
        if isinstance(opcode, int) and 0 <= opcode <= 15:
            opcode = OPCODES[opcode]
        if not isinstance(opcode, Opcode):
            opcode = Opcode(opcode)  # ValueError for a reserved opcode
        _set(self, "opcode", opcode)
        _set(self, "payload", bytes(as_bytes_view(payload)))
        _set(self, "fin", bool(fin))
        _set(self, "rsv1", bool(rsv1))
        _set(self, "rsv2", bool(rsv2))
        _set(self, "rsv3", bool(rsv3))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Frame is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Frame is immutable (cannot delete {name!r})")

    def _fields(self) -> Tuple[Any, ...]:
        return (self.opcode, self.payload, self.fin, self.rsv1, self.rsv2, self.rsv3)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Frame:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __reduce__(self) -> Any:
        return (Frame, self._fields())

    def __repr__(self) -> str:
        return (
            f"Frame(opcode={self.opcode!r}, payload={self.payload!r}, fin={self.fin}, "
            f"rsv1={self.rsv1}, rsv2={self.rsv2}, rsv3={self.rsv3})"
        )


def new_frame(opcode: Any, payload: bytes, fin: bool, rsv1: bool, rsv2: bool, rsv3: bool) -> Frame:
    """Build a Frame from already checked values (internal fast path)."""
    frame = _FrameSlots()
    frame.opcode = opcode
    frame.payload = payload
    frame.fin = fin
    frame.rsv1 = rsv1
    frame.rsv2 = rsv2
    frame.rsv3 = rsv3
    frame.__class__ = Frame
    return frame  # type: ignore[return-value]  # its class is Frame now


def decode_frame_header(data: Buffer, offset: int = 0) -> Optional[FrameHeader]:
    """Decode the header at ``data[offset:]``; None if more bytes are needed.

    Raises:
        ProtocolError: a 64-bit length with the most significant bit set (1002).
        ValueError: ``offset`` is negative (an offset at or past the end
            means more bytes are needed: None).
        TypeError: ``data`` is not a buffer or ``offset`` not an int.
    """
    if not isinstance(offset, int):
        raise TypeError(f"offset must be an int, not {type(offset).__name__}")
    if offset < 0:
        raise ValueError("offset must be >= 0")
    flat = as_bytes_view(data)
    avail = len(flat) - offset
    if avail < 2:
        return None
    b0 = flat[offset]
    b1 = flat[offset + 1]
    # RFC 6455 5.2: payload length is 7 bits, or 126 + 16 bits, or 127 + 64 bits,
    # then the 4-byte key when MASK is set. The header is judged whole.
    length = b1 & 0x7F
    ext = 0 if length < 126 else (2 if length == 126 else 8)
    masked = b1 > 0x7F
    size = 2 + ext + (4 if masked else 0)
    if avail < size:
        return None
    if ext:
        length = int.from_bytes(flat[offset + 2:offset + 2 + ext], "big")
        if length >> 63:
            # RFC 6455 5.2: "the most significant bit MUST be 0".
            raise ProtocolError(_reasons.LENGTH_MSB)
    key = bytes(flat[offset + 2 + ext:offset + size]) if masked else None
    header = _new(FrameHeader)
    for name, value in (
        ("fin", bool(b0 & 0x80)),
        ("rsv1", bool(b0 & 0x40)),
        ("rsv2", bool(b0 & 0x20)),
        ("rsv3", bool(b0 & 0x10)),
        ("opcode", OPCODES[b0 & 0x0F]),
        ("masked", masked),
        ("length", length),
        ("mask", key),
        ("size", size),
    ):
        _set(header, name, value)
    return header


def _check_opcode(opcode: int) -> int:
    """The opcode as an int (TypeError for non-ints, ValueError outside 0..15)."""
    if not isinstance(opcode, int):
        raise TypeError(f"opcode must be an int, not {type(opcode).__name__}")
    if not 0 <= opcode <= 15:
        raise ValueError(f"opcode must be in 0..15, got {opcode!r}")
    return int(opcode)


_pack2 = struct.Struct("!BB").pack
_pack4 = struct.Struct("!BBH").pack
_pack10 = struct.Struct("!BBQ").pack


def _header_bytes(op: int, length: int, fin: bool, rsv1: bool, rsv2: bool, rsv3: bool,
                  key: Optional[bytes]) -> bytes:
    """Header bytes with the shortest length form (RFC 6455 5.2 "minimal number of bytes")."""
    b0 = op | (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0)
    mbit = 0x80 if key is not None else 0
    if length < 126:
        head = _pack2(b0, mbit | length)
    elif length < 0x10000:
        head = _pack4(b0, mbit | 126, length)
    else:
        head = _pack10(b0, mbit | 127, length)
    return head + key if key is not None else head


def _check_mask_key(mask: Buffer) -> bytes:
    key = bytes(as_bytes_view(mask))
    if len(key) != 4:
        raise ValueError(f"mask must be 4 bytes, got {len(key)}")
    return key


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

    Raises:
        ValueError: opcode outside 0..15, length outside 0..2**63-1, or a mask
            that is not 4 bytes.
    """
    op = _check_opcode(opcode)
    if not isinstance(length, int):
        raise TypeError(f"length must be an int, not {type(length).__name__}")
    if not 0 <= length <= _MAX_LENGTH:
        raise ValueError(f"length must be in 0..2**63-1, got {length}")
    key = None if mask is None else _check_mask_key(mask)
    return _header_bytes(op, length, fin, rsv1, rsv2, rsv3, key)


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
    """Header plus payload (masked when ``mask`` is given) as one bytes object.

    Args:
        mask: None or False to send unmasked; True for a fresh key from
            ``os.urandom`` (RFC 6455 5.3: unpredictable, strong entropy); or
            an explicit 4-byte key.

    Raises:
        ValueError: opcode outside 0..15 or a mask that is not 4 bytes.
        TypeError: ``payload`` is not a buffer.
    """
    # Checked in the C twin's order: opcode, mask, payload.
    if type(opcode) is not int or not 0 <= opcode <= 15:
        opcode = _check_opcode(opcode)
    if mask is None or mask is False:
        key = None
    elif mask is True:
        key = _random_key()
    elif type(mask) is bytes and len(mask) == 4:
        key = mask
    else:
        key = _check_mask_key(mask)
    data = payload if type(payload) is bytes else as_bytes_view(payload)
    n = len(data)
    b0 = opcode | (0x80 if fin else 0)
    if rsv1 or rsv2 or rsv3:
        b0 |= (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0)
    if key is None:
        if n < 126:
            return _pack2(b0, n) + data
        return (_pack4(b0, 126, n) if n < 0x10000 else _pack10(b0, 127, n)) + data
    if n < 126:
        head = _pack2(b0, 0x80 | n)
    else:
        head = _pack4(b0, 0xFE, n) if n < 0x10000 else _pack10(b0, 0xFF, n)
    if not n:
        return head + key
    if n < TRANSLATE_FROM:
        # RFC 6455 5.3: octet i is XORed with key octet i MOD 4.
        stream = key * ((n >> 2) + 1)
        return head + key + (int.from_bytes(data, "little") ^ int.from_bytes(stream[:n], "little")).to_bytes(n, "little")
    return head + key + mask_bytes(data, key, 0)


# Client keys come from os.urandom (RFC 6455 5.3: "derived from a strong
# source of entropy"), drawn 4 KiB at a time: one system call per 1024 frames.
# A list iterator hands each key out once, also with several threads.
_key_source: Iterator[bytes] = iter(())


def _random_key() -> bytes:
    """A fresh, unpredictable 4-byte masking key."""
    global _key_source
    key = next(_key_source, None)
    if key is None:
        pool = os.urandom(4096)
        _key_source = iter([pool[i:i + 4] for i in range(0, 4096, 4)])
        key = next(_key_source)
    return key

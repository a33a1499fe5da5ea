"""Small, obviously-correct reference code shared by the codec tests.

Nothing here uses wsframe: these are the oracles the backends are checked
against (a byte-by-byte XOR, CPython's UTF-8 decoder, a struct-based frame
writer), plus helpers that turn frames and errors into plain tuples so two
backends' results can be compared with ``==``.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, List, Optional, Sequence, Tuple


def codec_is_py(codec: Any) -> bool:
    """Whether a ``codec`` fixture value is the pure twin (differential tests skip it)."""
    return str(codec.__name__).endswith("_codec_py")


# ---- masking (RFC 6455 section 5.3) ------------------------------------------


def xor_ref(data: bytes, key: bytes, phase: int = 0) -> bytes:
    """``data[i] ^ key[(phase + i) % 4]``, one byte at a time."""
    return bytes(b ^ key[(phase + i) % 4] for i, b in enumerate(bytes(data)))


def xor_big(data: bytes, key: bytes, phase: int = 0) -> bytes:
    """Same as :func:`xor_ref` through one big integer (for megabyte inputs)."""
    data = bytes(data)
    n = len(data)
    rotated = bytes(key[(phase + i) % 4] for i in range(4))
    stream = (rotated * (n // 4 + 1))[:n]
    value = int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")
    return value.to_bytes(n, "little")


# ---- UTF-8 oracle: CPython's strict decoder ------------------------------------

TRUNCATED_REASON = "unexpected end of data"


def utf8_error(data: bytes) -> Optional[Tuple[int, str]]:
    """(start, reason) of CPython's UnicodeDecodeError for ``data``, or None if valid."""
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start, exc.reason
    return None


def utf8_error_start(data: bytes) -> int:
    """``UnicodeDecodeError.start`` of ``data.decode()``, -1 when valid."""
    err = utf8_error(data)
    return -1 if err is None else err[0]


def utf8_impossible_at(data: bytes) -> Optional[int]:
    """Smallest prefix length after which ``data`` can no longer become valid.

    A fail-fast validator fed ``data`` in chunks must raise on the chunk that
    reaches this length; None when every prefix can still be completed
    (the data is valid or only truncated at its end).
    """
    err = utf8_error(data)
    if err is None or err[1] == TRUNCATED_REASON:
        return None
    for k in range(err[0] + 1, len(data) + 1):
        e = utf8_error(data[:k])
        if e is not None and e[1] != TRUNCATED_REASON:
            return k
    return None  # pragma: no cover - unreachable: the whole data is invalid


def utf8_pending(data: bytes) -> int:
    """Bytes of an unfinished (still completable) code point at the end of valid ``data``."""
    err = utf8_error(data)
    if err is None or err[1] != TRUNCATED_REASON:
        return 0
    return len(data) - err[0]


def run_validator(validator: Any, chunks: Sequence[bytes], final: bool = True) -> Tuple[Optional[int], Optional[Tuple[str, int]]]:
    """Feed ``chunks`` (``final`` on the last); return (index of the raising feed, (reason, position))."""
    for i, chunk in enumerate(chunks):
        try:
            validator.feed(chunk, final=final and i == len(chunks) - 1)
        except Exception as exc:
            return i, (getattr(exc, "reason", repr(exc)), getattr(exc, "position", -1))
    return None, None


# ---- frames (RFC 6455 section 5.2), written independently of wsframe ---------------

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def build_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: Optional[bytes] = None,
    length: Optional[int] = None,
    long_form: Optional[int] = None,
) -> bytes:
    """One frame on the wire.

    ``length`` overrides the declared length (to lie about it); ``long_form``
    forces the 7-bit (0), 16-bit (2) or 64-bit (8) length encoding.
    """
    payload = bytes(payload)
    declared = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0) | opcode
    mbit = 0x80 if mask is not None else 0
    form = long_form
    if form is None:
        form = 0 if declared < 126 else 2 if declared < 65536 else 8
    if form == 0:
        head = bytes([b0, mbit | declared])
    elif form == 2:
        head = bytes([b0, mbit | 126]) + struct.pack("!H", declared)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack("!Q", declared)
    if mask is not None:
        return head + bytes(mask) + xor_ref(payload, mask)
    return head + payload


def client_frame(opcode: int, payload: bytes = b"", key: bytes = b"\x37\xfa\x21\x3d", **kw: Any) -> bytes:
    """A masked frame, as a client sends it (RFC 6455 section 5.3)."""
    return build_frame(opcode, payload, mask=key, **kw)


# ---- comparable results ------------------------------------------------------


def frame_tuple(frame: Any) -> Tuple[Any, ...]:
    """A Frame of either backend as a plain tuple (a bare message, from
    ``bare_messages=True``, as its type's name and value)."""
    if type(frame) in (str, bytes):
        return (type(frame).__name__, frame)
    return (int(frame.opcode), bytes(frame.payload), bool(frame.fin), bool(frame.rsv1), bool(frame.rsv2), bool(frame.rsv3))


def error_tuple(exc: BaseException) -> Tuple[Any, ...]:
    """An error as (class name, code, reason, position, frames)."""
    return (
        type(exc).__name__,
        int(getattr(exc, "code", -1)),
        getattr(exc, "reason", str(exc)),
        getattr(exc, "position", None),
        [frame_tuple(f) for f in getattr(exc, "frames", [])],
    )


def feed_all(parser: Any, chunks: Sequence[bytes], eof: bool = False) -> Tuple[List[Tuple[Any, ...]], Optional[Tuple[Any, ...]], Optional[int]]:
    """Feed ``chunks`` (then EOF if asked) and stop at the first error.

    Returns (frames as tuples, including those carried by the error;
    the error as :func:`error_tuple` without its frames, or None;
    the index of the call that raised, ``len(chunks)`` for feed_eof).
    """
    frames: List[Tuple[Any, ...]] = []
    calls: List[Callable[[], Any]] = [lambda c=c: parser.feed(c) for c in chunks]
    if eof:
        calls.append(parser.feed_eof)
    for i, call in enumerate(calls):
        try:
            out = call()
        except Exception as exc:
            carried = [frame_tuple(f) for f in getattr(exc, "frames", [])]
            return frames + carried, error_tuple(exc)[:4], i
        if out:
            frames.extend(frame_tuple(f) for f in out)
    return frames, None, None


def split_at(data: bytes, cuts: Sequence[int]) -> List[bytes]:
    """``data`` cut at the sorted offsets ``cuts``."""
    pieces = []
    prev = 0
    for cut in cuts:
        pieces.append(data[prev:cut])
        prev = cut
    pieces.append(data[prev:])
    return pieces

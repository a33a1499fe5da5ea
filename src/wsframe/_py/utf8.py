"""UTF-8 validation in pure Python for the ``_codec_py`` backend.

CPython's own strict decoder is the oracle of the contract, so it is also the
implementation: ``bytes.isascii()`` answers the common case in C, and
``codecs.utf_8_decode`` gives both the verdict and the exact error position
(``UnicodeDecodeError.start``) for the rest.
"""

from __future__ import annotations

from codecs import utf_8_decode
from typing import List, Tuple, Union

from .. import _reasons
from ..errors import InvalidUTF8
from .busy import take, token_of
from .mask import as_bytes_view

Buffer = Union[bytes, bytearray, memoryview]

__all__ = ["validate_utf8", "find_invalid_utf8", "Utf8Validator", "utf8_step"]

_IN_USE = _reasons.IN_USE.format("Utf8Validator")


def find_invalid_utf8(data: Buffer) -> int:
    """Offset of the first invalid sequence, or -1 when ``data`` is valid UTF-8.

    The offset is ``UnicodeDecodeError.start`` of ``bytes(data).decode()``;
    input ending inside a code point is invalid at the start of that sequence.

    Raises:
        TypeError: ``data`` is not a buffer.
    """
    flat = as_bytes_view(data)
    if type(flat) is not memoryview and flat.isascii():
        return -1
    try:
        utf_8_decode(flat, "strict", True)
    except UnicodeDecodeError as exc:
        return exc.start
    return -1


def validate_utf8(data: Buffer) -> bool:
    """Whether ``data`` is entirely valid UTF-8 (TypeError for non-buffers)."""
    return find_invalid_utf8(data) < 0


def utf8_step(pending: bytes, chunk: Buffer, final: bool) -> Tuple[int, bytes]:
    """Validate ``pending + chunk`` as the next stretch of a UTF-8 stream.

    ``pending`` holds the 0-3 bytes of a code point left unfinished by the
    previous step. Fail-fast: an error is reported as soon as the bytes seen
    cannot be the start of valid UTF-8.

    Returns:
        ``(-1, new_pending)`` when valid so far, or ``(position, b"")`` with the
        error's offset counted from the start of ``pending``. With ``final``
        set, an unfinished code point at the end is an error at its start.
    """
    data: Buffer
    if pending:
        data = pending + chunk
    else:
        if type(chunk) is not memoryview and chunk.isascii():
            return -1, b""
        data = chunk
    try:
        _, used = utf_8_decode(data, "strict", final)
    except UnicodeDecodeError as exc:
        return exc.start, b""
    tail = len(data) - used
    if not tail:
        return -1, b""
    # CPython accepts a trailing ED A0..ED BF while waiting for more bytes
    # (for the surrogatepass handler), yet no continuation can make it a valid
    # code point (it would encode a surrogate, RFC 3629 section 3): fail now.
    if tail == 2 and data[used] == 0xED and data[used + 1] >= 0xA0:
        return used, b""
    return -1, bytes(data[used:])


class Utf8Validator:
    """Incremental, fail-fast UTF-8 validation across chunks.

    Raises InvalidUTF8 (close code 1007) as soon as the bytes fed so far
    cannot start valid UTF-8, with ``position`` counted across every feed.
    After an error, every call raises the same error until :meth:`reset`.
    One instance is for one thread at a time: a call while another thread is
    inside ``feed``/``reset`` raises RuntimeError (see ``busy.py``).
    """

    __slots__ = ("_pending", "_fed", "_error", "_free")
    _free: List[None]  # the busy token (busy.py), made by the first __init__

    def __init__(self) -> None:
        free = token_of(self)
        take(free, "Utf8Validator")
        self._pending = b""
        self._fed = 0
        self._error: InvalidUTF8 | None = None
        free.append(None)

    def feed(self, data: Buffer, final: bool = False) -> None:
        """Validate one more chunk; ``final=True`` when no more bytes follow.

        Raises:
            InvalidUTF8: the stream is invalid (reason ``UTF8_INVALID``) or, with
                ``final``, ends inside a code point (``UTF8_TRUNCATED``).
            TypeError: ``data`` is not a buffer.
            RuntimeError: another thread is inside a call on this validator.
        """
        free = self._free
        try:
            free.pop()  # busy.take(), inlined on the hot path
        except IndexError:
            raise RuntimeError(_IN_USE) from None
        try:
            if self._error is not None:
                raise self._error
            flat = as_bytes_view(data)
            pending = self._pending
            start = self._fed - len(pending)  # absolute offset of pending[0]
            bad, rest = utf8_step(pending, flat, False)
            self._fed += len(flat)
            if bad >= 0:
                self._pending = b""
                self._error = InvalidUTF8(_reasons.UTF8_INVALID, start + bad)
                raise self._error
            self._pending = rest
            if final and rest:
                self._pending = b""
                self._error = InvalidUTF8(_reasons.UTF8_TRUNCATED, self._fed - len(rest))
                raise self._error
        finally:
            free.append(None)

    def reset(self) -> None:
        """Forget everything fed so far, including a stored error.

        Raises:
            RuntimeError: another thread is inside a call on this validator.
        """
        free = self._free
        take(free, "Utf8Validator")
        self._pending = b""
        self._fed = 0
        self._error = None
        free.append(None)

    @property
    def position(self) -> int:
        """Number of bytes fed so far."""
        return self._fed

    @property
    def pending(self) -> int:
        """Bytes (0-3) of an unfinished code point carried to the next feed."""
        return len(self._pending)

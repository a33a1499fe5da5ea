"""Masking (RFC 6455 section 5.3) in pure Python for the ``_codec_py`` backend.

Up to a few KiB the XOR runs on Python's big integers: the payload and the
key repeated to the payload length become two ints, one ``^`` combines them
in C, and ``to_bytes`` turns the result back into bytes. Above that, four
strided ``bytes.translate`` calls are faster. Either way a constant number of
Python operations per call, never a per-byte loop.
"""

from __future__ import annotations

from typing import Any, Tuple, Union

Buffer = Union[bytes, bytearray, memoryview]

__all__ = ["apply_mask", "apply_mask_inplace", "as_bytes_view", "mask_bytes", "TRANSLATE_FROM"]


def as_bytes_view(data: object) -> Union[bytes, bytearray, memoryview]:
    """Return ``data`` as a flat byte sequence (no copy when already flat).

    bytes and bytearray pass through; other buffers become a 1-D unsigned-byte
    memoryview, copied only when they are not C-contiguous.

    Raises:
        TypeError: ``data`` does not support the buffer protocol.
    """
    cls = type(data)
    if cls is bytes or cls is bytearray:
        return data  # type: ignore[return-value]
    view = memoryview(data)  # type: ignore[arg-type]  # TypeError for non-buffers
    if not view.c_contiguous:
        return view.tobytes()
    if view.ndim != 1 or view.format != "B":
        return view.cast("B")
    return view


def _check_key(mask: object) -> bytes:
    """The 4-byte masking key as bytes (TypeError / ValueError otherwise)."""
    key = bytes(as_bytes_view(mask))
    if len(key) != 4:
        raise ValueError(f"mask must be 4 bytes, got {len(key)}")
    return key


def _check_offset(offset: object) -> int:
    if not isinstance(offset, int):
        raise TypeError(f"offset must be an int, not {type(offset).__name__}")
    if offset < 0:
        raise ValueError("offset must be >= 0")
    return offset & 3


# From this size on, four strided bytes.translate() calls (one 256-byte XOR
# table per key octet) beat the big-int XOR, whose cost grows faster than n.
TRANSLATE_FROM = 6144
_XOR_TABLES = tuple(bytes(b ^ k for b in range(256)) for k in range(256))


def mask_bytes(data: Buffer, key: bytes, phase: int = 0) -> bytes:
    """XOR a flat byte buffer with a checked 4-byte key starting at ``phase`` (0-3).

    The internal fast path used by the parser and the encoder: no argument
    checks. Masking is its own inverse, so this also unmasks.
    """
    # One snapshot first: on PyPy a view does not pin its bytearray, so another
    # thread may resize it between two reads of ``data``.
    src = data if type(data) is bytes else bytes(data)
    n = len(src)
    if not n:
        return b""
    if phase:
        key = key[phase:] + key[:phase]
    if n < TRANSLATE_FROM:
        # RFC 6455 5.3: octet i of the payload is XORed with octet i MOD 4 of the key.
        stream = key * ((n >> 2) + 1)
        return (int.from_bytes(src, "little") ^ int.from_bytes(stream[:n], "little")).to_bytes(n, "little")
    # Large: octets i, i+4, i+8... all meet the same key octet, so each of the
    # four strided slices is one translate() through that octet's XOR table.
    out = bytearray(n)
    tables = _XOR_TABLES
    out[0::4] = src[0::4].translate(tables[key[0]])
    out[1::4] = src[1::4].translate(tables[key[1]])
    out[2::4] = src[2::4].translate(tables[key[2]])
    out[3::4] = src[3::4].translate(tables[key[3]])
    return bytes(out)


def apply_mask(data: Buffer, mask: Buffer, offset: int = 0) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` starting at key phase ``offset % 4``.

    Args:
        data: any buffer, contiguous or not.
        mask: the 4-byte masking key.
        offset: position of ``data[0]`` in the masked stream (>= 0).

    Returns:
        The masked (or unmasked) bytes.

    Raises:
        TypeError: an argument is not a buffer.
        ValueError: ``mask`` is not 4 bytes or ``offset`` is negative.
    """
    # Argument checks in the C twin's order (data, mask, offset), with a
    # shortcut for the common types.
    flat = data if type(data) is bytes else as_bytes_view(data)
    key = mask if type(mask) is bytes and len(mask) == 4 else _check_key(mask)
    phase = offset & 3 if type(offset) is int and offset >= 0 else _check_offset(offset)
    n = len(flat)
    if n < TRANSLATE_FROM:
        if not n:
            return b""
        if phase:
            key = key[phase:] + key[:phase]
        # RFC 6455 5.3: octet i of the payload is XORed with octet i MOD 4 of the key.
        stream = key * ((n >> 2) + 1)
        return (int.from_bytes(flat, "little") ^ int.from_bytes(stream[:n], "little")).to_bytes(n, "little")
    return mask_bytes(flat, key, phase)


def apply_mask_inplace(buf: Buffer, mask: Buffer, offset: int = 0) -> None:
    """Same as :func:`apply_mask`, written back into the writable buffer ``buf``.

    Raises:
        TypeError: ``buf`` is read-only or an argument is not a buffer.
        ValueError: ``mask`` is not 4 bytes or ``offset`` is negative.
    """
    view = memoryview(buf)
    if view.readonly:
        raise TypeError("apply_mask_inplace needs a writable buffer")
    key = _check_key(mask)
    phase = _check_offset(offset)
    if view.c_contiguous:
        flat = view.cast("B") if (view.ndim != 1 or view.format != "B") else view
        try:
            flat[:] = mask_bytes(flat, key, phase)
        except ValueError:
            # Only where a view does not pin its buffer (PyPy): another thread
            # resized it mid-call. CPython refuses that resize with BufferError.
            raise BufferError("apply_mask_inplace: the buffer was resized by another thread") from None
        return
    result = mask_bytes(view.tobytes(), key, phase)
    fmt: Any = view.format  # any struct format; typeshed lists literals only
    if view.ndim == 1:
        # Strided 1-D view: slice assignment writes each item to its place.
        try:
            view[:] = memoryview(result).cast(fmt)
        except ValueError:
            raise BufferError("apply_mask_inplace: the buffer was resized by another thread") from None
        return
    # Multi-dimensional, non-contiguous: write item by item (rare; still bounded).
    items = memoryview(result).cast(fmt, view.shape or ())
    _write_nd(view, items, ())


def _write_nd(dst: memoryview, src: memoryview, index: Tuple[int, ...]) -> None:
    """Copy ``src`` into ``dst`` element-wise over every index of their shape."""
    depth = len(index)
    for i in range((dst.shape or ())[depth]):
        idx = index + (i,)
        if depth + 1 == dst.ndim:
            dst[idx] = src[idx]
        else:
            _write_nd(dst, src, idx)

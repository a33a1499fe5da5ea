"""Physical references: a plain copy, CPython's UTF-8 decoder, numpy XOR, bytes concatenation.

They bound what any implementation can do on this machine, so a ratio
against them says how close to the hardware (or to CPython) we are."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..payloads import frame_header
from ._base import OP_BINARY, Catalog, Prepared, Unsupported, chunks, load

__all__ = ["add_references"]


def _decoder(valid: bool) -> Callable[[bytes], Any]:
    if valid:
        return bytes.decode  # utf-8, strict: the fastest possible call

    def decode_or_false(data: bytes) -> Any:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return False

    return decode_or_false


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def add_references(cat: Catalog) -> None:
    """Add the physical references (always available; numpy when installed)."""
    cat.add(
        "mask_copy",
        "memcpy",
        "reference",
        lambda data, key: Prepared(bytes, (memoryview(data),)),
        note="bytes(memoryview(data)): a plain copy of the same size",
        checked=False,
    )
    cat.add(
        "mask_inplace",
        "memcpy",
        "reference",
        lambda buf, key: Prepared(bytes, (memoryview(buf),)),
        note="bytes(memoryview(buf)): a plain copy of the same size",
        checked=False,
    )
    cat.add("utf8", "bytes.decode", "reference", lambda data: Prepared(_decoder(_is_utf8(data)), (data,)))

    def incremental(data: bytes) -> Prepared:
        import codecs

        factory = codecs.getincrementaldecoder("utf-8")

        def run(chunks: Sequence[Any]) -> bool:
            decode = factory().decode
            try:
                for chunk in chunks[:-1]:
                    decode(chunk)
                decode(chunks[-1], True)
            except UnicodeDecodeError:
                return False
            return True

        return Prepared(run, (chunks(data),))

    cat.add("utf8", "bytes.decode stream", "reference", incremental, note="codecs incremental decoder, 4 KiB chunks")

    def concat(payload: bytes) -> Prepared:
        header = frame_header(OP_BINARY, len(payload))
        return Prepared(header.__add__, (payload,))

    cat.add("encode", "bytes concat", "reference", concat, note="header + payload: one allocation and copy")

    try:
        np = load("numpy")
    except ImportError as exc:
        cat.missing["numpy"] = str(exc)
        return

    def numpy_xor(buf: bytearray, key: bytes) -> Prepared:
        if len(buf) % 8:
            raise Unsupported("numpy uint64 XOR needs a multiple of 8 bytes")
        words = np.frombuffer(buf, dtype=np.uint64)
        key64 = np.frombuffer(key * 2, dtype=np.uint64)[0]
        return Prepared(words.__ixor__, (key64,))

    cat.add("mask_inplace", "numpy", "reference", numpy_xor, note="numpy in-place uint64 XOR")

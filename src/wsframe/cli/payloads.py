"""Benchmark inputs: text of a given byte size and content, and frame streams.

Everything here is deterministic (fixed seeds) and built with plain Python,
independent of the codec under test, so every implementation gets exactly the
same bytes and the benchmark can check their answers.
"""

from __future__ import annotations

import random
import struct
from typing import Dict, List, Tuple

__all__ = [
    "CONTENTS",
    "MASK_KEY",
    "text",
    "random_bytes",
    "masked_frame",
    "frame_stream",
    "server_frame",
    "frame_header",
    "mask_bytes",
]

#: The key used by every masking benchmark (RFC 6455 section 5.3: any 4 bytes).
MASK_KEY = b"\x37\xfa\x21\x3d"

# One repeating unit per content kind; ``text`` cuts or pads it to an exact size.
_UNITS: Dict[str, str] = {
    # Plain ASCII, like most JSON on the wire.
    "ascii": "The quick brown fox jumps over the lazy dog; {\"id\": 12345, \"ok\": true} ",
    # Three-byte code points only (CJK): the slow path of every scalar validator.
    "chinese": "我能吞下玻璃而不伤身体。中文字符验证速度测试，网络套接字帧解析器。",
    # One- to four-byte sequences interleaved, the hardest case for branchy code.
    "mixed": "Hello, 世界! Grüße, Ελληνικά, русский, 😀👍 emoji, naïve café; ",
}

#: Content kinds of the UTF-8 matrix; "invalid" is Chinese with its last byte broken.
CONTENTS: Tuple[str, ...] = ("ascii", "chinese", "mixed", "invalid")


def _valid_text(kind: str, size: int) -> bytes:
    """Exactly ``size`` bytes of valid UTF-8 of one kind, padded with ASCII."""
    unit = _UNITS[kind].encode("utf-8")
    reps = size // len(unit) + 1
    raw = (unit * reps)[:size]
    # Cut back to the last complete code point, then pad with ASCII spaces.
    cut = len(raw)
    while cut > 0:
        try:
            raw[:cut].decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            cut = exc.start
    return raw[:cut] + b" " * (size - cut)


def text(kind: str, size: int) -> bytes:
    """``size`` bytes of one content kind.

    Args:
        kind: "ascii", "chinese", "mixed", or "invalid" (valid Chinese text
            whose last byte is 0xFF, so a validator must scan everything
            before it finds the error).
        size: length in bytes.

    Returns:
        The bytes; valid UTF-8 unless ``kind`` is "invalid".
    """
    if kind == "invalid":
        data = bytearray(_valid_text("chinese", size))
        if size:
            data[-1] = 0xFF  # never valid anywhere in UTF-8 (RFC 3629 section 1)
        return bytes(data)
    if kind not in _UNITS:
        raise ValueError(f"unknown content kind {kind!r}; expected one of {CONTENTS}")
    return _valid_text(kind, size)


def random_bytes(size: int, seed: int = 6455) -> bytes:
    """``size`` pseudo-random bytes (content does not matter to masking)."""
    return random.Random(seed).randbytes(size) if size else b""


def mask_bytes(payload: bytes, key: bytes) -> bytes:
    """Mask with plain Python (RFC 6455 section 5.3), slow but independent."""
    n = len(payload)
    if not n:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    value = int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")
    return value.to_bytes(n, "little")


def frame_header(opcode: int, length: int, key: bytes = b"") -> bytes:
    """A FIN frame header with the shortest length form (RFC 6455 section 5.2)."""
    first = 0x80 | opcode
    mask_bit = 0x80 if key else 0
    if length < 126:
        head = struct.pack("!BB", first, mask_bit | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    return head + key


def masked_frame(opcode: int, payload: bytes, key: bytes) -> bytes:
    """One masked (client-to-server) frame with FIN set."""
    return frame_header(opcode, len(payload), key) + mask_bytes(payload, key)


def server_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked (server-to-client) frame with FIN set: what encoders must produce."""
    return frame_header(opcode, len(payload)) + payload


def frame_stream(count: int, size: int, kind: str = "ascii", opcode: int = 0x1) -> Tuple[bytes, bytes]:
    """``count`` masked frames of ``size`` payload bytes each, back to back.

    Every frame has its own pseudo-random key, as a real client sends.

    Returns:
        (the stream, the unmasked payload every frame carries).
    """
    payload = text(kind, size) if opcode == 0x1 else random_bytes(size)
    rng = random.Random(count * 31 + size)
    frames: List[bytes] = []
    for _ in range(count):
        frames.append(masked_frame(opcode, payload, rng.randbytes(4)))
    return b"".join(frames), payload

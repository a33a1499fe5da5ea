"""Write the hand-made seeds of the C kernel harnesses into fuzz/corpus/c_*.

Seeds are tiny published or boundary cases (RFC 6455 section 5.7 frames,
RFC 3629 boundaries, Markus Kuhn's stress-test style sequences) laid out as
each harness reads its input; the fuzzers grow the rest, and
``FUZZ_UPDATE_CORPUS=1 scripts/fuzz_short.sh`` merges what they find.

    python3 fuzz/make_seeds.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

CORPUS = Path(__file__).resolve().parent / "corpus"
KEY = bytes.fromhex("37fa213d")  # the RFC 6455 section 5.7 masking key

TEXTS: List[bytes] = [
    b"",
    b"Hello",
    "κόσμε".encode(),
    "中文 and ASCII ".encode() * 8,
    "😀 emoji 𝄞".encode() * 4,
    b"a" * 63 + "é".encode(),  # a 2-byte sequence across the 64-byte boundary
    b"\xef\xbf\xbf\xf4\x8f\xbf\xbf",  # U+FFFF, U+10FFFF
    b"\xe0\x80\x80",  # overlong
    b"\xed\xa0\x80",  # surrogate
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xc0\xaf",  # overlong slash
    b"x" * 100 + b"\xf0\x9f\x98",  # truncated at the end
    b"\xff\xfe",
]


def seeds() -> Dict[str, List[bytes]]:
    mask = [KEY + bytes([phase]) + b"\x55" * n for phase in (0, 1, 3) for n in (0, 1, 3, 15, 31, 63, 64, 65, 129)]
    utf8 = [KEY + bytes([phase]) + t for phase in (0, 2) for t in TEXTS]
    stream = [KEY + b"\x00" + bytes([len(cuts)]) + bytes(cuts) + t for t in TEXTS for cuts in ([], [1, 1, 1], [5, 64])]
    header = [
        bytes.fromhex("810548656c6c6f"),  # RFC 6455 5.7: unmasked "Hello"
        bytes.fromhex("818537fa213d7f9f4d5158"),  # masked "Hello"
        bytes.fromhex("010348656c"),  # RFC 6455 5.7: first fragment "Hel"
        bytes.fromhex("890548656c6c6f"),  # ping
        bytes.fromhex("827e0100"),  # 256 bytes, 16-bit length
        bytes.fromhex("827f0000000000010000"),  # 64 KiB, 64-bit length
        bytes.fromhex("827f8000000000000000"),  # MSB set: an error
        bytes.fromhex("82fe0100") + KEY,
        b"\x81",
    ]
    return {"c_mask": mask, "c_utf8": utf8, "c_utf8_stream": stream, "c_header": header}


def main() -> None:
    for target, items in seeds().items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(items):
            (folder / f"seed-{i:02d}").write_bytes(data)
        print(f"{target}: {len(items)} seeds")


if __name__ == "__main__":
    main()

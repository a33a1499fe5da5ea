"""Share of tornado's echo-server time spent reading and writing frames, unpatched and patched.

Runs bench_compat's tornado server in a child process under cProfile
(``BENCH_PROFILE``), sends it 3 x 20,000 pipelined 125-byte binary messages
with bench_compat's raw client, then sums the ``tottime`` of the functions
that do framing: tornado's ``_receive_frame``, ``_read_bytes``,
``_write_frame``, the ``IOStream.read_bytes`` chain, the mask function and
``struct``; patched, wsframe's fast loop and ``FrameParser.feed``.

Run: ``python benchmarks/profile_tornado.py`` (about 30 s).
"""

from __future__ import annotations

import asyncio
import os
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_compat as bench  # noqa: E402

import wsframe  # noqa: E402

#: (file name ending, function name) that count as frame reading or writing.
FRAMING = {
    ("websocket.py", "_receive_frame"), ("websocket.py", "_read_bytes"), ("websocket.py", "_write_frame"),
    ("websocket.py", "_receive_frame_loop"), ("iostream.py", "read_bytes"), ("iostream.py", "_start_read"),
    ("iostream.py", "_try_inline_read"), ("iostream.py", "_finish_read"), ("iostream.py", "_find_read_pos"),
    ("iostream.py", "_read_from_buffer"), ("iostream.py", "_consume"), ("iostream.py", "_check_closed"),
    ("tornado.py", "websocket_mask"), ("util.py", "_websocket_mask_python"),
    ("_tornado_frames.py", "fast"), ("_tornado_frames.py", "_missing"), ("_tornado_frames.py", "acceptable"),
    ("_tornado_frames.py", "_header_size"), ("_tornado_frames.py", "_rest"), ("_tornado_frames.py", "_write_frame"),
    ("_tornado_frames.py", "_receive_frame_loop"),
}
#: Built-ins (cProfile files them under "~") that count as framing.
BUILTINS = ("pack", "unpack", "urandom", "feed", "encode_frame", "apply_mask", "decode_frame_header")


async def load(patch: str, stats_path: str) -> None:
    os.environ["BENCH_PROFILE"] = stats_path
    proc, port = await bench.start_ws_server(patch, bench.TORNADO_SERVER_CODE)
    frame = wsframe.encode_frame(2, os.urandom(125), mask=True)
    try:
        for _ in range(3):
            client = bench.RawClient()
            await client.connect(port)
            await asyncio.wait_for(client.pipelined(frame, 20_000), 120)
            client.close()
        await asyncio.sleep(0.3)
    finally:
        await bench.stop_ws_server(proc)


def framing_share(stats_path: str) -> tuple:
    """(total seconds, framing seconds) of one profile."""
    stats = pstats.Stats(stats_path).stats  # type: ignore[attr-defined]
    total = framing = 0.0
    for (filename, _, name), row in stats.items():
        total += row[2]
        if any(filename.endswith(end) and name == func for end, func in FRAMING):
            framing += row[2]
        elif filename == "~" and any(word in name for word in BUILTINS):
            framing += row[2]
    return total, framing


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        for label, patch in (("unpatched", ""), ("patched", "1")):
            path = os.path.join(tmp, f"{label}.prof")
            asyncio.run(load(patch, path))
            total, framing = framing_share(path)
            print(f"{label:>9}: server time {total:.2f} s, framing {framing:.2f} s = {100 * framing / total:.0f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())

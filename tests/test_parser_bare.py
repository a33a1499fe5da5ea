"""``FrameParser(bare_messages=True)``: whole plain data messages as str / bytes.

On every backend (the ``codec`` fixture): the output is the default
output with each whole data message whose RSV bits are clear replaced by its
value (bytes for binary, str for validated text), on valid and hostile
input, in one feed or cut at random; errors and ``exc.frames`` alike.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from codec_helpers import BINARY, PING, TEXT, client_frame, error_tuple, frame_tuple
from framegen import chunkings, streams
from hypothesis import given
from hypothesis import strategies as st


def as_bare(item: Any, opts: Dict[str, Any]) -> Any:
    """What bare_messages makes of one item of the default output."""
    whole = opts.get("reassemble", True) or (item.fin and int(item.opcode) != 0)
    plain = not (item.rsv1 or item.rsv2 or item.rsv3)
    if not (item.fin and whole and plain):
        return item
    if int(item.opcode) == BINARY:
        return bytes(item.payload)
    if int(item.opcode) == TEXT and opts.get("validate_utf8", True):
        return bytes(item.payload).decode()
    return item


def trace(codec: Any, opts: Dict[str, Any], chunks: List[bytes], bare: bool) -> List[Any]:
    parser = codec.FrameParser(**dict(opts, bare_messages=bare))
    steps: List[Any] = []
    for chunk in chunks:
        try:
            out = parser.feed(chunk)
        except Exception as exc:
            if not bare:
                exc.frames = [as_bare(f, opts) for f in getattr(exc, "frames", [])]  # type: ignore[attr-defined]
            steps.append(("raise", error_tuple(exc)))
        else:
            steps.append(("ok", [frame_tuple(f if bare else as_bare(f, opts)) for f in out]))
    return steps


@given(data=st.data())
def test_bare_is_the_default_output_mapped(codec: Any, data: Any) -> None:
    opts, wire = data.draw(streams(hostile=True))
    chunks = data.draw(chunkings(wire))
    assert trace(codec, opts, chunks, bare=True) == trace(codec, opts, chunks, bare=False)


@pytest.mark.parametrize("reassemble", [True, False])
def test_one_object_per_message(codec: Any, reassemble: bool) -> None:
    parser = codec.FrameParser(is_server=True, bare_messages=True, reassemble=reassemble)
    wire = (
        client_frame(TEXT, "h\u00e9llo".encode())
        + client_frame(BINARY, b"\x00\x01")
        + client_frame(PING, b"p")
        + client_frame(TEXT, b"")
    )
    out = parser.feed(wire)
    assert out[0] == "h\u00e9llo" and type(out[0]) is str
    assert out[1] == b"\x00\x01" and type(out[1]) is bytes
    assert int(out[2].opcode) == PING
    assert out[3] == ""


def test_compressed_and_unvalidated_text_stay_frames(codec: Any) -> None:
    parser = codec.FrameParser(is_server=True, bare_messages=True, validate_utf8=False, rsv_allowed=(True, False, False))
    out = parser.feed(client_frame(TEXT, b"\xff", rsv1=False) + client_frame(BINARY, b"z", rsv1=True))
    assert [frame_tuple(f) for f in out] == [(TEXT, b"\xff", True, False, False, False), (BINARY, b"z", True, True, False, False)]

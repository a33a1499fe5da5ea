"""websockets: C ``speedups.apply_mask``, pure ``utils.apply_mask``, the sans-IO Protocol, Frame.serialize."""

from __future__ import annotations

from typing import Any, Callable

from ._base import Catalog, Prepared, load

__all__ = ["add_websockets"]


def add_websockets(cat: Catalog) -> None:
    """Add websockets' masks (C speedups, pure), Protocol parser and Frame encoder."""
    try:
        ws_frames = load("websockets.frames")
        ws_utils = load("websockets.utils")
        ws_protocol = load("websockets.protocol")
        OPEN, Protocol, Side = ws_protocol.OPEN, ws_protocol.Protocol, ws_protocol.Side
    except ImportError as exc:
        cat.missing["websockets"] = str(exc)
        return
    try:
        fast_mask = load("websockets.speedups").apply_mask
    except ImportError as exc:
        cat.missing["websockets (speedups)"] = str(exc)
    else:
        cat.add("mask_copy", "websockets", "peer", lambda data, key: Prepared(fast_mask, (data, key)), note="websockets.speedups.apply_mask")
    cat.add("mask_copy", "websockets py", "peer", lambda data, key: Prepared(ws_utils.apply_mask, (data, key)), note="websockets.utils.apply_mask")

    text_op = ws_frames.Opcode.TEXT

    def parser(pure: bool) -> Callable[[bytes, int], Prepared]:
        def prepare(stream_bytes: bytes, count: int) -> Prepared:
            proto = Protocol(Side.SERVER, state=OPEN, max_size=None)

            def run(data: bytes) -> int:
                saved = ws_frames.apply_mask
                if pure:  # websockets' own pure path, as without its C speedups
                    ws_frames.apply_mask = ws_utils.apply_mask
                try:
                    proto.receive_data(data)
                finally:
                    ws_frames.apply_mask = saved
                events = proto.events_received()
                for frame in events:  # the connection layer decodes text (validation)
                    if frame.opcode is text_op:
                        bytes(frame.data).decode()
                return len(events)

            return Prepared(run, (stream_bytes,))

        return prepare

    note = "Protocol.receive_data + events_received, then decode() of each text frame"
    if "websockets (speedups)" not in cat.missing:
        cat.add("parse", "websockets", "peer", parser(False), note=note)
    cat.add("parse", "websockets py", "peer", parser(True), note=note + " (pure apply_mask)")

    ws_frame = ws_frames.Frame
    binary = ws_frames.Opcode.BINARY

    def encode(payload: bytes) -> Any:
        return ws_frame(binary, payload).serialize(mask=False)

    cat.add("encode", "websockets", "peer", lambda payload: Prepared(encode, (payload,)), note="Frame(...).serialize(mask=False)")

"""Peers with one or two functions each: wsproto (pure Python), wsaccel, tornado."""

from __future__ import annotations

from ._base import Catalog, Prepared, load

__all__ = ["add_wsproto", "add_wsaccel", "add_tornado"]


def add_wsproto(cat: Catalog) -> None:
    """Add wsproto's pure-Python masker, FrameProtocol parser and encoder."""
    try:
        wsproto_frames = load("wsproto.frame_protocol")
        FrameProtocol, XorMaskerSimple = wsproto_frames.FrameProtocol, wsproto_frames.XorMaskerSimple
    except ImportError as exc:
        cat.missing["wsproto"] = str(exc)
        return
    cat.add("mask_copy", "wsproto", "peer", lambda data, key: Prepared(XorMaskerSimple(key).process, (data,)), note="XorMaskerSimple.process (pure Python)")

    def parse(stream_bytes: bytes, count: int) -> Prepared:
        proto = FrameProtocol(client=False, extensions=[])

        def run(data: bytes) -> int:
            proto.receive_bytes(data)
            n = 0
            for _ in proto.received_frames():  # text frames are decoded (validated) here
                n += 1
            return n

        return Prepared(run, (stream_bytes,))

    cat.add("parse", "wsproto", "peer", parse, note="FrameProtocol.receive_bytes + received_frames")
    cat.add("encode", "wsproto", "peer", lambda payload: Prepared(FrameProtocol(client=False, extensions=[]).send_data, (payload,)), note="FrameProtocol.send_data")


def add_wsaccel(cat: Catalog) -> None:
    """Add wsaccel's compiled masker and UTF-8 validator."""
    try:
        Utf8Validator = load("wsaccel.utf8validator").Utf8Validator
        XorMaskerSimple = load("wsaccel.xormask").XorMaskerSimple
    except ImportError as exc:
        cat.missing["wsaccel"] = str(exc)
        return
    cat.add("mask_copy", "wsaccel", "peer", lambda data, key: Prepared(XorMaskerSimple(key).process, (data,)), note="XorMaskerSimple.process")

    def utf8(data: bytes) -> Prepared:
        validator = Utf8Validator()

        def run(buf: bytes) -> bool:
            validator.reset()
            valid, complete = validator.validate(buf)[:2]
            return bool(valid and complete)

        return Prepared(run, (data,))

    cat.add("utf8", "wsaccel", "peer", utf8, note="Utf8Validator.validate after reset()")


def add_tornado(cat: Catalog) -> None:
    """Add tornado's compiled websocket_mask (copy-out)."""
    try:
        websocket_mask = load("tornado.speedups").websocket_mask
    except ImportError as exc:
        cat.missing["tornado"] = str(exc)
        return
    cat.add("mask_copy", "tornado", "peer", lambda data, key: Prepared(websocket_mask, (key, data)), note="tornado.speedups.websocket_mask")

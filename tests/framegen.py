"""Hypothesis strategies that write WebSocket frame streams, valid and hostile.

A stream is a list of messages (whole or fragmented, with control frames
between fragments), each frame with random FIN/RSV bits, mask keys and length
encodings, optionally broken on purpose: wrong mask direction, reserved
opcodes, RSV bits, invalid UTF-8, oversized or fragmented control frames,
stray continuations, lying lengths, random byte corruption or truncation.
Frames are written by ``codec_helpers.build_frame``, never by wsframe.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from codec_helpers import BINARY, CLOSE, CONT, PING, PONG, TEXT, build_frame
from hypothesis import strategies as st

# Text chunks chosen to put multi-byte code points across frame boundaries.
TEXT_ALPHABET = st.characters(codec="utf-8", categories=["Lu", "Ll", "Nd", "Zs", "So", "Lo", "Po"])
BAD_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xe2\x82", b"\xf0\x9f\x98"]


@st.composite
def payloads(draw: Any, text: bool, max_size: int = 300) -> bytes:
    """A payload: UTF-8 text (sometimes broken) or arbitrary bytes; sometimes 126+ or 64 KiB+."""
    big = draw(st.sampled_from([0] * 30 + [1, 2]))
    if text:
        body = draw(st.text(alphabet=TEXT_ALPHABET, max_size=max_size // 4)).encode()
        if draw(st.integers(0, 9)) == 0:
            where = draw(st.integers(0, len(body)))
            body = body[:where] + draw(st.sampled_from(BAD_UTF8)) + body[where:]
    else:
        body = draw(st.binary(max_size=max_size))
    if big == 1:
        body += b"a" * draw(st.integers(126 - len(body) if len(body) < 126 else 0, 400))
    elif big == 2:
        body += b"b" * draw(st.integers(65536 - len(body) if len(body) < 65536 else 0, 70000))
    return body


def split_bytes(draw: Any, data: bytes, parts: int) -> List[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), min_size=parts - 1, max_size=parts - 1)))
    out, prev = [], 0
    for c in cuts:
        out.append(data[prev:c])
        prev = c
    out.append(data[prev:])
    return out


@st.composite
def frame_specs(draw: Any, hostile: bool) -> List[Dict[str, Any]]:
    """A list of frame descriptions (opcode, payload, flags) forming messages."""
    specs: List[Dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["text", "binary", "control"]))
        if kind == "control":
            opcode = draw(st.sampled_from([PING, PONG, CLOSE]))
            if opcode == CLOSE:
                code = draw(st.sampled_from([1000, 1001, 1002, 1011, 3000, 4999, 1005, 999, 5000]))
                reason = draw(st.sampled_from([b"", b"bye", "\u00e9t\u00e9".encode(), b"\xff"]))
                body = draw(st.sampled_from([b"", code.to_bytes(2, "big") + reason, b"\x03"]))
            else:
                body = draw(st.binary(max_size=125))
            specs.append({"opcode": opcode, "payload": body})
            continue
        is_text = kind == "text"
        body = draw(payloads(is_text))
        nfrag = draw(st.sampled_from([1, 1, 1, 2, 3, 5]))
        pieces = split_bytes(draw, body, nfrag)
        rsv1 = draw(st.sampled_from([False] * 5 + [True]))
        for i, piece in enumerate(pieces):
            specs.append(
                {
                    "opcode": (TEXT if is_text else BINARY) if i == 0 else CONT,
                    "payload": piece,
                    "fin": i == len(pieces) - 1,
                    "rsv1": rsv1 and i == 0,
                }
            )
            if i < len(pieces) - 1 and draw(st.integers(0, 3)) == 0:
                specs.append({"opcode": draw(st.sampled_from([PING, PONG])), "payload": draw(st.binary(max_size=20))})
    if hostile and specs and draw(st.booleans()):
        victim = specs[draw(st.integers(0, len(specs) - 1))]
        breakage = draw(
            st.sampled_from(["opcode", "rsv2", "rsv3", "rsv1", "nofin", "control_long", "stray_cont", "mask", "lie", "bad_utf8"])
        )
        if breakage == "opcode":
            victim["opcode"] = draw(st.sampled_from([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]))
        elif breakage in ("rsv1", "rsv2", "rsv3"):
            victim[breakage] = True
        elif breakage == "nofin":
            victim["fin"] = False
        elif breakage == "control_long":
            victim["opcode"] = draw(st.sampled_from([PING, PONG, CLOSE]))
            victim["payload"] = b"\x03\xe8" + b"x" * draw(st.integers(124, 200))
        elif breakage == "stray_cont":
            specs.insert(draw(st.integers(0, len(specs))), {"opcode": CONT, "payload": b"stray", "fin": draw(st.booleans())})
        elif breakage == "mask":
            victim["flip_mask"] = True
        elif breakage == "lie":
            victim["length"] = draw(st.sampled_from([126, 65535, 65536, 2**32, 2**63 - 1, 2**63, 2**64 - 1]))
        elif breakage == "bad_utf8":
            victim["payload"] = bytes(victim["payload"]) + draw(st.sampled_from(BAD_UTF8))
    return specs


def write_frames(draw: Any, specs: List[Dict[str, Any]], masked: bool) -> bytes:
    """Serialize ``specs``; masked frames get random keys and sometimes non-minimal lengths."""
    out = []
    for spec in specs:
        use_mask = masked != spec.get("flip_mask", False)
        key = draw(st.binary(min_size=4, max_size=4)) if use_mask else None
        payload = spec["payload"]
        length = spec.get("length")
        if length is not None and length >= 2**63:
            # build_frame packs at most 2**64-1; the MSB case on the wire
            length_bytes = length.to_bytes(8, "big")
            b0 = 0x80 | spec["opcode"]
            head = bytes([b0, (0x80 if key else 0) | 127]) + length_bytes + (key or b"")
            out.append(head + payload)
            continue
        long_form = draw(st.sampled_from([None] * 12 + [2, 8])) if length is None else None
        if long_form == 2 and len(payload) >= 65536:
            long_form = 8
        out.append(
            build_frame(
                spec["opcode"],
                payload,
                fin=spec.get("fin", True),
                rsv1=spec.get("rsv1", False),
                rsv2=spec.get("rsv2", False),
                rsv3=spec.get("rsv3", False),
                mask=key,
                length=length,
                long_form=long_form,
            )
        )
    return b"".join(out)


@st.composite
def parser_options(draw: Any) -> Dict[str, Any]:
    """FrameParser keyword arguments, with small limits sometimes."""
    opts: Dict[str, Any] = {"is_server": draw(st.booleans())}
    if draw(st.booleans()):
        opts["max_frame_size"] = draw(st.sampled_from([0, 1, 5, 125, 126, 300, 65536, 1 << 20]))
    if draw(st.booleans()):
        opts["max_message_size"] = draw(st.sampled_from([0, 1, 10, 200, 1000, 70000]))
    if draw(st.booleans()):
        opts["max_fragments"] = draw(st.sampled_from([1, 2, 3, 4]))
    opts["reassemble"] = draw(st.booleans())
    opts["validate_utf8"] = draw(st.sampled_from([True, True, True, False]))
    opts["rsv_allowed"] = draw(st.tuples(st.booleans(), st.sampled_from([False, False, True]), st.sampled_from([False, False, True])))
    return opts


@st.composite
def streams(draw: Any, hostile: bool = True) -> Tuple[Dict[str, Any], bytes]:
    """(parser options, wire bytes): a frame stream for the parser's role, maybe corrupted."""
    opts = draw(parser_options())
    wire = write_frames(draw, draw(frame_specs(hostile)), masked=opts["is_server"])
    if hostile and wire:
        action = draw(st.sampled_from(["none"] * 6 + ["flip", "truncate", "garbage"]))
        if action == "flip":
            buf = bytearray(wire)
            for _ in range(draw(st.integers(1, 3))):
                i = draw(st.integers(0, len(buf) - 1))
                buf[i] ^= 1 << draw(st.integers(0, 7))
            wire = bytes(buf)
        elif action == "truncate":
            wire = wire[: draw(st.integers(0, len(wire)))]
        elif action == "garbage":
            wire += draw(st.binary(min_size=1, max_size=40))
    return opts, wire


@st.composite
def chunkings(draw: Any, data: bytes, max_cuts: int = 6) -> List[bytes]:
    """``data`` cut at a few random offsets (empty chunks allowed)."""
    return split_bytes(draw, data, draw(st.integers(1, max_cuts + 1)))

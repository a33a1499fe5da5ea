#!/usr/bin/env python3
"""atheris harness: the C and pure backends must agree on every input.

The same bytes, split at the same points, go through ``wsframe._codec_c`` and
``wsframe._codec_py``: FrameParser (frames, or error type, close code, reason,
UTF-8 position and the frames riding on the error; ``buffered``; feed_eof),
Utf8Validator, find_invalid_utf8, apply_mask, decode_frame_header and
decode_close_payload. Any disagreement is a crash (wsaccel#4 shipped one).
Coverage comes from the instrumented pure twin (and from the C extension too
when it was built by fuzz/build_native.sh).

    python3 fuzz/fuzz_differential.py fuzz/corpus/differential -max_total_time=60
"""

from __future__ import annotations

from typing import Any, Callable

import _common as fc


def build() -> Callable[[bytes], None]:
    c = fc.load_backend("c")
    py = fc.load_backend("py")
    from wsframe.errors import WebSocketError

    errors = (WebSocketError, ValueError, TypeError)

    def same(what: str, call: Callable[[Any], Any], convert: Callable[[Any], Any] = lambda r: r) -> Any:
        """Run ``call(codec)`` on both backends; fail unless the outcomes match."""
        oc = fc.outcome(lambda: convert(call(c)), errors)
        op = fc.outcome(lambda: convert(call(py)), errors)
        if oc != op:
            raise AssertionError(f"{what}: C {oc!r} != pure {op!r}")
        return oc

    def frames(result: Any) -> Any:
        return [fc.frame_tuple(f) for f in result]

    def parsers(fdp: Any) -> None:
        options = fc.parser_options(fdp)
        pc, pp = c.FrameParser(**options), py.FrameParser(**options)
        stream = fc.parser_input(fdp, options["is_server"])
        for i, chunk in enumerate(fc.chunks(fdp, stream)):
            kind, _ = same(f"feed #{i} {options}", lambda m, chunk=chunk: (pc if m is c else pp).feed(chunk), frames)
            if (pc.buffered, pc.failed) != (pp.buffered, pp.failed):
                raise AssertionError(
                    f"buffered/failed after feed #{i}: C {(pc.buffered, pc.failed)} != pure {(pp.buffered, pp.failed)}"
                )
            if kind == "error" and fdp.ConsumeBool():
                break
        same("feed_eof", lambda m: (pc if m is c else pp).feed_eof())

    def validators(fdp: Any) -> None:
        vc, vp = c.Utf8Validator(), py.Utf8Validator()
        data = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 512))
        for chunk in fc.chunks(fdp, data):
            final = fdp.ConsumeIntInRange(0, 7) == 0
            same("Utf8Validator.feed", lambda m, chunk=chunk, final=final: (vc if m is c else vp).feed(chunk, final))
            if (vc.position, vc.pending) != (vp.position, vp.pending):
                raise AssertionError(
                    f"position/pending: C {(vc.position, vc.pending)} != pure {(vp.position, vp.pending)}"
                )
        same("Utf8Validator.feed final", lambda m: (vc if m is c else vp).feed(b"", True))

    def one_shots(fdp: Any) -> None:
        data = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 300))
        mask = fdp.ConsumeBytes(4).ljust(4, b"\0")
        offset = fdp.ConsumeIntInRange(0, 9)
        same("find_invalid_utf8", lambda m: m.find_invalid_utf8(data))
        same("validate_utf8", lambda m: m.validate_utf8(data))
        same("apply_mask", lambda m: m.apply_mask(data, mask, offset))
        same("decode_close_payload", lambda m: m.decode_close_payload(data[:125]))
        same("decode_frame_header", lambda m: m.decode_frame_header(data, offset), repr_header)

    def repr_header(h: Any) -> Any:
        if h is None:
            return None
        return (h.fin, h.rsv1, h.rsv2, h.rsv3, int(h.opcode), h.masked, h.length, h.mask, h.size)

    targets = (parsers, parsers, parsers, validators, one_shots)

    def test_one_input(data: bytes) -> None:
        fdp = fc.atheris.FuzzedDataProvider(data[: fc.MAX_INPUT])
        fc.pick(fdp, targets)(fdp)

    return test_one_input


if __name__ == "__main__":
    fc.main(build)

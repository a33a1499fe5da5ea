#!/usr/bin/env python3
"""atheris harness: FrameParser of one backend (``WSFRAME_FUZZ_BACKEND=c|py``).

Invariants checked on every input, besides "no crash, no hang":
only ProtocolError subclasses escape; an error is sticky (the next feed and
feed_eof raise the same error); frames respect the limits, control frames are
at most 125 bytes, reassembled text is valid UTF-8; what the parser buffers
stays within its limits (RFC 6455 section 10.4: bounded resources).

    python3 fuzz/fuzz_parser.py fuzz/corpus/parser -max_total_time=60
"""

from __future__ import annotations

from typing import Callable

import _common as fc


def check_frames(frames: list, options: dict) -> None:
    """Assert the RFC 6455 properties every returned frame must have."""
    for frame in frames:
        opcode = int(frame.opcode)
        assert opcode in fc.DEFINED_OPCODES, opcode
        size = len(frame.payload)
        if opcode >= 0x8:  # RFC 6455 section 5.5: control frames
            assert size <= 125 and frame.fin, frame
            continue
        limit = options["max_message_size"] if options["reassemble"] else options["max_frame_size"]
        assert size <= limit, (size, options)
        if options["reassemble"]:
            assert opcode in (0x1, 0x2) and frame.fin, frame
            if opcode == 0x1 and options["validate_utf8"] and not frame.rsv1:
                frame.payload.decode("utf-8")  # RFC 6455 section 8.1


def build() -> Callable[[bytes], None]:
    codec = fc.load_backend(fc.backend_name())
    from wsframe.errors import ProtocolError

    def test_one_input(data: bytes) -> None:
        fdp = fc.atheris.FuzzedDataProvider(data[: fc.MAX_INPUT])
        options = fc.parser_options(fdp)
        parser = codec.FrameParser(**options)
        stream = fc.parser_input(fdp, options["is_server"])
        bound = options["max_message_size"] + max(options["max_frame_size"], 125) + 2 * 14
        error = None
        for chunk in fc.chunks(fdp, stream):
            try:
                check_frames(parser.feed(chunk), options)
            except ProtocolError as exc:
                check_frames(exc.frames, options)
                error = fc.error_tuple(exc)[:4]
                break
            assert parser.buffered <= bound, (parser.buffered, options)
        if error is None:
            try:
                parser.feed_eof()
            except ProtocolError as exc:
                assert int(exc.code) == 1006, exc
            return
        # After an error: no buffer, failed, and the same error again (sticky).
        assert parser.failed and parser.buffered == 0
        for again in (lambda: parser.feed(b"\x81\x00"), parser.feed_eof):
            try:
                again()
            except ProtocolError as exc:
                assert fc.error_tuple(exc)[:4] == error, (fc.error_tuple(exc), error)
            else:
                raise AssertionError("a failed parser accepted more input")

    return test_one_input


if __name__ == "__main__":
    fc.main(build)

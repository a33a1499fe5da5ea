#!/usr/bin/env python3
"""atheris harness: the incremental UTF-8 validator of one backend.

``bytes.decode("utf-8")`` is the oracle (RFC 3629): fed in chunks chosen by
the input, ``Utf8Validator`` must fail exactly when the whole input is
invalid, at ``UnicodeDecodeError.start``, never before that byte has been fed
(fail-fast but never early), and only at ``final`` for input that merely ends
inside a code point. ``find_invalid_utf8``/``validate_utf8`` are checked too.

    WSFRAME_FUZZ_BACKEND=py python3 fuzz/fuzz_utf8.py fuzz/corpus/utf8 -max_total_time=60
"""

from __future__ import annotations

from typing import Callable, Optional

import _common as fc


def oracle(data: bytes) -> Optional[int]:
    """Offset of the first invalid sequence per CPython, None when valid."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def build() -> Callable[[bytes], None]:
    codec = fc.load_backend(fc.backend_name())
    from wsframe.errors import InvalidUTF8

    def test_one_input(data: bytes) -> None:
        fdp = fc.atheris.FuzzedDataProvider(data[: fc.MAX_INPUT])
        if fdp.ConsumeBool():  # mostly valid text, with defects spliced in
            text = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 256)).encode("utf-8")
            cut = fdp.ConsumeIntInRange(0, len(text))
            text = text[:cut] + fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4)) + text[cut:]
        else:
            text = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 1024))
        expected = oracle(text)
        assert codec.find_invalid_utf8(text) == (-1 if expected is None else expected)
        assert codec.validate_utf8(text) == (expected is None)

        validator = codec.Utf8Validator()
        fed = 0
        raised: Optional[int] = None
        for chunk in fc.chunks(fdp, text):
            try:
                validator.feed(chunk)
            except InvalidUTF8 as exc:
                raised = exc.position
                break
            fed += len(chunk)
            assert validator.position == fed and 0 <= validator.pending <= 3
        else:
            try:
                validator.feed(b"", final=True)
            except InvalidUTF8 as exc:
                raised = exc.position
        assert raised == expected, (raised, expected, text)
        if raised is not None:  # sticky until reset()
            try:
                validator.feed(b"a")
            except InvalidUTF8 as exc:
                assert exc.position == raised
            else:
                raise AssertionError("a failed validator accepted more input")
            validator.reset()
            validator.feed(b"ok", final=True)

    return test_one_input


if __name__ == "__main__":
    fc.main(build)

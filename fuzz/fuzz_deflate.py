#!/usr/bin/env python3
"""atheris harness: the permessage-deflate codec (RFC 7692) under fuzzed input.

Inflating arbitrary payloads may only raise ProtocolError (1002) or
MessageTooBig (1009) and never produces more than ``max_size`` bytes (a
decompression bomb stays bounded); fuzzed messages compressed by one end and
inflated by the other come back unchanged, with and without context
takeover and for every window size.

    python3 fuzz/fuzz_deflate.py fuzz/corpus/deflate -max_total_time=60
"""

from __future__ import annotations

import sys
from typing import Callable

import _common as fc


def build() -> Callable[[bytes], None]:
    with fc.atheris.instrument_imports(include=["wsframe"]):
        try:
            from wsframe import deflate
        except ImportError:
            sys.exit("SKIP: wsframe.deflate does not exist in this tree")
        from wsframe.deflate.params import Agreement
        from wsframe.enums import Opcode
        from wsframe.errors import MessageTooBig, ProtocolError

    def agreement(fdp: "fc.atheris.FuzzedDataProvider") -> Agreement:
        bits = (None, 8, 9, 12, 15)
        return Agreement(fdp.ConsumeBool(), fdp.ConsumeBool(), fc.pick(fdp, bits), fc.pick(fdp, bits))

    def test_one_input(data: bytes) -> None:
        fdp = fc.atheris.FuzzedDataProvider(data[: fc.MAX_INPUT])
        agreed = agreement(fdp)
        level = fdp.ConsumeIntInRange(0, 9)
        sender = deflate.PerMessageDeflate(
            "client", agreed, compress_level=level, min_size=fdp.ConsumeIntInRange(0, 64)
        )
        receiver = deflate.PerMessageDeflate("server", agreed)
        # Hostile payloads go to a receiver of their own: one that inflated
        # garbage without an error may sit inside a stored block, and then
        # rightly misreads later messages of the same stream.
        hostile = deflate.PerMessageDeflate("server", agreed)
        for _ in range(fdp.ConsumeIntInRange(1, 6)):
            max_size = fc.pick(fdp, (0, 1, 100, 4096, 1 << 20))
            if fdp.ConsumeIntInRange(0, 2) == 0:  # raw, hostile bytes
                payload = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 2048))
                try:
                    out = hostile.decode_message(Opcode.BINARY, payload, max_size)
                except (ProtocolError, MessageTooBig):
                    hostile = deflate.PerMessageDeflate("server", agreed)  # the connection fails
                    continue
                assert len(out) <= max_size
                continue
            message = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096))
            if fdp.ConsumeBool():
                message = message * fdp.ConsumeIntInRange(1, 64)  # compressible
            wire, rsv1 = sender.encode_message(Opcode.BINARY, message)
            if not rsv1:
                assert wire == message
                continue
            try:
                out = receiver.decode_message(Opcode.BINARY, wire, max_size)
            except MessageTooBig:
                assert len(message) > max_size, (len(message), max_size)
                # both ends start over, as a new connection would
                sender = deflate.PerMessageDeflate("client", agreed, compress_level=level)
                receiver = deflate.PerMessageDeflate("server", agreed)
                continue
            assert out == message, (len(out), len(message), agreed)

    return test_one_input


if __name__ == "__main__":
    fc.main(build)

#!/usr/bin/env python3
"""atheris harness: the opening handshake parsers (wsframe.handshake).

Server side: bytes split at fuzzed points into a size-limited ``HeadReader``,
then ``parse_request`` and ``accept`` (with permessage-deflate offered when
the package has it). Client side: ``parse_response`` and ``check_response``
against a request we built. Bad input may only raise ``InvalidHandshake``
(RFC 6455 section 4: answered with an HTTP status), and a refused request
always carries a response to send; the reader never holds more than its limit.

    python3 fuzz/fuzz_handshake.py fuzz/corpus/handshake -max_total_time=60
"""

from __future__ import annotations

from typing import Callable

import _common as fc

REQUEST = (
    b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
)


def build() -> Callable[[bytes], None]:
    with fc.atheris.instrument_imports(include=["wsframe"]):
        from wsframe import handshake as hs

        try:
            from wsframe import deflate
        except ImportError:  # built before permessage-deflate existed
            deflate = None

    server_ext = [deflate.ServerPerMessageDeflate()] if deflate else []
    client_ext = [deflate.ClientPerMessageDeflate()] if deflate else []

    def server(fdp: "fc.atheris.FuzzedDataProvider", data: bytes) -> None:
        limits = (fdp.ConsumeIntInRange(16, 4096), fdp.ConsumeIntInRange(0, 64), fdp.ConsumeIntInRange(8, 1024))
        reader = hs.HeadReader(*limits)
        done = None
        try:
            for chunk in fc.chunks(fdp, data):
                done = reader.feed(chunk)
                assert reader.buffered <= limits[0] + 1 + len(chunk), (reader.buffered, limits)
                if done is not None:
                    break
            if done is None:
                return
            head, _rest = done
            request = hs.parse_request(head)
            hs.accept(request, subprotocols=["chat"], extensions=server_ext, origins=None)
        except hs.InvalidHandshake as exc:
            assert exc.response.startswith(b"HTTP/1.1 ") and 400 <= exc.status <= 599, exc

    def client(fdp: "fc.atheris.FuzzedDataProvider", data: bytes) -> None:
        request = hs.build_request("example.com", "/", subprotocols=["chat"], extensions=client_ext)
        if fdp.ConsumeBool():  # a real 101 for this key, with fuzzed fields after it
            data = (
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + b"Sec-WebSocket-Accept: "
                + hs.accept_key(request.key).encode()
                + b"\r\n"
                + data
            )
        try:
            response = hs.parse_response(data)
            hs.check_response(response, request)
        except hs.InvalidHandshake:
            pass

    def test_one_input(data: bytes) -> None:
        fdp = fc.atheris.FuzzedDataProvider(data[: fc.MAX_INPUT])
        mode = fdp.ConsumeIntInRange(0, 3)
        body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096))
        if mode == 0:  # the template request with fuzzed bytes spliced in
            cut = fdp.ConsumeIntInRange(0, len(REQUEST))
            body = REQUEST[:cut] + body + REQUEST[cut + fdp.ConsumeIntInRange(0, 8) :]
        (client if mode == 3 else server)(fdp, body)

    return test_one_input


if __name__ == "__main__":
    fc.main(build)

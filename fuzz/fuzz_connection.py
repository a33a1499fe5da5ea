#!/usr/bin/env python3
"""atheris harness: wsframe.Connection (sans-I/O) driven by fuzzed peers.

A server or client, starting with the opening handshake or already OPEN,
with or without permessage-deflate, gets fuzzed bytes in fuzzed chunks with
application calls (send, ping, close) in between. ``receive_data`` and
``receive_eof`` must never raise, application calls may only raise
InvalidState, and (for connections that start OPEN) every byte the
connection writes must parse cleanly as frames on the peer's side:
whatever a peer sends, we never answer with an invalid frame (RFC 6455
section 5).

    python3 fuzz/fuzz_connection.py fuzz/corpus/connection -max_total_time=60
"""

from __future__ import annotations

from typing import Any, Callable

import _common as fc

REQUEST = (
    b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


def build() -> Callable[[bytes], None]:
    with fc.atheris.instrument_imports(include=["wsframe"]):
        import wsframe
        from wsframe import handshake as hs
        from wsframe.connection import InvalidState

        try:
            from wsframe import deflate
            from wsframe.deflate.params import Agreement
        except ImportError:
            deflate = None
    codec = wsframe._backend.codec
    close_codes = (None, 1000, 1001, 1011, 3000, 4999)

    def app_call(fdp: Any, conn: Any) -> None:
        """One application action chosen by the input; only InvalidState may escape."""
        action = fdp.ConsumeIntInRange(0, 7)
        try:
            if action == 1:
                conn.send_text(
                    fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 200)), fc.pick(fdp, (None, 1, 7, 100))
                )
            elif action == 2:
                conn.send_binary(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 200)))
            elif action == 3:
                conn.send_ping(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 125)))
            elif action == 4:
                reason = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 30))
                code = fc.pick(fdp, close_codes)
                conn.close(code, reason if code is not None and len(reason.encode()) <= 123 else "")
        except InvalidState:
            pass

    def handshake_bytes(fdp: Any, conn: Any, server: bool) -> bytes:
        """A request (server) or a matching 101 (client), possibly damaged."""
        if server:
            head = REQUEST
            if fdp.ConsumeBool():
                head += b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            head += b"\r\n"
        else:
            request = hs.parse_request(conn.data_to_send())
            key = request.headers.get("Sec-WebSocket-Key")
            head = (
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + hs.accept_key(key).encode() + b"\r\n\r\n"
            )
        if fdp.ConsumeIntInRange(0, 7) == 0:
            cut = fdp.ConsumeIntInRange(0, len(head))
            head = head[:cut] + fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 16)) + head[cut:]
        return head

    def test_one_input(data: bytes) -> None:
        fdp = fc.atheris.FuzzedDataProvider(data[: fc.MAX_INPUT])
        server = fdp.ConsumeBool()
        role = "server" if server else "client"
        start_open = fdp.ConsumeBool()
        use_deflate = deflate is not None and fdp.ConsumeBool()
        limits = {
            "max_frame_size": fc.pick(fdp, (125, 1000, 1 << 20)),
            "max_message_size": fc.pick(fdp, (125, 1000, 1 << 20)),
        }
        if start_open:
            exts = [deflate.PerMessageDeflate(role, Agreement())] if use_deflate else []
            conn = wsframe.Connection.opened(role, extensions=exts, **limits)
            stream = b""
        else:
            factories = []
            if use_deflate:
                factories = [deflate.ServerPerMessageDeflate() if server else deflate.ClientPerMessageDeflate()]
            conn = wsframe.Connection(role, host="h", extension_factories=factories, **limits)
            stream = handshake_bytes(fdp, conn, server)
        stream += fc.parser_input(fdp, to_server=server)
        # The peer's parser checks everything we write (OPEN from the start only).
        peer = codec.FrameParser(
            is_server=not server,
            max_frame_size=1 << 22,
            max_message_size=1 << 22,
            rsv_allowed=(use_deflate, False, False),
        )
        for chunk in fc.chunks(fdp, stream):
            conn.receive_data(chunk)
            assert isinstance(conn.events(), list)
            app_call(fdp, conn)
            out = conn.data_to_send()
            if start_open:
                peer.feed(out)  # a ProtocolError here is a bug: we sent a bad frame
            if conn.should_close_transport:
                break
        if fdp.ConsumeBool():
            conn.receive_eof()
            conn.events()
            out = conn.data_to_send()
            if start_open:
                peer.feed(out)

    return test_one_input


if __name__ == "__main__":
    fc.main(build)

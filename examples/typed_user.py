"""A small program that uses wsframe's public API the way a user would.

It exists to be type-checked: ``mypy --strict examples/typed_user.py`` must
pass against the installed package (``py.typed`` and ``_codec_c.pyi``), so a
change that makes the public types vaguer or wrong shows up here. It also
runs: ``python examples/typed_user.py`` prints what it did and exits 0.
"""

from __future__ import annotations

import sys
from typing import Dict, List, Optional, Union

import wsframe
import wsframe.sync
from wsframe import Connection, Frame, FrameParser, Opcode, Utf8Validator
from wsframe.aio import HTTPResponse, Router, ServerConnection, respond, route


def mask_roundtrip(payload: bytes, key: bytes) -> bool:
    """RFC 6455 section 5.3: masking twice with the same key gives the input back."""
    masked: bytes = wsframe.apply_mask(payload, key)
    buffer = bytearray(masked)
    wsframe.apply_mask_inplace(buffer, key)
    return bytes(buffer) == payload


def parse_client_frames(wire: bytes, chunk: int = 7) -> List[Frame]:
    """Feed a server-side parser in small chunks, as reads from a socket would."""
    parser = FrameParser(is_server=True, max_message_size=1 << 16)
    frames: List[Frame] = []
    for start in range(0, len(wire), chunk):
        frames.extend(parser.feed(wire[start : start + chunk]))
    parser.feed_eof()
    return frames


def first_bad_byte(chunks: List[bytes]) -> Optional[int]:
    """Where incremental UTF-8 validation fails, or None when the text is valid."""
    validator = Utf8Validator()
    try:
        for piece in chunks:
            validator.feed(piece)
        validator.feed(b"", final=True)
    except wsframe.InvalidUTF8 as exc:
        return exc.position
    return None


def echo_over_connections(messages: List[Union[str, bytes]]) -> List[Union[str, bytes]]:
    """A client and a server Connection (both already OPEN) echo messages."""
    client = Connection.opened("client")
    server = Connection.opened("server")
    for message in messages:
        if isinstance(message, str):
            client.send_text(message)
        else:
            client.send_binary(message)
    server.receive_data(client.data_to_send())
    for event in server.events():
        if isinstance(event, wsframe.TextMessage):
            server.send_text(event.data)
        elif isinstance(event, wsframe.BinaryMessage):
            server.send_binary(event.data)
    client.receive_data(server.data_to_send())
    echoed: List[Union[str, bytes]] = []
    for event in client.events():
        if isinstance(event, (wsframe.TextMessage, wsframe.BinaryMessage)):
            echoed.append(event.data)
    return echoed


def sync_echo(messages: List[Union[str, bytes]]) -> List[wsframe.sync.Data]:
    """A ``wsframe.sync`` server and client on loopback echo messages."""

    def echo(ws: wsframe.sync.ServerConnection) -> None:
        for message in ws:
            ws.send(message)

    with wsframe.sync.serve(echo, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        server.start()
        with wsframe.sync.connect(f"ws://127.0.0.1:{server.port}/", open_timeout=10.0) as ws:
            for message in messages:
                ws.send(message)
            answers = [ws.recv(timeout=10.0) for _ in messages]
            rtt: float = ws.ping(timeout=10.0)
            assert rtt >= 0.0
    return answers


async def room(ws: ServerConnection) -> None:
    """A route handler (never run here: the router is only matched against)."""
    await ws.send("hi")


def routing() -> bool:
    """``route()`` matches paths and parses queries; ``respond()`` builds a hook's answer."""
    router: Router = route({"/rooms/{room}": room})
    found = router.match("/rooms/lobby?tag=a&tag=b")
    answer: HTTPResponse = respond(404, "not found\n")
    return (
        found is not None
        and found.path_params == {"room": "lobby"}
        and found.query == {"tag": ["a", "b"]}
        and answer[0] == 404
        and router.match("/elsewhere") is None
    )


def main() -> int:
    """Run every example; 0 when each gives the expected answer."""
    info: Dict[str, object] = wsframe.backend_info()
    print(f"wsframe {wsframe.__version__}, backend {wsframe.BACKEND}, kernels {info['mask_kernel']}")

    ok = mask_roundtrip(b"Hello, WebSocket" * 100, b"\x37\xfa\x21\x3d")

    wire = wsframe.encode_frame(Opcode.TEXT, "h\u00e9llo".encode(), mask=True)
    wire += wsframe.encode_frame(Opcode.BINARY, bytes(range(256)), fin=False, mask=True)
    wire += wsframe.encode_frame(Opcode.PING, b"ping", mask=True)
    wire += wsframe.encode_frame(Opcode.CONTINUATION, b"tail", mask=True)
    frames = parse_client_frames(wire)
    kinds = [Opcode(frame.opcode).name for frame in frames]
    ok = ok and kinds == ["TEXT", "PING", "BINARY"] and frames[0].payload.decode() == "h\u00e9llo"

    header: Optional[wsframe.FrameHeader] = wsframe.decode_frame_header(wire)
    ok = ok and header is not None and header.masked and header.length == len("h\u00e9llo".encode())

    ok = ok and first_bad_byte([b"caf\xc3", b"\xa9 ok"]) is None
    ok = ok and first_bad_byte([b"abc", b"\xed\xa0\x80"]) == 3  # a UTF-16 surrogate

    code, reason = wsframe.decode_close_payload(wsframe.encode_close_payload(1001, "going away"))
    ok = ok and (code, reason) == (wsframe.CloseCode.GOING_AWAY, "going away")

    messages: List[Union[str, bytes]] = ["text", b"\x00binary\xff"]
    ok = ok and echo_over_connections(messages) == messages
    ok = ok and sync_echo(messages) == messages
    ok = ok and routing()

    print("all examples gave the expected answers" if ok else "an example went wrong")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

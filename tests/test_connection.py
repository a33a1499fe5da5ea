"""wsframe.Connection in memory: handshake, messages, control frames, closing,
protocol errors and the extension hook, on the live backend."""

from __future__ import annotations

import struct
from typing import List, Tuple

import pytest

import wsframe
from wsframe import (
    BinaryMessage,
    Closed,
    CloseReceived,
    Connection,
    Extension,
    FrameParser,
    HandshakeAccepted,
    HandshakeRejected,
    HandshakeRequest,
    InvalidState,
    MessageTooBig,
    Opcode,
    Ping,
    Pong,
    ProtocolError,
    ProtocolViolation,
    State,
    TextMessage,
    encode_broadcast,
    queue_broadcast,
    encode_frame,
)
from wsframe.handshake import (
    ClientExtensionFactory,
    InvalidOrigin,
    ServerExtensionFactory,
    build_request,
    parse_response,
)

MASK = b"\x01\x02\x03\x04"


def pair(**options: object) -> Tuple[Connection, Connection]:
    """A client and a server that completed the handshake in memory."""
    client_opts = {k[2:]: v for k, v in options.items() if k.startswith("c_")}
    server_opts = {k[2:]: v for k, v in options.items() if k.startswith("s_")}
    client = Connection("client", host="example.com", **client_opts)  # type: ignore[arg-type]
    server = Connection("server", **server_opts)  # type: ignore[arg-type]
    server.receive_data(client.data_to_send())
    assert isinstance(server.events()[0], HandshakeAccepted)
    client.receive_data(server.data_to_send())
    assert isinstance(client.events()[0], HandshakeAccepted)
    assert client.state is State.OPEN and server.state is State.OPEN
    return client, server


def transfer(src: Connection, dst: Connection) -> list:
    dst.receive_data(src.data_to_send())
    return dst.events()


def server_frames(data: bytes) -> list:
    """Frames a client would parse out of server bytes."""
    return FrameParser(is_server=False).feed(data)


def client_frames(data: bytes) -> list:
    return FrameParser(is_server=True).feed(data)


def close_code_of(data: bytes, from_server: bool = True) -> int:
    frames = server_frames(data) if from_server else client_frames(data)
    assert frames and frames[-1].opcode == Opcode.CLOSE, frames
    return struct.unpack("!H", frames[-1].payload[:2])[0]


# ---- handshake through the connection -----------------------------------------


def test_handshake_with_subprotocols() -> None:
    client, server = pair(c_subprotocols=["v2", "v1"], s_subprotocols=["v1", "v2"])
    assert client.subprotocol == server.subprotocol == "v1"
    assert server.request is not None and server.request.headers.get("Host") == "example.com"
    assert client.response is not None and client.response.status == 101


def test_handshake_trickled_byte_by_byte_then_frames_in_same_chunk() -> None:
    client = Connection("client", host="h")
    request = client.data_to_send()
    server = Connection("server")
    for i in range(len(request)):
        server.receive_data(request[i : i + 1])
        if i < len(request) - 1:
            assert server.events() == [] and server.data_to_send() == b""
    events = server.events()
    assert isinstance(events[0], HandshakeAccepted)
    # Pipelined: request and a frame in one read.
    server2 = Connection("server")
    server2.receive_data(request + encode_frame(Opcode.TEXT, b"hi", mask=MASK))
    events = server2.events()
    assert isinstance(events[0], HandshakeAccepted) and events[1] == TextMessage("hi")


def test_client_gets_frames_in_the_101_read() -> None:
    client = Connection("client", host="h")
    server = Connection("server")
    server.receive_data(client.data_to_send())
    server.send_text("welcome")
    client.receive_data(server.data_to_send())
    events = client.events()
    assert isinstance(events[0], HandshakeAccepted) and events[1] == TextMessage("welcome")


def hostile(request: bytes, **options: object) -> Tuple[int, List[object], Connection]:
    server = Connection("server", **options)  # type: ignore[arg-type]
    server.receive_data(request)
    events = server.events()
    data = server.data_to_send()
    status = parse_response(data.partition(b"\r\n\r\n")[0] + b"\r\n\r\n").status
    return status, events, server


GOOD = build_request("example.com", key="dGhlIHNhbXBsZSBub25jZQ==").data


@pytest.mark.parametrize(
    "request_, status",
    [
        (GOOD.replace(b"GET", b"PUT"), 400),
        (GOOD.replace(b"Host: example.com\r\n", b""), 400),
        (GOOD.replace(b"Upgrade: websocket\r\n", b""), 400),
        (GOOD.replace(b"Connection: Upgrade\r\n", b"Connection: close\r\n"), 400),
        (GOOD.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"short"), 400),
        (GOOD.replace(b"Version: 13", b"Version: 12"), 426),
        (GOOD.replace(b"HTTP/1.1", b"HTTP/1.0"), 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),  # TLS hello-ish garbage
        (GOOD[:-2] + b"X: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (GOOD[:-2] + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n", 431),
    ],
)
def test_hostile_handshakes(request_: bytes, status: int) -> None:
    got, events, server = hostile(request_)
    assert got == status
    assert isinstance(events[0], HandshakeRejected) and events[0].status == status
    assert isinstance(events[-1], Closed) and events[-1].code == 1006
    assert server.should_close_transport and server.state is State.CLOSED
    server.receive_data(b"more")  # ignored
    assert server.events() == [] and server.data_to_send() == b""


def test_endless_trickle_is_refused_with_431() -> None:
    server = Connection("server", max_head_size=4096)
    server.receive_data(b"GET / HTTP/1.1\r\n")
    for _ in range(5000):
        server.receive_data(b"a")
        if server.should_close_transport:
            break
    assert server.should_close_transport
    assert server.data_to_send().startswith(b"HTTP/1.1 431 ")


def test_origin_refused_403() -> None:
    request = build_request("h", origin="https://evil.example").data
    status, events, _ = hostile(request, origins=["https://good.example"])
    assert status == 403 and isinstance(events[0].error, InvalidOrigin)


def test_manual_accept_and_reject() -> None:
    client = Connection("client", host="h", subprotocols=["a", "b"])
    server = Connection("server", auto_accept=False)
    server.receive_data(client.data_to_send())
    (event,) = server.events()
    assert isinstance(event, HandshakeRequest) and event.subprotocols == ["a", "b"]
    assert server.data_to_send() == b""
    with pytest.raises(InvalidState):
        server.send_text("too early")
    server.accept(subprotocol="b", extra_headers=[("X-Test", "1")])
    assert isinstance(server.events()[0], HandshakeAccepted)
    client.receive_data(server.data_to_send())
    assert client.events()[0].subprotocol == "b"
    assert client.response.headers.get("X-Test") == "1"

    client = Connection("client", host="h")
    server = Connection("server", auto_accept=False)
    server.receive_data(client.data_to_send())
    server.events()
    with pytest.raises(ValueError):
        server.reject(101)
    server.reject(404, "no such room")
    assert server.should_close_transport
    events = server.events()
    assert isinstance(events[0], HandshakeRejected) and events[0].status == 404
    client.receive_data(server.data_to_send())
    events = client.events()
    assert isinstance(events[0], HandshakeRejected) and events[0].status == 404
    assert events[0].response.body == b"no such room\n"
    assert isinstance(events[1], Closed) and client.should_close_transport
    with pytest.raises(InvalidState):
        server.accept()


def test_client_refuses_bad_101() -> None:
    client = Connection("client", host="h")
    client.data_to_send()
    client.receive_data(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    )
    events = client.events()
    assert isinstance(events[0], HandshakeRejected) and events[0].status == 101
    assert client.state is State.CLOSED and client.should_close_transport


def test_client_needs_host_and_role_checked() -> None:
    with pytest.raises(ValueError):
        Connection("client")
    with pytest.raises(ValueError):
        Connection("peer")  # type: ignore[arg-type]


def test_opened_directly() -> None:
    server = Connection.opened("server", subprotocol="chat")
    assert server.state is State.OPEN and server.subprotocol == "chat"
    client = Connection("client", state=State.OPEN)
    client.send_text("hi")
    server.receive_data(client.data_to_send())
    assert server.events() == [TextMessage("hi")]


# ---- messages ------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["c2s", "s2c"])
def test_messages_both_ways(direction: str) -> None:
    client, server = pair()
    src, dst = (client, server) if direction == "c2s" else (server, client)
    src.send_text("héllo")
    src.send_text("")
    src.send_binary(b"\x00\xff" * 10)
    src.send_binary(b"")
    src.send_text("x" * 1000, fragment_size=7)
    src.send_binary(bytearray(b"y" * 100), fragment_size=100)
    src.send_binary(memoryview(b"z" * 101), fragment_size=100)
    src.send_text(b"caf\xc3\xa9")
    assert transfer(src, dst) == [
        TextMessage("héllo"),
        TextMessage(""),
        BinaryMessage(b"\x00\xff" * 10),
        BinaryMessage(b""),
        TextMessage("x" * 1000),
        BinaryMessage(b"y" * 100),
        BinaryMessage(b"z" * 101),
        TextMessage("café"),
    ]


def test_client_frames_are_masked_server_frames_not() -> None:
    client, server = pair()
    client.send_binary(b"abc")
    data = client.data_to_send()
    assert data[1] & 0x80 and b"abc" not in data[6:]
    server.send_binary(b"abc")
    assert server.data_to_send() == b"\x82\x03abc"
    # Fresh masks every frame.
    client.send_binary(b"abc")
    client.send_binary(b"abc")
    data = client.data_to_send()
    assert data[2:6] != data[11:15]  # equal keys: a 2**-32 chance


def test_byte_by_byte_input_and_buffer_types() -> None:
    client, server = pair()
    client.send_text("split me")
    client.send_ping(b"p")
    client.send_binary(b"b" * 300, fragment_size=128)
    data = client.data_to_send()
    events = []
    for i in range(len(data)):
        chunk = data[i : i + 1]
        server.receive_data([bytes, bytearray, memoryview][i % 3](chunk))
        events += server.events()
    assert events == [TextMessage("split me"), Ping(b"p"), BinaryMessage(b"b" * 300)]


def test_text_as_bytes() -> None:
    client, server = pair(s_text_as_bytes=True)
    client.send_text("é")
    assert transfer(client, server) == [TextMessage("é".encode())]


def test_ping_pong() -> None:
    client, server = pair(c_auto_pong=False)
    client.send_ping(b"hello")
    assert transfer(client, server) == [Ping(b"hello")]
    assert transfer(server, client) == [Pong(b"hello")]
    server.send_ping(b"x")
    assert transfer(server, client) == [Ping(b"x")]
    assert client.data_to_send() == b""  # auto_pong off
    client.send_pong(b"x")
    assert transfer(client, server) == [Pong(b"x")]


def test_send_argument_errors() -> None:
    client, _ = pair()
    with pytest.raises(ValueError):
        client.send_ping(b"x" * 126)
    with pytest.raises(ValueError):
        client.send_text(b"\xff")
    with pytest.raises(ValueError):
        client.send_text("\ud800")
    with pytest.raises(ValueError):
        client.send_binary(b"abc", fragment_size=0)
    assert client.data_to_send() == b""


def test_data_to_send_list() -> None:
    client, server = pair()
    server.send_text("a")
    server.send_text("b")
    chunks = server.data_to_send_list()
    assert chunks == [b"\x81\x01a", b"\x81\x01b"]
    assert server.data_to_send() == b"" and server.data_to_send_list() == []


def test_broadcast() -> None:
    frame = encode_broadcast("hi")
    assert frame == b"\x81\x02hi" and encode_broadcast(b"\x00") == b"\x82\x01\x00"
    pairs = [pair() for _ in range(3)]
    pairs[2][1].close()
    assert queue_broadcast([s for _, s in pairs], "news") == 2
    for client, server in pairs[:2]:
        assert transfer(server, client) == [TextMessage("news")]
    with pytest.raises(InvalidState):
        pairs[0][0].send_prepared(frame)


# ---- closing -------------------------------------------------------------------


def test_client_initiated_close() -> None:
    client, server = pair()
    client.close(1001, "going")
    assert client.state is State.CLOSING
    with pytest.raises(InvalidState):
        client.send_text("late")
    events = transfer(client, server)
    assert events == [CloseReceived(1001, "going"), Closed(1001, "going", True)]
    assert server.state is State.CLOSED and server.should_close_transport
    events = transfer(server, client)  # the echo
    assert events == [CloseReceived(1001, "going"), Closed(1001, "going", True)]
    assert client.state is State.CLOSED and not client.should_close_transport
    client.receive_eof()  # the server closes TCP
    assert client.should_close_transport and client.events() == []
    assert client.close_code == 1001 and client.close_reason == "going"


def test_server_initiated_close_and_messages_while_closing() -> None:
    client, server = pair()
    server.close()
    client.send_text("in flight")
    events = transfer(client, server)
    assert events == [TextMessage("in flight")]  # still delivered in CLOSING
    events = transfer(server, client)
    assert events == [CloseReceived(1000, ""), Closed(1000, "", True)]
    events = transfer(client, server)
    assert events == [CloseReceived(1000, ""), Closed(1000, "", True)]
    assert server.should_close_transport


def test_close_without_code_and_twice() -> None:
    client, server = pair()
    client.close(None)
    client.close(1000)  # no-op
    events = transfer(client, server)
    assert events[0] == CloseReceived(1005, "")
    assert server_frames(server.data_to_send())[0].payload == b""


@pytest.mark.parametrize(
    "code, reason", [(1005, ""), (1006, ""), (1015, ""), (999, ""), (1004, ""), (5000, ""), (1000, "x" * 124)]
)
def test_close_refuses_bad_codes(code: int, reason: str) -> None:
    client, _ = pair()
    with pytest.raises(ValueError):
        client.close(code, reason)
    assert client.state is State.OPEN and client.data_to_send() == b""


def test_nothing_after_the_close_frame() -> None:
    client, server = pair()
    data = encode_frame(Opcode.CLOSE, b"\x03\xe8", mask=MASK) + encode_frame(Opcode.TEXT, b"late", mask=MASK)
    server.receive_data(data)
    assert [type(e) for e in server.events()] == [CloseReceived, Closed]
    server.receive_data(encode_frame(Opcode.TEXT, b"later", mask=MASK))
    assert server.events() == []


def test_eof_without_close() -> None:
    client, server = pair()
    client.send_text("last")
    server.receive_data(client.data_to_send())
    server.receive_eof()
    assert server.events() == [TextMessage("last"), Closed(1006, "", False)]
    assert server.should_close_transport and server.state is State.CLOSED
    server.receive_eof()
    assert server.events() == []


def test_eof_inside_a_frame() -> None:
    client, server = pair()
    client.send_text("unfinished")
    server.receive_data(client.data_to_send()[:-3])
    server.receive_eof()
    (closed,) = server.events()
    assert isinstance(closed, Closed) and closed.code == 1006 and isinstance(closed.error, ProtocolError)
    assert server.data_to_send() == b""  # 1006 never goes on the wire


def test_close_while_connecting() -> None:
    client = Connection("client", host="h")
    client.close()
    assert client.state is State.CLOSED and client.should_close_transport
    assert isinstance(client.events()[-1], Closed)


# ---- hostile frame streams -----------------------------------------------------


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv1: bool = False, masked: bool = True) -> bytes:
    return encode_frame(opcode, payload, fin=fin, rsv1=rsv1, mask=MASK if masked else None)


HOSTILE = [
    ("unmasked", frame(Opcode.TEXT, b"hi", masked=False), 1002),
    ("reserved opcode", frame(3, b""), 1002),
    ("reserved control opcode", frame(11, b""), 1002),
    ("rsv1 without extension", frame(Opcode.TEXT, b"hi", rsv1=True), 1002),
    ("bad utf-8", frame(Opcode.TEXT, b"\xff"), 1007),
    ("bad utf-8 across fragments", frame(Opcode.TEXT, b"\xe2\x82", fin=False) + frame(0, b"\x28"), 1007),
    ("fragmented ping", frame(Opcode.PING, b"", fin=False), 1002),
    ("long ping", encode_frame(Opcode.PING, b"x" * 125, mask=MASK)[:1] + b"\xfe\x00\x7e" + MASK + b"x" * 126, 1002),
    ("continuation first", frame(0, b"x"), 1002),
    ("text inside fragmented", frame(Opcode.TEXT, b"a", fin=False) + frame(Opcode.TEXT, b"b"), 1002),
    ("close one byte", frame(Opcode.CLOSE, b"\x03"), 1002),
    ("close 1005 on the wire", frame(Opcode.CLOSE, b"\x03\xed"), 1002),
    ("close bad reason", frame(Opcode.CLOSE, b"\x03\xe8\xff"), 1007),
    ("too big", frame(Opcode.BINARY, b"x" * 2000), 1009),
]


@pytest.mark.parametrize("name, data, code", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_frames_from_client(name: str, data: bytes, code: int) -> None:
    client, server = pair(s_max_message_size=1000, s_max_frame_size=1000)
    good = frame(Opcode.TEXT, b"before")
    server.receive_data(good + data + frame(Opcode.TEXT, b"after"))
    events = server.events()
    assert events[0] == TextMessage("before")
    assert isinstance(events[1], ProtocolViolation) and events[1].code == code
    assert isinstance(events[2], Closed) and events[2].code == code and not events[2].clean
    assert len(events) == 3
    assert close_code_of(server.data_to_send()) == code
    assert server.should_close_transport and server.state is State.CLOSED
    server.receive_data(frame(Opcode.TEXT, b"ignored"))
    assert server.events() == [] and server.data_to_send() == b""
    with pytest.raises(InvalidState):
        server.send_text("no")


def test_masked_frame_from_server() -> None:
    client, _ = pair()
    client.receive_data(encode_frame(Opcode.TEXT, b"hi", mask=MASK))
    events = client.events()
    assert isinstance(events[0], ProtocolViolation) and events[0].code == 1002
    assert close_code_of(client.data_to_send(), from_server=False) == 1002
    assert client.should_close_transport


def test_too_many_fragments() -> None:
    client, server = pair(s_max_fragments=4)
    client.send_binary(b"x" * 5, fragment_size=1)
    events = transfer(client, server)
    assert isinstance(events[0], ProtocolViolation) and events[0].code == 1009


def test_error_after_we_sent_close_sends_no_second_close() -> None:
    client, server = pair()
    server.close()
    server.data_to_send()
    server.receive_data(frame(Opcode.TEXT, b"\xff"))
    assert [type(e) for e in server.events()] == [ProtocolViolation, Closed]
    assert server.data_to_send() == b""


# ---- the extension hook --------------------------------------------------------


class Reverse(Extension):
    """A toy 'compression': reverses payloads, marks them with RSV1."""

    name = "x-reverse"

    def encode_message(self, opcode, payload):  # type: ignore[no-untyped-def]
        if payload.startswith(b"plain:"):
            return payload, False
        return payload[::-1], True

    def decode_message(self, opcode, payload, max_size):  # type: ignore[no-untyped-def]
        if payload == b"corrupt":
            raise ProtocolError("corrupt payload")
        out = payload[::-1] * (100 if payload.startswith(b"bomb") else 1)
        if len(out) > max_size:
            raise MessageTooBig("message over the size limit")
        return out


class ReverseServer(ServerExtensionFactory):
    name = "x-reverse"

    def accept(self, params, accepted):  # type: ignore[no-untyped-def]
        return [], Reverse()


class ReverseClient(ClientExtensionFactory):
    name = "x-reverse"

    def offer(self):  # type: ignore[no-untyped-def]
        return []

    def accept(self, params, accepted):  # type: ignore[no-untyped-def]
        return Reverse()


def ext_pair(**options: object) -> Tuple[Connection, Connection]:
    return pair(c_extension_factories=[ReverseClient()], s_extension_factories=[ReverseServer()], **options)


def test_extension_negotiated_and_applied() -> None:
    client, server = ext_pair()
    assert [e.name for e in client.extensions] == [e.name for e in server.extensions] == ["x-reverse"]
    client.send_text("héllo", fragment_size=2)
    client.send_binary(b"plain:as is")
    data = client.data_to_send()
    frames = FrameParser(is_server=True, reassemble=False, rsv_allowed=(True, False, False), validate_utf8=False).feed(
        data
    )
    assert frames[0].rsv1 and not frames[1].rsv1 and not frames[-1].rsv1
    server.receive_data(data)
    assert server.events() == [TextMessage("héllo"), BinaryMessage(b"plain:as is")]
    server.send_binary(b"abc")
    assert transfer(server, client) == [BinaryMessage(b"abc")]
    # Control frames are untouched.
    server.send_ping(b"abc")
    assert transfer(server, client) == [Ping(b"abc")]


@pytest.mark.parametrize("fragment_size", [0, -5])
def test_bad_fragment_size_is_refused_before_the_extension_encodes(fragment_size: int) -> None:
    # A stateful extension (permessage-deflate's window) must not see a
    # message that is then never sent.
    client, _ = ext_pair()
    (extension,) = client.extensions
    calls = []
    original = extension.encode_message
    extension.encode_message = lambda opcode, payload: calls.append(payload) or original(opcode, payload)  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="fragment_size"):
        client.send_binary(b"never sent", fragment_size=fragment_size)
    with pytest.raises(ValueError, match="fragment_size"):
        client.send_text("never sent", fragment_size=fragment_size)
    assert calls == [] and client.data_to_send() == b""


def test_extension_text_validated_after_decoding() -> None:
    client, server = ext_pair(s_text_as_bytes=True)
    # b"\xa9\xc3" reversed is the valid "é"; the raw payload is not UTF-8.
    server.receive_data(frame(Opcode.TEXT, b"\xa9\xc3", rsv1=True))
    assert server.events() == [TextMessage("é".encode())]
    server.receive_data(frame(Opcode.TEXT, b"\xc3\xa9", rsv1=True))
    events = server.events()
    assert isinstance(events[0], ProtocolViolation) and events[0].code == 1007


def test_extension_uncompressed_text_still_validated() -> None:
    client, server = ext_pair()
    server.receive_data(frame(Opcode.TEXT, b"\xff"))
    events = server.events()
    assert isinstance(events[0], ProtocolViolation) and events[0].code == 1007


@pytest.mark.parametrize("payload, code", [(b"corrupt", 1002), (b"bomb" * 10, 1009)])
def test_extension_errors_fail_the_connection(payload: bytes, code: int) -> None:
    client, server = ext_pair(s_max_message_size=1000)
    server.receive_data(frame(Opcode.BINARY, payload, rsv1=True))
    events = server.events()
    assert isinstance(events[0], ProtocolViolation) and events[0].code == code
    assert close_code_of(server.data_to_send()) == code


def test_only_one_extension() -> None:
    with pytest.raises(ValueError):
        Connection.opened("server", extensions=[Reverse(), Reverse()])


def test_public_names() -> None:
    for name in ("Connection", "State", "encode_broadcast", "TextMessage", "Closed", "Extension", "handshake"):
        assert name in wsframe.__all__


# ---- more paths ----------------------------------------------------------------


def test_control_frames_between_messages_in_one_read() -> None:
    client, server = pair()
    client.send_text("a")
    client.send_ping(b"1")
    client.send_binary(b"b")
    client.send_text("c" * 10, fragment_size=3)
    client.send_pong(b"2")
    client.send_text("d")
    assert transfer(client, server) == [
        TextMessage("a"),
        Ping(b"1"),
        BinaryMessage(b"b"),
        TextMessage("c" * 10),
        Pong(b"2"),
        TextMessage("d"),
    ]
    assert [f.opcode for f in server_frames(server.data_to_send())] == [Opcode.PONG]


def test_ping_between_fragments() -> None:
    client, server = pair()
    data = frame(Opcode.TEXT, b"he", fin=False) + frame(Opcode.PING, b"mid") + frame(Opcode.CONTINUATION, b"llo")
    server.receive_data(data)
    assert server.events() == [Ping(b"mid"), TextMessage("hello")]


def test_manual_accept_keeps_pipelined_frames() -> None:
    client = Connection("client", host="h")
    server = Connection("server", auto_accept=False)
    server.receive_data(client.data_to_send() + frame(Opcode.TEXT, b"early"))
    assert isinstance(server.events()[0], HandshakeRequest)
    server.receive_data(frame(Opcode.TEXT, b"earlier"))
    server.accept()
    events = server.events()
    assert isinstance(events[0], HandshakeAccepted)
    assert events[1:] == [TextMessage("early"), TextMessage("earlier")]


def test_manual_accept_bounds_early_data() -> None:
    client = Connection("client", host="h")
    server = Connection("server", auto_accept=False, max_head_size=1024)
    server.receive_data(client.data_to_send())
    server.events()
    server.receive_data(b"x" * 2000)
    assert server.should_close_transport
    assert server.data_to_send().startswith(b"HTTP/1.1 400 ")
    assert isinstance(server.events()[0], HandshakeRejected)


def test_protocol_error_reason_survives_in_close_frame() -> None:
    client, server = pair()
    server.receive_data(frame(Opcode.TEXT, b"\xff"))
    payload = server_frames(server.data_to_send())[0].payload
    assert payload[:2] == b"\x03\xef" and payload[2:].decode() == wsframe._reasons.INVALID_UTF8


def test_client_refuses_garbage_and_huge_responses() -> None:
    client = Connection("client", host="h", max_head_size=1024)
    client.receive_data(b"HTTP/1.1 101 OK\r\n" + b"X: " + b"a" * 2000)
    events = client.events()
    assert isinstance(events[0], HandshakeRejected) and events[0].status == 0
    assert events[0].error.status == 431 and client.should_close_transport
    client = Connection("client", host="h")
    client.receive_data(b"SSH-2.0-OpenSSH\r\n\r\n")
    assert isinstance(client.events()[0], HandshakeRejected)


# ---- hostile peers and applications (review fixes) ------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        b"Content-Length: 5\r\n",
        b"Content-Length: " + b"9" * 5000 + b"\r\n",  # never converted to an int
        b"Transfer-Encoding: chunked\r\n",
    ],
    ids=["content-length", "absurd-content-length", "transfer-encoding"],
)
def test_request_with_a_body_is_refused(field: bytes) -> None:
    # The body would otherwise be parsed as WebSocket frames.
    status, events, server = hostile(GOOD[:-2] + field + b"\r\nhello")
    assert status == 400 and isinstance(events[0], HandshakeRejected)
    assert server.state is State.CLOSED


def test_request_with_content_length_zero_is_accepted() -> None:
    server = Connection("server")
    server.receive_data(GOOD[:-2] + b"Content-Length: 0\r\n\r\n")
    assert isinstance(server.events()[0], HandshakeAccepted)


def pending_server() -> Connection:
    server = Connection("server", auto_accept=False)
    server.receive_data(Connection("client", host="h", subprotocols=["a"]).data_to_send() + frame(Opcode.TEXT, b"early"))
    assert isinstance(server.events()[0], HandshakeRequest)
    return server


@pytest.mark.parametrize(
    "bad",
    [{"subprotocol": "not-offered"}, {"extra_headers": [("X-Evil", "a\r\nSet-Cookie: x=1")]}],
)
def test_accept_with_bad_arguments_keeps_the_request_pending(bad: dict) -> None:
    server = pending_server()
    with pytest.raises(ValueError):
        server.accept(**bad)
    assert server.state is State.CONNECTING and server.data_to_send() == b""
    assert server.events() == [] and not server.should_close_transport
    server.accept(subprotocol="a")
    events = server.events()
    assert isinstance(events[0], HandshakeAccepted) and events[1:] == [TextMessage("early")]


def test_reject_with_an_injected_header_keeps_the_request_pending() -> None:
    server = pending_server()
    with pytest.raises(ValueError):
        server.reject(403, headers=[("X-Evil", "a\r\nSet-Cookie: x=1")])
    assert server.state is State.CONNECTING and server.data_to_send() == b""
    assert server.events() == [] and not server.should_close_transport
    server.reject(403)
    assert server.data_to_send().startswith(b"HTTP/1.1 403 ")
    assert isinstance(server.events()[-1], Closed)


def test_reject_keeps_one_content_length() -> None:
    server = pending_server()
    server.reject(403, "no", headers=[("Content-Length", "999"), ("Transfer-Encoding", "chunked")])
    head = server.data_to_send().partition(b"\r\n\r\n")[0].lower()
    assert head.count(b"content-length") == 1 and b"transfer-encoding" not in head


def test_ping_burst_gets_every_pong() -> None:
    # Autobahn 2.10/2.11: ten pings in one read, ten pongs.
    _, server = pair()
    server.receive_data(b"".join(frame(Opcode.PING, b"%d" % i) for i in range(10)))
    frames = server_frames(server.data_to_send())
    assert [(f.opcode, f.payload) for f in frames] == [(Opcode.PONG, b"%d" % i) for i in range(10)]


def test_ping_flood_queues_a_bounded_number_of_pongs() -> None:
    # RFC 6455 5.5.3: answering only the most recent ping is allowed; a host
    # that does not drain data_to_send must not grow one pong per ping.
    cap = wsframe.connection.MAX_QUEUED_PONGS
    _, server = pair()
    server.send_text("queued first")
    for i in range(1000):
        server.receive_data(frame(Opcode.PING, b"%d" % i))
    assert len(server.events()) == 1000
    frames = server_frames(server.data_to_send())
    pongs = [(Opcode.PONG, b"%d" % i) for i in range(cap - 1)] + [(Opcode.PONG, b"999")]
    assert [(f.opcode, f.payload) for f in frames] == [(Opcode.TEXT, b"queued first")] + pongs
    # After a drain the count starts again, with frames queued in between.
    server.send_text("after")
    for i in range(cap + 5):
        server.receive_data(frame(Opcode.PING, b"n%d" % i))
    frames = server_frames(b"".join(server.data_to_send_list()))
    assert len(frames) == cap + 1 and frames[0].payload == b"after"
    assert frames[-1].payload == b"n%d" % (cap + 4) and frames[-2].payload == b"n%d" % (cap - 2)


def test_close_frame_received_while_closing() -> None:
    client, server = pair()
    server.close(1001, "bye")
    server.data_to_send()
    server.receive_data(frame(Opcode.CLOSE, b"\x03\xe8done") + frame(Opcode.TEXT, b"late") + frame(Opcode.CLOSE))
    events = server.events()
    assert [type(e) for e in events] == [CloseReceived, Closed]
    assert server.data_to_send() == b""  # no second close frame
    assert server.state is State.CLOSED and server.should_close_transport
    assert (server.close_code, server.close_reason) == (1000, "done")


@pytest.mark.parametrize("role", ["server", "client"])
@pytest.mark.parametrize("limit", [{"max_frame_size": -1}, {"max_message_size": "big"}, {"max_fragments": 1.5}])
def test_bad_limits_are_refused_at_construction(role: str, limit: dict) -> None:
    # Not later, from receive_data, once the handshake is done and a 101 queued.
    with pytest.raises((ValueError, TypeError)):
        Connection(role, host="h", **limit)


@pytest.mark.parametrize("role", ["server", "client"])
@pytest.mark.parametrize("header", [("X-Evil", "a\r\nSet-Cookie: x=1"), ("Bad Name", "1"), ("X", "\u20ac")])
def test_bad_extra_headers_are_refused_at_construction(role: str, header: Tuple[str, str]) -> None:
    # A server used to raise from receive_data when answering the handshake.
    with pytest.raises(ValueError):
        Connection(role, host="h", extra_headers=[header])


class Named(ServerExtensionFactory):
    def __init__(self, name: str) -> None:
        self.name = name

    def accept(self, params, accepted):  # type: ignore[no-untyped-def]
        return [], Extension()


def test_server_accepts_one_extension_of_several_offered() -> None:
    # Two factories that both accept: only the client's first offer is taken
    # (ValueError used to come out of receive_data with the 101 queued).
    server = Connection("server", extension_factories=[Named("x-a"), Named("x-b")])
    request = build_request("h", extra_headers=[("Sec-WebSocket-Extensions", "x-b, x-a")]).data
    server.receive_data(request)
    (event,) = server.events()
    assert isinstance(event, HandshakeAccepted) and [e.name for e in server.extensions] == [""]
    response = parse_response(server.data_to_send())
    assert response.headers.get_all("Sec-WebSocket-Extensions") == ["x-b"]


def test_second_request_pipelined_after_the_upgrade_fails_as_frames() -> None:
    # After the request head every byte is WebSocket framing: a pipelined
    # HTTP request is a protocol error (1002), not a second handshake.
    server = Connection("server")
    server.receive_data(GOOD + GOOD)
    events = server.events()
    assert isinstance(events[0], HandshakeAccepted)
    assert isinstance(events[1], ProtocolViolation) and isinstance(events[-1], Closed)
    head, _, frames = server.data_to_send().partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ") and close_code_of(frames) == 1002
    assert server.should_close_transport


def test_bare_messages_are_the_str_or_bytes_itself() -> None:
    """bare_messages: one object per message, the same order and budget as events."""
    client, server = pair(s_bare_messages=True, s_track_delivery=True)
    client.send_text("héllo")
    client.send_binary(b"\x00\x01")
    client.send_ping(b"p")
    client.send_text("x" * 70000)
    server.receive_data(client.data_to_send())
    events = server.events()
    assert events[:2] == ["héllo", b"\x00\x01"]
    assert isinstance(events[2], Ping) and events[3] == "x" * 70000
    assert server.queued_bytes == len("héllo") + 2 + 70000 + 3 * wsframe.connection.MESSAGE_OVERHEAD
    for message in (events[0], events[1], events[3]):
        server.delivered(message)
    assert server.queued_bytes == 0


def test_bare_messages_with_deflate_and_a_held_failure() -> None:
    from wsframe.aio.options import Options

    options = Options()
    client = Connection("client", host="example.com", extension_factories=options.client_extensions())
    server = Connection(
        "server", extension_factories=options.server_extensions(), bare_messages=True, defer_failure=True
    )
    server.receive_data(client.data_to_send())
    server.events()
    client.receive_data(server.data_to_send())
    client.events()
    client.send_text("compressed " * 100)
    server.receive_data(client.data_to_send() + b"\x83\x80" + bytes(4))  # then reserved opcode 3
    events = server.events()
    assert events[0] == "compressed " * 100
    # The message was handed out, so the held close frame goes out now.
    frames = server_frames(server.data_to_send())
    assert frames[-1].opcode == Opcode.CLOSE
    assert wsframe.decode_close_payload(frames[-1].payload)[0] == 1002


def test_bare_messages_refuse_text_as_bytes() -> None:
    with pytest.raises(ValueError):
        Connection("server", bare_messages=True, text_as_bytes=True)

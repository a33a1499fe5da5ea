"""permessage-deflate through the sans-I/O wsframe.Connection: handshake, RSV1 rules
(RFC 7692 section 6), limits after inflation, close codes for hostile input."""

from __future__ import annotations

import zlib

import pytest

import wsframe
from wsframe import Connection, handshake
from wsframe._backend import codec
from wsframe.deflate import ClientPerMessageDeflate, PerMessageDeflate, ServerPerMessageDeflate
from wsframe.deflate.params import Offer
from wsframe.enums import Opcode
from wsframe.events import BinaryMessage, Closed, HandshakeAccepted, ProtocolViolation, TextMessage

try:
    import tracemalloc
except ImportError:  # PyPy has no tracemalloc: the memory bounds are measured on CPython only
    tracemalloc = None  # type: ignore[assignment]

needs_tracemalloc = pytest.mark.skipif(tracemalloc is None, reason="no tracemalloc on this interpreter (PyPy)")

TEXT = Opcode.TEXT
BINARY = Opcode.BINARY


def deflate(data: bytes) -> bytes:
    encoder = zlib.compressobj(6, zlib.DEFLATED, -15)
    return (encoder.compress(data) + encoder.flush(zlib.Z_SYNC_FLUSH))[:-4]


def connect(server_factory=None, client_factory=None, **server_options):
    """A client and a server Connection after the handshake, both OPEN."""
    client = Connection("client", host="example.com", extension_factories=[client_factory or ClientPerMessageDeflate()])
    server = Connection("server", extension_factories=[server_factory or ServerPerMessageDeflate()], **server_options)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    [accepted] = client.events()
    assert isinstance(accepted, HandshakeAccepted)
    server.events()
    return client, server


def transfer(sender: Connection, receiver: Connection):
    data = sender.data_to_send()
    receiver.receive_data(data)
    return data, receiver.events()


def raw_frames(data: bytes, from_client: bool):
    """The frames on the wire, unreassembled."""
    parser = codec.FrameParser(
        is_server=from_client, reassemble=False, validate_utf8=False, rsv_allowed=(True, False, False)
    )
    return parser.feed(data)


def test_negotiated_both_ways():
    client, server = connect()
    for conn in (client, server):
        [extension] = conn.extensions
        assert isinstance(extension, PerMessageDeflate)
    assert server.extensions[0].role == "server" and client.extensions[0].role == "client"


@pytest.mark.parametrize(
    "client_factory, server_factory",
    [
        (ClientPerMessageDeflate(), ServerPerMessageDeflate()),
        (ClientPerMessageDeflate(client_no_context_takeover=True), ServerPerMessageDeflate()),
        (ClientPerMessageDeflate(server_no_context_takeover=True), ServerPerMessageDeflate()),
        (ClientPerMessageDeflate(server_max_window_bits=9, client_max_window_bits=9), ServerPerMessageDeflate()),
        (ClientPerMessageDeflate(client_max_window_bits=None), ServerPerMessageDeflate(server_max_window_bits=None)),
        (
            ClientPerMessageDeflate(),
            ServerPerMessageDeflate(server_no_context_takeover=True, client_no_context_takeover=True),
        ),
        (ClientPerMessageDeflate(server_max_window_bits=8), ServerPerMessageDeflate()),
        (ClientPerMessageDeflate(offers=[Offer(server_max_window_bits=77 // 7), Offer()]), ServerPerMessageDeflate()),
    ],
)
def test_messages_both_ways(client_factory, server_factory):
    client, server = connect(server_factory, client_factory)
    texts = ['{"user":"ann","text":"%s"}' % ("hello " * n) for n in range(0, 60, 7)] + ["héllo wörld ✓" * 50]
    for text in texts:
        client.send_text(text)
        _, events = transfer(client, server)
        assert events == [TextMessage(text)]
        server.send_text(text)
        _, events = transfer(server, client)
        assert events == [TextMessage(text)]
    blob = bytes(range(256)) * 400
    server.send_binary(blob, fragment_size=1000)
    client.send_binary(blob, fragment_size=777)
    assert transfer(server, client)[1] == [BinaryMessage(blob)]
    assert transfer(client, server)[1] == [BinaryMessage(blob)]


def test_compressed_on_the_wire_with_rsv1_on_the_first_frame_only():
    client, server = connect()
    text = "compress me please " * 200
    server.send_text(text, fragment_size=10)
    data, events = transfer(server, client)
    assert events == [TextMessage(text)]
    frames = raw_frames(data, from_client=False)
    assert len(data) < len(text) // 5
    assert frames[0].rsv1 and frames[0].opcode == TEXT
    assert len(frames) > 1 and not any(frame.rsv1 for frame in frames[1:])


def test_small_messages_and_control_frames_stay_uncompressed():
    client, server = connect()
    client.send_text("hi")
    client.send_ping(b"ping ping ping ping ping ping ping ping ping ping")
    data, events = transfer(client, server)
    frames = raw_frames(data, from_client=True)
    assert [frame.rsv1 for frame in frames] == [False, False]
    assert isinstance(events[0], TextMessage) and events[0].data == "hi"


def test_uncompressed_messages_from_the_peer_are_accepted():
    client, server = connect()
    server.receive_data(codec.encode_frame(TEXT, b"plain text", mask=True))
    assert server.events() == [TextMessage("plain text")]


def fail_with(server: Connection, data: bytes) -> int:
    server.receive_data(data)
    events = server.events()
    violation = [e for e in events if isinstance(e, ProtocolViolation)]
    closed = [e for e in events if isinstance(e, Closed)]
    assert violation and closed and server.should_close_transport
    [close] = [f for f in raw_frames(server.data_to_send(), from_client=False) if f.opcode == Opcode.CLOSE]
    code, _ = codec.decode_close_payload(close.payload)
    assert code == closed[0].code == violation[0].code
    return code


def test_rsv1_on_a_continuation_frame_is_a_protocol_error():
    client, server = connect()
    part = deflate(b"hello world")
    data = codec.encode_frame(TEXT, part[:3], fin=False, rsv1=True, mask=True)
    data += codec.encode_frame(Opcode.CONTINUATION, part[3:], rsv1=True, mask=True)
    assert fail_with(server, data) == 1002


def test_rsv1_on_a_control_frame_is_a_protocol_error():
    client, server = connect()
    assert fail_with(server, codec.encode_frame(Opcode.PING, b"x", rsv1=True, mask=True)) == 1002


def test_rsv1_without_the_extension_is_a_protocol_error():
    client = Connection("client", host="example.com")
    server = Connection("server", extension_factories=[ServerPerMessageDeflate()])
    server.receive_data(client.data_to_send())
    assert server.extensions == []
    server.events()
    server.data_to_send()
    assert fail_with(server, codec.encode_frame(TEXT, deflate(b"hello"), rsv1=True, mask=True)) == 1002


def test_garbage_compressed_data_is_1002():
    client, server = connect()
    assert fail_with(server, codec.encode_frame(BINARY, b"\xff\xff\xff\xff", rsv1=True, mask=True)) == 1002


def test_compressed_invalid_utf8_is_1007():
    client, server = connect()
    assert fail_with(server, codec.encode_frame(TEXT, deflate(b"abc \xff\xfe def"), rsv1=True, mask=True)) == 1007


def test_limit_counts_decompressed_bytes():
    client, server = connect(max_message_size=1000)
    ok = deflate(b"a" * 1000)
    server.receive_data(codec.encode_frame(BINARY, ok, rsv1=True, mask=True))
    assert server.events() == [BinaryMessage(b"a" * 1000)]
    too_big = deflate(b"a" * 1001)
    assert len(too_big) < 100
    assert fail_with(server, codec.encode_frame(BINARY, too_big, rsv1=True, mask=True)) == 1009


@needs_tracemalloc
def test_gigabyte_bomb_through_the_connection():
    # About 1 MiB on the wire (deflate's best is ~1032:1) that inflates to 1 GiB.
    encoder = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    segment = encoder.compress(bytes(16 << 20)) + encoder.flush(zlib.Z_SYNC_FLUSH)
    payload = (segment * 64)[:-4]
    frame = codec.encode_frame(BINARY, payload, rsv1=True, mask=True)
    client, server = connect()  # default limits: 1 MiB frames and messages
    tracemalloc.start()
    try:
        code = fail_with(server, frame)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 1009
    assert peak < 16 << 20  # the frame (1 MiB), its copy, 1 MiB of output: far from 1 GiB


def test_host_server_path_with_handshake_accept():
    # A server that parses HTTP itself: handshake.accept() + Connection.opened().
    client = Connection("client", host="example.com", extension_factories=[ClientPerMessageDeflate()])
    request_bytes = client.data_to_send()
    head = request_bytes.split(b"\r\n\r\n")[0].decode().split("\r\n")
    method, target, _ = head[0].split(" ")
    headers = [tuple(line.split(": ", 1)) for line in head[1:]]
    accepted = handshake.accept(handshake.Request(method, target, headers), extensions=[ServerPerMessageDeflate()])
    server = Connection.opened("server", extensions=accepted.extensions)
    client.receive_data(accepted.response)
    client.events()
    server.send_text("hello " * 100)
    assert transfer(server, client)[1] == [TextMessage("hello " * 100)]
    client.send_text("bye " * 100)
    assert transfer(client, server)[1] == [TextMessage("bye " * 100)]


def test_client_fails_on_a_response_it_did_not_offer():
    client = Connection(
        "client", host="example.com", extension_factories=[ClientPerMessageDeflate(server_no_context_takeover=True)]
    )
    request = client.data_to_send()
    key = [line for line in request.split(b"\r\n") if line.startswith(b"Sec-WebSocket-Key")][0].split(b": ")[1]
    response = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + handshake.accept_key(key.decode()).encode() + b"\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    )
    client.receive_data(response)
    events = client.events()
    assert isinstance(events[0], wsframe.events.HandshakeRejected)
    assert isinstance(events[0].error, handshake.NegotiationError)


def test_several_offers_go_out_in_one_header():
    factory = ClientPerMessageDeflate(
        offers=[Offer(server_no_context_takeover=True, server_max_window_bits=10), Offer()]
    )
    client = Connection("client", host="example.com", extension_factories=[factory])
    request = client.data_to_send().decode()
    assert (
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_max_window_bits=10,"
        " permessage-deflate\r\n" in request
    )
    # A server that takes the second offer: the client finds it.
    server = Connection("server", extension_factories=[ServerPerMessageDeflate(server_max_window_bits=None)])
    server.receive_data(request.replace("server_max_window_bits=10", "server_max_window_bits=99").encode())
    response = server.data_to_send()
    assert b"Sec-WebSocket-Extensions: permessage-deflate\r\n" in response
    client.receive_data(response)
    assert isinstance(client.events()[0], HandshakeAccepted)
    assert not client.extensions[0].remote_no_context_takeover

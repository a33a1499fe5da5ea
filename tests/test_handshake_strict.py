"""Issue 19, defects 7-9, end to end: the handshake functions and Connection refuse
what is not a WebSocket handshake over HTTP/1.1, and refuse it early."""

from __future__ import annotations

from typing import List, Tuple

import pytest

from wsframe import Connection, HandshakeAccepted, HandshakeRejected, State
from wsframe.handshake import (
    HeadReader,
    InvalidMessage,
    accept,
    build_request,
    check_response,
    parse_request,
    parse_response,
)


def answered(request: bytes) -> Tuple[int, List[object], Connection]:
    """A server fed ``request``: the status it answered, its events, itself."""
    server = Connection("server")
    server.receive_data(request)
    status = parse_response(server.data_to_send().partition(b"\r\n\r\n")[0] + b"\r\n\r\n").status
    return status, list(server.events()), server


def test_connection_client_refuses_an_http10_101() -> None:
    # Defect 7: the 101 is right in every header but its version.
    client = Connection("client", host="example.com")
    server = Connection("server")
    server.receive_data(client.data_to_send())
    reply = server.data_to_send()
    assert reply.startswith(b"HTTP/1.1 101 ")
    client.receive_data(b"HTTP/1.0" + reply[len(b"HTTP/1.1") :])
    events = client.events()
    assert isinstance(events[0], HandshakeRejected) and isinstance(events[0].error, InvalidMessage)
    assert client.state is State.CLOSED and client.should_close_transport


@pytest.mark.parametrize("target", ["*", "example.com:80", "chat", "/chat#x"])
def test_connection_server_refuses_targets_that_are_not_a_path_or_uri(target: str) -> None:
    # Defect 8: "GET * HTTP/1.1" was upgraded.
    request = build_request("example.com", "/").data.replace(b"GET / ", b"GET " + target.encode() + b" ", 1)
    status, events, server = answered(request)
    assert status == 400 and isinstance(events[0], HandshakeRejected)
    assert server.state is State.CLOSED


def test_connection_server_takes_an_absolute_form_target() -> None:
    request = build_request("example.com", "/").data.replace(b"GET / ", b"GET ws://example.com/chat ", 1)
    status, events, _ = answered(request)
    assert status == 101 and isinstance(events[0], HandshakeAccepted)


def client_head(data: bytes, reader: HeadReader) -> object:
    """What a client does with the server's bytes: read the head, parse it."""
    done = reader.feed(data)
    return None if done is None else parse_response(done[0])


@pytest.mark.parametrize(
    "garbage",
    [b"\x16\x03\x03\x00\x02\x02\x28", b"SSH-2.0-OpenSSH_9.6\r\n", b"220 smtp.example.com ESMTP\r\n", b"\x00" * 64],
    ids=["tls-alert", "ssh", "smtp", "zeros"],
)
def test_client_refuses_garbage_without_a_head_end_at_once(garbage: bytes) -> None:
    # Defect 9: none of these ends a head, so a plain reader waits (for
    # open_timeout); with expect="response" the first bytes decide.
    assert client_head(garbage, HeadReader()) is None
    with pytest.raises(InvalidMessage):
        client_head(garbage, HeadReader(expect="response"))


def test_expecting_readers_pass_a_real_handshake_at_every_split() -> None:
    request = build_request("example.com:8080", "/chat?room=1", subprotocols=["chat"])
    ok = accept(parse_request(request.data), subprotocols=["chat"])
    for split in range(1, len(request.data)):
        server_reader = HeadReader(expect="request")
        assert server_reader.feed(request.data[:split]) is None
        head, rest = server_reader.feed(request.data[split:]) or (b"", b"")
        assert head == request.data and rest == b""
    frame = b"\x81\x02hi"
    for split in range(1, len(ok.response)):
        client_reader = HeadReader(expect="response")
        assert client_reader.feed(ok.response[:split]) is None
        head, rest = client_reader.feed(ok.response[split:] + frame) or (b"", b"")
        assert rest == frame
        assert check_response(parse_response(head), request) == ("chat", [])


def test_connection_client_refuses_garbage_at_once() -> None:
    client = Connection("client", host="example.com")
    client.data_to_send()
    client.receive_data(b"SSH-2.0-OpenSSH_9.6\r\n")
    events = client.events()
    assert events and isinstance(events[0], HandshakeRejected)
    assert client.should_close_transport


def test_connection_server_refuses_garbage_at_once() -> None:
    server = Connection("server")
    server.receive_data(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a TLS ClientHello on a plain port
    events = server.events()
    assert events and isinstance(events[0], HandshakeRejected)
    assert server.data_to_send().startswith(b"HTTP/1.1 400 ")

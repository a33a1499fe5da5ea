"""The bounded HTTP/1.1 head reader and parser (wsframe.handshake.http11)."""

from __future__ import annotations

import pytest

from wsframe.handshake import (
    HeadReader,
    HeadTooLarge,
    Headers,
    InvalidMessage,
    Request,
    Response,
    error_response,
    header_tokens,
    parse_request,
    parse_response,
    serialize_request,
    serialize_response,
)

REQUEST = (
    b"GET /chat?x=1 HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)


def test_reader_whole_and_rest() -> None:
    reader = HeadReader()
    head, rest = reader.feed(REQUEST + b"\x81\x00")
    assert head == REQUEST and rest == b"\x81\x00"
    with pytest.raises(InvalidMessage):
        reader.feed(b"more")


@pytest.mark.parametrize("split", range(1, len(REQUEST)))
def test_reader_any_split(split: int) -> None:
    reader = HeadReader()
    assert reader.feed(REQUEST[:split]) is None
    assert reader.feed(REQUEST[split:]) == (REQUEST, b"")


def test_reader_byte_by_byte() -> None:
    reader = HeadReader()
    for i in range(len(REQUEST) - 1):
        assert reader.feed(REQUEST[i : i + 1]) is None
    assert reader.feed(REQUEST[-1:]) == (REQUEST, b"")


def test_reader_line_limit_while_trickling() -> None:
    reader = HeadReader(max_line_size=100)
    reader.feed(b"GET / HTTP/1.1\r\nX: ")
    with pytest.raises(HeadTooLarge) as info:
        for _ in range(200):
            reader.feed(b"a")
    assert info.value.status == 431
    assert reader.buffered < 200


def test_reader_head_size_limit() -> None:
    reader = HeadReader(max_head_size=1000, max_headers=1000)
    with pytest.raises(HeadTooLarge):
        for i in range(200):
            reader.feed(b"X-%d: v\r\n" % i)


def test_reader_header_count_limit() -> None:
    reader = HeadReader(max_headers=3)
    reader.feed(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n")
    with pytest.raises(HeadTooLarge, match="too many headers"):
        reader.feed(b"D: 4\r\n")


def test_reader_exactly_at_limits() -> None:
    head = b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(3)) + b"\r\n"
    assert HeadReader(max_headers=3, max_head_size=len(head)).feed(head) == (head, b"")


def test_reader_empty_start_line() -> None:
    with pytest.raises(InvalidMessage):
        HeadReader().feed(b"\r\n")


def test_parse_request() -> None:
    request = parse_request(REQUEST)
    assert (request.method, request.target, request.version) == ("GET", "/chat?x=1", "HTTP/1.1")
    assert request.headers.get("host") == "server.example.com"
    assert request.headers.get_all("UPGRADE") == ["websocket"]
    assert "Sec-WebSocket-Key" in request.headers
    assert len(request.headers) == 5


@pytest.mark.parametrize(
    "head",
    [
        b"GET  / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1 x\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTX/1.1\r\n\r\n",
        b"G(T / HTTP/1.1\r\n\r\n",
        b"GET /a\x01b HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nNo colon\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad name: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nName : x\r\n\r\n",  # space before colon, RFC 7230 3.2.4
        b"GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n",  # obs-fold
        b"GET / HTTP/1.1\r\nA: x\x00y\r\n\r\n",
        b"GET / HTTP/1.1\nA: 1\n\n",  # bare LF
        b"GET / HTTP/1.1\r\nA: 1\n\r\n",
    ],
)
def test_parse_request_malformed(head: bytes) -> None:
    with pytest.raises(InvalidMessage) as info:
        parse_request(head)
    assert info.value.status == 400


def test_parse_response() -> None:
    response = parse_response(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
    assert response.status == 101 and response.reason == "Switching Protocols"
    assert parse_response(b"HTTP/1.1 404 \r\n\r\n").status == 404
    for bad in (b"HTTP/1.1 1010 x\r\n\r\n", b"HTTP/1.1 abc x\r\n\r\n", b"ICY 200 OK\r\n\r\n"):
        with pytest.raises(InvalidMessage):
            parse_response(bad)


def test_header_tokens() -> None:
    assert header_tokens(["a, b,,c", " d ", ""]) == ["a", "b", "c", "d"]


def test_headers_from_bytes_pairs() -> None:
    headers = Headers([(b"Host", b"x"), ("A", "\u00e9")])
    assert headers.items() == [("Host", "x"), ("A", "\u00e9")]
    assert headers == Headers([("Host", "x"), ("A", "\u00e9")])


def test_serialize_roundtrip_and_injection() -> None:
    request = Request("GET", "/", [("Host", "h"), ("X", "a b")])
    assert parse_request(serialize_request(request)).headers == request.headers
    for name, value in [("X", "a\r\nEvil: 1"), ("X Y", "v"), ("X", "a\n"), ("", "v")]:
        with pytest.raises(ValueError):
            serialize_request(Request("GET", "/", [(name, value)]))
    with pytest.raises(ValueError):
        serialize_request(Request("GET", "/a b", []))
    data = serialize_response(Response(101, "", [("Upgrade", "websocket")]))
    assert data == b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"


def test_error_response_is_self_delimiting() -> None:
    data = error_response(400, "missing Host header")
    head, _, body = data.partition(b"\r\n\r\n")
    response = parse_response(head + b"\r\n\r\n")
    assert response.status == 400
    assert response.headers.get("Connection") == "close"
    assert int(response.headers.get("Content-Length")) == len(body)
    assert body == b"missing Host header\n"


def test_error_response_keeps_its_own_body_framing() -> None:
    # A caller's Content-Length or Transfer-Encoding would make two framings.
    data = error_response(403, "no", [("Content-Length", "999"), ("transfer-encoding", "chunked"), ("X-A", "1")])
    response = parse_response(data.partition(b"\r\n\r\n")[0] + b"\r\n\r\n")
    assert response.headers.get_all("Content-Length") == ["3"]
    assert response.headers.get_all("Transfer-Encoding") == []
    assert response.headers.get("X-A") == "1"


def test_obs_text_in_header_values_roundtrips_as_latin1() -> None:
    # RFC 7230 3.2.6: obs-text (0x80-0xFF) is allowed in field values; it is
    # kept byte for byte (latin-1), never decoded as UTF-8 or refused.
    head = b"GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9 \xff\x80\r\n\r\n"
    request = parse_request(head)
    assert request.headers.get("X-Name") == "caf\u00c3\u00a9 \u00ff\u0080"
    assert serialize_request(request) == head


@pytest.mark.parametrize("value", [b"a\x00b", b"a\x7fb", b"a\x1bb"])
def test_control_bytes_in_header_values_are_refused(value: bytes) -> None:
    with pytest.raises(InvalidMessage):
        parse_request(b"GET / HTTP/1.1\r\nHost: h\r\nX: " + value + b"\r\n\r\n")

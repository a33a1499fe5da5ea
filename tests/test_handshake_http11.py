"""The bounded HTTP/1.1 head reader and parser (wsframe.handshake.http11)."""

from __future__ import annotations

from typing import Literal

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


# HeadReader(expect=...): a head whose start cannot be HTTP fails at once
# (issue 19, defect 9: a client waited out open_timeout on garbage).

Expect = Literal["request", "response"]

RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"\r\n"
)


NOT_A_STATUS_LINE = [
    b"\x16\x03\x01\x02\x00",  # a TLS record: the server speaks TLS
    b"SSH-2.0-OpenSSH_9.6\r\n",
    b"\x81\x05hello",  # a WebSocket frame
    b"<html>",
    b"http/1.1 101 ",
    b"HTTP/1.0 101 Switching Protocols\r\n",  # defect 7 too: only HTTP/1.1
    b"HTTP/2 101",
    b"HTTP/1.1  101",
    b"HTTP/1.1 1O1",
    b"HTTP/1.1 1011 ",
    b"HTTP/1.1 101x",
    b"HTTP/1.1 101 \x00",
    b"HTTP/1.1 101 OK\n",  # bare LF
    b"HTTP/1.1 101 O\rK",
    b"HTTP/1.1 10\r\n",
    b"HTTP/1.1\r\n",
]
NOT_A_REQUEST_LINE = [
    b"\x16\x03\x01\x02\x00",
    b" GET / HTTP/1.1",
    b"G(T / HTTP/1.1",
    b"GET  / HTTP/1.1",
    b"GET /a\x01b HTTP/1.1",
    b"GET / HTTX/1.1",
    b"GET / http/1.1",
    b"GET / HTTP/11",
    b"GET / HTTP/1.1 ",
    b"GET / HTTP/1.1x",
    b"GET / HTTP/1.1\n",
    b"GET /\r\n",
    b"GET\r\n",
    b"GET / \xff",
]


@pytest.mark.parametrize(
    ("expect", "data"),
    [("response", data) for data in NOT_A_STATUS_LINE] + [("request", data) for data in NOT_A_REQUEST_LINE],
)
def test_reader_expect_refuses_garbage_at_once(expect: Expect, data: bytes) -> None:
    assert HeadReader().feed(data) is None  # without expect it waits for more
    with pytest.raises(InvalidMessage) as info:
        HeadReader(expect=expect).feed(data)
    assert type(info.value) is InvalidMessage


@pytest.mark.parametrize(
    ("expect", "data", "at"),
    [
        ("response", b"XTTP/1.1 101 OK\r\n", 0),
        ("response", b"HTTP/1.0 101 OK\r\n", 7),
        ("response", b"HTTP/1.1 2x0 OK\r\n", 10),
        ("request", b"\x16\x03\x01", 0),
        ("request", b"GET /\x7f HTTP/1.1\r\n", 5),
        ("request", b"GET / HTTP/2.0.0\r\n", 14),
    ],
)
def test_reader_expect_fails_on_the_deciding_byte(expect: Expect, data: bytes, at: int) -> None:
    reader = HeadReader(expect=expect)
    for i in range(at):
        assert reader.feed(data[i : i + 1]) is None
    with pytest.raises(InvalidMessage):
        reader.feed(data[at : at + 1])


@pytest.mark.parametrize(("expect", "head"), [("request", REQUEST), ("response", RESPONSE)])
def test_reader_expect_waits_on_every_prefix_of_a_good_head(expect: Expect, head: bytes) -> None:
    for split in range(1, len(head)):
        reader = HeadReader(expect=expect)
        assert reader.feed(head[:split]) is None
        assert reader.feed(head[split:]) == (head, b"")
    reader = HeadReader(expect=expect)
    for i in range(len(head) - 1):
        assert reader.feed(head[i : i + 1]) is None
    assert reader.feed(head[-1:]) == (head, b"")


@pytest.mark.parametrize(
    "line",
    [b"HTTP/1.1 101", b"HTTP/1.1 101 ", b"HTTP/1.1 404 Not\tFound \xe9", b"HTTP/1.1 999 x"],
)
def test_reader_expect_response_takes_what_parse_response_takes(line: bytes) -> None:
    head = line + b"\r\nA: 1\r\n\r\n"
    assert HeadReader(expect="response").feed(head) == (head, b"")
    parse_response(head)


@pytest.mark.parametrize("line", [b"GET / HTTP/1.1", b"OPTIONS * HTTP/1.0", b"M-SEARCH http://h/x?y#z HTTP/9.9"])
def test_reader_expect_request_takes_what_parse_request_takes(line: bytes) -> None:
    head = line + b"\r\nA: 1\r\n\r\n"
    assert HeadReader(expect="request").feed(head) == (head, b"")
    parse_request(head)


# Bytes that are special somewhere in a start line.
_PROBES = b" \t\r\n\x00\x7f\x80:#/.*0159AHPTZx"


@pytest.mark.parametrize(("expect", "head"), [("request", REQUEST), ("response", RESPONSE)])
def test_reader_expect_never_refuses_what_parsing_takes(expect: Expect, head: bytes) -> None:
    # Every start line one byte away from a good one: expect may only refuse
    # what parsing refuses too (or, for a response, a version other than 1.1),
    # and what it refuses it refuses before the end of that line.
    parse = parse_request if expect == "request" else parse_response
    first_line = head.index(b"\n") + 1
    for pos in range(first_line):
        for probe in _PROBES:
            mutated = head[:pos] + bytes([probe]) + head[pos + 1 :]
            try:
                HeadReader(expect=expect).feed(mutated)
            except InvalidMessage:
                refused = True
            else:
                refused = False
            try:
                parsed = parse(HeadReader().feed(mutated)[0])  # type: ignore[index]
                taken = parsed.version == "HTTP/1.1" or expect == "request"
            except (InvalidMessage, TypeError):  # TypeError: the head did not end
                taken = False
            assert not (refused and taken), (pos, probe)
            if refused:
                start = mutated[: mutated.find(b"\n") + 1] if b"\n" in mutated else mutated
                with pytest.raises(InvalidMessage):
                    HeadReader(expect=expect).feed(start)


def test_reader_expect_must_be_known() -> None:
    with pytest.raises(ValueError, match="expect"):
        HeadReader(expect="answer")  # type: ignore[arg-type]
    assert HeadReader(expect=None).feed(b"anything\r\n\r\n") == (b"anything\r\n\r\n", b"")

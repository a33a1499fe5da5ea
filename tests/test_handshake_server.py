"""Server side of the opening handshake (RFC 6455 section 4.2), sans I/O."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import pytest

from wsframe import Extension
from wsframe.handshake import (
    HeadTooLarge,
    InvalidHandshake,
    InvalidHeader,
    InvalidMessage,
    InvalidOrigin,
    InvalidUpgrade,
    InvalidVersion,
    NegotiationError,
    Request,
    ServerExtensionFactory,
    accept,
    accept_key,
    check_request,
    parse_response,
    reject,
    select_subprotocol,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="

BASE = [
    ("Host", "example.com"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", KEY),
    ("Sec-WebSocket-Version", "13"),
]


def make(
    headers: Sequence[Tuple[str, str]] = BASE, method: str = "GET", version: str = "HTTP/1.1", target: str = "/chat"
) -> Request:
    return Request(method, target, list(headers), version)


def without(name: str) -> List[Tuple[str, str]]:
    return [(n, v) for n, v in BASE if n != name]


def replaced(name: str, value: str) -> List[Tuple[str, str]]:
    return [(n, value if n == name else v) for n, v in BASE]


def status_of(data: bytes) -> int:
    head = data.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"
    return parse_response(head).status


def test_accept_builds_101() -> None:
    ok = accept(make())
    response = parse_response(ok.response)
    assert response.status == 101
    assert response.headers.get("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert response.headers.get("Upgrade") == "websocket"
    assert response.headers.get("Connection") == "Upgrade"
    assert ok.subprotocol is None and ok.extensions == []
    assert "Sec-WebSocket-Protocol" not in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        BASE,
        replaced("Upgrade", "WebSocket"),
        replaced("Connection", "keep-alive, Upgrade"),
        replaced("Connection", "keep-alive,upgrade"),
        BASE[:2] + [("Connection", "keep-alive"), ("Connection", "UPGRADE")] + BASE[3:],
        replaced("Upgrade", "h2c, websocket"),
    ],
)
def test_lenient_where_the_rfc_allows(headers: List[Tuple[str, str]]) -> None:
    assert check_request(make(headers)) == KEY


@pytest.mark.parametrize(
    "request_, error, status",
    [
        (make(method="POST"), InvalidMessage, 400),
        (make(version="HTTP/1.0"), InvalidMessage, 400),
        (make(without("Host")), InvalidHeader, 400),
        (make(BASE + [("Host", "other")]), InvalidHeader, 400),
        (make(without("Upgrade")), InvalidUpgrade, 400),
        (make(replaced("Upgrade", "h2c")), InvalidUpgrade, 400),
        (make(without("Connection")), InvalidUpgrade, 400),
        (make(replaced("Connection", "keep-alive")), InvalidUpgrade, 400),
        (make(without("Sec-WebSocket-Key")), InvalidHeader, 400),
        (make(replaced("Sec-WebSocket-Key", "not base64!")), InvalidHeader, 400),
        (make(replaced("Sec-WebSocket-Key", "AAAA")), InvalidHeader, 400),
        (make(BASE + [("Sec-WebSocket-Key", KEY)]), InvalidHeader, 400),
        (make(without("Sec-WebSocket-Version")), InvalidVersion, 426),
        (make(replaced("Sec-WebSocket-Version", "8")), InvalidVersion, 426),
        (make(BASE + [("Sec-WebSocket-Version", "8")]), InvalidVersion, 426),
    ],
)
def test_bad_requests(request_: Request, error: type, status: int) -> None:
    with pytest.raises(error) as info:
        accept(request_)
    exc = info.value
    assert isinstance(exc, InvalidHandshake)
    assert exc.status == status
    assert status_of(exc.response) == status
    assert exc.reason.encode() in exc.response


def test_426_names_version_13() -> None:
    with pytest.raises(InvalidVersion) as info:
        accept(make(replaced("Sec-WebSocket-Version", "8")))
    response = parse_response(info.value.response.partition(b"\r\n\r\n")[0] + b"\r\n\r\n")
    assert response.headers.get("Sec-WebSocket-Version") == "13"


def test_origin_allow_list() -> None:
    origins: List[Optional[str]] = ["https://good.example"]
    ok = accept(make(BASE + [("Origin", "https://good.example")]), origins=origins)
    assert status_of(ok.response) == 101
    for headers in (BASE + [("Origin", "https://evil.example")], BASE):
        with pytest.raises(InvalidOrigin) as info:
            accept(make(headers), origins=origins)
        assert info.value.status == 403 and status_of(info.value.response) == 403
    # None in the list allows clients without Origin.
    accept(make(), origins=origins + [None])
    # Two Origin headers are refused.
    with pytest.raises(InvalidHeader):
        accept(make(BASE + [("Origin", "https://good.example")] * 2), origins=origins)
    # No allow-list: anything goes.
    accept(make(BASE + [("Origin", "https://evil.example")]))


def test_subprotocol_selection() -> None:
    offered = BASE + [("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Protocol", "v3")]
    assert accept(make(offered), subprotocols=["v3", "chat"]).subprotocol == "v3"
    ok = accept(make(offered), subprotocols=["superchat", "v3"])
    assert ok.subprotocol == "superchat"
    assert parse_response(ok.response).headers.get("Sec-WebSocket-Protocol") == "superchat"
    assert accept(make(offered), subprotocols=["other"]).subprotocol is None
    assert accept(make(), subprotocols=["chat"]).subprotocol is None
    assert accept(make(offered), subprotocol="chat").subprotocol == "chat"
    with pytest.raises(ValueError):
        accept(make(offered), subprotocol="other")
    assert select_subprotocol(["a", "b"], ["b", "a"]) == "b"


class Tagged(Extension):
    name = "x-tag"

    def __init__(self, params: list) -> None:
        self.params = params


class TagFactory(ServerExtensionFactory):
    name = "x-tag"

    def accept(self, params, accepted):  # type: ignore[override]
        if ("refuse", None) in params:
            return None
        if ("bad", None) in params:
            raise NegotiationError("bad x-tag offer")
        return [("ok", "1")], Tagged(params)


def test_extension_negotiation() -> None:
    headers = BASE + [("Sec-WebSocket-Extensions", 'x-other, x-tag; refuse, x-tag; level="3"; flag')]
    ok = accept(make(headers), extensions=[TagFactory()])
    assert len(ok.extensions) == 1 and ok.extensions[0].params == [("level", "3"), ("flag", None)]
    assert parse_response(ok.response).headers.get("Sec-WebSocket-Extensions") == "x-tag; ok=1"
    # Offers nobody accepts: no header.
    ok = accept(make(headers), extensions=[])
    assert "Sec-WebSocket-Extensions" not in parse_response(ok.response).headers
    with pytest.raises(NegotiationError):
        accept(make(BASE + [("Sec-WebSocket-Extensions", "x-tag; bad")]), extensions=[TagFactory()])
    with pytest.raises(InvalidHeader) as info:
        accept(make(BASE + [("Sec-WebSocket-Extensions", "x-tag; =")]), extensions=[TagFactory()])
    assert info.value.status == 400


def test_extra_headers_checked() -> None:
    ok = accept(make(), extra_headers=[("Server", "wsframe")])
    assert parse_response(ok.response).headers.get("Server") == "wsframe"
    with pytest.raises(ValueError):
        accept(make(), extra_headers=[("Server", "x\r\nSet-Cookie: a=b")])


def test_reject() -> None:
    data = reject(404, "no such path")
    assert status_of(data) == 404 and data.endswith(b"no such path\n")
    with pytest.raises(ValueError):
        reject(101)


def test_head_too_large_is_431() -> None:
    assert HeadTooLarge("x").status == 431


def test_accept_matches_key() -> None:
    key = "x3JJHMbDL1EzLkh9GBhXDw=="
    ok = accept(make(replaced("Sec-WebSocket-Key", key)))
    assert parse_response(ok.response).headers.get("Sec-WebSocket-Accept") == accept_key(key)


@pytest.mark.parametrize(
    "field",
    [("Content-Length", "1"), ("Content-Length", "9" * 5000), ("Content-Length", "-0"), ("Transfer-Encoding", "chunked")],
    ids=["length-1", "absurd-length", "signed-zero", "chunked"],
)
def test_request_announcing_a_body_is_refused(field: Tuple[str, str]) -> None:
    # Bytes after the head are frames: a body would be parsed as frames.
    with pytest.raises(InvalidMessage) as info:
        check_request(make(BASE + [field]))
    assert info.value.status == 400


def test_request_with_content_length_zero_passes() -> None:
    assert check_request(make(BASE + [("Content-Length", "0")])) == KEY


@pytest.mark.parametrize(
    "target",
    [
        "*",  # asterisk-form: OPTIONS only (RFC 9112 section 3.2.4); aiohttp answers 400
        "example.com:443",  # authority-form: CONNECT only (RFC 9112 section 3.2.3)
        "chat",
        "?x=1",
        "ftp://example.com/chat",
        "http://",
        "http:///chat",
        "ws:/chat",
        "/chat#frag",  # RFC 6455 section 3: no fragment
        "ws://example.com/#",
    ],
)
def test_target_neither_origin_nor_absolute_form_is_refused(target: str) -> None:
    # Issue 19, defect 8: GET * was upgraded.
    with pytest.raises(InvalidMessage) as info:
        accept(make(target=target))
    assert info.value.status == 400 and status_of(info.value.response) == 400


@pytest.mark.parametrize(
    "target",
    [
        "/",
        "/chat?room=1&x=%23",
        "//double",
        "http://example.com/chat",
        "HTTPS://example.com:8443?x",
        "ws://example.com",
        "wss://user@example.com/a/b?c",
    ],
)
def test_origin_and_absolute_form_targets_pass(target: str) -> None:
    assert check_request(make(target=target)) == KEY

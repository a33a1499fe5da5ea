"""Client side of the opening handshake (RFC 6455 sections 4.1 and 4.2.2)."""

from __future__ import annotations

from typing import Sequence, Tuple

import pytest

from wsframe import Extension
from wsframe.handshake import (
    ClientExtensionFactory,
    InvalidHeader,
    InvalidMessage,
    InvalidStatus,
    InvalidUpgrade,
    NegotiationError,
    Response,
    accept,
    accept_key,
    build_request,
    check_request,
    check_response,
    parse_request,
    parse_response,
)


class Tagged(Extension):
    name = "x-tag"


class TagClient(ClientExtensionFactory):
    name = "x-tag"

    def offer(self):  # type: ignore[override]
        return [("level", "3")]

    def accept(self, params, accepted):  # type: ignore[override]
        if params != [("ok", "1")]:
            raise NegotiationError("unexpected x-tag answer")
        return Tagged()


def good_response(key: str, extra: Sequence[Tuple[str, str]] = ()) -> Response:
    return Response(
        101,
        "Switching Protocols",
        [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept_key(key))] + list(extra),
    )


def test_build_request_passes_server_checks() -> None:
    req = build_request(
        "example.com:8080",
        "/chat?room=1",
        subprotocols=["chat", "v2"],
        origin="https://example.com",
        extensions=[TagClient()],
        extra_headers=[("User-Agent", "wsframe-test")],
    )
    parsed = parse_request(req.data)
    assert parsed.target == "/chat?room=1"
    assert check_request(parsed, ["https://example.com"]) == req.key
    assert parsed.headers.get("Sec-WebSocket-Protocol") == "chat, v2"
    assert parsed.headers.get("Sec-WebSocket-Extensions") == "x-tag; level=3"
    assert parsed.headers.get("User-Agent") == "wsframe-test"
    assert build_request("h").key != build_request("h").key


@pytest.mark.parametrize("protocol", ["a, b", "", "chat v2", "a\r\nX: y", "caf\u00e9"])
def test_build_request_refuses_subprotocols_that_are_not_tokens(protocol: str) -> None:
    # Joined with ", " into one header, "a, b" would offer two protocols.
    with pytest.raises(ValueError, match="subprotocol"):
        build_request("h", subprotocols=["ok", protocol])


def test_roundtrip_with_server() -> None:
    req = build_request("h", subprotocols=["chat"])
    ok = accept(parse_request(req.data), subprotocols=["chat"])
    response = parse_response(ok.response)
    assert check_response(response, req) == ("chat", [])


def test_check_response_ok_with_extension() -> None:
    req = build_request("h", subprotocols=["a"], extensions=[TagClient()])
    response = good_response(req.key, [("Sec-WebSocket-Protocol", "a"), ("Sec-WebSocket-Extensions", "x-tag; ok=1")])
    subprotocol, extensions = check_response(response, req)
    assert subprotocol == "a" and isinstance(extensions[0], Tagged)


@pytest.mark.parametrize(
    "mutate, error",
    [
        (lambda r: setattr(r, "status", 200), InvalidStatus),
        (lambda r: setattr(r, "status", 403), InvalidStatus),
        (lambda r: r.headers._items.pop(0), InvalidUpgrade),
        (lambda r: r.headers._items.pop(1), InvalidUpgrade),
        (lambda r: r.headers._items.pop(2), InvalidHeader),
        (lambda r: r.headers._items.__setitem__(2, ("Sec-WebSocket-Accept", "AAAA")), InvalidHeader),
        (lambda r: r.headers.add("Sec-WebSocket-Protocol", "b"), NegotiationError),
        (lambda r: r.headers.add("Sec-WebSocket-Protocol", "a, a"), NegotiationError),
        (lambda r: r.headers.add("Sec-WebSocket-Extensions", "x-other"), NegotiationError),
        (lambda r: r.headers.add("Sec-WebSocket-Extensions", "x-tag; ok=2"), NegotiationError),
        (lambda r: r.headers.add("Sec-WebSocket-Extensions", "x-tag; ok=1, x-tag; ok=1"), NegotiationError),
    ],
)
def test_check_response_refuses(mutate, error) -> None:  # type: ignore[no-untyped-def]
    req = build_request("h", subprotocols=["a"], extensions=[TagClient()])
    response = good_response(req.key)
    mutate(response)
    with pytest.raises(error):
        check_response(response, req)


def test_invalid_status_keeps_response() -> None:
    req = build_request("h")
    response = Response(404, "Not Found", [])
    with pytest.raises(InvalidStatus) as info:
        check_response(response, req)
    assert info.value.status == 404 and info.value.http_response is response


@pytest.mark.parametrize("version", ["HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/0.9"])
def test_101_in_another_http_version_is_refused(version: str) -> None:
    # Issue 19, defect 7: the server refuses HTTP/1.0 requests and websockets
    # refuses this answer; an upgrade is an HTTP/1.1 mechanism (RFC 9110 7.8).
    req = build_request("h")
    data = accept(parse_request(req.data)).response.replace(b"HTTP/1.1 ", version.encode() + b" ", 1)
    response = parse_response(data)
    assert (response.version, response.status) == (version, 101)
    with pytest.raises(InvalidMessage, match="HTTP/1.1"):
        check_response(response, req)


def test_refusal_in_another_http_version_is_still_a_status() -> None:
    req = build_request("h")
    with pytest.raises(InvalidStatus) as info:
        check_response(Response(403, "Forbidden", [], "HTTP/1.0"), req)
    assert info.value.status == 403

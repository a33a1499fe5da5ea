"""Responses that close the connection (wsframe.handshake.responses).

build_response, error_response and InvalidHandshake.response, and the module
layout that keeps errors.py and http11.py free of an import cycle.
"""

from __future__ import annotations

import array
import ast
import subprocess
import sys
from pathlib import Path
from typing import Tuple

import pytest

import wsframe.handshake
from wsframe.handshake import (
    InvalidHandshake,
    InvalidOrigin,
    InvalidVersion,
    RequestRejected,
    Response,
    build_response,
    error_response,
    parse_response,
)


def split(data: bytes) -> Tuple[Response, bytes]:
    """The parsed head of a serialized response, and its body."""
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, "no end of head"
    return parse_response(head + sep), body


def test_build_response_layout() -> None:
    data = build_response(200, [("X-A", "1"), ("Content-Type", "text/html")], b"<p>hi</p>")
    assert data == (
        b"HTTP/1.1 200 OK\r\n"
        b"X-A: 1\r\n"
        b"Content-Type: text/html\r\n"
        b"Content-Length: 9\r\n"
        b"Connection: close\r\n"
        b"\r\n"
        b"<p>hi</p>"
    )


def test_build_response_defaults() -> None:
    assert build_response(404) == b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        (200, "OK"),
        (301, "Moved Permanently"),
        (418, "I'm a Teapot"),
        (431, "Request Header Fields Too Large"),
        (503, "Service Unavailable"),
        (299, "Unknown"),
        (599, "Unknown"),
        (999, "Unknown"),
    ],
)
def test_build_response_reason_phrase(status: int, phrase: str) -> None:
    response, _ = split(build_response(status))
    assert (response.status, response.reason) == (status, phrase)


def test_build_response_drops_the_callers_framing_and_connection() -> None:
    fields = [("content-length", "999"), ("Transfer-Encoding", "chunked"), ("CONNECTION", "keep-alive"), ("X-B", "2")]
    response, body = split(build_response(302, fields + [("Location", "/x")], b"moved\n"))
    assert response.headers.items() == [
        ("X-B", "2"),
        ("Location", "/x"),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", "6"),
        ("Connection", "close"),
    ]
    assert body == b"moved\n"


def test_build_response_content_type_only_for_a_body_without_one() -> None:
    assert "Content-Type" not in split(build_response(200))[0].headers
    assert split(build_response(200, body=b"x"))[0].headers.get("Content-Type") == "text/plain; charset=utf-8"
    own = split(build_response(200, [("content-type", "application/json")], b"{}"))[0].headers
    assert own.get_all("Content-Type") == ["application/json"]


@pytest.mark.parametrize("body", [b"abc", bytearray(b"abc"), memoryview(b"xabcx")[1:4]], ids=lambda b: type(b).__name__)
def test_build_response_takes_any_bytes_like_body(body: bytes) -> None:
    assert build_response(200, body=body).endswith(b"Content-Length: 3\r\nConnection: close\r\n\r\nabc")


def test_build_response_counts_bytes_not_items() -> None:
    body = array.array("I", [1, 2])
    response, data = split(build_response(200, body=body))  # type: ignore[arg-type]
    assert data == body.tobytes() and response.headers.get("Content-Length") == str(len(data))


@pytest.mark.parametrize("status", [204, 304])
def test_build_response_no_body_statuses(status: int) -> None:
    response, body = split(build_response(status))
    assert "Content-Length" not in response.headers and body == b""
    assert response.headers.get("Connection") == "close"
    with pytest.raises(ValueError):
        build_response(status, body=b"x")


@pytest.mark.parametrize("status", [100, 101, 199, 99, 0, -200, 1000, 2000, "200", 200.0, None])
def test_build_response_refuses_non_final_status(status: object) -> None:
    with pytest.raises(ValueError):
        build_response(status)  # type: ignore[arg-type]


@pytest.mark.parametrize("body", ["text", None, 3, [104, 105]])
def test_build_response_refuses_a_body_that_is_not_bytes(body: object) -> None:
    with pytest.raises(ValueError, match="bytes-like"):
        build_response(200, body=body)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "field", [("X", "a\r\nSet-Cookie: x=1"), ("X Y", "1"), ("", "1"), ("X", "a\n"), ("X", " padded"), ("X", "a\x00")]
)
def test_build_response_refuses_injected_fields(field: Tuple[str, str]) -> None:
    with pytest.raises(ValueError):
        build_response(200, [field], b"x")


def test_error_response_without_body_sends_the_reason() -> None:
    response, body = split(error_response(403, "origin not allowed"))
    assert (response.status, response.reason, body) == (403, "Forbidden", b"origin not allowed\n")
    assert response.headers.get("Content-Type") == "text/plain; charset=utf-8"
    assert response.headers.get("Connection") == "close"


def test_error_response_with_body() -> None:
    fields = [("Content-Type", "application/json"), ("Content-Length", "1")]
    response, body = split(error_response(409, "ignored", fields, b'{"busy": true}'))
    assert body == b'{"busy": true}'
    assert response.headers.get_all("Content-Type") == ["application/json"]
    assert response.headers.get_all("Content-Length") == [str(len(body))]


def test_error_response_with_an_empty_body() -> None:
    response, body = split(error_response(403, "ignored", body=b""))
    assert body == b"" and response.headers.get("Content-Length") == "0"
    assert "Content-Type" not in response.headers


def test_error_response_keeps_the_callers_connection() -> None:
    # A 426 names the upgrade it wants (RFC 9110 section 7.8) and still closes.
    response, _ = split(error_response(426, "x", [("Upgrade", "websocket"), ("Connection", "Upgrade, close")]))
    assert response.headers.get_all("Connection") == ["Upgrade, close"]


def test_error_response_refuses_what_build_response_refuses() -> None:
    for args in [(101, "x"), (1000, "x"), (204, "x", (), b"body"), (400, "x", [("X", "a\rb")]), (400, "x", (), "str")]:
        with pytest.raises(ValueError):
            error_response(*args)  # type: ignore[arg-type]


def test_error_response_no_body_status_drops_the_reason() -> None:
    response, body = split(RequestRejected("not modified", 304).response)
    assert (response.status, body) == (304, b"")


def test_rejection_with_a_body() -> None:
    fields = [("Retry-After", "5"), ("Content-Type", "text/html")]
    error = RequestRejected("room full", 503, fields, body=b"<h1>full</h1>")
    assert error.body == b"<h1>full</h1>" and error.reason == "room full"
    response, body = split(error.response)
    assert (response.status, response.reason, body) == (503, "Service Unavailable", b"<h1>full</h1>")
    assert response.headers.get("Retry-After") == "5"
    assert response.headers.get_all("Content-Type") == ["text/html"]
    assert str(error) == "room full (HTTP 503)"


def test_rejection_without_a_body_is_unchanged() -> None:
    errors = [InvalidHandshake("bad"), InvalidHandshake("bad", 404, [("X", "1")]), RequestRejected("no", status=403)]
    for error in errors:
        assert error.body is None
        assert error.response == error_response(error.status, error.reason, error.headers)
        assert error.response.endswith(b"\r\n\r\n" + error.reason.encode() + b"\n")


def test_rejection_body_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        InvalidHandshake("bad", 400, [], b"body")  # type: ignore[call-arg]


def test_subclasses_keep_their_responses() -> None:
    response, _ = split(InvalidVersion("8").response)
    assert response.status == 426 and response.headers.get("Sec-WebSocket-Version") == "13"
    assert split(InvalidOrigin("https://evil.example").response)[1] == b"origin not allowed\n"


def test_rejection_with_a_bad_body_fails_when_sent() -> None:
    error = RequestRejected("no", 403, body="text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bytes-like"):
        error.response


def test_handshake_modules_import_at_the_top_only() -> None:
    # errors.py once imported http11 inside InvalidHandshake.response (http11
    # imports errors); responses.py now serves both and imports neither.
    package = Path(wsframe.handshake.__file__).parent
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        nested = [n.lineno for n in imports if n not in tree.body]
        assert nested == [], f"{path.name}: imports below the top level at lines {nested}"
    responses = ast.parse((package / "responses.py").read_text(encoding="utf-8"))
    assert [n.module for n in responses.body if isinstance(n, ast.ImportFrom) and n.level] == []


def test_errors_alone_in_a_fresh_interpreter() -> None:
    code = "import wsframe.handshake.errors as e; print(e.RequestRejected('x', 404, body=b'b').response.split()[:3])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "[b'HTTP/1.1', b'404', b'Not']"

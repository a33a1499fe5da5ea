"""Writing HTTP/1.1 responses: status line, checked fields, our own body framing.

The one place a response is serialized. :mod:`.errors` uses it for
``InvalidHandshake.response`` and :mod:`.http11` (which re-exports its public
names) for ``serialize_response``; it imports neither, so there is no import
cycle. The field grammar (tokens, field values) lives here too, since
validating what we send needs it; :mod:`.http11` parses with the same rules.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Iterable, List, Optional, Sequence, Tuple, Union

__all__ = ["build_response", "error_response", "validate_header"]

# RFC 7230 section 3.2.6: token = 1*tchar.
_TCHAR = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
_TOKEN = re.compile(_TCHAR + "+")
# RFC 7230 section 3.2: field-value = *( VCHAR / SP / HTAB / obs-text ), trimmed.
_FIELD_CHAR = r"[\x09\x20-\x7e\x80-\xff]"
_VALUE = re.compile(_FIELD_CHAR + "*")
# Fields that frame a message body (RFC 7230 section 3.3), lower case.
_BODY_FRAMING = ("content-length", "transfer-encoding")

# Fields a response built here frames itself: the caller's are dropped.
_CLOSING_FIELDS = _BODY_FRAMING + ("connection",)
# Statuses whose responses have no body, so no Content-Length either
# (RFC 9110 sections 8.6, 15.3.5 and 15.4.5).
_NO_BODY = (204, 304)


def _phrase(status: int, default: str = "Unknown") -> str:
    """The standard reason phrase of ``status`` (RFC 9110 section 15), or ``default``."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return default


def _text(value: Union[str, bytes]) -> str:
    """A field name or value as text: bytes are taken byte for byte (latin-1)."""
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def validate_header(name: str, value: str) -> None:
    """Raise ValueError unless ``name`` is a token and ``value`` has no CR, LF or NUL.

    Guards headers given by an application against response splitting.
    """
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"invalid header name: {name!r}")
    if not _VALUE.fullmatch(value) or value != value.strip(" \t"):
        raise ValueError(f"invalid value for header {name}: {value!r}")


def _serialize_fields(headers: Iterable[Tuple[str, str]]) -> List[str]:
    out = []
    for name, value in headers:
        validate_header(name, value)
        out.append(f"{name}: {value}\r\n")
    return out


def _serialize_response(
    status: int, reason: str, headers: Iterable[Tuple[str, str]], body: bytes, version: str = "HTTP/1.1"
) -> bytes:
    """The bytes of a response head and body, as given (no framing added).

    An empty ``reason`` is the standard phrase, or nothing for an unregistered
    status (RFC 9112 section 4: the reason-phrase may be empty).
    """
    if not 100 <= status <= 999:
        raise ValueError(f"invalid status code: {status}")
    reason = reason or _phrase(status, "")
    if not _VALUE.fullmatch(reason) or "\t" in reason:
        raise ValueError("invalid reason phrase")
    parts = [f"{version} {status} {reason}\r\n"]
    parts += _serialize_fields(headers)
    parts.append("\r\n")
    return "".join(parts).encode("latin-1") + body


def _closing_response(status: int, headers: Iterable[Tuple[str, str]], body: object, drop: Sequence[str]) -> bytes:
    """A final response that closes the connection, framed by us.

    ``drop`` lists the (lower-case) caller fields to leave out; a
    ``Connection: close`` is added unless a Connection field is kept.
    """
    if not isinstance(status, int) or not 200 <= status <= 999:
        # A 1xx is interim (RFC 9110 section 15.2): the client would wait for more.
        raise ValueError(f"a final (non-1xx, 3-digit) status is required, not {status!r}")
    try:
        data = memoryview(body).tobytes()  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"the body must be bytes-like, not {type(body).__name__}") from None
    pairs = ((_text(name), _text(value)) for name, value in headers)
    fields = [(name, value) for name, value in pairs if name.lower() not in drop]
    names = {name.lower() for name, _ in fields}
    if data and "content-type" not in names:
        fields.append(("Content-Type", "text/plain; charset=utf-8"))
    if status not in _NO_BODY:
        # Content-Length makes the response self-delimiting (RFC 9112 section 6.3).
        fields.append(("Content-Length", str(len(data))))
    elif data:
        raise ValueError(f"a {status} response has no body")
    if "connection" not in names:
        fields.append(("Connection", "close"))
    return _serialize_response(status, _phrase(status), fields, data)


def build_response(status: int, headers: Iterable[Tuple[str, str]] = (), body: bytes = b"") -> bytes:
    """A complete HTTP/1.1 response that closes the connection, e.g. to answer plain HTTP.

    The reason phrase is the standard one (``Unknown`` for an unregistered
    status). The caller's fields come first, minus any Content-Length,
    Transfer-Encoding or Connection: the framing is ours, and a second one
    would make the response ambiguous (RFC 9112 section 6.3). Then
    ``Content-Type: text/plain; charset=utf-8`` if the body is not empty and
    the caller gave no Content-Type, ``Content-Length`` (not for 204 and 304,
    which have no body) and ``Connection: close``.

    Args:
        status: a final status, 200 to 999.
        headers: more response fields (checked against injection).
        body: the body, any bytes-like object.

    Raises:
        ValueError: a 1xx or out-of-range status, a body that is not
            bytes-like (or not empty for 204 and 304), or a field with an
            invalid name or value.
    """
    return _closing_response(status, headers, body, _CLOSING_FIELDS)


def error_response(
    status: int, reason: str, headers: Iterable[Tuple[str, str]] = (), body: Optional[bytes] = None
) -> bytes:
    """A complete error response that closes the connection.

    The body is ``body`` when given, else ``reason`` (UTF-8) plus a newline
    (nothing for 204 and 304). As in :func:`build_response`, the body's
    framing is ours: a Content-Length or Transfer-Encoding in ``headers`` is
    dropped, Content-Length is added, and a plain-text Content-Type when the
    body is not empty and ``headers`` has none. Unlike there, a Connection
    field in ``headers`` is kept (a 426 sends ``Connection: Upgrade, close``);
    ``Connection: close`` is added only when there is none.

    Raises:
        ValueError: as for :func:`build_response`.
    """
    if body is None:
        body = b"" if status in _NO_BODY else (reason + "\n").encode("utf-8")
    return _closing_response(status, headers, body, _BODY_FRAMING)

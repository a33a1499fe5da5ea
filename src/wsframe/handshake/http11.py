"""A bounded HTTP/1.1 head parser and serializer, just enough for RFC 6455 section 4.

Only the head (start line and header fields, RFC 7230 section 3) is parsed:
the opening handshake has no body. Every limit is checked as bytes arrive, so a
peer that trickles an endless head is refused (431) instead of buffered.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from .errors import HeadTooLarge, InvalidMessage
from .responses import _TOKEN, _VALUE, _serialize_fields, _serialize_response, _text

# Response writing lives in .responses (errors imports it too); its public
# names stay importable from here, where they were first.
from .responses import build_response, error_response, validate_header

__all__ = [
    "DEFAULT_MAX_HEAD_SIZE",
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_LINE_SIZE",
    "Headers",
    "Request",
    "Response",
    "HeadReader",
    "parse_request",
    "parse_response",
    "serialize_request",
    "serialize_response",
    "build_response",
    "error_response",
    "header_tokens",
    "validate_header",
]

DEFAULT_MAX_HEAD_SIZE = 16 * 1024
DEFAULT_MAX_HEADERS = 100
DEFAULT_MAX_LINE_SIZE = 8 * 1024

HeaderPairs = Iterable[Tuple[Union[str, bytes], Union[str, bytes]]]

# RFC 7230 section 3.1.1: request-target; we only need it to be free of CTLs and spaces.
_TARGET = re.compile(r"[\x21-\x7e]+")
_STATUS_CODE = re.compile(r"[0-9]{3}")
class Headers:
    """An ordered, case-insensitive multi-map of header fields.

    Repeated fields are kept apart (RFC 7230 section 3.2.2 lets a recipient
    join them with commas; :func:`header_tokens` does that for list headers).
    """

    __slots__ = ("_items",)

    def __init__(self, items: Optional[HeaderPairs] = None) -> None:
        self._items: List[Tuple[str, str]] = []
        if items is not None:
            for name, value in items:
                self._items.append((_text(name), _text(value)))

    def add(self, name: str, value: str) -> None:
        """Append a field (no validation; see :func:`validate_header`)."""
        self._items.append((name, value))

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The first value of ``name``, or ``default``."""
        lname = name.lower()
        for key, value in self._items:
            if key.lower() == lname:
                return value
        return default

    def get_all(self, name: str) -> List[str]:
        """Every value of ``name``, in order."""
        lname = name.lower()
        return [value for key, value in self._items if key.lower() == lname]

    def items(self) -> List[Tuple[str, str]]:
        """A copy of the (name, value) pairs, in order."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[Tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class Request:
    """An HTTP request head: method, target, version and headers."""

    __slots__ = ("method", "target", "version", "headers")

    def __init__(
        self, method: str, target: str, headers: Union[Headers, HeaderPairs], version: str = "HTTP/1.1"
    ) -> None:
        self.method: str = method
        self.target: str = target
        self.version: str = version
        self.headers: Headers = headers if isinstance(headers, Headers) else Headers(headers)

    def __repr__(self) -> str:
        return f"Request({self.method!r}, {self.target!r}, {self.headers!r})"


class Response:
    """An HTTP response head (and, when known, body)."""

    __slots__ = ("status", "reason", "version", "headers", "body")

    def __init__(
        self,
        status: int,
        reason: str,
        headers: Union[Headers, HeaderPairs],
        version: str = "HTTP/1.1",
        body: bytes = b"",
    ) -> None:
        self.status: int = status
        self.reason: str = reason
        self.version: str = version
        self.headers: Headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.body: bytes = body

    def __repr__(self) -> str:
        return f"Response({self.status}, {self.reason!r}, {self.headers!r})"


def header_tokens(values: Iterable[str]) -> List[str]:
    """Split comma-separated list headers into trimmed, non-empty elements.

    RFC 7230 section 7: ``#rule`` lists allow empty elements and optional
    whitespace; repeated fields are one list.
    """
    tokens: List[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip(" \t")
            if part:
                tokens.append(part)
    return tokens


class HeadReader:
    """Accumulate bytes until a complete head (ended by an empty line) is there.

    ``feed()`` returns None while more bytes are needed; the head bytes and
    the bytes after it once complete. Limits apply as bytes arrive: a line
    without its CRLF longer than ``max_line_size``, a head longer than
    ``max_head_size``, or more than ``max_headers`` fields raise
    :class:`HeadTooLarge`. The scan resumes where it stopped, so a head sent
    one byte at a time costs linear time.
    """

    __slots__ = ("max_head_size", "max_headers", "max_line_size", "_buf", "_scanned", "_line_start", "_lines", "done")

    def __init__(
        self,
        max_head_size: int = DEFAULT_MAX_HEAD_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
    ) -> None:
        self.max_head_size = max_head_size
        self.max_headers = max_headers
        self.max_line_size = max_line_size
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf already searched for line ends
        self._line_start = 0  # start of the current, unfinished line
        self._lines = 0  # complete lines so far (start line + fields)
        self.done = False

    @property
    def buffered(self) -> int:
        """Bytes held so far."""
        return len(self._buf)

    def feed(self, data: Union[bytes, bytearray, memoryview]) -> Optional[Tuple[bytes, bytes]]:
        """Add ``data``; return (head, rest) once the head is complete, else None.

        ``head`` ends with the empty line; ``rest`` is whatever followed it.
        Raises HeadTooLarge over a limit and InvalidMessage after completion.
        """
        if self.done:
            raise InvalidMessage("head already complete")
        buf = self._buf
        buf += data
        while True:
            nl = buf.find(b"\n", self._scanned)
            if nl < 0:
                self._scanned = len(buf)
                if len(buf) - self._line_start > self.max_line_size + 1:
                    raise HeadTooLarge("header line too long")
                if len(buf) > self.max_head_size:
                    raise HeadTooLarge("request head too large")
                return None
            end = nl + 1
            if end > self.max_head_size:
                raise HeadTooLarge("request head too large")
            line_len = nl - self._line_start  # without the LF
            if line_len > self.max_line_size + 1:  # +1 for the CR
                raise HeadTooLarge("header line too long")
            if line_len == 1 and buf[self._line_start] == 0x0D or line_len == 0:
                # The empty line that ends the head (RFC 7230 section 3).
                if self._lines == 0:
                    raise InvalidMessage("empty start line")
                self.done = True
                head = bytes(buf[:end])
                rest = bytes(buf[end:])
                self._buf = bytearray()
                return head, rest
            self._lines += 1
            if self._lines > self.max_headers + 1:  # the start line is not a header
                raise HeadTooLarge("too many headers")
            self._line_start = end
            self._scanned = end


def _split_lines(head: bytes) -> List[str]:
    """Lines of a complete head without their CRLF; bare LF is refused."""
    text = head.decode("latin-1")
    if not text.endswith("\r\n\r\n"):
        raise InvalidMessage("head must end with CRLF CRLF")
    lines = text[:-4].split("\r\n")
    for line in lines:
        if "\n" in line or "\r" in line:
            raise InvalidMessage("line not terminated by CRLF")
    return lines


def _parse_fields(lines: Sequence[str]) -> Headers:
    """RFC 7230 section 3.2: ``field-name ":" OWS field-value OWS``."""
    headers = Headers()
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise InvalidMessage("header line without a colon")
        if not _TOKEN.fullmatch(name):
            # Also catches obs-fold (a line starting with whitespace) and
            # whitespace before the colon, both refused by RFC 7230 3.2.4.
            raise InvalidMessage("invalid header name")
        value = value.strip(" \t")
        if not _VALUE.fullmatch(value):
            raise InvalidMessage(f"invalid value in header {name}")
        headers.add(name, value)
    return headers


def parse_request(head: bytes) -> Request:
    """Parse a complete request head (as returned by :class:`HeadReader`).

    Raises InvalidMessage for anything not strictly ``method SP target SP
    HTTP/x.y CRLF`` followed by well-formed fields.
    """
    lines = _split_lines(head)
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise InvalidMessage("malformed request line")
    method, target, version = parts
    if not _TOKEN.fullmatch(method):
        raise InvalidMessage("malformed request method")
    if not _TARGET.fullmatch(target):
        raise InvalidMessage("malformed request target")
    if not re.fullmatch(r"HTTP/[0-9]\.[0-9]", version):
        raise InvalidMessage("malformed HTTP version")
    return Request(method, target, _parse_fields(lines[1:]), version)


def parse_response(head: bytes) -> Response:
    """Parse a complete response head: ``HTTP/x.y SP 3DIGIT SP reason``."""
    lines = _split_lines(head)
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if not re.fullmatch(r"HTTP/[0-9]\.[0-9]", version):
        raise InvalidMessage("malformed HTTP version")
    if not _STATUS_CODE.fullmatch(code):
        raise InvalidMessage("malformed status code")
    if not _VALUE.fullmatch(reason):
        raise InvalidMessage("malformed reason phrase")
    return Response(int(code), reason, _parse_fields(lines[1:]), version)


def serialize_request(request: Request) -> bytes:
    """The bytes of a request head (fields validated against injection)."""
    if not _TOKEN.fullmatch(request.method) or not _TARGET.fullmatch(request.target):
        raise ValueError("invalid request method or target")
    parts = [f"{request.method} {request.target} {request.version}\r\n"]
    parts += _serialize_fields(request.headers)
    parts.append("\r\n")
    return "".join(parts).encode("latin-1")


def serialize_response(response: Response) -> bytes:
    """The bytes of a response head followed by its body."""
    return _serialize_response(response.status, response.reason, response.headers, response.body, response.version)

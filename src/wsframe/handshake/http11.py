"""A bounded HTTP/1.1 head parser and serializer, just enough for RFC 6455 section 4.

Only the head (start line and header fields, RFC 7230 section 3) is parsed:
the opening handshake has no body. Every limit is checked as bytes arrive, so a
peer that trickles an endless head is refused (431) instead of buffered.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, Iterator, List, Literal, Optional, Sequence, Tuple, Type, Union

from .errors import HeadTooLarge, InvalidMessage
from .responses import _FIELD_CHAR, _TCHAR, _TOKEN, _VALUE, _serialize_fields, _serialize_response, _text

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
_TARGET_CHAR = r"[\x21-\x7e]"
_TARGET = re.compile(_TARGET_CHAR + "+")
_STATUS_CODE = re.compile(r"[0-9]{3}")

# For HeadReader(expect=...): runs of the variable parts of a start line, as
# bytes patterns (they scan the reader's buffer in place), and templates of
# the fixed parts, where "#" stands for a digit.
_METHOD_RUN = re.compile((_TCHAR + "*").encode())
_TARGET_RUN = re.compile((_TARGET_CHAR + "*").encode())
_REASON_RUN = re.compile((_FIELD_CHAR + "*").encode())
_REQUEST_VERSION = b"HTTP/#.#"
_STATUS_START = b"HTTP/1.1 ### "  # version, status code, the SP before the reason


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

    @property
    def path(self) -> str:
        """The request target (websockets calls it ``path``): an alias of :attr:`target`."""
        return self.target

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


def _fits(data: bytes, template: bytes) -> bool:
    """Whether ``data`` is a prefix of ``template``, where ``#`` stands for any digit."""
    if len(data) > len(template):
        return False
    for byte, want in zip(data, template):
        if not (0x30 <= byte <= 0x39 if want == 0x23 else byte == want):
            return False
    return True


def _run_end(run: "re.Pattern[bytes]", buf: bytearray, pos: int, end: int) -> int:
    """Where the run of ``run``'s characters starting at ``pos`` stops (at most ``end``)."""
    match = run.match(buf, pos, end)
    return pos if match is None else match.end()


class _StartLine:
    """Checks a head's first line while it arrives, for :class:`HeadReader`.

    Each check resumes where the last one stopped, so the bytes are looked at
    once however the line is split.
    """

    __slots__ = ("_pos",)

    def __init__(self) -> None:
        self._pos = 0  # bytes of the line already accepted

    def check(self, buf: bytearray, end: int, complete: bool) -> None:
        """Raise InvalidMessage unless ``buf[:end]`` can start (``complete``: is) a good start line.

        ``buf[:end]`` is the line so far without its line end (a CR that may
        be the start of the CRLF is left out).
        """
        raise NotImplementedError


class _RequestLine(_StartLine):
    """``method SP request-target SP HTTP-version`` (RFC 9112 section 3), as :func:`parse_request` takes it."""

    __slots__ = ("_part", "_part_start")

    def __init__(self) -> None:
        super().__init__()
        self._part = 0  # 0: method, 1: target, 2: version
        self._part_start = 0

    def check(self, buf: bytearray, end: int, complete: bool) -> None:
        pos = self._pos
        while self._part < 2:
            pos = _run_end(_METHOD_RUN if self._part == 0 else _TARGET_RUN, buf, pos, end)
            if pos == end:
                break
            if buf[pos] != 0x20 or pos == self._part_start:  # one SP after a non-empty part
                raise InvalidMessage("malformed request line")
            pos += 1
            self._part += 1
            self._part_start = pos
        self._pos = pos
        if self._part == 2:
            version = bytes(buf[self._part_start : end])  # short: longer ones fail
            if _fits(version, _REQUEST_VERSION) and (not complete or len(version) == len(_REQUEST_VERSION)):
                return
        elif not complete:
            return
        raise InvalidMessage("malformed request line")


class _StatusLine(_StartLine):
    """``HTTP/1.1 SP 3DIGIT [SP reason]`` (RFC 9112 section 4), as :func:`parse_response` takes it.

    Only HTTP/1.1: :func:`~wsframe.handshake.check_response` wants it for the
    101, and a peer answering in another version is not the server we asked.
    """

    __slots__ = ()

    def check(self, buf: bytearray, end: int, complete: bool) -> None:
        fixed = len(_STATUS_START)
        if self._pos < fixed:
            if not _fits(bytes(buf[: min(end, fixed)]), _STATUS_START):
                raise InvalidMessage("not an HTTP/1.1 status line")
            if end < fixed:
                if complete and end != fixed - 1:  # "HTTP/1.1 101" without a reason is taken
                    raise InvalidMessage("not an HTTP/1.1 status line")
                return
            self._pos = fixed
        self._pos = _run_end(_REASON_RUN, buf, self._pos, end)
        if self._pos != end:
            raise InvalidMessage("malformed reason phrase")


_START_LINES: Dict[str, Type[_StartLine]] = {"request": _RequestLine, "response": _StatusLine}


class HeadReader:
    """Accumulate bytes until a complete head (ended by an empty line) is there.

    ``feed()`` returns None while more bytes are needed; the head bytes and
    the bytes after it once complete. Limits apply as bytes arrive: a line
    without its CRLF longer than ``max_line_size``, a head longer than
    ``max_head_size``, or more than ``max_headers`` fields raise
    :class:`HeadTooLarge`. The scan resumes where it stopped, so a head sent
    one byte at a time costs linear time.

    With ``expect="response"`` (a client) or ``expect="request"`` (a server)
    the start line is checked as it arrives, and :class:`InvalidMessage` is
    raised as soon as the bytes so far cannot begin one, instead of waiting
    for an end of head that a peer not speaking HTTP never sends. A response
    must begin ``HTTP/1.1 `` and a 3-digit status, then optionally a space and
    a reason; a request is a token, a space, a target without spaces or
    controls, a space and ``HTTP/x.y``; either line ends with CRLF. Only what
    :func:`parse_request` / :func:`parse_response` would refuse is refused,
    and a response in another version than HTTP/1.1.
    """

    __slots__ = (
        "max_head_size",
        "max_headers",
        "max_line_size",
        "expect",
        "_buf",
        "_scanned",
        "_line_start",
        "_lines",
        "_start_line",
        "done",
    )

    def __init__(
        self,
        max_head_size: int = DEFAULT_MAX_HEAD_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        *,
        expect: Optional[Literal["request", "response"]] = None,
    ) -> None:
        if expect is not None and expect not in _START_LINES:
            raise ValueError(f"expect must be 'request', 'response' or None, not {expect!r}")
        self.expect = expect
        self._start_line: Optional[_StartLine] = None if expect is None else _START_LINES[expect]()
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
                if self._lines == 0 and self._start_line is not None:
                    end = len(buf)
                    if buf.endswith(b"\r"):
                        end -= 1  # perhaps the CR of the CRLF: looked at again with the next bytes
                    self._start_line.check(buf, end, False)
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
            if self._lines == 0 and self._start_line is not None:
                if buf[nl - 1] != 0x0D:
                    raise InvalidMessage("line not terminated by CRLF")
                self._start_line.check(buf, nl - 1, True)
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

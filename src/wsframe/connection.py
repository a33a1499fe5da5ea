"""A sans-I/O WebSocket connection: bytes in, events out, bytes to send back.

:class:`Connection` does no I/O. A host server (asyncio, trio, threads,
gevent) feeds it what it reads with :meth:`~Connection.receive_data` and
:meth:`~Connection.receive_eof`, handles :meth:`~Connection.events`, and writes
:meth:`~Connection.data_to_send`. It can run the opening handshake itself
(RFC 6455 section 4) or start OPEN when the host did the handshake.

Framing is the compiled :class:`wsframe.FrameParser` (or its pure twin); per
message the Python work here is one event object.
"""

from __future__ import annotations

import enum
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

from . import events as ev
from ._backend import codec as _codec
from ._reasons import INVALID_UTF8
from .enums import CloseCode, Opcode
from .errors import InvalidUTF8, ProtocolError
from .extension import Extension
from .handshake import client as _client
from .handshake import server as _server
from .handshake.errors import InvalidHandshake, InvalidMessage, RequestRejected
from .handshake.extensions import ClientExtensionFactory, ServerExtensionFactory
from .handshake.http11 import (
    DEFAULT_MAX_HEAD_SIZE,
    DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_LINE_SIZE,
    HeadReader,
    Request,
    Response,
    parse_request,
    parse_response,
    validate_header,
)

__all__ = ["Connection", "State", "InvalidState"]

Buffer = Union[bytes, bytearray, memoryview]

_encode_frame = _codec.encode_frame
_encode_close_payload = _codec.encode_close_payload
_decode_close_payload = _codec.decode_close_payload
_validate_utf8 = _codec.validate_utf8

#: Automatic pongs queued between two drains of the output before a new
#: ping replaces the latest of them (see Connection._queue_pong).
MAX_QUEUED_PONGS = 32

# Plain ints for the dispatch in _process (the parser hands out Opcode members,
# which compare equal to them).
_TEXT = int(Opcode.TEXT)
_BINARY = int(Opcode.BINARY)
_CLOSE = int(Opcode.CLOSE)
_PING = int(Opcode.PING)
_PONG = int(Opcode.PONG)


class State(enum.IntEnum):
    """Connection states (RFC 6455 sections 4 and 7)."""

    CONNECTING = 0  # opening handshake in progress
    OPEN = 1  # messages flow both ways
    CLOSING = 2  # we sent a close frame and wait for the peer's
    CLOSED = 3  # both close frames exchanged, or the connection failed


class InvalidState(RuntimeError):
    """An operation the connection's state forbids, e.g. sending before OPEN
    or after close. A programming error, not bad input from the peer."""


class Connection:
    """One WebSocket connection, either side, without I/O.

    Args:
        role: ``"server"`` or ``"client"``.
        state: ``State.CONNECTING`` (default) to run the opening handshake
            from raw bytes, or ``State.OPEN`` when the host server did it
            (pass ``subprotocol`` and ``extensions`` then).
        host: (client) the Host header; required for a client handshake.
        target: (client) the request target, e.g. ``"/chat?room=1"``.
        origin: (client) the Origin header to send, if any.
        subprotocols: (client) offered, most preferred first; (server)
            supported, most preferred first.
        extension_factories: handshake-time extension negotiators
            (:class:`~wsframe.handshake.ServerExtensionFactory` or
            :class:`~wsframe.handshake.ClientExtensionFactory`).
        extra_headers: more handshake header fields to send.
        origins: (server) the Origin allow-list, None to allow any; put None
            in the list to allow requests without Origin.
        auto_accept: (server) accept valid requests at once (default); when
            False a :class:`~wsframe.events.HandshakeRequest` event waits for
            :meth:`accept` or :meth:`reject`.
        subprotocol: (``state=OPEN``) the subprotocol in use.
        extensions: (``state=OPEN``) the runtime extensions in use (at most one).
        max_frame_size: largest frame payload accepted (1009 above it).
        max_message_size: largest message accepted, after decompression.
        max_fragments: most frames in one message.
        max_head_size: largest handshake head (431 above it on a server).
        max_headers: most header fields in the handshake head.
        max_line_size: longest line in the handshake head.
        text_as_bytes: deliver text messages as validated UTF-8 ``bytes``
            instead of ``str``.
        auto_pong: answer pings with pongs automatically (default).

    Raises:
        ValueError: an unknown role, a client without ``host``, more than
            one extension, a negative size limit, or an invalid header in
            ``extra_headers``.
        TypeError: a size limit that is not an integer.
    """

    def __init__(
        self,
        role: str = "server",
        *,
        state: State = State.CONNECTING,
        host: Optional[str] = None,
        target: str = "/",
        origin: Optional[str] = None,
        subprotocols: Sequence[str] = (),
        extension_factories: Sequence[Union[ServerExtensionFactory, ClientExtensionFactory]] = (),
        extra_headers: Iterable[Tuple[str, str]] = (),
        origins: Optional[Sequence[Optional[str]]] = None,
        auto_accept: bool = True,
        subprotocol: Optional[str] = None,
        extensions: Sequence[Extension] = (),
        max_frame_size: int = _codec.DEFAULT_MAX_FRAME_SIZE,
        max_message_size: int = _codec.DEFAULT_MAX_MESSAGE_SIZE,
        max_fragments: int = _codec.DEFAULT_MAX_FRAGMENTS,
        max_head_size: int = DEFAULT_MAX_HEAD_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        text_as_bytes: bool = False,
        auto_pong: bool = True,
    ) -> None:
        if role not in ("server", "client"):
            raise ValueError(f"role must be 'server' or 'client', not {role!r}")
        state = State(state)
        if state not in (State.CONNECTING, State.OPEN):
            raise ValueError("a connection starts CONNECTING or OPEN")
        self._role = role
        self._is_server = role == "server"
        self._mask: Optional[bool] = None if self._is_server else True  # RFC 6455 5.3: clients mask
        self._state = State.CONNECTING
        self._subprotocols = list(subprotocols)
        self._extension_factories = list(extension_factories)
        self._extra_headers = list(extra_headers)
        for name, value in self._extra_headers:
            validate_header(name, value)  # now, not from receive_data at handshake time
        self._origins = None if origins is None else list(origins)
        self._auto_accept = auto_accept
        self._max_frame_size = max_frame_size
        self._max_message_size = max_message_size
        self._max_fragments = max_fragments
        self._text_as_bytes = text_as_bytes
        self._auto_pong = auto_pong

        self._out: List[bytes] = []
        # Auto pongs queued since the host last drained _out, and the latest
        # of them (and where it is), which a ping beyond the cap replaces.
        self._pongs_queued = 0
        self._pong: Optional[bytes] = None
        self._pong_index = -1
        self._events: List[ev.Event] = []
        self._parser: Optional[_codec.FrameParser] = None
        self._extension: Optional[Extension] = None
        self._subprotocol: Optional[str] = None
        self._request: Optional[Request] = None
        self._response: Optional[Response] = None
        self._client_request: Optional[_client.ClientRequest] = None
        self._pending: Optional[bytearray] = None  # bytes after a request awaiting accept()
        self._ignore_input = False  # after the peer's close, a failure or EOF
        self._close_sent: Optional[Tuple[int, str]] = None
        self._close_received: Optional[Tuple[int, str]] = None
        self._closed: Optional[ev.Closed] = None
        self._eof = False
        self._should_close = False

        if state is State.OPEN:
            self._open(subprotocol, list(extensions))
            return
        # Check the limits now (the codec's own checks), not when the
        # handshake completes and the real parser is built: a ValueError
        # there would come out of receive_data with the 101 already queued.
        _codec.FrameParser(
            is_server=self._is_server,
            max_frame_size=max_frame_size,
            max_message_size=max_message_size,
            max_fragments=max_fragments,
        )
        self._head = HeadReader(max_head_size, max_headers, max_line_size)
        if not self._is_server:
            if host is None:
                raise ValueError("a client connection needs host")
            self._client_request = _client.build_request(
                host,
                target,
                subprotocols=self._subprotocols,
                origin=origin,
                extensions=self._extension_factories,  # type: ignore[arg-type]
                extra_headers=self._extra_headers,
            )
            self._request = self._client_request.request
            self._out.append(self._client_request.data)

    @classmethod
    def opened(
        cls,
        role: str = "server",
        *,
        subprotocol: Optional[str] = None,
        extensions: Sequence[Extension] = (),
        **options: object,
    ) -> "Connection":
        """A connection already OPEN, for a host server that did the handshake."""
        return cls(role, state=State.OPEN, subprotocol=subprotocol, extensions=extensions, **options)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"<Connection {self._role} {self._state.name} subprotocol={self._subprotocol!r}>"

    # ---- properties ------------------------------------------------------------

    @property
    def role(self) -> str:
        """``"server"`` or ``"client"``."""
        return self._role

    @property
    def state(self) -> State:
        """The current :class:`State`."""
        return self._state

    @property
    def subprotocol(self) -> Optional[str]:
        """The negotiated subprotocol, or None."""
        return self._subprotocol

    @property
    def extensions(self) -> List[Extension]:
        """The runtime extensions in use."""
        return [] if self._extension is None else [self._extension]

    @property
    def request(self) -> Optional[Request]:
        """The handshake request (the peer's on a server, ours on a client)."""
        return self._request

    @property
    def response(self) -> Optional[Response]:
        """(client) The server's handshake response, once received."""
        return self._response

    @property
    def close_code(self) -> Optional[int]:
        """The connection's close code once CLOSED (see :class:`~wsframe.events.Closed`)."""
        return None if self._closed is None else self._closed.code

    @property
    def close_reason(self) -> Optional[str]:
        """The connection's close reason once CLOSED."""
        return None if self._closed is None else self._closed.reason

    @property
    def should_close_transport(self) -> bool:
        """Whether the host should close the TCP connection after writing
        :meth:`data_to_send`.

        True on a server once the closing handshake is done (RFC 6455 section
        7.1.1: the server closes TCP first), on either side after a failed
        handshake, a protocol error or EOF. A client whose closing handshake
        is done waits for the server's EOF (and may close after a timeout).
        """
        return self._should_close

    # ---- input -------------------------------------------------------------------

    def receive_data(self, data: Buffer) -> None:
        """Feed bytes read from the transport; then call :meth:`events`."""
        if self._ignore_input:
            return
        if self._parser is not None:
            # The hot path: one parser call, one event per message.
            try:
                frames = self._parser.feed(data)
            except ProtocolError as exc:
                self._process(exc.frames)
                if not self._ignore_input:
                    self._fail(exc)
                return
            self._process(frames)
        elif self._pending is not None:
            self._pending += data
            if len(self._pending) > self._head.max_head_size:
                self._reject(InvalidMessage("data sent before the handshake response"))
        else:
            self._receive_head(data)

    def receive_eof(self) -> None:
        """The peer closed its side of the transport (or the transport died)."""
        if self._eof:
            return
        self._eof = True
        self._should_close = True
        if self._closed is not None:
            return
        self._ignore_input = True
        error: Optional[Exception] = None
        if self._parser is not None and self._close_received is None:
            try:
                self._parser.feed_eof()
            except ProtocolError as exc:
                error = exc
        # RFC 6455 section 7.1.5: closed without a close frame is 1006.
        self._finish(CloseCode.ABNORMAL_CLOSURE, "", clean=False, error=error)

    def events(self) -> List[ev.Event]:
        """The events since the last call, in order (the list is handed over)."""
        events = self._events
        self._events = []
        return events

    # ---- output ------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Everything queued for the transport, as one bytes (b"" when idle).

        Output is held until the host takes it: call this after every
        :meth:`receive_data` and send. What waits is what the application
        sent plus our answers (close, pongs); past MAX_QUEUED_PONGS undrained
        pongs, a new ping's pong replaces the latest (RFC 6455 5.5.3), so a
        ping flood cannot grow it.
        """
        out = self._out
        if not out:
            return b""
        self._out = []
        self._pongs_queued = 0
        return out[0] if len(out) == 1 else b"".join(out)

    def data_to_send_list(self) -> List[bytes]:
        """Everything queued, as a list of chunks for a writev-style transport."""
        out = self._out
        self._out = []
        self._pongs_queued = 0
        return out

    # ---- handshake (server side, auto_accept=False) ---------------------------

    def accept(self, subprotocol: Optional[str] = None, extra_headers: Iterable[Tuple[str, str]] = ()) -> None:
        """(server) Accept the pending :class:`~wsframe.events.HandshakeRequest`.

        Args:
            subprotocol: one the client offered, or None to select from the
                ``subprotocols`` preference list.
            extra_headers: more response fields.

        Raises:
            InvalidState: no request is waiting.
            ValueError: a subprotocol the client did not offer, or a bad
                header; the request stays pending.
        """
        if self._pending is None or self._request is None:
            raise InvalidState("no handshake request is waiting for accept()")
        # The request stays pending until _accept has checked the arguments:
        # after a ValueError the application may call accept() or reject() again.
        self._accept(self._request, bytes(self._pending), subprotocol, list(extra_headers))

    def reject(self, status: int = 403, reason: str = "", headers: Iterable[Tuple[str, str]] = ()) -> None:
        """(server) Refuse the pending request with an HTTP error response.

        Raises:
            InvalidState: no request is waiting.
            ValueError: a 1xx status or an invalid header; the request
                stays pending.
        """
        if self._pending is None:
            raise InvalidState("no handshake request is waiting for reject()")
        if not 200 <= status <= 999:
            raise ValueError("reject() needs a final (non-1xx) status")
        error = RequestRejected(reason or "request refused", status, list(headers))
        self._reject(error)  # ValueError for a bad header, with nothing changed

    # ---- sending -----------------------------------------------------------------

    def send_text(self, data: Union[str, Buffer], fragment_size: Optional[int] = None) -> None:
        """Queue a text message; ``bytes`` must be valid UTF-8 (checked).

        Args:
            data: the text, as str or UTF-8 bytes.
            fragment_size: split into frames of at most this many bytes.

        Raises:
            InvalidState: the connection is not OPEN.
            ValueError: bytes that are not UTF-8, a fragment_size below 1.
        """
        if isinstance(data, str):
            payload = data.encode("utf-8")
        else:
            payload = bytes(data)
            if not _validate_utf8(payload):
                raise ValueError("text payload is not valid UTF-8")
        self._send_message(Opcode.TEXT, payload, fragment_size)

    def send_binary(self, data: Buffer, fragment_size: Optional[int] = None) -> None:
        """Queue a binary message, optionally split into frames of ``fragment_size``."""
        self._send_message(Opcode.BINARY, data, fragment_size)

    def send_ping(self, data: Buffer = b"") -> None:
        """Queue a ping (at most 125 bytes, RFC 6455 section 5.5)."""
        self._send_control(Opcode.PING, data)

    def send_pong(self, data: Buffer = b"") -> None:
        """Queue an unsolicited or manual pong (at most 125 bytes)."""
        self._send_control(Opcode.PONG, data)

    def send_prepared(self, frame: bytes) -> None:
        """(server) Queue a frame encoded beforehand, e.g. by :func:`wsframe.broadcast`.

        The bytes go out as they are: they must be one or more complete,
        unmasked server frames.
        """
        if not self._is_server:
            raise InvalidState("prepared frames are unmasked: servers only")
        self._check_open()
        self._out.append(frame)

    def close(self, code: Optional[int] = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake (RFC 6455 section 7.1.2).

        Sends a close frame with ``code`` and ``reason`` (no payload when code
        is None). A no-op when a close frame was already sent or the
        connection is closed; during the opening handshake, just abandons it.

        Raises:
            ValueError: 1005, 1006, 1015 or another code not allowed on the
                wire, a reason without a code, or one over 123 bytes.
        """
        payload = _encode_close_payload(code, reason)  # validates first, whatever the state
        if self._state is State.CONNECTING:
            self._pending = None
            self._ignore_input = True
            self._should_close = True
            self._finish(CloseCode.ABNORMAL_CLOSURE, "", clean=False)
            return
        if self._close_sent is not None or self._state is State.CLOSED:
            return
        self._out.append(_encode_frame(Opcode.CLOSE, payload, mask=self._mask))
        self._close_sent = (CloseCode.NO_STATUS_RCVD if code is None else int(code), reason)
        self._state = State.CLOSING

    # ---- internals ---------------------------------------------------------------

    def _check_open(self) -> None:
        if self._state is not State.OPEN:
            raise InvalidState(f"cannot send in state {self._state.name}")

    def _send_message(self, opcode: Opcode, data: Buffer, fragment_size: Optional[int]) -> None:
        self._check_open()
        # Arguments first: an extension may keep state across messages
        # (permessage-deflate's shared window), so once it has encoded a
        # message, that message must go out.
        if fragment_size is not None and fragment_size < 1:
            raise ValueError("fragment_size must be at least 1")
        rsv1 = False
        if self._extension is not None:
            data, rsv1 = self._extension.encode_message(opcode, bytes(data))
        mask = self._mask
        if fragment_size is None or len(data) <= fragment_size:
            self._out.append(_encode_frame(opcode, data, rsv1=rsv1, mask=mask))
            return
        # RFC 6455 section 5.4: first frame has the opcode (and RSV1 of a
        # compressed message), the rest are continuations, the last has FIN.
        view = memoryview(data)
        size = len(view)
        out = self._out
        for start in range(0, size, fragment_size):
            end = start + fragment_size
            out.append(
                _encode_frame(
                    opcode if start == 0 else Opcode.CONTINUATION,
                    view[start:end],
                    fin=end >= size,
                    rsv1=rsv1 and start == 0,
                    mask=mask,
                )
            )

    def _send_control(self, opcode: Opcode, data: Buffer) -> None:
        if len(data) > 125:
            raise ValueError("control frame payload over 125 bytes")
        self._check_open()
        self._out.append(_encode_frame(opcode, data, mask=self._mask))

    def _open(self, subprotocol: Optional[str], extensions: List[Extension]) -> None:
        """Enter OPEN: build the frame parser for the negotiated extensions."""
        if len(extensions) > 1:
            raise ValueError("at most one extension is supported")
        self._extension = extensions[0] if extensions else None
        self._subprotocol = subprotocol
        rsv1 = self._extension is not None and self._extension.uses_rsv1
        self._parser = _codec.FrameParser(
            is_server=self._is_server,
            max_frame_size=self._max_frame_size,
            max_message_size=self._max_message_size,
            max_fragments=self._max_fragments,
            # With an extension, text is validated after decoding (in _decoded).
            validate_utf8=self._extension is None,
            rsv_allowed=(rsv1, False, False),
        )
        self._state = State.OPEN

    def _process(self, frames: List[Any]) -> None:
        """Turn parsed frames into events; stops at the peer's close frame."""
        if self._extension is None and not self._text_as_bytes:
            # The hot path: no extension, text as str. One event per message.
            append = self._events.append
            text_message = ev.TextMessage
            binary_message = ev.BinaryMessage
            for index, frame in enumerate(frames):
                opcode = frame.opcode
                if opcode == _TEXT:
                    append(text_message(frame.payload.decode()))
                elif opcode == _BINARY:
                    append(binary_message(frame.payload))
                else:
                    # Control frames are rare: take the general path from here.
                    self._process_general(frames[index:])
                    return
        else:
            self._process_general(frames)

    def _process_general(self, frames: List[Any]) -> None:
        """:meth:`_process` for every case: extensions, bytes text, control frames."""
        events = self._events
        extension = self._extension
        for frame in frames:
            opcode = frame.opcode
            try:
                if opcode == _TEXT:
                    if extension is None:
                        events.append(ev.TextMessage(frame.payload if self._text_as_bytes else frame.payload.decode()))
                    else:
                        events.append(ev.TextMessage(self._decoded_text(frame)))
                elif opcode == _BINARY:
                    payload = frame.payload
                    if extension is not None and frame.rsv1:
                        payload = extension.decode_message(Opcode.BINARY, payload, self._max_message_size)
                    events.append(ev.BinaryMessage(payload))
                elif opcode == _PING:
                    if self._auto_pong and self._state is State.OPEN:
                        self._queue_pong(frame.payload)
                    events.append(ev.Ping(frame.payload))
                elif opcode == _PONG:
                    events.append(ev.Pong(frame.payload))
                elif opcode == _CLOSE:
                    self._on_close(frame.payload)
                    return
            except ProtocolError as exc:
                self._fail(exc)
                return

    def _queue_pong(self, payload: bytes) -> None:
        """Answer a ping; past a cap of undrained pongs, replace the latest.

        RFC 6455 section 5.5.2: a pong carries the ping's payload. Every ping
        gets its own pong up to MAX_QUEUED_PONGS between two drains of
        :meth:`data_to_send` (Autobahn 2.10 expects all 10 of a burst
        answered); beyond that, 5.5.3 lets an endpoint answer only the most
        recent ping, so a ping flood from a peer whose host does not drain
        cannot grow the output without bound.
        """
        pong = _encode_frame(Opcode.PONG, payload, mask=self._mask)
        out = self._out
        index = self._pong_index
        if self._pongs_queued >= MAX_QUEUED_PONGS and 0 <= index < len(out) and out[index] is self._pong:
            out[index] = pong
        else:
            self._pongs_queued += 1
            self._pong_index = len(out)
            out.append(pong)
        self._pong = pong

    def _decoded_text(self, frame: object) -> Union[str, bytes]:
        """Text of a message when an extension is active: decode, then validate."""
        payload: bytes = frame.payload  # type: ignore[attr-defined]
        if frame.rsv1:  # type: ignore[attr-defined]
            payload = self._extension.decode_message(Opcode.TEXT, payload, self._max_message_size)  # type: ignore[union-attr]
        if self._text_as_bytes:
            if not _validate_utf8(payload):
                raise InvalidUTF8(INVALID_UTF8, _codec.find_invalid_utf8(payload))
            return payload
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidUTF8(INVALID_UTF8, exc.start) from None

    def _on_close(self, payload: bytes) -> None:
        """The peer's close frame (RFC 6455 sections 5.5.1 and 7.1)."""
        code, reason = _decode_close_payload(payload)
        self._close_received = (code, reason)
        self._ignore_input = True  # nothing may follow a close frame
        self._events.append(ev.CloseReceived(code, reason))
        if self._close_sent is None:
            # 5.5.1: answer with a close frame, echoing the status code.
            self._out.append(_encode_frame(Opcode.CLOSE, payload, mask=self._mask))
            self._close_sent = (code, reason)
        if self._is_server:
            # 7.1.1: the server closes the TCP connection first.
            self._should_close = True
        self._finish(code, reason, clean=True)

    def _fail(self, error: ProtocolError) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): close frame with the
        error's code, then ignore all input."""
        self._ignore_input = True
        self._should_close = True
        self._events.append(ev.ProtocolViolation(error))
        code = int(error.code)
        if self._close_sent is None and code not in (1005, 1006, 1015):
            try:
                payload = _encode_close_payload(code, error.reason)
            except ValueError:  # a reason over 123 bytes
                payload = _encode_close_payload(code, "")
            self._out.append(_encode_frame(Opcode.CLOSE, payload, mask=self._mask))
            self._close_sent = (code, error.reason)
        self._finish(code, error.reason, clean=False, error=error)

    def _finish(self, code: int, reason: str, clean: bool, error: Optional[BaseException] = None) -> None:
        """Enter CLOSED and emit the one :class:`~wsframe.events.Closed` event."""
        self._state = State.CLOSED
        if self._closed is None:
            self._closed = ev.Closed(code, reason, clean, error)
            self._events.append(self._closed)

    def _receive_head(self, data: Buffer) -> None:
        """Accumulate the handshake head; act on it once complete."""
        try:
            done = self._head.feed(data)
            if done is None:
                return
            head, rest = done
            if self._is_server:
                request = parse_request(head)
                self._request = request
                _server.check_request(request, self._origins)
            else:
                response = parse_response(head)
                response.body = rest if response.status != 101 else b""
                self._response = response
        except InvalidHandshake as exc:
            self._reject(exc)
            return
        if self._is_server:
            if self._auto_accept:
                self._accept(request, rest, None, [])
            else:
                self._pending = bytearray(rest)
                self._events.append(ev.HandshakeRequest(request, _server.offered_subprotocols(request)))
        else:
            self._client_opened(response, rest)

    def _accept(self, request: Request, rest: bytes, subprotocol: Optional[str], extra: List[Any]) -> None:
        """(server) Send the 101, enter OPEN, feed what followed the request."""
        try:
            accepted = _server.accept(
                request,
                subprotocols=self._subprotocols,
                origins=self._origins,
                extensions=self._extension_factories,  # type: ignore[arg-type]
                extra_headers=self._extra_headers + extra,
                subprotocol=subprotocol,
                max_extensions=1,  # one runtime extension per connection (_open)
            )
        except InvalidHandshake as exc:
            self._reject(exc)
            return
        self._pending = None
        self._out.append(accepted.response)
        self._open(accepted.subprotocol, accepted.extensions)
        self._events.append(ev.HandshakeAccepted(accepted.subprotocol, accepted.extensions, request))
        if rest:
            self.receive_data(rest)

    def _client_opened(self, response: Response, rest: bytes) -> None:
        """(client) Check the server's answer; enter OPEN or fail."""
        assert self._client_request is not None
        try:
            subprotocol, extensions = _client.check_response(response, self._client_request)
            if len(extensions) > 1:
                raise InvalidMessage("at most one extension is supported")
        except InvalidHandshake as exc:
            self._reject(exc)
            return
        self._open(subprotocol, extensions)
        self._events.append(ev.HandshakeAccepted(subprotocol, extensions, self._request, response))  # type: ignore[arg-type]
        if rest:
            self.receive_data(rest)

    def _reject(self, error: InvalidHandshake) -> None:
        """The handshake failed: a server queues the error response; either side closes.

        Raises:
            ValueError: (server) the error's headers cannot be sent; raised
                before any state changes.
        """
        response = error.response if self._is_server else b""
        self._ignore_input = True
        self._should_close = True
        self._pending = None
        if self._is_server:
            self._out.append(response)
            status = error.status
        else:
            status = self._response.status if self._response is not None else 0
        self._events.append(ev.HandshakeRejected(status, error, self._response))
        self._finish(CloseCode.ABNORMAL_CLOSURE, error.reason, clean=False, error=error)

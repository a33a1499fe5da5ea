"""A sans-I/O WebSocket connection: bytes in, events out, bytes to send back.

:class:`Connection` does no I/O. A host server (asyncio, trio, threads,
gevent) feeds it what it reads with :meth:`~Connection.receive_data` and
:meth:`~Connection.receive_eof`, handles :meth:`~Connection.events`, and writes
:meth:`~Connection.data_to_send`. It is the one place where protocol
decisions are made: the opening handshake (RFC 6455 section 4) and its
application hook, masking, pongs and their cap, failing the connection (at
once, or after the messages received before the error), limits, and the
memory budget of decoded messages. A host only moves bytes and events.

Framing is the compiled :class:`wsframe.FrameParser` (or its pure twin); per
message the Python work here is one event object.
"""

from __future__ import annotations

import collections
import enum
from typing import Any, Deque, Iterable, List, Optional, Sequence, Tuple, Union, cast

from . import events as ev
from ._backend import codec as _codec
from ._buffers import coalesce as _coalesce
from ._fragments import FragmentDecoder
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
    build_response,
    parse_request,
    parse_response,
    serialize_response,
    validate_header,
)

__all__ = [
    "Connection",
    "State",
    "InvalidState",
    "MAX_QUEUED_PONGS",
    "DEFAULT_MAX_QUEUE_BYTES",
    "MESSAGE_OVERHEAD",
    "LARGE_PAYLOAD",
]

Buffer = Union[bytes, bytearray, memoryview]

_encode_frame = _codec.encode_frame
_encode_frame_header = _codec.encode_frame_header
_encode_close_payload = _codec.encode_close_payload
_decode_close_payload = _codec.decode_close_payload
_validate_utf8 = _codec.validate_utf8

#: Automatic pongs queued between two drains of the output before a new
#: ping replaces the latest of them (see Connection._queue_pong).
MAX_QUEUED_PONGS = 32
#: Default budget of decoded message bytes held for the application: 1 MiB,
#: so that a hundred hostile connections filling theirs cost one event loop
#: about 100 ms of inflating, not half a second (docs/hardening.md).
DEFAULT_MAX_QUEUE_BYTES = 1024 * 1024
#: What one message costs in the budget on top of its payload: the Python
#: objects around it (event, str or bytes header, queue slot), so a flood
#: of tiny messages is bounded too.
MESSAGE_OVERHEAD = 80
#: Input is handed to the parser in slices of this size when the budget is
#: in force, so one big read never turns into more messages than it allows.
RECEIVE_SLICE = 64 * 1024
#: An unmasked ``bytes`` payload of at least this many bytes (a server's
#: message, or a compressed one) is queued as its own chunk behind a
#: separate header instead of being copied into one frame object:
#: :meth:`Connection.data_to_send_buffers` hands it to the host as the very
#: object it is, for ``transport.writelines`` (writev). Below it, copying
#: into one frame is cheaper than a second buffer (docs/aio.md, "Large sends").
LARGE_PAYLOAD = 64 * 1024

# Plain ints for the dispatch in _process (the parser hands out Opcode members,
# which compare equal to them).
_TEXT = int(Opcode.TEXT)
_BINARY = int(Opcode.BINARY)
_CLOSE = int(Opcode.CLOSE)
_PING = int(Opcode.PING)
_PONG = int(Opcode.PONG)
# What the application receives (the memory budget counts them).
_MESSAGE_EVENTS = (ev.TextMessage, ev.BinaryMessage, ev.MessageFragment)


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
            False a :class:`~wsframe.events.HandshakeRequest` event comes for
            every request head that parses, valid upgrade or not, and waits
            for :meth:`accept`, :meth:`reject`, :meth:`respond` or
            :meth:`send_response`.
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
        max_queue_bytes: the memory budget: decoded message bytes (plus
            ``MESSAGE_OVERHEAD`` per message) that input is turned into before
            the connection stops decoding and keeps the rest as raw input
            (see :attr:`receiving_paused`). Without ``track_delivery`` it
            bounds what one :meth:`events` batch holds.
        max_queue_messages: also stop decoding at this many undelivered
            messages (None: bytes only). A host that hands messages to an
            application that may not read (``wsframe.aio``: its ``max_queue``)
            sets it, so a flood of tiny messages costs that many decodes, not
            a budget's worth.
        track_delivery: the host reports each message its application has
            taken with :meth:`delivered`; the budget then covers the host's
            own message queue too, and :attr:`receiving_paused` tells it when
            to stop reading.
        defer_failure: after a protocol error, hold the close frame until the
            host has delivered the messages received before the error (and
            the application has perhaps answered them): it goes out with the
            next :meth:`data_to_send` once none is left undelivered, or at
            :meth:`fail_now`. Input is ignored meanwhile; the state stays
            OPEN until the close frame is queued, so nothing is sent after
            CLOSED.
        stream_fragments: deliver each frame of a fragmented data message
            as a :class:`~wsframe.events.MessageFragment` as it arrives,
            instead of one message event once it is whole (messages sent in
            one frame still come as one message event). The message size
            limit still applies to the whole message.
        bare_messages: :meth:`events` hands out each message as the ``str``
            (text) or ``bytes`` (binary) itself instead of a
            :class:`~wsframe.events.TextMessage` or
            :class:`~wsframe.events.BinaryMessage` around it: one object per
            message (``wsframe.aio`` uses it); other events (a
            :class:`~wsframe.events.MessageFragment` too) are unchanged.
            Not with ``text_as_bytes``.

    Raises:
        ValueError: an unknown role, a client without ``host``, more than
            one extension, a negative size limit, an invalid header in
            ``extra_headers``, or ``bare_messages`` with ``text_as_bytes``.
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
        max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
        max_queue_messages: Optional[int] = None,
        track_delivery: bool = False,
        defer_failure: bool = False,
        stream_fragments: bool = False,
        bare_messages: bool = False,
    ) -> None:
        if role not in ("server", "client"):
            raise ValueError(f"role must be 'server' or 'client', not {role!r}")
        state = State(state)
        if state not in (State.CONNECTING, State.OPEN):
            raise ValueError("a connection starts CONNECTING or OPEN")
        if not isinstance(max_queue_bytes, int) or isinstance(max_queue_bytes, bool):
            raise TypeError("max_queue_bytes must be an integer")
        if max_queue_bytes < 1:
            raise ValueError("max_queue_bytes must be at least 1")
        if bare_messages and text_as_bytes:
            raise ValueError("bare_messages needs text as str (text_as_bytes=False): bytes mean binary")
        if max_queue_messages is not None and max_queue_messages < 1:
            raise ValueError("max_queue_messages must be at least 1 (or None)")
        self._role = role
        self._is_server = role == "server"
        # RFC 6455 section 5.3: clients mask every frame with a fresh key.
        self._mask: Optional[bool] = None if self._is_server else True
        self._state = State.CONNECTING
        self._plain = False  # OPEN without an extension: the fast send path
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
        self._max_queue_bytes = max_queue_bytes
        self._max_queue_messages = max_queue_messages
        self._track_delivery = track_delivery
        self._defer_failure = defer_failure
        self._stream = stream_fragments
        self._fragments_in: Optional[FragmentDecoder] = None  # set when OPEN, if streaming
        self._bare = bare_messages
        # One token: receive_data takes it (list.pop and append are atomic,
        # also on free-threaded CPython), so a second thread gets RuntimeError.
        self._free: List[None] = [None]

        self._out: List[bytes] = []
        # Auto pongs queued since the host last drained _out, and the latest
        # of them (and where it is), which a ping beyond the cap replaces.
        self._pongs_queued = 0
        self._pong: Optional[bytes] = None
        self._pong_index = -1
        self._events: List[Any] = []  # events, and bare messages (bare_messages)
        # The memory budget: cost of the messages decoded and not yet
        # delivered, and what waits undecoded while it is spent.
        self._queued_bytes = 0
        self._queued_messages = 0
        self._frame_backlog: Deque[Any] = collections.deque()
        self._input_backlog: Optional[bytearray] = None
        self._backlog_error: Optional[ProtocolError] = None
        self._eof_after_backlog = False
        # A protocol error whose close frame waits (defer_failure).
        self._failure: Optional[ProtocolError] = None
        # A fragmented message being sent (send_fragment): its opcode, and its
        # parts when an extension must see the whole message.
        self._fragmenting: Optional[int] = None
        self._fragments: Optional[List[bytes]] = None
        # Prepared frames (send_prepared) that came while a fragmented
        # message was being sent: queued when it ends, not between its parts.
        self._held_prepared: List[bytes] = []
        self._held_prepared_size = 0

        self._parser: Optional[_codec.FrameParser] = None
        self._extension: Optional[Extension] = None
        self._subprotocol: Optional[str] = None
        self._request: Optional[Request] = None
        self._request_error: Optional[InvalidHandshake] = None
        self._response: Optional[Response] = None
        self._prepared: Optional[_server.Accepted] = None
        self._error_response: Optional[Response] = None  # prepare_accept's answer to an invalid request
        self._client_request: Optional[_client.ClientRequest] = None
        self._pending: Optional[bytearray] = None  # bytes after a request awaiting the host's answer
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
        self._head = HeadReader(
            max_head_size, max_headers, max_line_size, expect="request" if self._is_server else "response"
        )
        if not self._is_server:
            if host is None:
                raise ValueError("a client connection needs host")
            self._client_request = _client.build_request(
                host,
                target,
                subprotocols=self._subprotocols,
                origin=origin,
                extensions=cast(List[ClientExtensionFactory], self._extension_factories),
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
        **options: Any,
    ) -> "Connection":
        """A connection already OPEN, for a host server that did the handshake."""
        return cls(role, state=State.OPEN, subprotocol=subprotocol, extensions=extensions, **options)

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
    def received_after_head(self) -> bytes:
        """(server) The bytes that followed the request head while the request
        waits for an answer: the start of a request body (a plain HTTP POST
        answered with :meth:`respond`). Empty once answered."""
        return bytes(self._pending) if self._pending is not None and self._is_server else b""

    @property
    def response(self) -> Optional[Response]:
        """The handshake response: the server's on a client, ours on a server
        once it is queued (the 101 or the HTTP answer)."""
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

    @property
    def receiving_paused(self) -> bool:
        """The memory budget is spent: stop reading until this is False again.

        Input that arrived beyond the budget waits undecoded (raw frames, as
        compressed as they came); :meth:`events` decodes more of it once the
        budget has room (without ``track_delivery``, every :meth:`events`
        call frees it; with it, :meth:`delivered` does). A host that keeps
        feeding while paused keeps the order of everything but makes the raw
        backlog grow: obeying this flag is what bounds memory.
        """
        return (
            self._input_backlog is not None
            or bool(self._frame_backlog)
            or self._backlog_error is not None
            or self._budget_spent()
        )

    def _budget_spent(self) -> bool:
        limit = self._max_queue_messages
        return self._queued_bytes >= self._max_queue_bytes or (limit is not None and self._queued_messages >= limit)

    @property
    def queued_bytes(self) -> int:
        """The budget spent now: decoded, undelivered message bytes plus
        ``MESSAGE_OVERHEAD`` per message."""
        return self._queued_bytes

    @property
    def sending_fragments(self) -> bool:
        """A message sent in parts (:meth:`send_fragment`) has not ended yet."""
        return self._fragmenting is not None

    @property
    def failure_pending(self) -> bool:
        """(``defer_failure``) A protocol error's close frame is held back."""
        return self._failure is not None

    # ---- input -------------------------------------------------------------------

    def receive_data(self, data: Buffer) -> None:
        """Feed bytes read from the transport; then call :meth:`events`.

        Raises:
            RuntimeError: another thread is inside this connection's
                ``receive_data`` (one thread at a time per connection).
        """
        try:
            self._free.pop()
        except IndexError:
            raise RuntimeError("this Connection is already receiving in another thread") from None
        try:
            if self._ignore_input:
                return
            parser = self._parser
            if parser is not None:
                if self._input_backlog is not None or self._frame_backlog:
                    # The host did not obey receiving_paused: keep the order.
                    self._hold_input(data)
                elif len(data) <= RECEIVE_SLICE:
                    # The hot path: one parser call, one event per message.
                    try:
                        frames = parser.feed(data)
                    except ProtocolError as exc:
                        self._on_parse_error(exc)
                    else:
                        self._process(frames)
                else:
                    self._feed(data)
            elif self._pending is not None:
                self._pending += data
                if len(self._pending) > self._head.max_head_size:
                    self._reject(InvalidMessage("data sent before the handshake response"))
            else:
                self._receive_head(data)
        finally:
            self._free.append(None)

    def receive_eof(self) -> None:
        """The peer closed its side of the transport (or the transport died)."""
        if self._eof:
            return
        self._eof = True
        if self._failure is not None:
            return  # the held close frame still goes out (fail_now / data_to_send)
        if self._backlog_pending():
            self._eof_after_backlog = True  # after the messages that came before it
            return
        self._receive_eof_now()

    def events(self) -> List[ev.Event]:
        """The events since the last call, in order (the list is handed over).

        Input held back by the memory budget is decoded here, a budget's
        worth at a time, when no other event is waiting.
        """
        if not self._events and self._backlog_pending() and not self._budget_spent():
            # Decoding held-back input feeds the parser: the same one-thread
            # token as receive_data, so a second thread gets this error
            # rather than the parser's.
            try:
                self._free.pop()
            except IndexError:
                raise RuntimeError("this Connection is already receiving in another thread") from None
            try:
                self._drain_backlog()
            finally:
                self._free.append(None)
        events = self._events
        self._events = []
        if not self._track_delivery:
            self._queued_bytes = 0
            self._queued_messages = 0
        return events

    def delivered(self, message: Union[str, bytes, bytearray, memoryview]) -> None:
        """(``track_delivery``) The application took ``message``: free its budget.

        Pass the message object as the event carried it.
        """
        cost = len(message) + MESSAGE_OVERHEAD
        queued = self._queued_bytes - cost
        self._queued_bytes = queued if queued > 0 else 0
        if self._queued_messages > 0:
            self._queued_messages -= 1

    # ---- output ------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Everything queued for the transport, as one bytes (b"" when idle).

        A large payload queued without a copy (``LARGE_PAYLOAD``) is joined
        here like any other chunk; :meth:`data_to_send_buffers` keeps it apart.

        Output is held until the host takes it: call this after every
        :meth:`receive_data` and send. What waits is what the application
        sent plus our answers (close, pongs); past MAX_QUEUED_PONGS undrained
        pongs, a new ping's pong replaces the latest (RFC 6455 5.5.3), so a
        ping flood cannot grow it (a host whose transport is paused simply
        stops taking output, and this cap holds).
        """
        if self._failure is not None and self._delivered_all():
            self._release_failure()
        out = self._out
        if not out:
            return b""
        self._out = []
        self._pongs_queued = 0
        return out[0] if len(out) == 1 else b"".join(out)

    def data_to_send_list(self) -> List[bytes]:
        """Everything queued, as a list of chunks (one per frame, a large
        payload apart from its header), for a writev-style transport."""
        return self._take_output()

    def data_to_send_buffers(self) -> List[bytes]:
        """Everything queued, as few buffers as possible without copying a
        large payload: small chunks joined, each payload of at least
        ``LARGE_PAYLOAD`` bytes the caller's own object. ``[]`` when idle.

        Hand the list to ``transport.writelines`` (or ``socket.sendmsg``);
        the bytes are those of :meth:`data_to_send`.
        """
        out = self._take_output()
        if len(out) <= 1:
            return out  # the common case: one frame (or none)
        return _coalesce(out, LARGE_PAYLOAD)

    def _take_output(self) -> List[bytes]:
        """Hand the queued chunks over (releasing a held failure's close
        frame first when every message is delivered)."""
        if self._failure is not None and self._delivered_all():
            self._release_failure()
        out = self._out
        if not out:
            return []
        self._out = []
        self._pongs_queued = 0
        return out

    # ---- handshake (server side, auto_accept=False) ---------------------------

    def accept(self, subprotocol: Optional[str] = None, extra_headers: Iterable[Tuple[str, str]] = ()) -> None:
        """(server) Accept the pending :class:`~wsframe.events.HandshakeRequest`.

        An invalid request (the event's ``error``) is refused with that
        error's response instead.

        Args:
            subprotocol: one the client offered, or None to select from the
                ``subprotocols`` preference list.
            extra_headers: more response fields.

        Raises:
            InvalidState: no request is waiting.
            ValueError: a subprotocol the client did not offer, or a bad
                header; the request stays pending.
        """
        response = self.prepare_accept(subprotocol, extra_headers)
        self.send_response(response)

    def prepare_accept(
        self, subprotocol: Optional[str] = None, extra_headers: Iterable[Tuple[str, str]] = ()
    ) -> Response:
        """(server) Negotiate and build the response :meth:`accept` would send,
        without sending it: a 101, or the error response of an invalid request.

        The host may add or change header fields of the returned response
        (a ``process_response`` hook) and then pass it, or another response,
        to :meth:`send_response`.

        Raises:
            InvalidState: no request is waiting.
            ValueError: a subprotocol the client did not offer, or a bad header.
        """
        request = self._waiting_request("prepare_accept")
        if self._request_error is None:
            try:
                accepted = _server.accept(
                    request,
                    subprotocols=self._subprotocols,
                    origins=self._origins,
                    extensions=cast(List[ServerExtensionFactory], self._extension_factories),
                    extra_headers=self._extra_headers + list(extra_headers),
                    subprotocol=subprotocol,
                    max_extensions=1,  # one runtime extension per connection (_open)
                )
            except InvalidHandshake as exc:
                self._request_error = exc
            else:
                self._prepared = accepted
                return Response(101, "Switching Protocols", list(accepted.headers))
        error = self._request_error
        assert error is not None
        response = Response(error.status, "", list(error.headers), body=error.reason.encode("utf-8", "replace"))
        self._error_response = response
        return response

    def send_response(self, response: Response) -> None:
        """(server) Answer the pending request with ``response``.

        A 101 from :meth:`prepare_accept` (its fields possibly changed) opens
        the connection with what was negotiated; any other status answers
        plain HTTP and closes. A response from :meth:`prepare_accept` for an
        invalid request refuses it as the request's error.

        Raises:
            InvalidState: no request is waiting, or a 101 that
                :meth:`prepare_accept` did not negotiate.
            ValueError: a 1xx status other than 101, or a bad header; the
                request stays pending.
        """
        request = self._waiting_request("send_response")
        if response.status == 101:
            accepted = self._prepared
            if accepted is None:
                raise InvalidState("a 101 response needs prepare_accept() first")
            for name, value in response.headers:
                validate_header(name, value)
            head = serialize_response(Response(101, response.reason or "Switching Protocols", response.headers))
            self._prepared = None
            self._accept(request, accepted, response, head)
            return
        error = self._request_error
        if error is not None and response is self._error_response:
            self._reject(error)  # prepare_accept's answer to an invalid request, as it is
            return
        data = build_response(response.status, response.headers, response.body)
        self._reject(RequestRejected(response.reason or "request answered over HTTP", response.status), data)

    def reject(
        self,
        status: int = 403,
        reason: str = "",
        headers: Iterable[Tuple[str, str]] = (),
        body: Optional[bytes] = None,
    ) -> None:
        """(server) Refuse the pending request with an HTTP error response.

        Args:
            status: a final status (200-999).
            reason: a short reason, also the body unless ``body`` is given.
            headers: more response fields.
            body: the response body (default: ``reason`` as text).

        Raises:
            InvalidState: no request is waiting.
            ValueError: a 1xx status or an invalid header; the request
                stays pending.
        """
        self._waiting_request("reject")
        if not 200 <= status <= 999:
            raise ValueError("reject() needs a final (non-1xx) status")
        error = RequestRejected(reason or "request refused", status, list(headers), body=body)
        data = error.response  # ValueError for a bad header, with nothing changed
        self._reject(error, data)

    def respond(self, status: int, headers: Iterable[Tuple[str, str]] = (), body: bytes = b"") -> None:
        """(server) Answer the pending request with plain HTTP (a page, a
        redirect, a health check) and close.

        Raises:
            InvalidState: no request is waiting.
            ValueError: a 1xx status or an invalid header; the request
                stays pending.
        """
        self.send_response(Response(status, "", list(headers), body=bytes(body)))

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
        if self._plain and fragment_size is None and type(data) is str:
            # The fast path: one frame, one allocation, no extension.
            encoded = data.encode("utf-8")
            if len(encoded) < LARGE_PAYLOAD or self._mask:
                self._out.append(_encode_frame(_TEXT, encoded, mask=self._mask))
            else:
                self._out += (_encode_frame_header(_TEXT, len(encoded)), encoded)
            return
        if isinstance(data, str):
            payload = data.encode("utf-8")
        else:
            payload = bytes(data)
            if not _validate_utf8(payload):
                raise ValueError("text payload is not valid UTF-8")
        self._send_message(Opcode.TEXT, payload, fragment_size)

    def send_binary(self, data: Buffer, fragment_size: Optional[int] = None) -> None:
        """Queue a binary message, optionally split into frames of ``fragment_size``."""
        if self._plain and fragment_size is None and type(data) is bytes:
            if len(data) < LARGE_PAYLOAD or self._mask:
                self._out.append(_encode_frame(_BINARY, data, mask=self._mask))
            else:
                # No copy: the caller's bytes (immutable) go out as they are.
                self._out += (_encode_frame_header(_BINARY, len(data)), data)
            return
        self._send_message(Opcode.BINARY, data, fragment_size)

    def send_fragment(self, data: Union[str, Buffer], *, fin: bool, text: Optional[bool] = None) -> None:
        """Queue one frame of a message sent in parts (RFC 6455 section 5.4).

        The first part starts the message: text for ``str`` (or
        ``text=True``), binary otherwise; later parts are continuation frames
        and ``fin=True`` ends the message. Text parts given as bytes must be
        valid UTF-8 on their own. Until the message ends no other data
        message may be sent (control frames and ``close()`` may). With an
        extension (permessage-deflate, which compresses whole messages) the
        parts are gathered and the message goes out at ``fin``.

        Raises:
            InvalidState: the connection is not OPEN, or a data message is
                sent with ``send_text``/``send_binary`` in the middle.
            ValueError: text bytes that are not UTF-8.
        """
        self._check_open()
        opcode = self._fragmenting
        if isinstance(data, str):
            payload = data.encode("utf-8")
            is_text = True if opcode is None else opcode == _TEXT
        else:
            payload = bytes(data)
            is_text = bool(text) if opcode is None else opcode == _TEXT
            if is_text and not _validate_utf8(payload):
                raise ValueError("text payload is not valid UTF-8")
        if opcode is None:
            opcode = _TEXT if is_text else _BINARY
            self._plain = False  # no whole message may slip in between the parts
            if self._extension is not None:
                self._fragments = []
        if self._fragments is not None:
            self._fragments.append(payload)
            self._fragmenting = None if fin else opcode
            if fin:
                parts, self._fragments = self._fragments, None
                self._send_message(Opcode(opcode), b"".join(parts), None)
                self._release_prepared()
            return
        first = self._fragmenting is None
        self._out.append(_encode_frame(opcode if first else 0, payload, fin=fin, mask=self._mask))
        self._fragmenting = None if fin else opcode
        if fin:
            self._set_state(self._state)  # the fast send path again
            self._release_prepared()

    def _release_prepared(self) -> None:
        """The fragmented message ended: the prepared frames held meanwhile follow it."""
        if self._held_prepared:
            self._out += self._held_prepared
            self._held_prepared = []
            self._held_prepared_size = 0

    def send_ping(self, data: Buffer = b"") -> None:
        """Queue a ping (at most 125 bytes, RFC 6455 section 5.5)."""
        self._send_control(Opcode.PING, data)

    def send_pong(self, data: Buffer = b"") -> None:
        """Queue an unsolicited or manual pong (at most 125 bytes)."""
        self._send_control(Opcode.PONG, data)

    def send_prepared(self, frame: bytes) -> None:
        """(server) Queue a frame encoded beforehand, e.g. by
        :func:`wsframe.encode_broadcast`.

        The bytes go out as they are: they must be one or more complete,
        unmasked server frames. While a message sent in parts
        (:meth:`send_fragment`) has not ended, they wait and follow it
        (RFC 6455 5.4: no other data frame between a message's fragments).
        """
        if not self._is_server:
            raise InvalidState("prepared frames are unmasked: servers only")
        self._check_open()
        if self._fragmenting is not None:
            self._held_prepared.append(frame)
            self._held_prepared_size += len(frame)
        else:
            self._out.append(frame)

    def close(self, code: Optional[int] = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake (RFC 6455 section 7.1.2).

        Sends a close frame with ``code`` and ``reason`` (no payload when code
        is None). A no-op when a close frame was already sent or the
        connection is closed; during the opening handshake, just abandons it.
        With a failure pending (``defer_failure``), sends the failure's close
        frame instead.

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
        if self._failure is not None:
            self._release_failure()
            return
        if self._close_sent is not None or self._state is State.CLOSED:
            return
        self._out.append(_encode_frame(_CLOSE, payload, mask=self._mask))
        self._close_sent = (CloseCode.NO_STATUS_RCVD if code is None else int(code), reason)
        self._set_state(State.CLOSING)

    def fail_now(self) -> None:
        """(``defer_failure``) Queue the held close frame now, e.g. when the
        host's wait for the application ran out. A no-op without one."""
        if self._failure is not None:
            self._release_failure()

    # ---- internals: state and sending --------------------------------------------

    def _set_state(self, state: State) -> None:
        self._state = state
        self._plain = state is State.OPEN and self._extension is None and self._fragmenting is None

    def _check_open(self) -> None:
        if self._state is not State.OPEN:
            raise InvalidState(f"cannot send in state {self._state.name}")

    def _send_message(self, opcode: Opcode, data: Buffer, fragment_size: Optional[int]) -> None:
        self._check_open()
        if self._fragmenting is not None:
            raise InvalidState("a message sent in parts (send_fragment) has not ended")
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
            if mask is None and type(data) is bytes and len(data) >= LARGE_PAYLOAD:
                self._out += (_encode_frame_header(opcode, len(data), rsv1=rsv1), data)
            else:
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
            reassemble=not self._stream,
            # With an extension, text is validated after decoding (in _decoded).
            validate_utf8=self._extension is None,
            rsv_allowed=(rsv1, False, False),
            # Whole plain messages come as their str / bytes (no Frame).
            bare_messages=self._bare,
        )
        if self._stream:
            self._fragments_in = FragmentDecoder(self._extension, self._max_message_size, self._text_as_bytes)
        self._set_state(State.OPEN)

    # ---- internals: input and the memory budget -------------------------------------

    def _feed(self, data: Buffer) -> None:
        """Parse ``data``, a slice at a time once it is big, stopping when the
        budget is spent (the rest is kept raw in the input backlog)."""
        size = len(data)
        if size <= RECEIVE_SLICE:
            self._feed_slice(data)
            return
        view = memoryview(data)
        start = 0
        while start < size:
            if self._ignore_input or self._failure is not None:
                return
            if self.receiving_paused:
                self._hold_input(view[start:])
                return
            self._feed_slice(view[start : start + RECEIVE_SLICE])
            start += RECEIVE_SLICE

    def _feed_slice(self, data: Buffer) -> None:
        assert self._parser is not None
        try:
            frames = self._parser.feed(data)
        except ProtocolError as exc:
            self._on_parse_error(exc)
            return
        self._process(frames)

    def _on_parse_error(self, exc: ProtocolError) -> None:
        """The parser failed: the frames it completed first, then the error."""
        self._process(exc.frames)
        if self._frame_backlog:
            self._backlog_error = exc  # after the frames that came before it
        elif not self._ignore_input and self._failure is None:
            self._on_error(exc)

    def _hold_input(self, data: Buffer) -> None:
        if self._input_backlog is None:
            self._input_backlog = bytearray(data)
        else:
            self._input_backlog += data

    def _backlog_pending(self) -> bool:
        return bool(self._frame_backlog) or self._input_backlog is not None or self._backlog_error is not None

    def _drain_backlog(self) -> None:
        """Decode held-back input while the budget has room, in arrival order."""
        if not self._drain_frames():
            return
        error, self._backlog_error = self._backlog_error, None
        if error is not None:
            if not self._ignore_input and self._failure is None:
                self._on_error(error)
            self._input_backlog = None
        data, self._input_backlog = self._input_backlog, None
        if data is not None and not self._ignore_input and self._failure is None:
            self._feed(data)
        if self._eof_after_backlog and not self._backlog_pending():
            self._eof_after_backlog = False
            self._receive_eof_now()

    def _drain_frames(self) -> bool:
        """Process held-back frames while the budget has room (control
        frames cost nothing); True when none is left."""
        frames = self._frame_backlog
        while frames:
            if self._ignore_input or self._failure is not None:
                frames.clear()
                break
            if self._budget_spent():
                return False
            self._process_frame(frames.popleft())
        return True

    def _receive_eof_now(self) -> None:
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

    def _process(self, frames: List[Any]) -> None:
        """Turn parsed frames into events; stops at the peer's close frame."""
        limit = self._max_queue_messages
        if limit is not None and self._queued_messages + len(frames) > limit:
            # More frames than messages allowed: the rest waits as frames.
            room = max(limit - self._queued_messages, 0)
            self._frame_backlog.extend(frames[room:])
            frames = frames[:room]
        whole = not self._stream  # else a data frame may be part of a message
        if self._extension is None and not self._text_as_bytes:
            # The hot path: no extension, text as str. One event per message;
            # the payloads exist already, so they are all delivered and
            # counted (the slicing in _feed and the message limit bound how many).
            append = self._events.append
            text_message = ev.TextMessage
            binary_message = ev.BinaryMessage
            bare = self._bare
            size = 0
            count = 0
            for frame in frames:
                cls = type(frame)
                if cls is str or cls is bytes:  # the parser's bare message (bare_messages)
                    append(frame)
                    size += len(frame)
                    count += 1
                    continue
                opcode = frame.opcode
                if opcode == _TEXT and (whole or frame.fin):
                    message: Any = frame.payload.decode()
                    append(message if bare else text_message(message))
                elif opcode == _BINARY and (whole or frame.fin):
                    message = frame.payload
                    append(message if bare else binary_message(message))
                else:
                    # Control frames are rare: the general path from here
                    # (every frame before this one was a data message).
                    self._queued_bytes += size + count * MESSAGE_OVERHEAD
                    self._queued_messages += count
                    self._process_general(frames, count)
                    break
                size += len(message)
                count += 1
            else:
                self._queued_bytes += size + count * MESSAGE_OVERHEAD
                self._queued_messages += count
        else:
            self._process_general(frames, 0)
        if self._frame_backlog:
            # Split at the message limit: what follows may still fit (pings,
            # pongs and close frames cost nothing).
            self._drain_frames()

    def _process_general(self, frames: List[Any], start: int) -> None:
        """:meth:`_process` for every case: extensions, bytes text, control
        frames; stops decoding when the budget is spent."""
        for index in range(start, len(frames)):
            if self._ignore_input or self._failure is not None:
                return
            if self._budget_spent():
                # Ahead of what the message limit held back already (_process),
                # which came after these frames.
                self._frame_backlog.extendleft(reversed(frames[index:]))
                return
            self._process_frame(frames[index])

    def _process_frame(self, frame: Any) -> None:
        """One parsed frame (a whole data message, or a control frame)."""
        events = self._events
        cls = type(frame)
        if cls is str or cls is bytes:  # the parser's bare message (bare_messages)
            events.append(frame)
            self._queued_bytes += len(frame) + MESSAGE_OVERHEAD
            self._queued_messages += 1
            return
        extension = self._extension
        opcode = frame.opcode
        try:
            if self._fragments_in is not None and (opcode == 0 or not frame.fin):
                self._on_fragment(frame)
            elif opcode == _TEXT:
                if extension is None:
                    text: Union[str, bytes] = frame.payload if self._text_as_bytes else frame.payload.decode()
                else:
                    text = self._decoded_text(frame)
                events.append(text if self._bare else ev.TextMessage(text))
                self._queued_bytes += len(text) + MESSAGE_OVERHEAD
                self._queued_messages += 1
            elif opcode == _BINARY:
                payload = frame.payload
                if extension is not None and frame.rsv1:
                    payload = extension.decode_message(Opcode.BINARY, payload, self._max_message_size)
                events.append(payload if self._bare else ev.BinaryMessage(payload))
                self._queued_bytes += len(payload) + MESSAGE_OVERHEAD
                self._queued_messages += 1
            elif opcode == _PING:
                if self._auto_pong and self._state is State.OPEN and self._close_sent is None:
                    self._queue_pong(frame.payload)
                events.append(ev.Ping(frame.payload))
            elif opcode == _PONG:
                events.append(ev.Pong(frame.payload))
            elif opcode == _CLOSE:
                self._on_close(frame.payload)
        except ProtocolError as exc:
            self._on_error(exc)

    def _on_fragment(self, frame: Any) -> None:
        """(``stream_fragments``) One frame of a fragmented data message."""
        assert self._fragments_in is not None
        fragment = self._fragments_in.feed(frame)
        if fragment is not None:
            self._events.append(fragment)
            self._queued_bytes += len(fragment.data) + MESSAGE_OVERHEAD
            self._queued_messages += 1

    def _queue_pong(self, payload: bytes) -> None:
        """Answer a ping; past a cap of undrained pongs, replace the latest.

        RFC 6455 section 5.5.2: a pong carries the ping's payload. Every ping
        gets its own pong up to MAX_QUEUED_PONGS between two drains of
        :meth:`data_to_send` (Autobahn 2.10 expects all 10 of a burst
        answered); beyond that, 5.5.3 lets an endpoint answer only the most
        recent ping, so a ping flood from a peer whose host does not drain
        (its transport is paused) cannot grow the output without bound.
        """
        pong = _encode_frame(_PONG, payload, mask=self._mask)
        out = self._out
        index = self._pong_index
        if self._pongs_queued >= MAX_QUEUED_PONGS and 0 <= index < len(out) and out[index] is self._pong:
            out[index] = pong
        else:
            self._pongs_queued += 1
            self._pong_index = len(out)
            out.append(pong)
        self._pong = pong

    def _decoded_text(self, frame: Any) -> Union[str, bytes]:
        """Text of a message when an extension is active: decode, then validate."""
        payload: bytes = frame.payload
        if frame.rsv1:
            assert self._extension is not None
            payload = self._extension.decode_message(Opcode.TEXT, payload, self._max_message_size)
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
        self._frame_backlog.clear()
        self._input_backlog = None
        self._events.append(ev.CloseReceived(code, reason))
        if self._close_sent is None:
            # 5.5.1: answer with a close frame, echoing the status code.
            self._out.append(_encode_frame(_CLOSE, payload, mask=self._mask))
            self._close_sent = (code, reason)
        if self._is_server:
            # 7.1.1: the server closes the TCP connection first.
            self._should_close = True
        self._finish(code, reason, clean=True)

    # ---- internals: failing -------------------------------------------------------

    def _on_error(self, error: ProtocolError) -> None:
        """The peer broke the protocol: fail now, or (``defer_failure``) once
        the messages received before the error are delivered."""
        self._ignore_input = True
        self._frame_backlog.clear()
        self._input_backlog = None
        self._events.append(ev.ProtocolViolation(error))
        if self._defer_failure and self._close_sent is None and not self._delivered_all():
            self._failure = error
            return
        self._fail(error)

    def _delivered_all(self) -> bool:
        """No message is waiting for the application (events or, with
        ``track_delivery``, the host's queue)."""
        for event in self._events:
            cls = type(event)
            if cls in _MESSAGE_EVENTS or cls is str or cls is bytes:
                return False
        return not (self._track_delivery and self._queued_bytes > 0)

    def _release_failure(self) -> None:
        error, self._failure = self._failure, None
        if error is not None:
            self._fail(error)

    def _fail(self, error: ProtocolError) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): close frame with the
        error's code, then ignore all input."""
        self._ignore_input = True
        self._should_close = True
        code = int(error.code)
        if self._close_sent is None and code not in (1005, 1006, 1015):
            try:
                payload = _encode_close_payload(code, error.reason)
            except ValueError:  # a reason over 123 bytes
                payload = _encode_close_payload(code, "")
            self._out.append(_encode_frame(_CLOSE, payload, mask=self._mask))
            self._close_sent = (code, error.reason)
        self._finish(code, error.reason, clean=False, error=error)

    def _finish(self, code: int, reason: str, clean: bool, error: Optional[BaseException] = None) -> None:
        """Enter CLOSED and emit the one :class:`~wsframe.events.Closed` event."""
        self._set_state(State.CLOSED)
        if self._closed is None:
            self._closed = ev.Closed(code, reason, clean, error)
            self._events.append(self._closed)

    # ---- internals: the opening handshake ---------------------------------------------

    def _waiting_request(self, method: str) -> Request:
        if self._pending is None or self._request is None or not self._is_server:
            raise InvalidState(f"no handshake request is waiting for {method}()")
        return self._request

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
            else:
                response = parse_response(head)
                response.body = rest if response.status != 101 else b""
                self._response = response
        except InvalidHandshake as exc:
            self._reject(exc)
            return
        if not self._is_server:
            self._client_opened(response, rest)
            return
        try:
            _server.check_request(request, self._origins)
        except InvalidHandshake as exc:
            if self._auto_accept:
                self._reject(exc)
                return
            self._request_error = exc
        self._pending = bytearray(rest)
        if self._auto_accept:
            self.accept()
        else:
            self._events.append(
                ev.HandshakeRequest(request, _server.offered_subprotocols(request), self._request_error)
            )

    def _accept(self, request: Request, accepted: _server.Accepted, response: Response, head: bytes) -> None:
        """(server) Send the 101, enter OPEN, feed what followed the request."""
        rest = bytes(self._pending or b"")
        self._pending = None
        self._response = response
        self._out.append(head)
        self._open(accepted.subprotocol, accepted.extensions)
        self._events.append(ev.HandshakeAccepted(accepted.subprotocol, accepted.extensions, request))
        if rest:
            self._feed(rest)

    def _client_opened(self, response: Response, rest: bytes) -> None:
        """(client) Check the server's answer; enter OPEN or fail."""
        assert self._client_request is not None and self._request is not None
        try:
            subprotocol, extensions = _client.check_response(response, self._client_request)
            if len(extensions) > 1:
                raise InvalidMessage("at most one extension is supported")
        except InvalidHandshake as exc:
            self._reject(exc)
            return
        self._open(subprotocol, extensions)
        self._events.append(ev.HandshakeAccepted(subprotocol, extensions, self._request, response))
        if rest:
            self._feed(rest)

    def _reject(self, error: InvalidHandshake, data: Optional[bytes] = None) -> None:
        """The handshake failed: a server queues the error response (``data``,
        or the error's own); either side closes.

        Raises:
            ValueError: (server) the error's headers cannot be sent; raised
                before any state changes.
        """
        if self._is_server:
            response = error.response if data is None else data
        self._ignore_input = True
        self._should_close = True
        self._pending = None
        self._prepared = None
        if self._is_server:
            self._out.append(response)
            status = error.status
        else:
            status = self._response.status if self._response is not None else 0
        self._events.append(ev.HandshakeRejected(status, error, self._response))
        self._finish(CloseCode.ABNORMAL_CLOSURE, error.reason, clean=False, error=error)

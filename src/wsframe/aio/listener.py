"""The callback API of :mod:`wsframe.aio`: a listener called from the read itself.

For the lowest latency (no task, no queue, no wake-up per message), a
listener object gets the connection's happenings as plain method calls,
synchronously, from ``buffer_updated`` (the moment asyncio has read the
bytes)::

    class Echo(wsframe.aio.Listener):
        def on_message(self, ws, message):   # str for text, bytes for binary
            ws.send(message)                 # written at once

    server = await wsframe.aio.serve_listener(Echo, "127.0.0.1", 8765)

A listener has ``on_open(ws)``, ``on_message(ws, message)``,
``on_ping(ws, payload)``, ``on_close(ws, code, reason)`` and
``on_drain(ws)``; all but ``on_message`` are optional (subclassing
:class:`Listener` gives no-op defaults). ``ws`` is a
:class:`ListenerConnection`: ``send()`` and ``close()`` are plain calls,
back-pressure is visible (``write_buffer_size``, ``on_drain``,
``pause_reading()``/``resume_reading()``).

Everything else is the coroutine API's machinery: the same
:class:`wsframe.Connection` makes every protocol decision (limits, close
codes, pongs, the held close frame after a protocol error), and the same
:class:`~wsframe.aio.protocol.WebSocketProtocol` does the I/O (read buffer,
keepalive, timeouts, lingering close). Only the delivery differs: each
message is handed to ``on_message`` when the connection hands it out, so
the memory budget covers one read's batch (``track_delivery=False``). Per
message the receive path makes one Python object, the message itself
(``Connection(bare_messages=True)``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List, Optional, Union

from .. import events as ev
from ..connection import Connection, InvalidState, State
from .base import WebSocketBase
from .exceptions import ConnectionClosed
from .options import Options
from .output import write_buffers

__all__ = ["Listener", "ListenerConnection", "ListenerFactory"]

Message = Union[str, bytes]


class Listener:
    """The callbacks of one connection; subclass and override what you need.

    Any object with an ``on_message(ws, message)`` method will do; the other
    methods are looked up once, at the open, and skipped when missing. A
    callback that raises is logged and the connection is closed with 1011
    (as when a ``serve()`` handler raises), except with
    ``ConnectionClosed``: a ``send()`` that lost the race with the peer's
    close is no error (delivery goes on; ``on_close`` follows). Callbacks run inside the event
    loop's read: they must not block.
    """

    def on_open(self, ws: "ListenerConnection") -> None:
        """The handshake is done; ``ws.send()`` works from here on."""

    def on_message(self, ws: "ListenerConnection", message: Message) -> None:
        """A whole message: ``str`` for text, ``bytes`` for binary."""

    def on_ping(self, ws: "ListenerConnection", payload: bytes) -> None:
        """A ping came; its pong is already on its way (RFC 6455 5.5.2)."""

    def on_close(self, ws: "ListenerConnection", code: int, reason: str) -> None:
        """The connection is closed (1006 when TCP dropped without a close
        frame); called once, after ``on_open``."""

    def on_drain(self, ws: "ListenerConnection") -> None:
        """The transport's write buffer fell below its low-water mark after
        being over ``write_limit``: sending more is welcome again."""


#: Makes the listener of a new connection (a class, or any callable
#: without arguments); called once per connection when its handshake is done.
ListenerFactory = Callable[[], Any]


class ListenerConnection(WebSocketBase):
    """A connection whose application is a listener (see :mod:`wsframe.aio.listener`).

    Args:
        conn: the sans-I/O connection (CONNECTING).
        options: the validated options.
        listener_factory: makes the listener at the open.
    """

    _track_delivery = False
    _stream_fragments = False  # on_message gets whole messages

    def __init__(self, conn: Connection, options: Options, listener_factory: Optional[ListenerFactory] = None) -> None:
        super().__init__(conn, options)
        self._listener_factory = listener_factory
        #: The listener object (None before the open).
        self.listener: Any = None
        self._on_message: Optional[Callable[[Any, Message], Any]] = None
        self._on_ping_cb: Optional[Callable[[Any, bytes], Any]] = None
        self._on_close_cb: Optional[Callable[[Any, int, str], Any]] = None
        self._on_drain_cb: Optional[Callable[[Any], Any]] = None
        self._close_notified = False
        # While a read of several messages is delivered, replies wait in the
        # connection (_deferring) and go out in one write after the batch.
        self._deferring = False
        self._deferred = False

    # ---- delivery --------------------------------------------------------------

    def _dispatch(self) -> None:
        """Hand each event to the listener as the connection hands it out.

        Input the memory budget held back is decoded and delivered in
        further batches, unless the application paused reading.
        """
        conn = self._conn
        if conn.failure_pending:
            # Replies sent from on_message wait in the connection, so they
            # go out before the held close frame (one write after the batch).
            self._failing = True
        while True:
            events: List[Any] = conn.events()  # with bare messages (str, bytes)
            if not events:
                return
            on_message = self._on_message
            self._deferring = len(events) > 1
            for event in events:
                cls = type(event)
                if cls is str or cls is bytes:  # a message (Connection(bare_messages=True))
                    if on_message is not None:
                        try:
                            on_message(self, event)
                        except ConnectionClosed:
                            pass  # a reply to a message that came before the peer's close
                        except Exception:
                            self._callback_failed("on_message")
                            on_message = None
                else:
                    self._handle_event(event)
                    on_message = self._on_message
            self._deferring = False
            if self._deferred:
                self._write_deferred()
            if self._reading_paused or not conn.receiving_paused or conn.state is not State.OPEN:
                return

    def _write_deferred(self) -> None:
        """The replies sent while a batch was delivered: one write (unless a
        protocol error's close frame is held: then buffer_updated's flush
        writes them before it)."""
        transport = self._transport
        if self._failing or transport is None or transport.is_closing():
            return
        self._deferred = False
        write_buffers(transport, self._conn.data_to_send_buffers())

    def _on_open(self) -> None:
        super()._on_open()
        factory = self._listener_factory
        if factory is None:
            return
        try:
            listener = factory()
            self.listener = listener
            self._on_message = listener.on_message
            self._on_ping_cb = getattr(listener, "on_ping", None)
            self._on_close_cb = getattr(listener, "on_close", None)
            self._on_drain_cb = getattr(listener, "on_drain", None)
            on_open = getattr(listener, "on_open", None)
            if on_open is not None:
                on_open(self)
        except ConnectionClosed:
            pass  # the connection closed meanwhile: on_close says so
        except Exception:
            self._callback_failed("on_open")

    def _on_ping(self, data: bytes) -> None:
        callback = self._on_ping_cb
        if callback is not None:
            try:
                callback(self, data)
            except ConnectionClosed:
                pass
            except Exception:
                self._callback_failed("on_ping")

    def _on_closed(self, event: ev.Closed) -> None:
        super()._on_closed(event)
        self._notify_closed()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        super().connection_lost(exc)
        self._notify_closed()

    def resume_writing(self) -> None:
        super().resume_writing()
        callback = self._on_drain_cb
        if callback is not None and not self._lost:
            try:
                callback(self)
            except ConnectionClosed:
                pass
            except Exception:
                self._callback_failed("on_drain")

    def _notify_closed(self) -> None:
        """``on_close`` once, with the close code (1006 when TCP dropped)."""
        event = self._closed_event
        callback = self._on_close_cb
        if self._close_notified or event is None or callback is None:
            return
        self._close_notified = True
        self._on_message = None
        try:
            callback(self, int(event.code), event.reason)
        except Exception:
            self.logger.exception("listener on_close failed")

    def _callback_failed(self, name: str) -> None:
        """A callback raised: log it and close with 1011, as for a handler."""
        self.logger.exception("listener %s failed", name)
        self._on_message = None  # nothing more for a broken listener
        self._start_closing(1011, "internal error")

    # ---- the application's calls -------------------------------------------------

    def send(self, message: Union[str, bytes, bytearray, memoryview]) -> None:
        """Send one message: text for ``str``, binary for bytes-like objects.

        Written to the transport at once (asyncio sends it right away when
        its buffer is empty), except from ``on_message`` while further
        messages of the same read wait for delivery: then the replies of
        that read go out in one write right after its last message (one
        system call instead of one per message for a pipelining peer).
        Never waits. Over ``write_limit`` the data
        still goes into the transport's buffer: watch
        :attr:`write_buffer_size` and ``on_drain`` to stop and go on. A
        ``bytes`` payload of at least ``LARGE_PAYLOAD`` bytes is handed to
        the transport as it is, not copied into a frame.

        Raises:
            ConnectionClosed: the connection is closing or closed.
            TypeError: ``message`` is neither str nor bytes-like.
        """
        conn = self._conn
        try:
            if type(message) is str:
                conn.send_text(message)
            elif isinstance(message, (bytes, bytearray, memoryview)):
                conn.send_binary(message)
            else:
                raise TypeError(f"send() takes str or a bytes-like object, not {type(message).__name__}")
        except InvalidState:
            raise self._closed_exception() from None
        transport = self._transport
        if self._deferring or self._failing or transport is None:
            # More messages of this read are being delivered: the replies
            # go out together after the last one (and before a held close frame).
            self._deferred = True
            return
        buffers = conn.data_to_send_buffers()
        if len(buffers) == 1:
            transport.write(buffers[0])
        else:
            write_buffers(transport, buffers)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake (RFC 6455 section 7); ``on_close``
        follows when it is done (or after ``close_timeout``). Closing twice
        is harmless.

        Raises:
            ValueError: a code that may not be sent (1005, 1006, 1015, ...).
        """
        self._start_closing(code, reason)

    def ping(self, data: Optional[bytes] = None) -> "asyncio.Future[float]":
        """Send a ping; return an ``asyncio.Future`` resolved with the
        round trip in seconds when its pong comes.

        Raises:
            ConnectionClosed: the connection is closing or closed.
        """
        return self._send_ping(None if data is None else bytes(data))

    def pause_reading(self) -> None:
        """Stop reading from the socket (TCP then pushes back on the peer).
        Messages of the read being delivered still come."""
        if not self._reading_paused and self._conn.state is State.OPEN:
            self._reading_paused = True
            transport = self._transport
            if transport is not None:
                transport.pause_reading()

    def resume_reading(self) -> None:
        """Read again: input held back meanwhile is delivered first."""
        if not self._reading_paused:
            return
        self._reading_paused = False
        self._dispatch()
        self._flush()
        self._resume_reading()

    @property
    def reading_paused(self) -> bool:
        """Whether :meth:`pause_reading` is in force."""
        return self._reading_paused

    @property
    def write_buffer_size(self) -> int:
        """Bytes waiting in the transport's write buffer (0 once closed)."""
        transport = self._transport
        return 0 if transport is None else transport.get_write_buffer_size()

    @property
    def writing_paused(self) -> bool:
        """The write buffer went over ``write_limit`` and has not drained
        yet (``on_drain`` comes when it has)."""
        return self._write_paused

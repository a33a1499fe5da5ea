"""The ``asyncio.BufferedProtocol`` that hosts a sans-I/O :class:`wsframe.Connection`.

A thin host: asyncio reads straight into one preallocated buffer
(``get_buffer``), :meth:`wsframe.Connection.receive_data` consumes a view
of it (``buffer_updated``), the events go to a :class:`MessageQueue`, to
ping futures and to the close bookkeeping, and whatever the connection
queued for the peer goes out with one ``transport.write``. Every byte on
the wire comes from the connection: handshake, frames, pongs, close frames.
What stays here is I/O: the read buffer, flow control (reading pauses at
``max_queue`` messages or when the connection's memory budget is spent;
output waits in the connection while the transport is paused, so its pong
cap holds), timers (keepalive, the close and failure timeouts) and the
lingering TCP close.

The user-facing methods (``recv``, ``send``, ``ping``, ``close``) are in
:mod:`wsframe.aio.connection`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from typing import Any, Dict, List, Optional, Tuple, cast

from .. import events as ev
from ..connection import Connection, State
from .exceptions import ConnectionClosed
from .messages import MessageQueue
from .options import Options
from .output import direct_send_target, write_buffers

__all__ = ["WebSocketProtocol", "logger"]

logger = logging.getLogger("wsframe.aio")

#: The read buffer grows (x4 per full read) up to this for peers sending big frames.
MAX_READ_BUFFER_SIZE = 1024 * 1024
#: After this many reads in a row that use less than a quarter of a grown
#: buffer, it shrinks by one step (/4, not below its initial size): a few,
#: so a stream of big messages does not reallocate it for every message,
#: and one step, so reads that are big but not full (a socket rarely hands
#: over 1 MiB at once) do not make it start again from the bottom.
SHRINK_AFTER_SMALL_READS = 4
#: A grown read buffer goes back to its initial size when no big read came
#: for this long (whatever the keepalive settings).
IDLE_SHRINK_DELAY = 1.0
#: Lingering close: after our FIN, input is read and dropped for at most
#: this long (or close_timeout when smaller) and this many bytes.
LINGER_TIMEOUT = 2.0
LINGER_LIMIT = 1024 * 1024
#: Replies to pipelined input wait for the end of the loop turn (one write
#: for all of them) unless this much is waiting: past ``write_limit`` too,
#: since a few big replies per write cost fewer system calls than one each
#: (64 KiB echoes, pipelined: docs/performance.md).
WRITE_COALESCE_LIMIT = 256 * 1024

# Read buffers of the initial size, one per thread (so per event loop) and
# size, shared by that thread's connections: a read is handled whole inside
# buffer_updated (the Connection copies what it keeps), so an idle
# connection holds no read buffer of its own. Grown buffers are per connection.
_shared = threading.local()


def _shared_read_buffer(size: int) -> bytearray:
    """This thread's read buffer of ``size`` bytes, made on first use."""
    buffers: Optional[Dict[int, bytearray]] = getattr(_shared, "buffers", None)
    if buffers is None:
        buffers = _shared.buffers = {}
    buffer = buffers.get(size)
    if buffer is None:
        buffer = buffers[size] = bytearray(size)
    return buffer


class WebSocketProtocol(asyncio.BufferedProtocol):
    """I/O half of a WebSocket connection (one per TCP connection).

    Args:
        conn: the sans-I/O connection this protocol hosts (CONNECTING).
        options: the validated options (flow control, timers).
    """

    #: Whether the application takes messages later than they are decoded
    #: (a queue: ``Connection(track_delivery=True)``, the coroutine API) or
    #: at once (callbacks: each ``events()`` batch is delivered when handed out).
    _track_delivery = True
    #: Fragments of a fragmented message as they come (recv_streaming()).
    _stream_fragments = True
    #: The socket that ``broadcast()``'s compiled loop may ``send()`` to
    #: directly, and how it tells the transport is idle (``_fanout_c``);
    #: -1 when it may not (a client, TLS, no transport any more). Read
    #: once per delivery, so set once at ``connection_made``.
    _fanout_fd = -1
    _fanout_kind = 0

    def __init__(self, conn: Connection, options: Options) -> None:
        self._loop = asyncio.get_running_loop()
        self._conn = conn
        self._options = options
        self._transport: Optional[asyncio.Transport] = None
        self._initial_buffer_size = options.read_buffer_size
        self._buffer = _shared_read_buffer(options.read_buffer_size)
        self._view = memoryview(self._buffer)
        self._small_reads = 0  # reads in a row using < 1/4 of a grown buffer
        self._big_read = False  # a read used >= 1/4 of the buffer since the last idle check
        self._shrink_timer: Optional[asyncio.TimerHandle] = None
        # Lingering close (see _linger_close): input left to drop, and the timer.
        self._lingering = False
        self._linger_left = 0
        self._linger_timer: Optional[asyncio.TimerHandle] = None

        # Incoming messages: the queue, and whether reading is paused for it
        # or for the connection's memory budget.
        self._queue = MessageQueue(options.max_queue)
        self._reading_paused = False

        # Outgoing: a deferred flush coalesces the sends of one loop turn.
        self._write_limit = options.write_limit
        self._coalesce_limit = max(options.write_limit, WRITE_COALESCE_LIMIT)
        self._pending_out = 0
        self._flush_scheduled = False
        self._write_paused = False
        self._drain_waiters: "list[asyncio.Future[None]]" = []

        # Keepalive and closing.
        self._ping_interval = options.ping_interval
        self._ping_timeout = options.ping_timeout
        self._close_timeout = options.close_timeout
        self._pings: Dict[bytes, Tuple["asyncio.Future[float]", float]] = {}
        self._keepalive_task: Optional["asyncio.Task[None]"] = None
        self._close_timer: Optional[asyncio.TimerHandle] = None
        self._fail_timer: Optional[asyncio.TimerHandle] = None
        self._failing = False  # the connection holds a protocol error's close frame
        self._closed_event: Optional[ev.Closed] = None
        self._lost = False
        self._opened: "asyncio.Future[None]" = self._loop.create_future()
        self._connection_lost_waiter: "asyncio.Future[None]" = self._loop.create_future()
        self.latency: float = 0.0  # seconds, measured by the last ping answered
        #: A unique id of this connection, in every log line about it.
        self.id: uuid.UUID = uuid.uuid4()
        #: The logger of this connection: ``options.logger`` (or ``wsframe.aio``)
        #: with ``websocket`` and ``id`` in each record's ``extra``.
        self.logger: "logging.LoggerAdapter[Any]" = logging.LoggerAdapter(
            options.logger or logger, {"websocket": self, "id": self.id}
        )

    # ---- asyncio.BufferedProtocol ------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not an isinstance check: uvloop's transports are not
        # subclasses of asyncio.Transport.
        self._transport = cast(asyncio.Transport, transport)
        self._transport.set_write_buffer_limits(high=self._write_limit)
        if self._conn._is_server:  # client frames are masked each: never broadcast
            self._fanout_fd, self._fanout_kind = direct_send_target(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        # The same buffer every time: the connection copies what it keeps.
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        if self._lingering:
            self._drop_lingering_input(nbytes)
            return
        if self._flush_scheduled:
            # Replies queued earlier go first.
            self._flush()
        conn = self._conn
        conn.receive_data(self._view[:nbytes])
        self._dispatch()
        transport = self._transport
        if self._write_paused or self._failing or self._closed_event is not None or transport is None:
            self._flush()  # the general case: paused, failing or closing
        else:
            data = conn.data_to_send()  # pongs, mostly nothing
            if data:
                transport.write(data)
        if nbytes == len(self._buffer) or len(self._buffer) != self._initial_buffer_size:
            self._resize_buffer(nbytes)

    def eof_received(self) -> Optional[bool]:
        if self._lingering:
            return None  # the peer is done too: close now
        self._conn.receive_eof()
        self._dispatch()
        self._flush()
        return None  # let asyncio close the transport

    def connection_lost(self, exc: Optional[Exception]) -> None:
        # First: the transport closes the socket after this returns, and its
        # number may then be given to another connection.
        self._fanout_fd = -1
        self._lost = True
        conn = self._conn
        conn.fail_now()  # a held close frame cannot go out any more
        conn.receive_eof()  # a no-op after a finished closing handshake
        self._dispatch()
        if self._closed_event is None:
            self._closed_event = ev.Closed(1006, "", False, exc)
        if self._opened.done() and not self._opened.cancelled() and self._opened.exception() is None:
            event = self._closed_event
            self.logger.info("connection closed: id=%s code=%s reason=%r", self.id, event.code, event.reason)
        self._cancel_timers()
        self._fail_pings()
        self._queue.wake()
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._drain_waiters = []
        if not self._opened.done():
            self._opened.set_exception(self._closed_exception(exc))
            self._opened.exception()  # retrieved: the opener may be gone already
        if not self._connection_lost_waiter.done():
            self._connection_lost_waiter.set_result(None)
        self._transport = None

    def pause_writing(self) -> None:
        # The peer reads nothing: output now waits in the connection, whose
        # cap on undrained pongs bounds a ping flood (RFC 6455 5.5.3).
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._flush()
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # ---- the read buffer -----------------------------------------------------------

    def _resize_buffer(self, nbytes: int) -> None:
        """Grow the read buffer after a full read; shrink it a step after a
        few reads that used little of it, and to its initial size when no
        big read came for IDLE_SHRINK_DELAY, so quiet connections stay
        small. The connection copies what it keeps, so the old buffer can go."""
        size = len(self._buffer)
        if nbytes == size:
            self._small_reads = 0
            self._big_read = True
            if size < MAX_READ_BUFFER_SIZE:
                # More was probably waiting: read bigger chunks from now on.
                self._set_buffer(min(4 * size, MAX_READ_BUFFER_SIZE))
        elif size > self._initial_buffer_size and nbytes < size // 4:
            self._small_reads += 1
            if self._small_reads >= SHRINK_AFTER_SMALL_READS:
                self._small_reads = 0
                self._set_buffer(max(size // 4, self._initial_buffer_size))
        else:
            self._small_reads = 0
            self._big_read = True
        if len(self._buffer) > self._initial_buffer_size and self._shrink_timer is None:
            self._shrink_timer = self._loop.call_later(IDLE_SHRINK_DELAY, self._shrink_if_idle)

    def _shrink_if_idle(self) -> None:
        """No big read since the last check: back to the initial buffer size."""
        self._shrink_timer = None
        if len(self._buffer) <= self._initial_buffer_size:
            return
        if not self._big_read:
            self._small_reads = 0
            self._set_buffer(self._initial_buffer_size)
            return
        self._big_read = False
        self._shrink_timer = self._loop.call_later(IDLE_SHRINK_DELAY, self._shrink_if_idle)

    def _set_buffer(self, size: int) -> None:
        # The initial size is the thread's shared buffer; a grown one is ours.
        self._buffer = _shared_read_buffer(size) if size == self._initial_buffer_size else bytearray(size)
        self._view = memoryview(self._buffer)

    # ---- events --------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Act on the connection's events: queue messages, settle pings, note
        the handshake and the close; pause reading when the queue is full or
        the connection's budget is spent."""
        conn = self._conn
        queue = self._queue
        before = len(queue)
        events: List[Any] = conn.events()  # with bare messages (str, bytes)
        for event in events:
            cls = type(event)
            if cls is str or cls is bytes:  # a message (Connection(bare_messages=True))
                queue.append(event)
            elif cls is ev.MessageFragment:
                queue.append(event)  # a part of a message (recv_streaming)
            else:
                self._handle_event(event)
        if len(queue) > before:
            queue.wake()  # one wake-up for the whole batch
        if (
            not self._reading_paused
            and (len(queue) >= queue.high or conn.receiving_paused)
            and conn.state is State.OPEN
            and not conn.failure_pending
        ):
            # Back-pressure on the peer: stop reading until recv() catches up.
            self._reading_paused = True
            if self._transport is not None:
                self._transport.pause_reading()

    def _handle_event(self, event: ev.Event) -> None:
        """Every event but a message (rare, so one call each is fine)."""
        cls = type(event)
        if cls is ev.Pong:
            self._on_pong(cast(ev.Pong, event).data)
        elif cls is ev.Ping:
            self._on_ping(cast(ev.Ping, event).data)
        elif isinstance(event, ev.Closed):
            self._on_closed(event)
        elif isinstance(event, ev.HandshakeRequest):
            self._on_request(event)
        elif cls is ev.HandshakeAccepted:
            self._on_open()
        elif isinstance(event, ev.HandshakeRejected):
            self._on_rejected(event)
        elif cls is ev.ProtocolViolation and self._conn.failure_pending:
            self._failing = True
            self._start_fail_timer()
        # CloseReceived needs nothing here: Closed follows.

    def _on_ping(self, data: bytes) -> None:
        """A ping came (the connection queued its pong already)."""

    def _on_request(self, event: ev.HandshakeRequest) -> None:
        """(server) The request head arrived; the server side answers it."""
        raise NotImplementedError

    def _on_open(self) -> None:
        """The handshake is done: start the keepalive and release the opener."""
        request = self._conn.request
        transport = self._transport
        self.logger.info(
            "connection open: id=%s remote=%s path=%s",
            self.id,
            None if transport is None else transport.get_extra_info("peername"),
            "/" if request is None else request.target,
        )
        if self._ping_interval is not None and self._ping_interval > 0:
            self._keepalive_task = self._loop.create_task(self._keepalive())
        if not self._opened.done():
            self._opened.set_result(None)

    def _on_rejected(self, event: ev.HandshakeRejected) -> None:
        """The handshake failed: fail the opener (client) with the reason."""
        if not self._opened.done():
            self._opened.set_exception(event.error)
            self._opened.exception()

    def _on_closed(self, event: ev.Closed) -> None:
        """The closing handshake finished or the connection failed."""
        self._closed_event = event
        self._fail_pings()
        self._queue.wake()
        if self._reading_paused:
            self._resume_reading()
        if not self._conn.should_close_transport:
            # A client waits for the server to close TCP (RFC 6455 section
            # 7.1.1), but not forever.
            self._start_close_timer()

    def _on_pong(self, data: bytes) -> None:
        """A pong answers the ping with its payload and every ping sent before it."""
        if data not in self._pings:
            return  # unsolicited pong (RFC 6455 section 5.5.3): ignore
        now = time.monotonic()
        for key in list(self._pings):
            waiter, sent = self._pings.pop(key)
            if not waiter.done():
                waiter.set_result(now - sent)
            if key == data:
                self.latency = now - sent
                break

    def _message_taken(self, message: Any) -> None:
        """recv() took ``message``: free its budget, resume reading when
        the queue and the connection have room again."""
        conn = self._conn
        conn.delivered(message)
        if not self._reading_paused:
            return
        if conn.receiving_paused:
            # Input held back by the budget: decode the next part of it
            # (Connection.events does once the budget has room).
            self._dispatch()
            self._flush()
        if self._queue.drained and not conn.receiving_paused:
            self._resume_reading()

    # ---- output --------------------------------------------------------------------

    def _flush(self, force: bool = False) -> None:
        """Write everything the connection queued in one call; close TCP
        when it says so. While the transport is paused output stays in the
        connection (its pong cap holds), unless ``force`` or closing."""
        self._flush_scheduled = False
        self._pending_out = 0
        transport = self._transport
        if transport is None:
            return
        conn = self._conn
        if self._write_paused and not force and conn.state is State.OPEN and not self._failing:
            return
        buffers = conn.data_to_send_buffers()
        if buffers and not transport.is_closing():
            write_buffers(transport, buffers)
        if self._failing and not conn.failure_pending:
            self._failing = False
            self._dispatch()  # the held close frame went out: Closed
        # should_close_transport only turns True together with a Closed event.
        if self._closed_event is not None and conn.should_close_transport and not transport.is_closing():
            self._linger_close()

    def _queued(self, size: int) -> None:
        """A message of ``size`` bytes was queued: write it now when the
        application has caught up with its incoming messages (latency wins),
        else at the end of this loop turn so a burst of replies shares one
        write; always now when a lot is queued."""
        self._pending_out += size
        if self._pending_out >= self._coalesce_limit or not self._queue:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    async def _drain(self) -> None:
        """Wait while the transport's write buffer is above its high-water mark."""
        if not self._write_paused or self._lost:
            return
        waiter = self._loop.create_future()
        self._drain_waiters.append(waiter)
        await waiter

    # ---- lingering close ---------------------------------------------------------

    def _linger_close(self) -> None:
        """Close TCP without losing what we wrote last (a "lingering close").

        Closing a socket with unread input makes the kernel answer with RST,
        which can destroy data the peer has not read yet (our close frame or
        an HTTP error response). So: send FIN (``write_eof``; asyncio sends it
        after the buffered data), read and drop input until the peer's EOF,
        for at most ``LINGER_TIMEOUT`` (or ``close_timeout``) and
        ``LINGER_LIMIT`` bytes, then close. Transports that cannot half-close
        (TLS) are closed at once.
        """
        transport = self._transport
        if transport is None or transport.is_closing() or self._lingering:
            return
        if not transport.can_write_eof():
            transport.close()
            return
        try:
            transport.write_eof()
        except (OSError, RuntimeError):
            transport.close()
            return
        self._lingering = True
        self._linger_left = LINGER_LIMIT
        if self._reading_paused:
            self._resume_reading()  # the peer's EOF must get through
        if len(self._buffer) > self._initial_buffer_size:
            self._set_buffer(self._initial_buffer_size)
        timeout = LINGER_TIMEOUT
        if self._close_timeout is not None:
            timeout = min(timeout, self._close_timeout)
        self._linger_timer = self._loop.call_later(timeout, self._end_linger)

    def _drop_lingering_input(self, nbytes: int) -> None:
        """Input after our FIN is dropped; too much of it ends the linger."""
        self._linger_left -= nbytes
        if self._linger_left <= 0:
            self._end_linger()

    def _end_linger(self) -> None:
        """The linger is over (time or byte budget spent): close TCP."""
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.close()

    # ---- failing after a protocol error -------------------------------------------

    def _start_fail_timer(self) -> None:
        """The connection holds a protocol error's close frame until the
        application has read the messages before it: bound that wait."""
        if self._fail_timer is None:
            timeout = self._close_timeout if self._close_timeout is not None else 10.0
            self._fail_timer = self._loop.call_later(timeout, self._fail_now)

    def _fail_now(self) -> None:
        self._fail_timer = None
        self._conn.fail_now()
        self._dispatch()
        self._flush(force=True)

    # ---- flow control of reading -------------------------------------------------

    def _resume_reading(self) -> None:
        self._reading_paused = False
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    # ---- pings and keepalive -------------------------------------------------------

    def _send_ping(self, data: Optional[bytes] = None) -> "asyncio.Future[float]":
        """Send a ping; return a future resolved with the round-trip time on its pong."""
        conn = self._conn
        if conn.state is not State.OPEN or conn.failure_pending:
            raise self._closed_exception()
        if data is None:
            data = os.urandom(4)
            while data in self._pings:
                data = os.urandom(4)
        elif data in self._pings:
            raise ValueError("a ping with this payload is already waiting for its pong")
        conn.send_ping(data)
        waiter: "asyncio.Future[float]" = self._loop.create_future()
        self._pings[bytes(data)] = (waiter, time.monotonic())
        self._flush()
        return waiter

    async def _keepalive(self) -> None:
        """Ping every ``ping_interval`` seconds; fail with 1011 when a pong is late."""
        assert self._ping_interval is not None
        try:
            while True:
                await asyncio.sleep(self._ping_interval)
                if self._conn.state is not State.OPEN:
                    return
                waiter = self._send_ping()
                if self._ping_timeout is None:
                    await waiter
                    continue
                done, _ = await asyncio.wait({waiter}, timeout=self._ping_timeout)
                if not done:
                    self.logger.info("keepalive pong not received in %ss: closing", self._ping_timeout)
                    self._start_closing(1011, "keepalive ping timeout")
                    return
        except ConnectionClosed:
            return

    def _fail_pings(self) -> None:
        if not self._pings:
            return
        exc = self._closed_exception()
        for waiter, _ in self._pings.values():
            if not waiter.done():
                waiter.set_exception(exc)
                waiter.exception()  # mark retrieved: keepalive pings have no awaiter
        self._pings.clear()

    # ---- closing -------------------------------------------------------------------

    def _start_closing(self, code: Optional[int], reason: str) -> None:
        """Send a close frame (if not sent yet) and bound the wait for the answer."""
        conn = self._conn
        state = conn.state
        if state is State.OPEN:
            conn.close(code, reason)  # with a failure pending: the failure's close frame
            if self._reading_paused:
                self._resume_reading()  # the peer's close frame must get through
            self._dispatch()
            self._flush(force=True)
            if not self._lost:
                self._start_close_timer()
        elif state is State.CONNECTING:
            conn.close(code, reason)
            self._dispatch()
            self._flush(force=True)
            if self._transport is not None:
                self._transport.close()

    def _start_close_timer(self) -> None:
        if self._close_timer is None and self._close_timeout is not None and not self._lost:
            self._close_timer = self._loop.call_later(self._close_timeout, self._abort)

    def _abort(self) -> None:
        """The peer did not finish closing in time: drop the TCP connection."""
        self._close_timer = None
        if self._transport is not None:
            self._transport.abort()

    def _cancel_timers(self) -> None:
        for name in ("_close_timer", "_fail_timer", "_linger_timer", "_shrink_timer"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)
        task = self._keepalive_task
        if task is not None and not task.done() and task is not _current_task():
            task.cancel()

    def _closed_exception(self, exc: Optional[BaseException] = None) -> ConnectionClosed:
        """The ConnectionClosed to raise now (1006 when nothing better is known)."""
        event = self._closed_event
        if event is None:
            error = ConnectionClosed.for_close(1006, "", False)
        else:
            error = ConnectionClosed.for_close(event.code, event.reason, event.clean)
        if exc is not None:
            error.__cause__ = exc
        return error


def _current_task() -> Any:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None

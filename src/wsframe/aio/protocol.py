"""The ``asyncio.BufferedProtocol`` that drives a sans-I/O :class:`wsframe.Connection`.

asyncio reads straight into one preallocated buffer (``get_buffer``), the
connection's frame parser consumes a view of it (``buffer_updated``), and
the events become queued messages, resolved pings and close bookkeeping.
Everything the connection queues for the peer goes out in one
``transport.write`` per batch. Flow control runs both ways: a bounded
message queue pauses and resumes reading, and the transport's write-buffer
high-water mark makes senders wait (see :meth:`WebSocketProtocol._drain`).

This module holds the I/O machinery only; the user-facing methods (``recv``,
``send``, ``ping``, ``close``) are in :mod:`wsframe.aio.connection`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from typing import Any, Deque, Dict, List, Optional, Union

from .. import events as ev
from .._backend import codec as _codec
from ..connection import Connection, State
from ..enums import Opcode
from .exceptions import ConnectionClosed

__all__ = ["WebSocketProtocol", "logger"]

logger = logging.getLogger("wsframe.aio")

_TextMessage = ev.TextMessage
_BinaryMessage = ev.BinaryMessage

#: Defaults shared by serve() and connect(). The read buffer starts small
#: so an idle connection costs little (docs/hardening.md, "Load").
DEFAULT_READ_BUFFER_SIZE = 4 * 1024
#: The read buffer grows (x4 per full read) up to this for peers sending big frames.
MAX_READ_BUFFER_SIZE = 1024 * 1024
#: After this many reads in a row that use less than a quarter of a grown
#: buffer, it shrinks by one step (/4, not below its initial size): a few,
#: so a stream of big messages does not reallocate it for every message,
#: and one step, so reads that are big but not full (a socket rarely hands
#: over 1 MiB at once) do not make it start again from the bottom.
SHRINK_AFTER_SMALL_READS = 4
#: Lingering close: after our FIN, input is read and dropped for at most
#: this long (or close_timeout when smaller) and this many bytes.
LINGER_TIMEOUT = 2.0
LINGER_LIMIT = 1024 * 1024
DEFAULT_WRITE_LIMIT = 64 * 1024
DEFAULT_MAX_QUEUE = 16


class WebSocketProtocol(asyncio.BufferedProtocol):
    """I/O half of a WebSocket connection (one per TCP connection).

    Args:
        max_queue: high-water mark of the incoming message queue; reading
            pauses at this many unread messages and resumes at a quarter.
        read_buffer_size: initial size of the buffer asyncio reads into; a
            read that fills it makes it grow (x4, up to 1 MiB), so a big frame
            takes one read instead of several; a few reads in a row that use
            less than a quarter of it shrink it back to this size.
        write_limit: high-water mark of the transport's write buffer; above
            it ``send`` waits until the peer has read enough.
        ping_interval: seconds between keepalive pings, None for none.
        ping_timeout: seconds to wait for a keepalive pong before failing
            the connection with 1011, None to wait forever.
        close_timeout: seconds to wait for the closing handshake and for the
            TCP close before aborting the transport.
    """

    def __init__(
        self,
        *,
        max_queue: int = DEFAULT_MAX_QUEUE,
        read_buffer_size: int = DEFAULT_READ_BUFFER_SIZE,
        write_limit: int = DEFAULT_WRITE_LIMIT,
        ping_interval: Optional[float] = 20.0,
        ping_timeout: Optional[float] = 20.0,
        close_timeout: Optional[float] = 10.0,
    ) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        if read_buffer_size < 256:
            raise ValueError("read_buffer_size must be at least 256")
        self._loop = asyncio.get_running_loop()
        self._conn: Optional[Connection] = None  # set once the handshake starts (client) or ends (server)
        self._transport: Optional[asyncio.Transport] = None
        self._buffer = bytearray(read_buffer_size)
        self._view = memoryview(self._buffer)
        self._initial_buffer_size = read_buffer_size
        self._small_reads = 0  # reads in a row using < 1/4 of a grown buffer
        self._big_read = False  # a read used >= 1/4 of the buffer since the last keepalive tick
        # Lingering close (see _linger_close): input left to drop, and the timer.
        self._lingering = False
        self._linger_left = 0
        self._linger_timer: Optional[asyncio.TimerHandle] = None

        # Incoming messages and the one coroutine waiting for them.
        self._messages: Deque[Union[str, bytes]] = collections.deque()
        self._recv_waiter: Optional[asyncio.Future[None]] = None
        self._max_queue = max_queue
        self._low_water = max_queue // 4
        self._reading_paused = False

        # Outgoing: a deferred flush coalesces the sends of one loop turn.
        self._write_limit = write_limit
        self._pending_out = 0
        self._flush_scheduled = False
        self._write_paused = False
        self._drain_waiters: List[asyncio.Future[None]] = []
        # Pings are answered here, not by the Connection (it is built with
        # auto_pong=False): every ping of a read gets its pong, ahead of any
        # close frame that read caused, while writing flows; while writing is
        # paused only the latest is kept (see pause_writing).
        self._pongs: List[bytes] = []
        self._answer_pings = True  # the connection was OPEN when this read began
        self._pending_pong: Optional[bytes] = None  # latest ping seen while writing was paused

        # Keepalive and closing.
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._close_timeout = close_timeout
        self._pings: Dict[bytes, "tuple[asyncio.Future[float], float]"] = {}
        self._keepalive_task: Optional[asyncio.Task[None]] = None
        self._close_timer: Optional[asyncio.TimerHandle] = None
        self._closed_event: Optional[ev.Closed] = None
        self._lost = False
        self._opened: asyncio.Future[None] = self._loop.create_future()
        self._connection_lost_waiter: asyncio.Future[None] = self._loop.create_future()
        # After a protocol error, our close frame waits here while the
        # application handles the messages that arrived before the error.
        self._held: Optional[bytes] = None
        self._held_timer: Optional[asyncio.TimerHandle] = None
        self.latency: float = 0.0  # seconds, measured by the last ping answered

    # ---- asyncio.BufferedProtocol ------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        transport.set_write_buffer_limits(high=self._write_limit)  # type: ignore[attr-defined]

    def get_buffer(self, sizehint: int) -> memoryview:
        # The same buffer every time: the parser copies what it must keep.
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        if self._lingering:
            self._drop_lingering_input(nbytes)
            return
        conn = self._conn
        if conn is None:
            self._receive_head(self._view[:nbytes])
            return
        if self._flush_scheduled:
            # Replies queued earlier go first, so a close frame held back
            # after a protocol error (_hold_failure) holds nothing older.
            self._flush()
        self._answer_pings = conn.state < State.CLOSING  # not after our close frame
        conn.receive_data(self._view[:nbytes])
        self._dispatch()
        self._flush()
        self._resize_buffer(nbytes)

    def _resize_buffer(self, nbytes: int) -> None:
        """Grow the read buffer after a full read; shrink it a step after a
        few reads that used little of it (and to its initial size when the
        connection idles, see _shrink_if_idle), so quiet connections stay
        small. The parser copies what it keeps, so the old buffer can go."""
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

    def _shrink_if_idle(self) -> None:
        """(each keepalive tick) No big read since the last tick: back to
        the initial buffer size."""
        if not self._big_read and len(self._buffer) > self._initial_buffer_size:
            self._small_reads = 0
            self._set_buffer(self._initial_buffer_size)
        self._big_read = False

    def _set_buffer(self, size: int) -> None:
        self._buffer = bytearray(size)
        self._view = memoryview(self._buffer)

    def eof_received(self) -> Optional[bool]:
        if self._lingering:
            return None  # the peer is done too: close now
        conn = self._conn
        if conn is not None:
            conn.receive_eof()
            self._dispatch()
            self._flush()
        return None  # let asyncio close the transport

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._lost = True
        self._held = None
        conn = self._conn
        if conn is not None:
            conn.receive_eof()  # a no-op after a finished closing handshake
            self._dispatch()
        if self._closed_event is None:
            self._closed_event = ev.Closed(1006, "", False, exc)
        self._cancel_timers()
        self._fail_pings()
        self._wake_receiver()
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
        # While the peer reads nothing, answering every ping would grow the
        # write buffer by one pong per ping without bound (a ping flood).
        # RFC 6455 section 5.5.3 allows answering only the most recent ping:
        # _on_ping keeps it and resume_writing answers it.
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        conn = self._conn
        if conn is not None:
            pong, self._pending_pong = self._pending_pong, None
            if pong is not None and conn.state is State.OPEN:
                conn.send_pong(pong)
                self._flush()
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # ---- hooks for the server and client sides -----------------------------------

    def _receive_head(self, data: memoryview) -> None:
        """Bytes before the connection exists (the server reads the request head)."""
        raise NotImplementedError

    def _on_open(self) -> None:
        """The handshake is done: start the keepalive and release the opener."""
        if self._ping_interval is not None and self._ping_interval > 0:
            self._keepalive_task = self._loop.create_task(self._keepalive())
        if not self._opened.done():
            self._opened.set_result(None)

    def _on_rejected(self, event: ev.HandshakeRejected) -> None:
        """(client) The server refused the handshake: fail the opener."""
        if not self._opened.done():
            self._opened.set_exception(event.error)

    # ---- events --------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Act on the connection's events: queue messages, settle pings, note the close."""
        for event in self._conn.events():  # type: ignore[union-attr]
            cls = type(event)
            if cls is _TextMessage or cls is _BinaryMessage:
                messages = self._messages
                messages.append(event.data)  # type: ignore[union-attr]
                waiter = self._recv_waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
                if (
                    len(messages) >= self._max_queue and not self._reading_paused and self._conn.state is State.OPEN  # type: ignore[union-attr]
                ):
                    # Back-pressure on the peer: stop reading until recv() catches up.
                    self._reading_paused = True
                    self._transport.pause_reading()  # type: ignore[union-attr]
            elif cls is ev.Pong:
                self._on_pong(event.data)  # type: ignore[union-attr]
            elif cls is ev.Ping:
                self._on_ping(event.data)  # type: ignore[union-attr]
            elif cls is ev.Closed:
                self._on_closed(event)  # type: ignore[arg-type]
            elif cls is ev.HandshakeAccepted:
                self._on_open()
            elif cls is ev.HandshakeRejected:
                self._on_rejected(event)  # type: ignore[arg-type]
            elif cls is ev.ProtocolViolation:
                if self._messages:
                    self._hold_failure()
            # Ping (the pong is queued already) and CloseReceived need
            # nothing more: Closed follows.

    def _on_closed(self, event: ev.Closed) -> None:
        """The closing handshake finished or the connection failed."""
        self._closed_event = event
        self._fail_pings()
        self._wake_receiver()
        if self._reading_paused:
            self._resume_reading()
        conn = self._conn
        if conn is not None and not conn.should_close_transport:
            # A client waits for the server to close TCP (RFC 6455 section
            # 7.1.1), but not forever.
            self._start_close_timer()

    def _on_ping(self, data: bytes) -> None:
        """RFC 6455 section 5.5.2: answer with a pong carrying the ping's payload,
        unless we had sent our close frame before this read (then the
        connection answers nothing more)."""
        if not self._answer_pings:
            return
        if self._write_paused:
            self._pending_pong = data  # section 5.5.3: only the latest one
            return
        role_mask = True if self._conn is not None and self._conn.role == "client" else None
        self._pongs.append(_codec.encode_frame(Opcode.PONG, data, mask=role_mask))

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

    # ---- output --------------------------------------------------------------------

    def _flush(self) -> None:
        """Write everything queued in one call; close TCP when the connection says so."""
        self._flush_scheduled = False
        self._pending_out = 0
        conn = self._conn
        transport = self._transport
        if conn is None or transport is None or self._held is not None:
            return
        data = conn.data_to_send()
        if self._pongs:
            # Pongs of this read go before anything it made the connection
            # queue (a close frame must be the last thing we send).
            data = b"".join(self._pongs) + data
            self._pongs.clear()
        if data and not transport.is_closing():
            transport.write(data)
        if conn.should_close_transport and not transport.is_closing():
            self._linger_close()

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

    def _queued(self, size: int) -> None:
        """A message of ``size`` bytes was queued: write it now when the
        application has caught up with its incoming messages (latency wins),
        else at the end of this loop turn so a burst of replies shares one
        write; always now when a lot is queued."""
        self._pending_out += size
        if self._pending_out >= self._write_limit or not self._messages:
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

    # ---- failing gracefully -------------------------------------------------------

    def _hold_failure(self) -> None:
        """The peer broke the protocol after messages we have not handed out
        yet: hold our close frame until the application has read them (and
        perhaps answered), so replies to valid messages are not lost. RFC 6455
        section 7.1.7 says to fail "immediately"; the wait is bounded by
        ``close_timeout`` and input is ignored meanwhile."""
        self._held = self._conn.data_to_send()  # type: ignore[union-attr]
        timeout = self._close_timeout if self._close_timeout is not None else 10.0
        self._held_timer = self._loop.call_later(timeout, self._release_held)

    def _release_held(self) -> None:
        """Send the held close frame and close the transport as the connection says."""
        held, self._held = self._held, None
        if self._held_timer is not None:
            self._held_timer.cancel()
            self._held_timer = None
        transport = self._transport
        if held is None or transport is None:
            return
        if self._pongs:
            held = b"".join(self._pongs) + held
            self._pongs.clear()
        if held and not transport.is_closing():
            transport.write(held)
        self._flush()

    def _write_while_failing(self, opcode: int, payload: bytes) -> None:
        """A reply sent while our close frame is held: frame it ourselves
        (the connection is closed already) and write it ahead of the close."""
        conn = self._conn
        transport = self._transport
        if conn is None or transport is None or transport.is_closing():
            return
        mask = True if conn.role == "client" else None  # RFC 6455 section 5.3
        transport.write(_codec.encode_frame(opcode, payload, mask=mask))

    # ---- flow control of reading -------------------------------------------------

    def _resume_reading(self) -> None:
        self._reading_paused = False
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    def _wake_receiver(self) -> None:
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---- pings and keepalive -------------------------------------------------------

    def _send_ping(self, data: Optional[bytes] = None) -> asyncio.Future[float]:
        """Send a ping; return a future resolved with the round-trip time on its pong."""
        conn = self._conn
        if conn is None or conn.state is not State.OPEN:
            raise self._closed_exception()
        if data is None:
            data = os.urandom(4)
            while data in self._pings:
                data = os.urandom(4)
        elif data in self._pings:
            raise ValueError("a ping with this payload is already waiting for its pong")
        conn.send_ping(data)
        waiter = self._loop.create_future()
        self._pings[bytes(data)] = (waiter, time.monotonic())
        self._flush()
        return waiter

    async def _keepalive(self) -> None:
        """Ping every ``ping_interval`` seconds; fail with 1011 when a pong is late."""
        assert self._ping_interval is not None
        try:
            while True:
                await asyncio.sleep(self._ping_interval)
                conn = self._conn
                if conn is None or conn.state is not State.OPEN:
                    return
                self._shrink_if_idle()
                waiter = self._send_ping()
                if self._ping_timeout is None:
                    await waiter
                    continue
                done, _ = await asyncio.wait({waiter}, timeout=self._ping_timeout)
                if not done:
                    logger.info("keepalive pong not received in %ss: closing", self._ping_timeout)
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
        if self._held is not None:
            self._release_held()
        conn = self._conn
        if conn is None:
            if self._transport is not None:
                self._transport.close()
            return
        if conn.state is State.OPEN:
            conn.close(code, reason)
            if self._reading_paused:
                self._resume_reading()  # the peer's close frame must get through
            self._flush()
            if not self._lost:
                self._start_close_timer()
        elif conn.state is State.CONNECTING:
            conn.close(code, reason)
            self._flush()
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
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if self._held_timer is not None:
            self._held_timer.cancel()
            self._held_timer = None
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
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

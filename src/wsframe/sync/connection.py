"""The user-facing connection of :mod:`wsframe.sync`: a thin threaded host of :class:`wsframe.Connection`.

One object per connection, on both sides: ``ws.recv(timeout=None)``,
``for message in ws``, ``ws.send(text_or_bytes)``, ``ws.ping()`` (returns
the round trip), ``ws.close(code, reason)``, and what the handshake said
(``request``, ``path``, ``subprotocol``, ``remote_address``).

Threads: once the handshake is done, one reader thread per connection owns
the socket's input. It calls :meth:`~wsframe.Connection.receive_data` and
:meth:`~wsframe.Connection.events`, stops reading while the connection's
memory budget is spent (``receiving_paused``) or ``max_queue`` messages wait,
feeds the message queue ``recv()`` takes from, and runs the timers
(keepalive, the wait for a protocol error's held close frame, the lingering
close). Every call into the :class:`~wsframe.Connection` is made under one
lock; the bytes it queues go out in order through one writer at a time.
Every byte on the wire comes from the :class:`~wsframe.Connection`.
"""

from __future__ import annotations

import collections
import logging
import os
import selectors
import socket
import threading
import time
import uuid
from typing import Any, Deque, Dict, Iterator, List, Optional, Tuple, Union, cast

from .. import events as ev
from .._connection_view import ConnectionView
from ..aio.exceptions import ConnectionClosed, ConnectionClosedOK
from ..aio.messages import join_parts
from ..aio.options import Options
from ..connection import Connection, InvalidState, State
from ..handshake.errors import InvalidHandshake

__all__ = ["WebSocket", "Data", "logger"]

logger = logging.getLogger("wsframe.sync")

#: A message as ``recv()`` returns it: ``str`` for text, ``bytes`` for binary.
Data = Union[str, bytes]

_STREAM_UNFINISHED = "a message is partly read by recv_streaming(): read the rest with recv_streaming()"

#: Each ``recv`` on the socket asks for at least this much (``read_buffer_size``
#: when larger): the raw input one read can add to the memory budget.
READ_SIZE = 64 * 1024
#: Lingering close: after our FIN, input is read and dropped for at most this
#: long (or ``close_timeout`` when smaller) and this many bytes.
LINGER_TIMEOUT = 2.0
LINGER_LIMIT = 1024 * 1024
#: While a connection is closing, its reader wakes at least this often to
#: check deadlines other threads may have set.
CLOSING_TICK = 0.5

# poll(2) where there is one: unlike epoll it costs no file descriptor per
# connection; select(2) elsewhere (Windows).
_Selector = getattr(selectors, "PollSelector", selectors.SelectSelector)

# One send() call that never blocks (Linux, the BSDs, macOS); elsewhere a
# plain blocking send, which is still correct, only without the timer checks.
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


class _PingWaiter:
    """One ping waiting for its pong."""

    __slots__ = ("sent", "rtt", "done")

    def __init__(self) -> None:
        self.sent = time.monotonic()
        self.rtt: Optional[float] = None
        self.done = False


class WebSocket(ConnectionView):
    """An open WebSocket connection of :mod:`wsframe.sync` (a server's handler
    gets one; :func:`wsframe.sync.connect` returns one).

    Args:
        sock: the connected TCP socket.
        conn: the sans-I/O connection it hosts (CONNECTING).
        options: the validated options.
    """

    def __init__(self, sock: socket.socket, conn: Connection, options: Options) -> None:
        self._sock = sock
        self._conn = conn
        self._options = options
        self._lock = threading.Lock()  # every Connection call and the state below
        self._cond = threading.Condition(self._lock)
        self._write_lock = threading.Lock()  # one writer at a time: output stays in order
        self._dirty = False  # the Connection may have queued output nobody took yet
        self._write_selector: Optional[selectors.BaseSelector] = None

        # Messages, and parts of fragmented messages (recv_streaming()).
        self._queue: Deque[Union[Data, ev.MessageFragment]] = collections.deque()
        self._max_queue = options.max_queue
        self._read_paused = False
        self._recv_busy = False
        # The parts of a fragmented message recv() took before its timeout
        # ran out, and whether recv_streaming() left a message unfinished.
        self._parts: Optional[List[Data]] = None
        self._streaming = False

        self._open = False  # HandshakeAccepted seen
        self._rejection: Optional[InvalidHandshake] = None
        self._request_event: Optional[ev.HandshakeRequest] = None
        self._closed_event: Optional[ev.Closed] = None
        self._closing = False  # we sent a close frame (or started closing)
        self._failing = False  # the Connection holds a protocol error's close frame
        self._fail_deadline: Optional[float] = None
        self._close_deadline: Optional[float] = None
        self._write_shut = False  # our FIN is sent: lingering
        self._linger_deadline: Optional[float] = None
        self._linger_left = LINGER_LIMIT
        self._aborted = False
        self._lost = False  # the socket is closed

        self._pings: Dict[bytes, _PingWaiter] = {}
        self._keepalive_ping: Optional[bytes] = None
        self._keepalive_deadline: Optional[float] = None
        self._next_ping: Optional[float] = None

        self._reader: Optional[threading.Thread] = None
        self._done = threading.Event()  # the reader finished and the socket is closed
        try:
            self._remote_address: Any = sock.getpeername()
            self._local_address: Any = sock.getsockname()
        except OSError:
            self._remote_address = self._local_address = None
        #: Round trip of the last ping answered, in seconds.
        self.latency: float = 0.0
        #: A unique id of this connection, in every log line about it.
        self.id: uuid.UUID = uuid.uuid4()
        #: The logger of this connection: ``options.logger`` (or ``wsframe.sync``)
        #: with ``websocket`` and ``id`` in each record's ``extra``.
        self.logger: "logging.LoggerAdapter[Any]" = logging.LoggerAdapter(
            options.logger or logger, {"websocket": self, "id": self.id}
        )

    # ---- receiving -----------------------------------------------------------------

    def recv(self, timeout: Optional[float] = None) -> Data:
        """The next message: ``str`` for text, ``bytes`` for binary.

        Args:
            timeout: seconds to wait at most; None waits as long as it takes.

        Raises:
            TimeoutError: no message came within ``timeout``.
            ConnectionClosed: the connection is closed and every message
                received before the close has been returned.
            RuntimeError: another thread is already waiting in ``recv``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        self._enter_recv()
        try:
            if self._streaming:
                raise RuntimeError(_STREAM_UNFINISHED)
            while True:
                item = self._next_item(deadline)
                if type(item) is not ev.MessageFragment:
                    return cast(Data, item)
                fragment = item
                parts = self._parts
                if parts is None:
                    parts = self._parts = []
                parts.append(fragment.data)
                if fragment.fin:
                    self._parts = None
                    return join_parts(parts)
        finally:
            self._exit_recv()

    def recv_streaming(self, timeout: Optional[float] = None) -> Iterator[Data]:
        """The next message in parts, as they arrive: ``str`` parts for
        text, ``bytes`` for binary.

        A fragmented message comes a frame at a time, so it is never held
        whole here (``max_size`` still limits the whole message); a message
        sent in one frame comes as one part. Text parts end on code point
        boundaries. Leaving the loop before the last part leaves the rest for
        the next ``recv_streaming()`` (``recv()`` raises RuntimeError until
        then).

        Args:
            timeout: seconds to wait at most for each part.

        Raises:
            TimeoutError: a part did not come within ``timeout``.
            ConnectionClosed: the connection closed before the message ended.
            RuntimeError: another thread is receiving.
        """
        parts, self._parts = self._parts, None
        if parts:
            # A recv() whose timeout ran out had taken these parts already.
            self._streaming = True
            yield join_parts(parts)
        while True:
            deadline = None if timeout is None else time.monotonic() + timeout
            self._enter_recv()
            try:
                item = self._next_item(deadline)
            finally:
                self._exit_recv()
            if type(item) is not ev.MessageFragment:
                yield cast(Data, item)
                return
            fragment = item
            self._streaming = not fragment.fin
            yield fragment.data
            if fragment.fin:
                return

    def _enter_recv(self) -> None:
        with self._lock:
            if self._recv_busy:
                raise RuntimeError("another thread is already waiting in recv()")
            self._recv_busy = True

    def _exit_recv(self) -> None:
        with self._lock:
            self._recv_busy = False

    def _next_item(self, deadline: Optional[float]) -> Union[Data, ev.MessageFragment]:
        """The next message or part of one, taken from the queue; waits for
        it until ``deadline``."""
        while True:
            with self._lock:
                queue = self._queue
                if queue:
                    item = queue.popleft()
                    self._taken(item.data if type(item) is ev.MessageFragment else cast(Data, item))
                    return item
                if self._closed_event is not None or self._lost:
                    raise self._closed_exception()
                if not self._failing:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError("no message within the timeout")
                    self._cond.wait(remaining)
                    continue
            # Every message before the protocol error is handled now:
            # the held close frame goes out (Connection.data_to_send).
            if not self._flush():
                with self._lock:
                    if self._closed_event is None:
                        self._cond.wait(0.05)  # the reader is closing the socket

    def __iter__(self) -> Iterator[Data]:
        """Messages until a normal close (1000/1001); other closes raise
        :class:`~wsframe.aio.ConnectionClosedError`."""
        while True:
            try:
                yield self.recv()
            except ConnectionClosedOK:
                return

    def _taken(self, message: Data) -> None:
        """(lock held) The application took ``message``: free its budget,
        decode input the budget held back, resume reading when there is room."""
        conn = self._conn
        conn.delivered(message)
        if conn.receiving_paused:
            self._handle(conn.events())  # decodes more of the backlog once there is room
        if self._read_paused and len(self._queue) <= self._max_queue // 4 and not conn.receiving_paused:
            self._read_paused = False
            self._cond.notify_all()

    # ---- sending -------------------------------------------------------------------

    def send(self, message: Union[str, bytes, bytearray, memoryview]) -> None:
        """Send one message: text for ``str``, binary for bytes-like objects.

        Returns once the bytes are handed to the kernel (it blocks while the
        peer does not read).

        Raises:
            ConnectionClosed: the connection is closing or closed.
            TypeError: ``message`` is neither str nor bytes-like.
        """
        with self._lock:
            conn = self._conn
            try:
                if isinstance(message, str):
                    conn.send_text(message)
                elif isinstance(message, (bytes, bytearray, memoryview)):
                    conn.send_binary(message)
                else:
                    raise TypeError(f"send() takes str or a bytes-like object, not {type(message).__name__}")
            except InvalidState:
                raise self._closed_exception() from None
            self._dirty = True
        if not self._flush():
            with self._lock:
                raise self._closed_exception()

    def ping(self, data: Optional[bytes] = None, timeout: Optional[float] = None) -> float:
        """Send a ping and wait for its pong; return the round trip in seconds.

        Args:
            data: the payload (at most 125 bytes); 4 random bytes by default.
            timeout: seconds to wait for the pong; None waits as long as it takes.

        Raises:
            TimeoutError: no pong within ``timeout``.
            ConnectionClosed: the connection closed before the pong came.
            ValueError: a ping with this payload is already waiting.
        """
        with self._lock:
            waiter, payload = self._send_ping(None if data is None else bytes(data))
        self._flush()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not waiter.done:
                if self._closed_event is not None or self._lost:
                    raise self._closed_exception()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    self._pings.pop(payload, None)
                    raise TimeoutError("no pong within the timeout")
                self._cond.wait(remaining)
            if waiter.rtt is None:
                raise self._closed_exception()
            return waiter.rtt

    def pong(self, data: bytes = b"") -> None:
        """Send an unsolicited pong (RFC 6455 section 5.5.3), e.g. as a heartbeat.

        Raises:
            ConnectionClosed: the connection is closing or closed.
        """
        with self._lock:
            try:
                self._conn.send_pong(data)
            except InvalidState:
                raise self._closed_exception() from None
            self._dirty = True
        self._flush()

    def _send_ping(self, data: Optional[bytes]) -> Tuple[_PingWaiter, bytes]:
        """(lock held) Queue a ping and register its waiter."""
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
        waiter = _PingWaiter()
        self._pings[data] = waiter
        self._dirty = True
        return waiter, data

    # ---- closing -------------------------------------------------------------------

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Run the closing handshake (RFC 6455 section 7) and wait for the TCP close.

        Returns after at most about twice ``close_timeout``: the connection
        is dropped if the peer does not answer. Closing twice is harmless.

        Raises:
            ValueError: a code that may not be sent (1005, 1006, 1015, ...).
        """
        self._start_closing(code, reason)
        self._wait_done()

    def _start_closing(self, code: Optional[int], reason: str) -> None:
        """Send a close frame (if not sent yet); the reader bounds the wait."""
        with self._lock:
            conn = self._conn
            if conn.state is State.OPEN:
                conn.close(code, reason)  # with a failure pending: the failure's close frame
                self._dirty = True
                self._closing = True
                if self._close_deadline is None and self._options.close_timeout is not None:
                    self._close_deadline = time.monotonic() + self._options.close_timeout
                self._handle(conn.events())
                self._cond.notify_all()  # a paused reader reads again: the peer's close must get through
            elif conn.state is State.CONNECTING:
                self._abort()
                return
        self._flush()

    def _wait_done(self) -> None:
        """Wait for the reader to finish (bounded); drop the connection after."""
        timeout = self._options.close_timeout
        if self._reader is None:
            return
        if not self._done.wait(None if timeout is None else 2 * timeout + 1):
            with self._lock:
                self._abort()
            self._done.wait(5)

    @property
    def remote_address(self) -> Any:
        """The peer's address as the socket reported it, or None."""
        return self._remote_address

    @property
    def local_address(self) -> Any:
        """Our end's address, or None."""
        return self._local_address

    def __enter__(self) -> "WebSocket":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.state.name} {self.path!r} peer={self.remote_address!r}>"

    # ---- events (lock held) ----------------------------------------------------------

    def _handle(self, events: List[ev.Event]) -> None:
        """Act on the connection's events: queue messages, settle pings, note
        the handshake and the close; pause reading when the queue is full or
        the connection's budget is spent."""
        conn = self._conn
        wake = False
        for event in events:
            cls = type(event)
            if cls is ev.TextMessage or cls is ev.BinaryMessage:
                self._queue.append(event.data)  # type: ignore[attr-defined]
                wake = True
            elif cls is ev.MessageFragment:
                self._queue.append(cast(ev.MessageFragment, event))  # recv_streaming()
                wake = True
            elif isinstance(event, ev.Pong):
                wake = self._on_pong(event.data) or wake
            elif isinstance(event, ev.Closed):
                self._on_closed(event)
                wake = True
            elif isinstance(event, ev.HandshakeRequest):
                self._request_event = event
            elif isinstance(event, ev.HandshakeAccepted):
                self._open = True
                interval = self._options.ping_interval
                if interval is not None and interval > 0:
                    self._next_ping = time.monotonic() + interval
            elif isinstance(event, ev.HandshakeRejected):
                self._rejection = event.error
            elif isinstance(event, ev.ProtocolViolation) and conn.failure_pending:
                self._failing = True
                timeout = self._options.close_timeout
                self._fail_deadline = time.monotonic() + (10.0 if timeout is None else timeout)
                wake = True  # recv() sends the held close frame once the queue is empty
            # Ping: the connection queued the pong. CloseReceived: Closed follows.
        if events:
            self._dirty = True
        if (
            not self._read_paused
            and (len(self._queue) >= self._max_queue or conn.receiving_paused)
            and conn.state is State.OPEN
            and not conn.failure_pending
        ):
            self._read_paused = True  # back-pressure on the peer: TCP fills up
        if wake:
            self._cond.notify_all()

    def _on_pong(self, data: bytes) -> bool:
        """A pong answers the ping with its payload and every ping sent before it."""
        if data not in self._pings:
            return False  # unsolicited pong (RFC 6455 section 5.5.3)
        now = time.monotonic()
        for key in list(self._pings):
            waiter = self._pings.pop(key)
            waiter.rtt = now - waiter.sent
            waiter.done = True
            if key == self._keepalive_ping:
                self._keepalive_ping = None
                self._keepalive_deadline = None
            if key == data:
                self.latency = waiter.rtt
                break
        return True

    def _on_closed(self, event: ev.Closed) -> None:
        self._closed_event = event
        self._read_paused = False
        for waiter in self._pings.values():
            waiter.done = True  # rtt None: ping() raises ConnectionClosed
        self._pings.clear()
        self._next_ping = self._keepalive_deadline = None
        if self._open:
            self.logger.info("connection closed: id=%s code=%s reason=%r", self.id, event.code, event.reason)
        if not self._conn.should_close_transport and self._options.close_timeout is not None:
            # A client waits for the server to close TCP (RFC 6455 section
            # 7.1.1), but not forever.
            self._close_deadline = time.monotonic() + self._options.close_timeout

    def _closed_exception(self) -> ConnectionClosed:
        """(lock held) The ConnectionClosed to raise now (1006 when nothing better is known)."""
        event = self._closed_event
        if event is None:
            return ConnectionClosed.for_close(1006, "", False)
        return ConnectionClosed.for_close(event.code, event.reason, event.clean)

    # ---- output ----------------------------------------------------------------------

    def _flush(self, block: bool = True) -> bool:
        """Write what the connection queued, in order, one writer at a time.

        With ``block`` False, return at once when another thread is writing
        (it takes what is queued before it stops). Returns False when the
        socket failed.
        """
        while True:
            if not self._write_lock.acquire(blocking=block):
                return True
            try:
                while True:
                    with self._lock:
                        data = self._take_output()
                        if not data:
                            self._shut_write_if_done()
                            break
                    self._write(data)
            except (OSError, ValueError):
                with self._lock:
                    self._abort()
                return False
            finally:
                self._write_lock.release()
            with self._lock:
                if not self._dirty:
                    return True
            block = False  # queued while we released the lock: write it unless someone else does

    def _take_output(self) -> bytes:
        """(lock held) The connection's output; a held close frame released
        by it turns into its events here."""
        conn = self._conn
        data = conn.data_to_send()
        self._dirty = False
        if self._failing and not conn.failure_pending:
            self._failing = False
            self._fail_deadline = None
            self._handle(conn.events())  # Closed
            self._dirty = False
        return data

    def _shut_write_if_done(self) -> None:
        """(lock and write lock held, output drained) Start the lingering
        close when the connection says TCP should close: FIN now, then the
        reader drops input until the peer's EOF (bounded), then closes.
        Closing with unread input would make the kernel send RST, which can
        destroy our close frame or HTTP response before the peer reads it."""
        if self._write_shut or not self._conn.should_close_transport or self._lost:
            return
        self._write_shut = True
        timeout = LINGER_TIMEOUT
        if self._options.close_timeout is not None:
            timeout = min(timeout, self._options.close_timeout)
        self._linger_deadline = time.monotonic() + timeout
        self._cond.notify_all()
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._abort()

    def _write(self, data: bytes) -> None:
        """(write lock held) Send all of ``data``; while the peer does not
        read, wait for room, and in the reader thread keep its timers running."""
        sock = self._sock
        view = memoryview(data)
        in_reader = threading.current_thread() is self._reader
        while view:
            try:
                sent = sock.send(view, _DONTWAIT)
            except (BlockingIOError, InterruptedError):
                sent = 0
            if sent:
                view = view[sent:]
                continue
            if self._write_selector is None:
                self._write_selector = _Selector()
                self._write_selector.register(sock, selectors.EVENT_WRITE)
            self._write_selector.select(1.0)
            with self._lock:
                if in_reader:
                    self._run_timers(time.monotonic())
                if self._aborted:
                    raise ConnectionAbortedError("the connection was dropped")

    # ---- the reader thread -------------------------------------------------------------

    def _start_reader(self) -> None:
        """The handshake is done: start the thread that owns the input."""
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_forever, name=f"wsframe-reader-{self.id}", daemon=True)
        self._reader.start()

    def _read_forever(self) -> None:
        try:
            self._read_loop()
        except Exception:  # pragma: no cover - a bug here must not hang the connection
            self.logger.exception("reader failed")
        finally:
            self._finish()

    def _read_loop(self) -> None:
        sock = self._sock
        conn = self._conn
        read_size = max(READ_SIZE, self._options.read_buffer_size)
        with _Selector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            while True:
                with self._lock:
                    wait = self._run_timers(time.monotonic())
                    if self._aborted:
                        return
                    if self._closing or self._closed_event is not None or self._write_shut:
                        wait = CLOSING_TICK if wait is None else min(wait, CLOSING_TICK)
                    paused = self._read_paused and not self._closing and self._closed_event is None
                    if paused:
                        self._cond.wait(wait)
                if self._dirty:
                    self._flush(block=False)
                if paused or not selector.select(wait):
                    continue
                try:
                    data = sock.recv(read_size)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                with self._lock:
                    if self._write_shut:
                        # Lingering: the peer's input is dropped until its EOF.
                        self._linger_left -= len(data)
                        if not data or self._linger_left <= 0:
                            return
                        continue
                    if data:
                        conn.receive_data(data)
                    else:
                        conn.receive_eof()
                    self._handle(conn.events())
                    self._dirty = True
                self._flush(block=False)
                if not data:
                    with self._lock:
                        if not self._write_shut:
                            return  # EOF, and nothing is left to say (or a client's close)

    def _run_timers(self, now: float) -> Optional[float]:
        """(lock held) Keepalive, the held failure, the close and linger
        deadlines; return the seconds until the next one (None: no timer)."""
        if self._aborted:
            return 0.0
        nearest: Optional[float] = None

        def due(deadline: Optional[float]) -> bool:
            nonlocal nearest
            if deadline is None:
                return False
            if deadline <= now:
                return True
            nearest = deadline if nearest is None else min(nearest, deadline)
            return False

        if due(self._linger_deadline) or due(self._close_deadline):
            self._abort()
            return 0.0
        if self._failing and due(self._fail_deadline):
            self._conn.fail_now()  # the application did not read its messages in time
            self._fail_deadline = None  # still _failing: the next _take_output reports Closed
            self._dirty = True
        if due(self._keepalive_deadline):
            self.logger.info("keepalive pong not received in %ss: closing", self._options.ping_timeout)
            self._keepalive_deadline = None
            self._close_now(1011, "keepalive ping timeout")
        elif self._keepalive_ping is None and due(self._next_ping):
            interval = self._options.ping_interval
            assert interval is not None
            self._next_ping = now + interval
            if self._conn.state is State.OPEN and not self._conn.failure_pending:
                _, payload = self._send_ping(None)
                self._keepalive_ping = payload
                if self._options.ping_timeout is not None:
                    self._keepalive_deadline = now + self._options.ping_timeout
            due(self._next_ping)
            due(self._keepalive_deadline)
        return None if nearest is None else max(nearest - now, 0.0)

    def _close_now(self, code: int, reason: str) -> None:
        """(lock held) Start closing from the reader thread (keepalive)."""
        conn = self._conn
        if conn.state is State.OPEN:
            conn.close(code, reason)
            self._dirty = True
            self._closing = True
            if self._close_deadline is None and self._options.close_timeout is not None:
                self._close_deadline = time.monotonic() + self._options.close_timeout
            self._handle(conn.events())

    def _abort(self) -> None:
        """(lock held) Drop the TCP connection: wake every thread blocked on the socket."""
        if self._aborted:
            return
        self._aborted = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._cond.notify_all()

    def _finish(self) -> None:
        """The reader is done: the connection is closed; close the socket, wake everyone."""
        with self._lock:
            self._lost = True
            conn = self._conn
            conn.fail_now()  # a held close frame cannot go out any more
            conn.receive_eof()  # a no-op after a finished closing handshake
            self._handle(conn.events())
            if self._closed_event is None:
                self._on_closed(ev.Closed(1006, "", False, None))
            self._failing = False
            self._read_paused = False
            self._cond.notify_all()
            if not self._aborted:
                self._abort()
        got = self._write_lock.acquire(timeout=5)
        try:
            self._sock.close()
            if self._write_selector is not None:
                self._write_selector.close()
        finally:
            if got:
                self._write_lock.release()
        self._done.set()

    # ---- the opening handshake, in the caller's thread -----------------------------

    def _handshake_step(self, deadline: Optional[float]) -> bool:
        """Read once and feed it (before the reader thread exists); False at EOF.

        Raises:
            TimeoutError: ``deadline`` passed.
        """
        sock = self._sock
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise TimeoutError("opening handshake timed out")
        sock.settimeout(remaining)
        try:
            data = sock.recv(READ_SIZE)
        except socket.timeout:
            raise TimeoutError("opening handshake timed out") from None
        except OSError:
            data = b""
        with self._lock:
            if data:
                self._conn.receive_data(data)
            else:
                self._conn.receive_eof()
            self._handle(self._conn.events())
        return bool(data)

    def _handshake_write(self) -> None:
        """Write the connection's output before the reader thread exists."""
        with self._lock:
            data = self._conn.data_to_send()
            self._dirty = False
        if data:
            self._sock.sendall(data)

    def _close_refused(self) -> None:
        """The handshake failed: a lingering close of the socket (bounded)."""
        sock = self._sock
        try:
            self._handshake_write()
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_TIMEOUT
            left = LINGER_LIMIT
            while left > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                sock.settimeout(remaining)
                data = sock.recv(READ_SIZE)
                if not data:
                    break
                left -= len(data)
        except OSError:
            pass
        finally:
            sock.close()
            with self._lock:
                self._lost = True
                if self._closed_event is None:
                    self._closed_event = ev.Closed(1006, "", False, None)
            self._done.set()

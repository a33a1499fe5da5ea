"""``UvicornProtocol``: uvicorn's WebSocket protocol on :class:`wsframe.Connection`.

uvicorn's HTTP layer (h11 or httptools) parses the upgrade request, builds
this protocol with ``config``, ``server_state`` and ``app_state``, hands it
the transport (``connection_made`` then ``transport.set_protocol``) and
feeds it the request head, rebuilt as bytes, through ``data_received``.
Those bytes go to the connection as they are: it checks the upgrade
strictly, as it would on a socket of its own, and its ``HandshakeRequest``
event starts the ASGI application. So the handshake, framing, masking
checks, pongs, limits, UTF-8 validation and the close codes on the wire
all come from the connection; this module turns its events into ASGI
``receive`` messages and the application's ``send`` messages into calls on
it (ASGI WebSocket spec 2.4, with the ``websocket.http.response`` denial
extension), and runs uvicorn's timers and flow control.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import threading
from typing import Any, Deque, Dict, List, Optional, Tuple, cast
from urllib.parse import unquote

from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.protocols.utils import (
    ClientDisconnected,
    get_client_addr,
    get_local_addr,
    get_path_with_query_string,
    get_remote_addr,
    is_ssl,
)

from .. import events as ev
from ..connection import Connection, InvalidState, State
from ..deflate import ServerPerMessageDeflate

__all__ = ["UvicornProtocol"]

_TextMessage = ev.TextMessage
_BinaryMessage = ev.BinaryMessage

#: Lingering close (see ``_close_transport``): after our FIN, input is read
#: and dropped for at most this long (or ``close_timeout`` when smaller).
LINGER_TIMEOUT = 2.0
#: The read buffer (the transport reads into it; the connection copies what it keeps).
READ_BUFFER_SIZE = 64 * 1024
#: Replies to pipelined input are gathered until the end of the loop turn,
#: unless this much is waiting.
WRITE_COALESCE_LIMIT = 64 * 1024

_INTERNAL_ERROR = b"Internal Server Error"

# One read buffer per thread (so per event loop), shared by its connections.
_thread = threading.local()


def _shared_read_buffer() -> memoryview:
    """This thread's read buffer, made on first use.

    Sharing is safe because a read is handled whole before the next one:
    the transport fills the buffer (``get_buffer``) and calls
    ``buffer_updated`` right away, which feeds the bytes to the connection,
    and the connection copies whatever it keeps (a partial frame, held-back
    input, message payloads). A buffer per connection would cost 64 KiB of
    memory per idle connection (``bench_asgi.py --idle``), four times what
    uvicorn's built-in protocols need.
    """
    view: Optional[memoryview] = getattr(_thread, "view", None)
    if view is None:
        view = _thread.view = memoryview(bytearray(READ_BUFFER_SIZE))
    return view

# Phases of the ASGI handshake.
_REQUEST = 0  # the request head is being read
_APP = 1  # websocket.connect is with the application: accept, close or deny
_DENYING = 2  # websocket.http.response.start came; the body is being gathered
_DONE = 3  # answered: 101 (open) or HTTP (closed)


class UvicornProtocol(asyncio.BufferedProtocol):
    """A uvicorn WebSocket protocol: ``uvicorn app:app --ws wsframe.asgi:UvicornProtocol``.

    Built by uvicorn's HTTP protocol for each upgrade request, with the
    same arguments as uvicorn's own WebSocket protocols. uvicorn feeds the
    request head with ``data_received``; after ``transport.set_protocol``
    the transport reads straight into a buffer of ours (``get_buffer``,
    ``buffer_updated``), one per thread that its connections share: no bytes
    object per read, no buffer per idle connection; the connection copies
    what it keeps.

    Args:
        config: the uvicorn ``Config`` (its ``ws_*`` settings are honoured).
        server_state: uvicorn's ``ServerState`` (connections, tasks, default headers).
        app_state: the lifespan state, copied into each scope.
    """

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: Dict[str, Any],
        _loop: Optional[asyncio.AbstractEventLoop] = None,
    ) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.logger = logging.getLogger("uvicorn.error")
        self.root_path: str = config.root_path
        self.asgi_version = config.asgi_version
        self.app_state = app_state

        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.default_headers: List[Tuple[bytes, bytes]] = server_state.default_headers

        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.server: Optional[Tuple[str, Optional[int]]] = None
        self.client: Optional[Tuple[str, int]] = None
        self.scheme = "ws"
        self.scope: Dict[str, Any] = {}

        # The same attribute names as uvicorn's protocols, which its tests
        # and tools look at.
        self.handshake_complete = False
        self.close_sent = False  # the application (or we for it) sent a close frame
        self.disconnected = False  # TCP is gone
        self.close_timeout = 10.0
        self.close_timer: Optional[asyncio.TimerHandle] = None
        self.ping_interval: Optional[float] = config.ws_ping_interval
        self.ping_timeout: Optional[float] = config.ws_ping_timeout
        self.ping_timer: Optional[asyncio.TimerHandle] = None
        self.pong_timer: Optional[asyncio.TimerHandle] = None
        self.pending_ping_payload: Optional[bytes] = None
        self.ping_sent_at = 0.0
        self.last_ping_rtt = 0.0

        max_size = config.ws_max_size
        factories = [ServerPerMessageDeflate()] if config.ws_per_message_deflate else []
        self.conn = Connection(
            "server",
            auto_accept=False,  # the application answers websocket.connect
            extension_factories=factories,
            max_message_size=max_size,
            max_frame_size=max_size,
            track_delivery=True,  # receive() reports each message: the budget spans our queue
            defer_failure=True,  # a protocol error's close frame waits for the messages before it
        )

        self._phase = _REQUEST
        # Incoming: str/bytes for messages, dicts for connect/disconnect.
        self._queue: Deque[Any] = collections.deque()
        self._unread = 0  # messages in _queue
        self._waiter: Optional["asyncio.Future[None]"] = None
        self._disconnect: Optional[Dict[str, Any]] = None  # queued once, then repeated
        self._max_queue = max(1, int(config.ws_max_queue))
        self._resume_at = self._max_queue // 4
        self.read_paused = False

        # Outgoing.
        self._writable = True
        self._drain_waiters: List["asyncio.Future[None]"] = []
        self._pending_out = 0
        self._flush_scheduled = False

        # The denial response being gathered: status, headers, body parts.
        self._denial: Optional[Tuple[int, List[Tuple[str, str]], List[bytes]]] = None

        self._read_view: Optional[memoryview] = None  # the thread's shared buffer, at connection_made
        self._lingering = False
        self._linger_timer: Optional[asyncio.TimerHandle] = None
        self._fail_timer: Optional[asyncio.TimerHandle] = None
        self._failing = False  # a protocol error's close frame is held (defer_failure)
        self._opened = False  # a 101 went out

    # ---- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self.connections.add(self)
        self.transport = transport
        self._read_view = _shared_read_buffer()
        self.server = get_local_addr(transport)
        self.client = get_remote_addr(transport)
        self.scheme = "wss" if is_ssl(transport) else "ws"
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = "%s:%d - " % self.client if self.client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%sWebSocket connection made", prefix)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._read_view  # type: ignore[return-value]  # set by connection_made

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self._read_view[:nbytes])  # type: ignore[index]

    def data_received(self, data: Any) -> None:
        if self._lingering:
            # After our FIN input is dropped. After a finished closing
            # handshake the peer has nothing more to say: close now.
            if self.conn.state is State.CLOSED and self.transport is not None:
                self.transport.close()
            return
        if self._flush_scheduled:
            self._flush()  # replies queued earlier go first
        self.conn.receive_data(data)
        self._handle_events()
        self._flush()

    def eof_received(self) -> Optional[bool]:
        if not self._lingering:
            self.conn.receive_eof()
            self._handle_events()
            self._flush()
        return None  # asyncio closes the transport

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.disconnected = True
        self.handshake_complete = True
        self.stop_keepalive()
        for name in ("close_timer", "_linger_timer", "_fail_timer"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)
        conn = self.conn
        conn.fail_now()
        conn.receive_eof()
        self._handle_events()
        self._put_disconnect({"type": "websocket.disconnect", "code": 1006})
        self.connections.discard(self)
        if self._opened:
            self.logger.info("connection closed")
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = "%s:%d - " % self.client if self.client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%sWebSocket connection lost", prefix)
        # asyncio never calls resume_writing() on a transport lost while paused.
        self._writable = True
        self._release_senders()
        if exc is None and self.transport is not None:
            self.transport.close()

    def pause_writing(self) -> None:
        # The peer reads nothing: send() waits, and the connection keeps what
        # it queues itself (pongs, under their cap).
        self._writable = False

    def resume_writing(self) -> None:
        self._writable = True
        self._flush()
        self._release_senders()

    def _release_senders(self) -> None:
        """Wake the send() calls waiting for the write buffer to drain."""
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def shutdown(self) -> None:
        """uvicorn is stopping: close with 1012 (service restart), or answer a
        pending handshake with 500."""
        self.stop_keepalive()
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.close_sent:
            if self.close_timer is not None:
                self.close_timer.cancel()
                self.close_timer = None
            transport.close()
            return
        conn = self.conn
        if self._phase == _DONE:
            if conn.state is State.OPEN:
                self._put_disconnect({"type": "websocket.disconnect", "code": 1012})
                self.close_sent = True
                conn.close(1012)
                self._handle_events()
                self._flush(force=True)
        elif conn.state is State.CONNECTING and conn.request is not None:
            # Nothing went out yet (a denial is only written when complete).
            self._respond(500, [], _INTERNAL_ERROR)
        self._close_transport()

    # ---- events of the connection ----------------------------------------------------

    def _handle_events(self) -> None:
        conn = self.conn
        for event in conn.events():
            cls = type(event)
            if cls is _TextMessage or cls is _BinaryMessage:
                data = event.data  # type: ignore[attr-defined]
                if self.close_sent or self._disconnect is not None:
                    conn.delivered(data)  # past websocket.close: dropped
                    continue
                self._queue.append(data)
                self._unread += 1
                self._wake()
            elif cls is ev.Pong:
                self._on_pong(event.data)  # type: ignore[attr-defined]
            elif cls is ev.CloseReceived:
                if not self.close_sent:
                    self._put_disconnect(
                        {"type": "websocket.disconnect", "code": event.code, "reason": event.reason}  # type: ignore[attr-defined]
                    )
            elif cls is ev.ProtocolViolation:
                # After the messages before it; the close frame waits for them.
                self._put_disconnect(
                    {"type": "websocket.disconnect", "code": event.code, "reason": event.reason}  # type: ignore[attr-defined]
                )
                if conn.failure_pending and self._fail_timer is None:
                    self._failing = True
                    self._fail_timer = self.loop.call_later(self.close_timeout, self._fail_now)
            elif cls is ev.Closed:
                self._on_closed(event)  # type: ignore[arg-type]
            elif cls is ev.HandshakeRequest:
                self._on_request(event)  # type: ignore[arg-type]
            # Ping: the pong is queued. HandshakeAccepted/Rejected: we sent the answer.
        if (
            not self.read_paused
            and (self._unread >= self._max_queue or conn.receiving_paused)
            and conn.state is State.OPEN
            and not self.close_sent
            and not conn.failure_pending
        ):
            # Back-pressure on the peer until the application catches up.
            self.read_paused = True
            if self.transport is not None:
                self.transport.pause_reading()

    def _on_request(self, event: ev.HandshakeRequest) -> None:
        if event.error is not None:
            # Not a valid upgrade: the connection's error response (400, 426...).
            self._phase = _DONE
            self.handshake_complete = True
            self.close_sent = True
            self.conn.send_response(self.conn.prepare_accept())
            return
        request = event.request
        raw_path, _, query = request.target.partition("?")
        root_path = self.root_path
        headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in request.headers]
        self.scope = {
            "type": "websocket",
            "asgi": {"version": self.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": self.scheme,
            "server": self.server,
            "client": self.client,
            "root_path": root_path,
            "path": root_path + unquote(raw_path),
            "raw_path": root_path.encode("ascii") + raw_path.encode("ascii"),
            "query_string": query.encode("ascii"),
            "headers": headers,
            "subprotocols": list(event.subprotocols),
            "state": self.app_state.copy(),
            "extensions": {"websocket.http.response": {}},
        }
        self._phase = _APP
        self._queue.append({"type": "websocket.connect"})
        task = self.loop.create_task(self.run_asgi())
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    def _on_closed(self, event: ev.Closed) -> None:
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None
        if self._fail_timer is not None:
            self._fail_timer.cancel()
            self._fail_timer = None
        self.stop_keepalive()
        if self._phase == _DONE and self._opened:
            disconnect: Dict[str, Any] = {"type": "websocket.disconnect", "code": event.code}
            if event.code != 1006:
                disconnect["reason"] = event.reason
            self._put_disconnect(disconnect)

    def _put_disconnect(self, message: Dict[str, Any]) -> None:
        if self._disconnect is None:
            self._disconnect = message
            self._queue.append(message)
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _fail_now(self) -> None:
        """The application did not read the messages before a protocol error in time."""
        self._fail_timer = None
        self._failing = False
        self.conn.fail_now()
        self._handle_events()
        self._flush(force=True)

    # ---- output -------------------------------------------------------------------

    def _flush(self, force: bool = False) -> None:
        """Write what the connection queued; close TCP when it says so."""
        self._flush_scheduled = False
        self._pending_out = 0
        transport = self.transport
        if transport is None:
            return
        conn = self.conn
        if not self._writable and not force and conn.state is State.OPEN and not conn.failure_pending:
            return  # output waits in the connection (its pong cap holds)
        if self._failing:
            failing = conn.failure_pending
            data = conn.data_to_send()
            if failing and not conn.failure_pending:
                self._failing = False
                self._handle_events()  # the held close frame went out: Closed
                data += conn.data_to_send()
        else:
            data = conn.data_to_send()
        if data and not self._lingering and not transport.is_closing():
            transport.write(data)
        if conn.should_close_transport:
            self._close_transport()

    def _queued(self, size: int) -> None:
        """A message was queued: write now when the application has read all
        its input (latency), else at the end of this loop turn so the replies
        to one read share one write."""
        self._pending_out += size
        if self._pending_out >= WRITE_COALESCE_LIMIT or not self._unread:
            if self._writable and not self._failing and not self._flush_scheduled and not self._lingering:
                # The common case, in short: a send queues no close.
                self._pending_out = 0
                self.transport.write(self.conn.data_to_send())
            else:
                self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _close_transport(self) -> None:
        """Close TCP without losing what we wrote last (a lingering close):
        FIN after the buffered data, then input is read and dropped until
        the peer's EOF (bounded in time), so unread input does not make the
        kernel send a RST that destroys our last frame or response."""
        transport = self.transport
        if transport is None or transport.is_closing() or self._lingering:
            return
        can_write_eof = getattr(transport, "can_write_eof", None)
        if can_write_eof is None or not can_write_eof():
            transport.close()
            return
        try:
            transport.write_eof()
        except (OSError, RuntimeError):
            transport.close()
            return
        self._lingering = True
        if self.read_paused:
            self.read_paused = False
            transport.resume_reading()  # the peer's EOF must get through
        self._linger_timer = self.loop.call_later(min(LINGER_TIMEOUT, self.close_timeout), self._end_linger)

    def _end_linger(self) -> None:
        self._linger_timer = None
        if self.transport is not None:
            self.transport.close()

    def _respond(self, status: int, headers: List[Tuple[str, str]], body: bytes) -> None:
        """Answer the request over HTTP (uvicorn's default headers first) and close."""
        fields = _headers(self.default_headers)
        if any(name.lower() == "date" for name, _ in headers):
            fields = [(name, value) for name, value in fields if name.lower() != "date"]
        self._phase = _DONE
        self.handshake_complete = True
        self.close_sent = True
        self.conn.respond(status, fields + headers, body)
        self._handle_events()
        self._flush(force=True)

    # ---- keepalive -------------------------------------------------------------------

    def start_keepalive(self) -> None:
        if self.ping_interval is not None and self.ping_interval > 0:
            self.schedule_ping()

    def stop_keepalive(self) -> None:
        if self.ping_timer is not None:
            self.ping_timer.cancel()
            self.ping_timer = None
        if self.pong_timer is not None:
            self.pong_timer.cancel()
            self.pong_timer = None
        self.pending_ping_payload = None

    def schedule_ping(self) -> None:
        assert self.ping_interval is not None
        delay = max(0.0, self.ping_interval - self.last_ping_rtt)
        self.ping_timer = self.loop.call_later(delay, self.send_keepalive_ping)

    def send_keepalive_ping(self) -> None:
        self.ping_timer = None
        if self.close_sent or self.conn.state is not State.OPEN or self.transport.is_closing():
            return
        payload = os.urandom(4)
        self.pending_ping_payload = payload
        self.ping_sent_at = self.loop.time()
        self.conn.send_ping(payload)
        self._flush()
        if self.ping_timeout is not None:
            self.pong_timer = self.loop.call_later(self.ping_timeout, self.keepalive_timeout)
        else:
            self.schedule_ping()

    def _on_pong(self, data: bytes) -> None:
        if self.pending_ping_payload is None or bytes(data) != self.pending_ping_payload:
            return  # unsolicited or stale (RFC 6455 5.5.3)
        self.last_ping_rtt = self.loop.time() - self.ping_sent_at
        self.pending_ping_payload = None
        if self.pong_timer is not None:
            self.pong_timer.cancel()
            self.pong_timer = None
            self.schedule_ping()

    def keepalive_timeout(self) -> None:
        """No pong in ``ws_ping_timeout``: fail with 1011 and close TCP."""
        self.pong_timer = None
        self.pending_ping_payload = None
        if self.close_sent or self.conn.state is not State.OPEN or self.transport.is_closing():
            return
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = "%s:%d - " % self.client if self.client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%sWebSocket keepalive ping timeout", prefix)
        reason = "keepalive ping timeout"
        self._put_disconnect({"type": "websocket.disconnect", "code": 1011, "reason": reason})
        self.close_sent = True
        self.conn.close(1011, reason)
        self._handle_events()
        self._flush(force=True)
        self._close_transport()  # the peer answers nothing: do not wait for its close frame

    # ---- the application -------------------------------------------------------------

    async def run_asgi(self) -> None:
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self._app_failed()
        else:
            if self._phase == _APP:
                self.logger.error("ASGI callable returned without completing handshake.")
                self._send_500()
            elif self._phase == _DENYING:
                self.logger.error("ASGI callable returned without completing the denial response.")
                self._finish_denial()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self.close_timer is None and not self.disconnected:
            # Returned without websocket.close: TCP closes without a close
            # frame, as uvicorn's own protocols do.
            self._flush(force=True)
            self._close_transport()

    def _app_failed(self) -> None:
        """The application raised: 500 before the handshake was answered,
        1011 after the 101."""
        if self._phase == _APP:
            self._send_500()
        elif self._phase == _DENYING:
            self._finish_denial()  # the status was given: send it with the body so far
        elif self.conn.state is State.OPEN and not self.close_sent and not self.disconnected:
            self._start_close(1011, "")

    def _send_500(self) -> None:
        if self.transport is None or self.transport.is_closing() or self.disconnected:
            return
        self._respond(500, [], _INTERNAL_ERROR)

    def _finish_denial(self) -> None:
        assert self._denial is not None
        status, headers, body = self._denial
        self._denial = None
        if not self.disconnected:
            self._respond(status, headers, b"".join(body))
        self._put_disconnect({"type": "websocket.disconnect", "code": 1006})

    def _start_close(self, code: int, reason: str) -> None:
        self.close_sent = True
        self.conn.close(code, reason)
        if self.read_paused:
            # The peer's close frame must get through.
            self.read_paused = False
            if self.transport is not None and not self.transport.is_closing():
                self.transport.resume_reading()
        self._handle_events()
        self._flush(force=True)
        if self.conn.state is not State.CLOSED and not self.disconnected:
            self.close_timer = self.loop.call_later(self.close_timeout, self._close_timed_out)

    def _close_timed_out(self) -> None:
        """The peer did not answer our close frame in time (RFC 6455 7.1.1)."""
        self.close_timer = None
        if self.transport is not None:
            self.transport.close()

    async def receive(self) -> Dict[str, Any]:
        if self._failing:
            # A protocol error's close frame is held until the application
            # has handled the messages before it. Coming back for more means
            # it has (its replies are written): the frame goes out now, after
            # them. Not when it *takes* the last one: its reply would then
            # follow our close frame and be dropped (Autobahn 3.2, 4.1.3, 5.15).
            self._flush()
        queue = self._queue
        while not queue:
            if self._disconnect is not None:
                return self._disconnect
            if self._flush_scheduled:
                self._flush()
            waiter = self.loop.create_future()
            self._waiter = waiter
            await waiter
        item = queue.popleft()
        cls = type(item)
        if cls is str:
            message: Dict[str, Any] = {"type": "websocket.receive", "text": item}
        elif cls is dict:
            return cast(Dict[str, Any], item)
        else:
            message = {"type": "websocket.receive", "bytes": item}
        self._unread -= 1
        conn = self.conn
        conn.delivered(item)
        if self.read_paused:
            self._maybe_resume()
        return message

    def _maybe_resume(self) -> None:
        conn = self.conn
        if conn.receiving_paused:
            # Input held back by the budget: decode the next part of it.
            self._handle_events()
            self._flush()
        if self._unread <= self._resume_at and not conn.receiving_paused and self.read_paused:
            self.read_paused = False
            if self.transport is not None and not self.transport.is_closing():
                self.transport.resume_reading()

    async def send(self, message: Dict[str, Any]) -> None:
        if not self._writable and not self.disconnected:
            waiter = self.loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter
        if self.disconnected:
            raise ClientDisconnected()
        kind = message["type"]
        phase = self._phase
        if phase == _DONE and self._opened and not self.close_sent:
            conn = self.conn
            if kind == "websocket.send":
                data = message.get("bytes")
                try:
                    if data is not None:
                        conn.send_binary(data if type(data) is bytes else bytes(data))
                        self._queued(len(data))
                    else:
                        text = message.get("text")
                        if text is not None:
                            conn.send_text(text)
                            self._queued(len(text))
                except InvalidState:
                    raise ClientDisconnected() from None
            elif kind == "websocket.close":
                code = message.get("code")
                if code is None:
                    code = 1000
                reason = message.get("reason") or ""
                if conn.state is not State.OPEN:
                    raise ClientDisconnected()
                try:
                    conn.close(code, reason)  # validated before anything changes
                except ValueError as exc:
                    raise RuntimeError(f"Invalid close code or reason in 'websocket.close': {exc}") from None
                self._put_disconnect({"type": "websocket.disconnect", "code": code, "reason": reason})
                self._start_close(code, reason)
            else:
                raise RuntimeError(
                    f"Expected ASGI message 'websocket.send' or 'websocket.close', but got '{kind}'."
                )
        elif phase == _APP:
            if kind == "websocket.accept":
                self._accept(message)
            elif kind == "websocket.close":
                self.logger.info('%s - "WebSocket %s" 403', *self._request_line())
                self._put_disconnect({"type": "websocket.disconnect", "code": 1006})
                self._respond(403, [], b"")
            elif kind == "websocket.http.response.start":
                status = message["status"]
                if not 200 <= status < 600:
                    raise RuntimeError("Invalid HTTP status code '%d' in response." % status)
                self.logger.info('%s - "WebSocket %s" %d', *self._request_line(), status)
                self._denial = (status, _headers(message.get("headers", ())), [])
                self._phase = _DENYING
                self.handshake_complete = True
            else:
                raise RuntimeError(
                    "Expected ASGI message 'websocket.accept', 'websocket.close' "
                    f"or 'websocket.http.response.start' but got '{kind}'."
                )
        elif phase == _DENYING:
            if kind != "websocket.http.response.body":
                raise RuntimeError(f"Expected ASGI message 'websocket.http.response.body' but got '{kind}'.")
            assert self._denial is not None
            self._denial[2].append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                try:
                    self._finish_denial()
                except ValueError as exc:
                    raise RuntimeError(f"Invalid denial response: {exc}") from None
        elif self.close_sent:
            raise RuntimeError(f"Unexpected ASGI message '{kind}', after sending 'websocket.close'.")
        else:
            raise ClientDisconnected()

    def _request_line(self) -> Tuple[str, str]:
        """The client and the path of uvicorn's log lines."""
        scope = cast(Any, self.scope)
        return get_client_addr(scope), get_path_with_query_string(scope)

    def _accept(self, message: Dict[str, Any]) -> None:
        self.logger.info('%s - "WebSocket %s" [accepted]', *self._request_line())
        headers = _headers(self.default_headers) + _headers(message.get("headers", ()))
        conn = self.conn
        try:
            response = conn.prepare_accept(message.get("subprotocol"), headers)
        except ValueError as exc:
            raise RuntimeError(f"Invalid 'websocket.accept': {exc}") from None
        self._phase = _DONE
        self.handshake_complete = True
        if self.transport is None or self.transport.is_closing():
            return
        conn.send_response(response)
        if response.status == 101:
            self._opened = True
            self.logger.info("connection open")
            self.start_keepalive()
        else:
            self.close_sent = True
        self._handle_events()  # frames that came with the request head
        self._flush(force=True)


def _headers(pairs: Any) -> List[Tuple[str, str]]:
    """ASGI header pairs (bytes) as text, byte for byte (latin-1)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in pairs]

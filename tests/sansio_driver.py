"""A tiny blocking-socket driver for wsframe.Connection, used by the peer tests.

Everything listens on 127.0.0.1 with an ephemeral port, every socket has a
timeout, and every loop is bounded by a deadline, so a broken peer fails a
test instead of hanging it.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, List, Optional, Tuple

from wsframe import (
    BinaryMessage,
    Closed,
    Connection,
    State,
    TextMessage,
)
from wsframe.events import Event


def expired(deadline: float) -> bool:
    """Whether a loop's deadline (a ``time.monotonic()`` value) has passed: every wait here is bounded."""
    return deadline <= time.monotonic()


TIMEOUT = 10.0  # seconds; generous for a loaded 2-core machine, never asserted on


class BlockingWS:
    """Drive one Connection over one blocking socket."""

    def __init__(self, sock: socket.socket, conn: Connection, timeout: float = TIMEOUT) -> None:
        self.sock = sock
        self.conn = conn
        self.deadline = time.monotonic() + timeout
        self.queue: List[Event] = []
        self.log: List[Event] = []
        self.eof = False
        sock.settimeout(timeout)

    def flush(self) -> None:
        """Write whatever the connection queued; close the socket when it says so."""
        data = self.conn.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the peer went away; the next read sees EOF
        if self.conn.should_close_transport:
            self.shutdown()

    def shutdown(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _read(self) -> None:
        if expired(self.deadline):
            raise TimeoutError("BlockingWS deadline passed")
        if self.eof:
            raise EOFError("no more events: the peer closed the connection")
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if data:
            self.conn.receive_data(data)
        else:
            self.eof = True
            self.conn.receive_eof()
        events = self.conn.events()
        self.queue += events
        self.log += events
        self.flush()

    def next_event(self) -> Event:
        """The next event, reading as needed (bounded by the deadline)."""
        while not self.queue:
            self._read()
        return self.queue.pop(0)

    def expect(self, kind: type) -> Event:
        """The next event, which must be a ``kind``."""
        event = self.next_event()
        assert isinstance(event, kind), f"expected {kind.__name__}, got {event!r}"
        return event

    def send(self, method: str, *args: object, **kwargs: object) -> None:
        """Call ``conn.<method>(*args)`` and flush."""
        getattr(self.conn, method)(*args, **kwargs)
        self.flush()

    def wait_closed(self) -> Closed:
        """Read until the Closed event, then until EOF or transport close."""
        while True:
            event = self.next_event()
            if isinstance(event, Closed):
                break
        while not self.eof and not self.conn.should_close_transport:
            self._read()
        return event

    def linger(self, timeout: float = 2.0, limit: int = 1 << 20) -> None:
        """Discard input until the peer's EOF (bounded), after our FIN.

        Closing a socket with unread input makes the kernel send RST, which
        can destroy the response the peer has not read yet; reading to EOF
        first avoids that (a "lingering close").
        """
        self.shutdown()
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        total = 0
        while not self.eof and total < limit and not expired(deadline):
            try:
                data = self.sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            total += len(data)

    def close_socket(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def echo(ws: BlockingWS) -> Closed:
    """Echo every message back until the connection closes; return Closed."""
    while True:
        event = ws.next_event()
        if isinstance(event, TextMessage) and ws.conn.state is State.OPEN:
            ws.send("send_text", event.data)
        elif isinstance(event, BinaryMessage) and ws.conn.state is State.OPEN:
            ws.send("send_binary", event.data)
        elif isinstance(event, Closed):
            while not ws.eof and not ws.conn.should_close_transport:
                ws._read()
            return event


class ThreadedServer:
    """Accept connections on 127.0.0.1:0, each handled in its own thread.

    ``handler(sock)`` runs per connection; exceptions are kept in ``errors``
    so the test can assert on them. Use as a context manager.
    """

    def __init__(self, handler: Callable[[socket.socket], object]) -> None:
        self.handler = handler
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port: int = self.listener.getsockname()[1]
        self.errors: List[BaseException] = []
        self.results: List[object] = []
        self._stop = threading.Event()
        self._threads: List[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def _accept_loop(self) -> None:
        deadline = time.monotonic() + 60
        while not self._stop.is_set() and not expired(deadline):
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, sock: socket.socket) -> None:
        try:
            self.results.append(self.handler(sock))
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)
        finally:
            sock.close()

    def join_handlers(self, timeout: float = TIMEOUT) -> None:
        """Wait (bounded) for every connection handler started so far."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> "ThreadedServer":
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._acceptor.join(TIMEOUT)
        self.join_handlers()
        self.listener.close()


def connect(port: int, timeout: float = TIMEOUT) -> socket.socket:
    """A blocking socket connected to 127.0.0.1:port with a timeout."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def read_until_eof(sock: socket.socket, limit: int = 1 << 20, timeout: float = TIMEOUT) -> bytes:
    """Everything the peer sends until it closes (bounded in size and time)."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    chunks = []
    total = 0
    while total < limit and not expired(deadline):
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not data:
            break
        chunks.append(data)
        total += len(data)
    return b"".join(chunks)


def status_of(response: bytes) -> Optional[int]:
    """The status code of a raw HTTP response, or None if there is none."""
    if not response.startswith(b"HTTP/1.1 "):
        return None
    return int(response[9:12])


def split_http(response: bytes) -> Tuple[bytes, bytes]:
    """(head, rest) of raw bytes starting with an HTTP response head."""
    head, sep, rest = response.partition(b"\r\n\r\n")
    assert sep, f"no complete HTTP head in {response[:200]!r}"
    return head + sep, rest


class WsprotoPeer:
    """Drive a wsproto WSConnection over a blocking socket (the other side's library).

    :meth:`next` returns whole happenings as tuples: ``("request", event)``,
    ``("accept", subprotocol)``, ``("reject", status)``, ``("text", str)``,
    ``("bytes", bytes)``, ``("ping", payload)`` (the pong is sent),
    ``("pong", payload)``, ``("close", code, reason)`` (the reply is sent when
    wsproto needs one) and ``("eof",)``.
    """

    def __init__(self, sock: socket.socket, client: bool, timeout: float = TIMEOUT) -> None:
        from wsproto import ConnectionType, WSConnection

        self.sock = sock
        self.ws = WSConnection(ConnectionType.CLIENT if client else ConnectionType.SERVER)
        self.deadline = time.monotonic() + timeout
        self.pending: List[tuple] = []
        self._parts: List[object] = []
        self.eof = False
        sock.settimeout(timeout)

    def send(self, event: object) -> None:
        self.sock.sendall(self.ws.send(event))

    def _read(self) -> None:
        from wsproto import events as wev

        if expired(self.deadline):
            raise TimeoutError("WsprotoPeer deadline passed")
        if self.eof:
            self.pending.append(("eof",))
            return
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
        self.ws.receive_data(data or None)
        for event in self.ws.events():
            if isinstance(event, wev.Request):
                self.pending.append(("request", event))
            elif isinstance(event, wev.AcceptConnection):
                self.pending.append(("accept", event.subprotocol))
            elif isinstance(event, wev.RejectConnection):
                self.pending.append(("reject", event.status_code))
            elif isinstance(event, wev.RejectData):
                pass
            elif isinstance(event, (wev.TextMessage, wev.BytesMessage)):
                self._parts.append(event.data)
                if event.message_finished:
                    kind = "text" if isinstance(event, wev.TextMessage) else "bytes"
                    joined = ("" if kind == "text" else b"").join(self._parts)  # type: ignore[attr-defined]
                    self._parts = []
                    self.pending.append((kind, joined))
            elif isinstance(event, wev.Ping):
                self.send(event.response())
                self.pending.append(("ping", bytes(event.payload)))
            elif isinstance(event, wev.Pong):
                self.pending.append(("pong", bytes(event.payload)))
            elif isinstance(event, wev.CloseConnection):
                from wsproto.connection import ConnectionState

                if self.eof and event.code == 1006:
                    continue  # wsproto's way to report EOF; we say ("eof",)
                if self.ws.state is ConnectionState.REMOTE_CLOSING:
                    self.send(event.response())
                self.pending.append(("close", event.code, event.reason))
        if self.eof:
            self.pending.append(("eof",))

    def next(self) -> tuple:
        while not self.pending:
            self._read()
        return self.pending.pop(0)

"""``serve()``: a threaded WebSocket server, a thread per connection.

Each accepted TCP connection gets a thread of its own, which runs the
opening handshake (the :class:`wsframe.Connection` reads and checks the
head; ``process_request`` and ``process_response`` may answer or change the
response; the connection sends it), then ``handler(ws)``. Once the handshake
is done a reader thread owns the connection's input (see
:mod:`wsframe.sync.connection`). When the handler returns the connection
closes with 1000; if it raises, with 1011 (logged).

::

    from wsframe.sync import serve

    def echo(ws):
        for message in ws:
            ws.send(message)

    with serve(echo, "127.0.0.1", 8765) as server:
        server.serve_forever()
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Optional, Sequence, Set, Tuple, Union

from ..aio.exceptions import ConnectionClosed
from ..aio.options import Options
from ..connection import Connection, State
from ..handshake.http11 import Request, Response
from .connection import WebSocket

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..aio.options import CommonOptions

__all__ = ["serve", "Server", "ServerConnection", "HTTPResponse", "Handler", "ProcessRequest", "ProcessResponse"]

#: ``handler(connection)``: runs in the connection's thread; the connection
#: closes with 1000 when it returns, 1011 when it raises.
Handler = Callable[["ServerConnection"], Any]
#: What a hook may return instead of None: a plain HTTP answer.
HTTPResponse = Tuple[int, Iterable[Tuple[str, str]], bytes]
#: ``process_request(connection, request)``: None to go on with the
#: handshake, or an answer (``(status, headers, body)`` or a ``Response``).
ProcessRequest = Callable[["ServerConnection", Request], Union[None, HTTPResponse, Response]]
#: ``process_response(connection, request, response)``: None to send
#: ``response`` (its headers possibly changed in place), or another answer.
ProcessResponse = Callable[["ServerConnection", Request, Response], Union[None, HTTPResponse, Response]]

_Socket = socket.socket  # the Server.socket property hides the module in the class body

_INTERNAL_ERROR: HTTPResponse = (500, [("Content-Type", "text/plain; charset=utf-8")], b"internal server error\n")


class ServerConnection(WebSocket):
    """The server side of one connection: the handshake hooks, then the handler.

    Attributes:
        server: the :class:`Server` it belongs to.
    """

    def __init__(self, sock: socket.socket, server: "Server") -> None:
        options = server._options
        conn = Connection(
            "server",
            auto_accept=False,  # the hooks below answer every request
            origins=server._origins,
            extension_factories=options.server_extensions(),
            **options.connection_kwargs(),
            stream_fragments=True,  # recv_streaming(); recv() joins the parts
        )
        super().__init__(sock, conn, options)
        self.server = server

    def _handshake(self) -> bool:
        """Read the request, run the hooks, send the answer; True once OPEN."""
        timeout = self._options.open_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not self._open and self._rejection is None and self._closed_event is None:
                if not self._handshake_step(deadline):
                    break
                event, self._request_event = self._request_event, None
                if event is not None:
                    self._answer(event.request)
            if self._open:
                self._handshake_write()
                self.logger.info("connection open: id=%s remote=%s path=%s", self.id, self.remote_address, self.path)
                return True
        except TimeoutError:
            self.logger.info("opening handshake timed out: closing")
        except OSError:
            pass
        self._close_refused()
        return False

    def _answer(self, request: Request) -> None:
        """``process_request``, then ``process_response``; the connection sends the answer."""
        server = self.server
        answer = self._call_hook("process_request", server._process_request, (self, request))
        if answer is None:
            with self._lock:
                response = self._conn.prepare_accept()
            result = self._call_hook("process_response", server._process_response, (self, request, response))
            answer = response if result is None else result
        with self._lock:
            conn = self._conn
            if conn.state is not State.CONNECTING:
                return
            try:
                if isinstance(answer, Response):
                    conn.send_response(answer)
                elif isinstance(answer, tuple) and len(answer) == 3:
                    status, headers, body = answer
                    conn.respond(status, headers, body)
                else:
                    raise TypeError(
                        f"a hook returned {type(answer).__name__}: expected None, a Response or (status, headers, body)"
                    )
            except (TypeError, ValueError):
                self.logger.exception("invalid answer to the handshake request")
                conn.respond(*_INTERNAL_ERROR)
            self._handle(conn.events())

    def _call_hook(self, name: str, hook: Optional[Callable[..., Any]], args: Tuple[Any, ...]) -> Any:
        """Call an application hook; one that raises gets a 500 (logged)."""
        if hook is None:
            return None
        try:
            return hook(*args)
        except Exception:
            self.logger.exception("%s failed", name)
            return _INTERNAL_ERROR

    def _run(self) -> None:
        """The connection's thread: the handshake, then the handler, then the close."""
        if not self._handshake():
            return
        self._start_reader()
        code, reason = 1000, ""
        try:
            self.server._handler(self)
        except ConnectionClosed:
            pass
        except Exception:
            self.logger.exception("connection handler failed")
            code, reason = 1011, "internal error"
        self.close(code, reason)


class Server:
    """A listening threaded WebSocket server; see :func:`serve`.

    Use it as a context manager (leaving it calls :meth:`shutdown`), and
    call :meth:`serve_forever` (or :meth:`start` to serve from a background
    thread).
    """

    def __init__(
        self,
        handler: Handler,
        listener: socket.socket,
        *,
        origins: Optional[Sequence[Optional[str]]],
        process_request: Optional[ProcessRequest],
        process_response: Optional[ProcessResponse],
        options: Options,
    ) -> None:
        self._handler = handler
        self._listener = listener
        self._origins = None if origins is None else list(origins)
        self._process_request = process_request
        self._process_response = process_response
        self._options = options
        self._lock = threading.Lock()
        self._connections: Set[ServerConnection] = set()
        self._threads: List[threading.Thread] = []
        self._closing = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()  # not serving yet
        self._wake_r, self._wake_w = socket.socketpair()
        self._serving: Optional[threading.Thread] = None
        self._port: int = listener.getsockname()[1]

    @property
    def port(self) -> int:
        """The listening port (handy with ``port=0``)."""
        return self._port

    @property
    def socket(self) -> _Socket:
        """The listening socket."""
        return self._listener

    @property
    def connections(self) -> Set[ServerConnection]:
        """The connections alive now (handshake done or pending)."""
        with self._lock:
            return set(self._connections)

    def serve_forever(self) -> None:
        """Accept connections until :meth:`shutdown` (from another thread or a handler)."""
        if self._closing.is_set():
            return
        self._stopped.clear()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self._listener, selectors.EVENT_READ)
                selector.register(self._wake_r, selectors.EVENT_READ)
                while not self._closing.is_set():
                    for key, _ in selector.select():
                        if key.fileobj is self._wake_r:
                            return
                        try:
                            sock, _addr = self._listener.accept()
                        except (BlockingIOError, InterruptedError):
                            continue
                        except OSError:
                            if self._closing.is_set():
                                return
                            raise
                        self._spawn(sock)
        finally:
            self._stopped.set()

    def start(self) -> "Server":
        """Run :meth:`serve_forever` in a background (daemon) thread; return self."""
        if self._serving is None:
            self._stopped.clear()
            self._serving = threading.Thread(target=self.serve_forever, name="wsframe-sync-server", daemon=True)
            self._serving.start()
        return self

    def _spawn(self, sock: _Socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ws = ServerConnection(sock, self)
        thread = threading.Thread(target=self._run, args=(ws,), name=f"wsframe-conn-{ws.id}", daemon=True)
        with self._lock:
            self._connections.add(ws)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _run(self, ws: ServerConnection) -> None:
        try:
            ws._run()
        finally:
            with self._lock:
                self._connections.discard(ws)

    def shutdown(self, code: int = 1001, reason: str = "server shutting down") -> None:
        """Stop accepting, close every connection with ``code`` (1001, going
        away, RFC 6455 section 7.4.1), and wait for them and their handlers
        (bounded by about twice ``close_timeout``)."""
        if not self._closing.is_set():
            self._closing.set()
            try:
                self._wake_w.send(b"x")
            except OSError:
                pass
        self._stopped.wait(5)
        for ws in self.connections:
            ws._start_closing(code, reason)
        timeout = self._options.close_timeout
        deadline = time.monotonic() + (10.0 if timeout is None else 2 * timeout + 1)
        for ws in self.connections:
            ws._done.wait(max(deadline - time.monotonic(), 0.0))
        for ws in self.connections:
            with ws._lock:
                ws._abort()  # the peer did not finish closing in time
        with self._lock:
            threads = [thread for thread in self._threads if thread is not threading.current_thread()]
        for thread in threads:  # (a handler may call shutdown: not its own thread)
            thread.join(max(deadline - time.monotonic(), 0.1))
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def serve(
    handler: Handler,
    host: Optional[str] = "127.0.0.1",
    port: int = 0,
    *,
    origins: Optional[Sequence[Optional[str]]] = None,
    process_request: Optional[ProcessRequest] = None,
    process_response: Optional[ProcessResponse] = None,
    reuse_port: bool = False,
    backlog: int = 100,
    sock: Optional[socket.socket] = None,
    **options: "Unpack[CommonOptions]",
) -> Server:
    """A threaded WebSocket server running ``handler(websocket)`` per connection.

    Plain ``ws://`` only: TLS is not supported by :mod:`wsframe.sync` yet
    (put a TLS-terminating proxy in front, or use :mod:`wsframe.aio`).

    Args:
        handler: a function taking a :class:`ServerConnection`, run in the
            connection's own thread.
        host, port: where to listen (port 0 picks a free port: see ``server.port``).
        origins: Origin allow-list (None allows any).
        process_request: ``f(connection, request)`` called with each request
            head (valid upgrade or not); return None to go on with the
            handshake, or answer plain HTTP with ``(status, headers, body)``
            or a :class:`~wsframe.handshake.Response`. A hook that raises or
            returns something else gets a 500 (logged).
        process_response: ``f(connection, request, response)`` called with
            the response about to be sent: change its ``headers`` in place
            and return None, or return another response.
        reuse_port: set ``SO_REUSEPORT`` on the listening socket.
        backlog: the listen backlog.
        sock: an already bound listening socket (``host``/``port`` ignored).
        **options: the options :func:`wsframe.aio.serve` takes
            (:class:`~wsframe.aio.options.Options`): ``subprotocols``,
            ``extension_factories``, ``compression``, ``extra_headers``,
            ``max_size``, ``max_frame_size``, ``max_fragments``,
            ``max_head_size``, ``max_queue``, ``max_queue_bytes``,
            ``read_buffer_size``, ``write_limit`` (no effect: ``send``
            returns once the kernel has the bytes), ``ping_interval``,
            ``ping_timeout``, ``open_timeout``, ``close_timeout``, ``logger``.

    Returns:
        A :class:`Server`, already listening.

    Raises:
        TypeError: an unknown option.
        ValueError: a bad option value.
        OSError: the address cannot be bound.
    """
    validated = Options(**options)
    if sock is None:
        sock = socket.create_server((host or "", port), backlog=backlog, reuse_port=reuse_port)
    return Server(
        handler,
        sock,
        origins=origins,
        process_request=process_request,
        process_response=process_response,
        options=validated,
    )

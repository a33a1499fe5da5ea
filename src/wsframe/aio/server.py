"""``serve()``: an asyncio WebSocket server on :class:`wsframe.aio.WebSocket`.

Each TCP connection gets a :class:`wsframe.Connection` at once
(``auto_accept=False``), which reads and checks the request head. Its
:class:`~wsframe.events.HandshakeRequest` event goes to ``process_request``
(a function or a coroutine: it may answer plain HTTP, as the chat demo
serves its page), then ``process_response`` may change the response, then
the connection sends it; this module only calls the hooks. A valid upgrade
runs ``handler(websocket)`` in a task of its own. When the handler returns the
connection is closed with 1000 (1011 if it raised).

``serve()`` returns a :class:`Server`; ``await`` it to start listening, or
use it as ``async with serve(...) as server:``. Leaving the block (or
``server.close()``) stops listening and closes every connection with 1001
(going away, RFC 6455 section 7.4.1).
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import ssl as _ssl
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
    cast,
)

from .. import events as ev
from ..connection import Connection, State
from ..handshake.http11 import Request, Response
from .base import WebSocketBase
from .connection import WebSocket
from .exceptions import ConnectionClosed
from .options import Options

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .options import CommonOptions

__all__ = ["serve", "unix_serve", "Server", "ServerConnection", "ServerHandshake", "HTTPResponse"]

Handler = Callable[["ServerConnection"], Awaitable[Any]]

#: What ``process_request`` may return instead of None: a plain HTTP answer.
HTTPResponse = Tuple[int, Iterable[Tuple[str, str]], bytes]
#: ``process_request(connection, request)``: None to go on with the
#: handshake, or an answer; a plain function or a coroutine function.
ProcessRequest = Callable[
    ["ServerConnection", Request], Union[None, HTTPResponse, Response, Awaitable[Union[None, HTTPResponse, Response]]]
]
#: ``process_response(connection, request, response)``: None to send
#: ``response`` (changed in place or not), or another response.
ProcessResponse = Callable[
    ["ServerConnection", Request, Response],
    Union[None, HTTPResponse, Response, Awaitable[Union[None, HTTPResponse, Response]]],
]

_INTERNAL_ERROR: HTTPResponse = (500, [("Content-Type", "text/plain; charset=utf-8")], b"internal server error\n")


class ServerHandshake(WebSocketBase):
    """The server side of one connection up to the open: the handshake
    hooks, the open timeout, membership in ``server.connections``.

    Both server APIs build on it: :class:`ServerConnection` (``serve()``,
    a handler task) and :class:`~wsframe.aio.ListenerServerConnection`
    (``serve_listener()``, callbacks).
    """

    def __init__(self, server: "Server") -> None:
        options = server._options
        kwargs = options.connection_kwargs()
        kwargs["track_delivery"] = self._track_delivery
        kwargs["bare_messages"] = True  # one object per message: the str or bytes
        kwargs["stream_fragments"] = self._stream_fragments  # recv_streaming(); recv() joins the parts
        conn = Connection(
            "server",
            auto_accept=False,  # the hooks below answer every request
            origins=server._origins,
            extension_factories=options.server_extensions(),
            **kwargs,
        )
        super().__init__(conn, options)
        self._server = server
        self._open_timer: Optional[asyncio.TimerHandle] = None
        self._handler_task: Optional["asyncio.Task[None]"] = None
        self._hook_task: Optional["asyncio.Task[None]"] = None

    # ---- the opening handshake (RFC 6455 section 4.2) ----------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._server._connections.add(self)
        timeout = self._options.open_timeout
        if timeout is not None:
            self._open_timer = self._loop.call_later(timeout, self._open_timed_out)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._cancel_open_timer()
        if self._hook_task is not None and not self._hook_task.done():
            self._hook_task.cancel()
        super().connection_lost(exc)
        if self._handler_task is None:
            self._server._connections.discard(self)

    def _open_timed_out(self) -> None:
        self._open_timer = None
        if self._transport is not None and self._handler_task is None:
            self.logger.info("opening handshake timed out: closing")
            self._transport.abort()

    def _cancel_open_timer(self) -> None:
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None

    async def request_body(self, limit: int = 8192, timeout: float = 10.0) -> bytes:
        """(inside ``process_request``) The body of a plain HTTP request, as
        announced by its ``Content-Length``, so a hook can answer a small POST
        (the chat's ``/push``) on the WebSocket port.

        Raises:
            ValueError: no valid ``Content-Length``, or more than ``limit``
                bytes (at most the connection's ``max_head_size``).
            asyncio.TimeoutError: the body did not arrive within ``timeout`` s.
        """
        request = self._conn.request
        declared = None if request is None else request.headers.get("Content-Length")
        if declared is None or not declared.strip().isdigit():
            raise ValueError("a request body needs a Content-Length")
        length = int(declared)
        if length > limit:
            raise ValueError(f"request body over {limit} bytes")
        loop = self._loop
        deadline = loop.time() + timeout
        while len(self._conn.received_after_head) < length:
            if self._transport is None:
                raise ConnectionResetError("the connection closed before its request body")
            waiter: "asyncio.Future[None]" = loop.create_future()
            read = type(self).buffer_updated

            def woken(nbytes: int, waiter: "asyncio.Future[None]" = waiter) -> None:
                read(self, nbytes)
                if not waiter.done():
                    waiter.set_result(None)

            # Only while a body is awaited: the class's buffer_updated stays the hot path.
            self.buffer_updated = woken  # type: ignore[method-assign]
            try:
                await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
            finally:
                del self.buffer_updated
        return self._conn.received_after_head[:length]

    def _on_request(self, event: ev.HandshakeRequest) -> None:
        """The request head is in: ``process_request``, then the answer."""
        hook = self._server._process_request
        if hook is None:
            self._answer_request(None)
            return
        self._run_hook("process_request", lambda: hook(self._as_hook_argument(), event.request), self._answer_request)

    def _as_hook_argument(self) -> "ServerConnection":
        """What the hooks get: this connection (typed as ``serve()``'s; a
        ``serve_listener()`` hook gets a ListenerServerConnection, which has
        the same handshake properties)."""
        return cast("ServerConnection", self)

    def _answer_request(self, answer: object) -> None:
        """``process_request`` said ``answer``: go on (None) or answer HTTP."""
        if answer is None:
            response = self._conn.prepare_accept()
            hook = self._server._process_response
            if hook is None:
                self._send_response(response)
                return
            request = self._conn.request
            assert request is not None

            def send(result: object) -> None:
                self._send_response(response if result is None else result)

            self._run_hook("process_response", lambda: hook(self._as_hook_argument(), request, response), send)
            return
        self._send_response(answer)

    def _run_hook(self, name: str, call: Callable[[], object], then: Callable[[object], None]) -> None:
        """Call an application hook, sync or async; a hook that raises gets
        a 500 (logged), never a dead connection."""
        try:
            result = call()
        except Exception:
            self.logger.exception("%s failed", name)
            self._send_response(_INTERNAL_ERROR)
            return
        if not inspect.isawaitable(result):
            then(result)
            return

        async def wait() -> None:
            try:
                value = await result
            except asyncio.CancelledError:
                raise
            except Exception:
                self.logger.exception("%s failed", name)
                self._send_response(_INTERNAL_ERROR)
                return
            then(value)

        self._hook_task = self._loop.create_task(wait())

    def _send_response(self, answer: object) -> None:
        """Hand the answer to the connection (a Response or the
        ``(status, headers, body)`` form); anything else is a 500."""
        conn = self._conn
        if self._transport is None or conn.request is None or conn.state is not State.CONNECTING:
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
        self._dispatch()
        self._flush()

    def _on_open(self) -> None:
        self._cancel_open_timer()
        super()._on_open()

    def _on_rejected(self, event: ev.HandshakeRejected) -> None:
        """The request was refused or answered over HTTP: the response goes
        out, then a lingering close (see WebSocketProtocol._linger_close), so
        input the client is still sending does not make the kernel reset the
        connection before the client has read the response."""
        self._cancel_open_timer()
        super()._on_rejected(event)


class ServerConnection(ServerHandshake, WebSocket):
    """The server side of one connection of :func:`serve`: the handshake
    hooks, then ``handler(websocket)`` in a task of its own."""

    def _on_open(self) -> None:
        super()._on_open()
        self._handler_task = self._loop.create_task(self._run_handler())

    async def _run_handler(self) -> None:
        code, reason = 1000, ""
        try:
            await cast(Handler, self._server._handler)(self)
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            code, reason = 1001, "going away"
        except Exception:
            self.logger.exception("connection handler failed")
            code, reason = 1011, "internal error"
        try:
            await self.close(code, reason)
        finally:
            self._server._connections.discard(self)


class Server:
    """A listening WebSocket server; see :func:`serve`.

    Attributes:
        connections: the connections alive now (handshake done or pending).
    """

    def __init__(
        self,
        handler: Callable[..., Any],
        host: Optional[str],
        port: int,
        *,
        ssl: Optional[_ssl.SSLContext],
        origins: Optional[Sequence[Optional[str]]],
        process_request: Optional[ProcessRequest],
        process_response: Optional[ProcessResponse],
        options: Options,
        create_server_kwargs: "dict[str, Any]",
        protocol: Callable[["Server"], ServerHandshake] = ServerConnection,
    ) -> None:
        self._handler: Any = handler  # a coroutine function, or serve_listener's listener factory
        self._protocol = protocol
        self._host = host
        self._port = port
        self._ssl = ssl
        self._origins = None if origins is None else list(origins)
        self._process_request = process_request
        self._process_response = process_response
        self._options = options
        self._kwargs = create_server_kwargs
        self._server: Optional[asyncio.Server] = None
        self._connections: Set[Any] = set()
        self._closing = False
        self._bound_port = port

    @property
    def connections(self) -> Set[Any]:
        """The connections alive now: :class:`ServerConnection` objects
        (:class:`~wsframe.aio.ListenerServerConnection` for ``serve_listener``)."""
        return set(self._connections)

    # ---- starting --------------------------------------------------------------------

    async def start(self) -> "Server":
        """Start listening (idempotent); return self."""
        if self._server is None:
            loop = asyncio.get_running_loop()
            kwargs = dict(self._kwargs)
            unix_path = kwargs.pop("unix_path", None)
            if unix_path is not None:
                self._server = await loop.create_unix_server(
                    lambda: self._protocol(self), unix_path, ssl=self._ssl, **kwargs
                )
            else:
                self._server = await loop.create_server(
                    lambda: self._protocol(self), self._host, self._port, ssl=self._ssl, **kwargs
                )
            if self._server.sockets and unix_path is None:
                self._bound_port = self._server.sockets[0].getsockname()[1]
        return self

    def __await__(self) -> Generator[Any, None, "Server"]:
        return self.start().__await__()

    async def __aenter__(self) -> "Server":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await self.wait_closed()

    @property
    def sockets(self) -> List[Any]:
        """The listening sockets."""
        return [] if self._server is None else list(self._server.sockets)

    @property
    def port(self) -> int:
        """The port of the first listening socket (handy with ``port=0``);
        still known after :meth:`close`."""
        return self._bound_port

    async def serve_forever(self) -> None:
        """Serve until cancelled or closed."""
        await self.start()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        except asyncio.CancelledError:
            if not self._closing:
                raise

    # ---- stopping --------------------------------------------------------------------

    def close(self, code: int = 1001, reason: str = "server shutting down") -> None:
        """Stop listening and close every connection with ``code`` (1001, going away)."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for ws in list(self._connections):
            ws._start_closing(code, reason)

    async def wait_closed(self) -> None:
        """Wait until every connection and handler is done (bounded by the close timeout)."""
        timeout = self._options.close_timeout
        conns = list(self._connections)
        if conns:
            waits = [asyncio.ensure_future(ws.wait_closed()) for ws in conns]
            done, pending = await asyncio.wait(waits, timeout=None if timeout is None else 2 * timeout + 1)
            for ws in conns:
                if not ws._lost and ws._transport is not None:
                    ws._transport.abort()
            for fut in pending:
                fut.cancel()
        tasks = [ws._handler_task for ws in conns if ws._handler_task is not None and not ws._handler_task.done()]
        if tasks:
            _, pending_tasks = await asyncio.wait(tasks, timeout=timeout)
            for task in pending_tasks:
                task.cancel()
        if self._server is not None:
            # Python 3.12+ also waits for its transports here; they are closed now.
            try:
                await asyncio.wait_for(self._server.wait_closed(), timeout=timeout)
            except asyncio.TimeoutError:
                pass


def serve(
    handler: Handler,
    host: Optional[str] = "127.0.0.1",
    port: int = 0,
    *,
    ssl: Optional[_ssl.SSLContext] = None,
    origins: Optional[Sequence[Optional[str]]] = None,
    process_request: Optional[ProcessRequest] = None,
    process_response: Optional[ProcessResponse] = None,
    reuse_port: Optional[bool] = None,
    backlog: int = 100,
    sock: Optional[socket.socket] = None,
    **options: "Unpack[CommonOptions]",
) -> Server:
    """A WebSocket server running ``await handler(websocket)`` per connection.

    Args:
        handler: coroutine function taking a :class:`ServerConnection`.
        host, port: where to listen (port 0 picks a free port: see ``server.port``).
        ssl: a server :class:`ssl.SSLContext` for ``wss://``.
        origins: Origin allow-list (None allows any).
        process_request: ``f(connection, request)``, a function or a
            coroutine function, called with each request head (valid
            upgrade or not); return None to go on with the handshake, or
            answer plain HTTP with ``(status, headers, body)`` or a
            :class:`~wsframe.handshake.Response`. A hook that raises or
            returns something else gets a 500 (logged).
        process_response: ``f(connection, request, response)``, a function
            or a coroutine function, called with the response about to be
            sent (the 101, or the error of an invalid request): change its
            ``headers`` in place and return None, or return another response.
        reuse_port, backlog, sock: passed to ``loop.create_server`` (``sock``
            with ``host=None``).
        **options: the options shared with :func:`~wsframe.aio.connect`
            (:class:`~wsframe.aio.options.Options`): ``subprotocols``,
            ``extension_factories``, ``compression``, ``extra_headers``,
            ``max_size``, ``max_frame_size``, ``max_fragments``,
            ``max_head_size``, ``max_queue``, ``max_queue_bytes``,
            ``read_buffer_size``, ``write_limit``, ``ping_interval``,
            ``ping_timeout``, ``open_timeout``, ``close_timeout``.

    Returns:
        A :class:`Server`: ``await`` it or use ``async with``.
    """
    if process_request is None:
        # A handler that brings its own hook (wsframe.aio.route) answers 404s itself.
        process_request = getattr(handler, "process_request", None)
    return Server(
        handler,
        host,
        port,
        ssl=ssl,
        origins=origins,
        process_request=process_request,
        process_response=process_response,
        options=Options(**options),
        create_server_kwargs=create_server_kwargs(reuse_port, backlog, sock),
    )


def create_server_kwargs(reuse_port: Optional[bool], backlog: int, sock: Optional[socket.socket]) -> "dict[str, Any]":
    """The ``loop.create_server`` arguments of the socket options (not
    passed when not given, so the loop's defaults stay)."""
    kwargs: "dict[str, Any]" = {"backlog": backlog}
    if reuse_port is not None:
        kwargs["reuse_port"] = reuse_port
    if sock is not None:
        kwargs["sock"] = sock
    return kwargs


def unix_serve(
    handler: Handler,
    path: str,
    *,
    ssl: Optional[_ssl.SSLContext] = None,
    origins: Optional[Sequence[Optional[str]]] = None,
    process_request: Optional[ProcessRequest] = None,
    process_response: Optional[ProcessResponse] = None,
    backlog: int = 100,
    **options: "Unpack[CommonOptions]",
) -> Server:
    """:func:`serve` on a Unix socket at ``path`` (e.g. behind a reverse
    proxy on the same host); the same handler, hooks and options."""
    return Server(
        handler,
        None,
        0,
        ssl=ssl,
        origins=origins,
        process_request=process_request,
        process_response=process_response,
        options=Options(**options),
        create_server_kwargs={"backlog": backlog, "unix_path": path},
    )

"""``serve()``: an asyncio WebSocket server on :class:`wsframe.aio.WebSocket`.

The server reads the request head itself (bounded by
:class:`~wsframe.handshake.HeadReader`), gives ``process_request`` a chance
to answer plain HTTP (the chat demo serves its page this way), checks the
handshake with :func:`wsframe.handshake.accept`, then runs
``handler(websocket)`` in a task of its own. When the handler returns the
connection is closed with 1000 (1011 if it raised).

``serve()`` returns a :class:`Server`; ``await`` it to start listening, or
use it as ``async with serve(...) as server:``. Leaving the block (or
``server.close()``) stops listening and closes every connection with 1001
(going away, RFC 6455 section 7.4.1).
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Generator,
    Iterable,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from .. import (
    deflate as _deflate,  # permessage-deflate, on by default (compression="deflate")
)
from .. import handshake
from .._backend import codec as _codec
from ..connection import Connection
from ..handshake.http11 import (
    HeadReader,
    Request,
    Response,
    parse_request,
    serialize_response,
)
from .connection import WebSocket
from .exceptions import ConnectionClosed
from .protocol import (
    DEFAULT_MAX_QUEUE,
    DEFAULT_READ_BUFFER_SIZE,
    DEFAULT_WRITE_LIMIT,
    logger,
)

__all__ = ["serve", "Server", "ServerConnection", "HTTPResponse"]

Handler = Callable[[WebSocket], Awaitable[Any]]

#: What ``process_request`` may return instead of None: a plain HTTP answer.
HTTPResponse = Tuple[int, Iterable[Tuple[str, str]], bytes]
ProcessRequest = Callable[["ServerConnection", Request], Optional[HTTPResponse]]

_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ServerConnection(WebSocket):
    """The server side of one connection: the handshake, then the handler task."""

    def __init__(self, server: "Server") -> None:
        opts = server._options
        super().__init__(
            max_queue=opts["max_queue"],
            read_buffer_size=opts["read_buffer_size"],
            write_limit=opts["write_limit"],
            ping_interval=opts["ping_interval"],
            ping_timeout=opts["ping_timeout"],
            close_timeout=opts["close_timeout"],
        )
        self._server = server
        self._head: Optional[HeadReader] = HeadReader(opts["max_head_size"])
        self._open_timer: Optional[asyncio.TimerHandle] = None
        self._handler_task: Optional[asyncio.Task[None]] = None

    # ---- the opening handshake (RFC 6455 section 4.2) ----------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._server._connections.add(self)
        timeout = self._server._options["open_timeout"]
        if timeout is not None:
            self._open_timer = self._loop.call_later(timeout, self._open_timed_out)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._cancel_open_timer()
        super().connection_lost(exc)
        if self._handler_task is None:
            self._server._connections.discard(self)

    def _open_timed_out(self) -> None:
        self._open_timer = None
        if self._conn is None and self._transport is not None:
            logger.info("opening handshake timed out: closing")
            self._transport.abort()

    def _cancel_open_timer(self) -> None:
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None

    def _receive_head(self, data: memoryview) -> None:
        head_reader = self._head
        if head_reader is None:  # answered over plain HTTP; ignore the rest
            return
        try:
            done = head_reader.feed(data)
            if done is None:
                return
            head, rest = done
            request = parse_request(head)
        except handshake.InvalidHandshake as exc:
            self._answer_http(exc.response)
            return
        self._head = None
        self._handshake_request = request
        opts = self._server._options
        process_request: Optional[ProcessRequest] = opts["process_request"]
        if process_request is not None:
            try:
                answer = process_request(self, request)
            except Exception:
                logger.exception("process_request failed")
                answer = (500, [], b"internal server error\n")
            if answer is not None:
                self._answer_http(_http_response(*answer))
                return
        try:
            accepted = handshake.accept(
                request,
                subprotocols=opts["subprotocols"],
                origins=opts["origins"],
                extensions=opts["extension_factories"],
                extra_headers=opts["extra_headers"],
            )
        except handshake.InvalidHandshake as exc:
            self._answer_http(exc.response)
            return
        self._conn = Connection.opened(
            "server",
            subprotocol=accepted.subprotocol,
            extensions=accepted.extensions,
            max_frame_size=opts["max_frame_size"],
            max_message_size=opts["max_size"],
            max_fragments=opts["max_fragments"],
            auto_pong=False,  # the protocol answers pings (WebSocketProtocol._on_ping)
        )
        self._response_headers = accepted.headers
        self._cancel_open_timer()
        self._transport.write(accepted.response)  # type: ignore[union-attr]
        self._on_open()
        self._handler_task = self._loop.create_task(self._run_handler())
        if rest:
            self._conn.receive_data(rest)
            self._dispatch()
            self._flush()

    def _answer_http(self, response: bytes) -> None:
        """Send a plain HTTP response (an error or a page), then close with
        a lingering close (WebSocketProtocol._linger_close) so input the
        client is still sending, like the rest of an oversized head, does
        not make the kernel reset the connection before the client has read
        the response."""
        self._head = None
        self._cancel_open_timer()
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(response)
            self._linger_close()

    # ---- the handler -----------------------------------------------------------------

    async def _run_handler(self) -> None:
        code, reason = 1000, ""
        try:
            await self._server._handler(self)
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            code, reason = 1001, "going away"
        except Exception:
            logger.exception("connection handler failed")
            code, reason = 1011, "internal error"
        try:
            await self.close(code, reason)
        finally:
            self._server._connections.discard(self)


def _http_response(status: int, headers: Iterable[Tuple[str, str]], body: bytes) -> bytes:
    """A complete HTTP/1.1 response that closes the connection."""
    fields = [(name, value) for name, value in headers if name.lower() not in ("content-length", "connection")]
    fields.append(("Content-Length", str(len(body))))
    fields.append(("Connection", "close"))
    return serialize_response(Response(status, _REASONS.get(status, "Unknown"), fields, body=body))


class Server:
    """A listening WebSocket server; see :func:`serve`.

    Attributes:
        connections: the connections alive now (handshake done or pending).
    """

    def __init__(
        self,
        handler: Handler,
        host: Optional[str],
        port: int,
        ssl: Optional[_ssl.SSLContext],
        options: Dict[str, Any],
        create_server_kwargs: Dict[str, Any],
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._ssl = ssl
        self._options = options
        self._kwargs = create_server_kwargs
        self._server: Optional[asyncio.Server] = None
        self._connections: Set[ServerConnection] = set()
        self._closing = False
        self._bound_port = port

    @property
    def connections(self) -> Set[ServerConnection]:
        return set(self._connections)

    # ---- starting --------------------------------------------------------------------

    async def start(self) -> "Server":
        """Start listening (idempotent); return self."""
        if self._server is None:
            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(
                lambda: ServerConnection(self), self._host, self._port, ssl=self._ssl, **self._kwargs
            )
            if self._server.sockets:
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
        timeout = self._options["close_timeout"]
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
    subprotocols: Sequence[str] = (),
    origins: Optional[Sequence[Optional[str]]] = None,
    extension_factories: Sequence[Any] = (),
    compression: Optional[str] = "deflate",
    extra_headers: Iterable[Tuple[str, str]] = (),
    process_request: Optional[ProcessRequest] = None,
    max_size: int = _codec.DEFAULT_MAX_MESSAGE_SIZE,
    max_frame_size: Optional[int] = None,
    max_fragments: int = _codec.DEFAULT_MAX_FRAGMENTS,
    max_head_size: int = handshake.DEFAULT_MAX_HEAD_SIZE,
    max_queue: int = DEFAULT_MAX_QUEUE,
    read_buffer_size: int = DEFAULT_READ_BUFFER_SIZE,
    write_limit: int = DEFAULT_WRITE_LIMIT,
    ping_interval: Optional[float] = 20.0,
    ping_timeout: Optional[float] = 20.0,
    open_timeout: Optional[float] = 10.0,
    close_timeout: Optional[float] = 10.0,
    **create_server_kwargs: Any,
) -> Server:
    """A WebSocket server running ``await handler(websocket)`` per connection.

    Args:
        handler: coroutine function taking a :class:`WebSocket`.
        host, port: where to listen (port 0 picks a free port: see ``server.port``).
        ssl: a server :class:`ssl.SSLContext` for ``wss://``.
        subprotocols: supported subprotocols, most preferred first.
        origins: Origin allow-list (None allows any).
        extension_factories: server extension factories (e.g. permessage-deflate).
        compression: ``"deflate"`` (default, like websockets) accepts
            permessage-deflate offers with :class:`wsframe.deflate.ServerPerMessageDeflate`'s
            memory-saving defaults unless ``extension_factories`` has one; None disables it.
        extra_headers: more fields for the 101 response.
        process_request: ``f(connection, request)`` called with each request
            head; return None to go on with the handshake or
            ``(status, headers, body)`` to answer plain HTTP and close.
        max_size: largest message accepted (1009 above it).
        max_frame_size: largest frame accepted (default: ``max_size``).
        max_fragments: most frames in one message.
        max_head_size: largest request head (431 above it).
        max_queue: unread messages at which reading pauses.
        read_buffer_size: bytes asyncio reads at once.
        write_limit: transport write-buffer high-water mark for ``send``.
        ping_interval, ping_timeout: keepalive (None disables).
        open_timeout: seconds for the client to send its request head.
        close_timeout: seconds to wait during the closing handshake.
        **create_server_kwargs: passed to ``loop.create_server`` (e.g.
            ``reuse_port``, ``backlog``, ``sock`` with ``host=None``).

    Returns:
        A :class:`Server`: ``await`` it or use ``async with``.
    """
    if compression not in ("deflate", None):
        raise ValueError(f"unsupported compression: {compression!r} (use 'deflate' or None)")
    options = {
        "subprotocols": list(subprotocols),
        "origins": None if origins is None else list(origins),
        "extension_factories": _deflate.enable_server(extension_factories)
        if compression == "deflate"
        else list(extension_factories),
        "extra_headers": list(extra_headers),
        "process_request": process_request,
        "max_size": max_size,
        "max_frame_size": max_size if max_frame_size is None else max_frame_size,
        "max_fragments": max_fragments,
        "max_head_size": max_head_size,
        "max_queue": max_queue,
        "read_buffer_size": read_buffer_size,
        "write_limit": write_limit,
        "ping_interval": ping_interval,
        "ping_timeout": ping_timeout,
        "open_timeout": open_timeout,
        "close_timeout": close_timeout,
    }
    return Server(handler, host, port, ssl, options, create_server_kwargs)

"""``connect()``: a threaded WebSocket client.

``ws = connect("ws://host:port/path")`` returns once the handshake is
accepted; use it as ``with connect(uri) as ws:`` to close it on the way out.
Plain ``ws://`` only (``wss://`` raises :class:`~wsframe.aio.InvalidURI`).
``proxy=`` tunnels through an HTTP proxy with CONNECT, as in :mod:`wsframe.aio`.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Optional, Tuple, Union

from ..aio.client import parse_uri
from ..aio.exceptions import InvalidURI
from ..aio.options import Options
from ..connection import Connection
from ..handshake.proxy import proxy_from_environment
from .connection import WebSocket
from .proxy import open_tunnel

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..aio.options import CommonOptions

__all__ = ["connect", "ClientConnection"]


class ClientConnection(WebSocket):
    """The client side of one connection."""

    def __enter__(self) -> "ClientConnection":
        return self

    def _handshake(self, deadline: Optional[float]) -> None:
        """Send the request, read the response; OPEN or an exception.

        Raises:
            wsframe.handshake.InvalidHandshake: the server refused.
            TimeoutError: ``deadline`` passed.
            OSError: the connection failed.
        """
        try:
            self._handshake_write()  # the request, queued by the CONNECTING Connection
            while not self._open and self._rejection is None:
                if not self._handshake_step(deadline):
                    break
        except BaseException:
            self._close_refused()
            raise
        if self._open:
            self.logger.info("connection open: id=%s remote=%s path=%s", self.id, self.remote_address, self.path)
            return
        self._close_refused()
        if self._rejection is not None:
            raise self._rejection
        raise ConnectionError("the server closed the connection during the opening handshake")


def connect(
    uri: str,
    *,
    origin: Optional[str] = None,
    sock: Optional[socket.socket] = None,
    local_addr: Optional[Tuple[str, int]] = None,
    proxy: Union[str, bool, None] = None,
    **options: "Unpack[CommonOptions]",
) -> ClientConnection:
    """Open a WebSocket connection to ``uri`` and return it once the handshake is accepted.

    Args:
        uri: ``ws://host[:port]/path`` (``wss://`` is not supported by
            :mod:`wsframe.sync` yet).
        origin: the Origin header to send.
        sock: an already connected socket to use instead of opening one.
        local_addr: the ``(host, port)`` to bind the socket to.
        proxy: an HTTP proxy URL (``http://[user:password@]host[:port]``)
            to tunnel through with CONNECT; True to take it from the
            environment (``http_proxy``, then ``all_proxy``; ``no_proxy`` is
            honoured); None or False (default) to connect directly.
        **options: the options :func:`wsframe.aio.connect` takes
            (:class:`~wsframe.aio.options.Options`): ``subprotocols``,
            ``extension_factories``, ``compression``, ``extra_headers``,
            ``max_size``, ``max_frame_size``, ``max_fragments``,
            ``max_head_size``, ``max_queue``, ``max_queue_bytes``,
            ``read_buffer_size``, ``write_limit`` (no effect here),
            ``ping_interval``, ``ping_timeout``, ``open_timeout`` (TCP and
            the handshake together), ``close_timeout``, ``logger``.

    Returns:
        A :class:`ClientConnection`, also a context manager.

    Raises:
        InvalidURI: a bad URI, or ``wss://``.
        ValueError: an unsupported proxy URL, or ``proxy`` with ``sock``.
        wsframe.handshake.InvalidHandshake: the server refused the handshake
            (``InvalidStatus`` for a status other than 101); its subclass
            :class:`~wsframe.handshake.ProxyError`: the proxy did not open
            the tunnel (``InvalidProxyStatus`` carries the status, e.g. 407).
        TimeoutError: ``open_timeout`` ran out.
        OSError: the TCP connection failed.
    """
    secure, host, port, target, host_header = parse_uri(uri)
    if secure:
        raise InvalidURI("wss:// is not supported by wsframe.sync yet: use wsframe.aio.connect")
    validated = Options(**options)
    timeout = validated.open_timeout
    deadline = None if timeout is None else time.monotonic() + timeout
    conn = Connection(
        "client",
        host=host_header,
        target=target,
        origin=origin,
        extension_factories=validated.client_extensions(),
        **validated.connection_kwargs(),
        stream_fragments=True,  # recv_streaming(); recv() joins the parts
    )
    if proxy is True:
        proxy = proxy_from_environment(secure, host)
    if proxy:
        if sock is not None:
            raise ValueError("proxy= cannot be combined with sock=")
        sock = open_tunnel(
            str(proxy), host, port, max_head_size=validated.max_head_size, deadline=deadline, local_addr=local_addr
        )
    if sock is None:
        try:
            sock = socket.create_connection((host, port), timeout=timeout, source_address=local_addr)
        except socket.timeout:
            raise TimeoutError(f"no TCP connection to {host}:{port} within {timeout}s") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ws = ClientConnection(sock, conn, validated)
    ws._handshake(deadline)
    ws._start_reader()
    return ws

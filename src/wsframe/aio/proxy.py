"""Opening a CONNECT tunnel through an HTTP proxy for :func:`wsframe.aio.connect`.

The exchange itself (the request, the bounded reading of the answer, the
errors) is :class:`wsframe.handshake.ProxyTunnel`; this module only moves
its bytes over a non-blocking socket. The socket it returns is connected to
the server through the proxy, ready for ``loop.create_connection(sock=...)``,
which adds TLS for ``wss://`` as on a direct connection. The caller bounds
the time (``open_timeout`` covers the tunnel too).
"""

from __future__ import annotations

import asyncio
import socket
from typing import List, Optional, Tuple

from ..handshake.proxy import ProxyTunnel, parse_proxy

__all__ = ["open_tunnel"]

#: Bytes asked of the socket per read of the proxy's answer.
READ_SIZE = 4096


async def open_tunnel(
    proxy_url: str,
    host: str,
    port: int,
    *,
    max_head_size: int,
    local_addr: Optional[Tuple[str, int]] = None,
) -> socket.socket:
    """Connect to the proxy and have it open a tunnel to ``host:port``.

    Raises:
        ValueError: an unsupported proxy URL.
        wsframe.handshake.InvalidProxyStatus: the proxy refused (e.g. 407).
        wsframe.handshake.InvalidProxyMessage: its answer is not HTTP, too
            big, or it closed the connection.
        OSError: the proxy cannot be reached.
    """
    proxy = parse_proxy(proxy_url)
    tunnel = ProxyTunnel(proxy, host, port, max_head_size=max_head_size)
    loop = asyncio.get_running_loop()
    sock = await _connect(loop, proxy.host, proxy.port, local_addr)
    try:
        await loop.sock_sendall(sock, tunnel.request)
        while True:
            data = await loop.sock_recv(sock, READ_SIZE)
            if not data:
                tunnel.receive_eof()
            if tunnel.receive_data(data):
                return sock
    except BaseException:
        sock.close()
        raise


async def _connect(
    loop: asyncio.AbstractEventLoop, host: str, port: int, local_addr: Optional[Tuple[str, int]]
) -> socket.socket:
    """A non-blocking socket connected to the first address of ``host`` that answers."""
    errors: List[OSError] = []
    for family, kind, proto, _, address in await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            if local_addr is not None:
                sock.bind(local_addr)
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            errors.append(exc)
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    if len(errors) == 1:
        raise errors[0]
    raise OSError(f"cannot connect to the proxy {host}:{port}: {'; '.join(map(str, errors))}")

"""Opening a CONNECT tunnel through an HTTP proxy for :func:`wsframe.sync.connect`.

The exchange itself is :class:`wsframe.handshake.ProxyTunnel`; this module
moves its bytes over a blocking socket, within the caller's deadline. The
socket it returns is connected to the server through the proxy.
"""

from __future__ import annotations

import socket
import time
from typing import Optional, Tuple

from ..handshake.proxy import ProxyTunnel, parse_proxy

__all__ = ["open_tunnel"]

#: Bytes asked of the socket per read of the proxy's answer.
READ_SIZE = 4096


def open_tunnel(
    proxy_url: str,
    host: str,
    port: int,
    *,
    max_head_size: int,
    deadline: Optional[float],
    local_addr: Optional[Tuple[str, int]] = None,
) -> socket.socket:
    """The blocking twin of ``wsframe.aio.proxy.open_tunnel`` (same
    arguments and errors), bounded by ``deadline`` (``time.monotonic()``
    seconds, None for no limit): TimeoutError when it passes.
    """
    proxy = parse_proxy(proxy_url)
    tunnel = ProxyTunnel(proxy, host, port, max_head_size=max_head_size)
    sock = socket.create_connection((proxy.host, proxy.port), timeout=_left(deadline), source_address=local_addr)
    try:
        sock.sendall(tunnel.request)
        while True:
            sock.settimeout(_left(deadline))
            data = sock.recv(READ_SIZE)
            if not data:
                tunnel.receive_eof()
            if tunnel.receive_data(data):
                return sock
    except socket.timeout:
        sock.close()
        raise TimeoutError(f"the proxy {proxy.host}:{proxy.port} did not open a tunnel in time") from None
    except BaseException:
        sock.close()
        raise


def _left(deadline: Optional[float]) -> Optional[float]:
    """Seconds until ``deadline`` (None: no limit); a tiny positive number once
    it has passed, so the next blocking call times out at once."""
    if deadline is None:
        return None
    return max(deadline - time.monotonic(), 1e-6)

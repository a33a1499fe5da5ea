"""A tunnel through an HTTP proxy with CONNECT (RFC 9110 section 9.3.6), sans I/O.

A client behind a proxy opens TCP to the proxy, sends
``CONNECT host:port HTTP/1.1`` (with ``Proxy-Authorization: Basic ...`` when
the proxy URL has credentials), and reads the proxy's response head. A 2xx
means the connection is now a byte pipe to the server: TLS (for ``wss://``)
and the WebSocket handshake run over it as over a direct connection.
Anything else ends the attempt with :class:`InvalidProxyStatus`; a head that
is not HTTP, or over the size limit, with :class:`InvalidProxyMessage`.

:class:`ProxyTunnel` does the request and the bounded reading of the answer;
the hosts (``wsframe.aio``, ``wsframe.sync``) move the bytes and bound the
time. :func:`proxy_from_environment` finds a proxy the way ``curl`` and
``requests`` do (``https_proxy``, ``http_proxy``, ``all_proxy``,
``no_proxy``).
"""

from __future__ import annotations

import base64
import urllib.parse
import urllib.request
from typing import NamedTuple, Optional, Union

from .errors import InvalidMessage, InvalidProxyMessage, InvalidProxyStatus
from .http11 import DEFAULT_MAX_HEAD_SIZE, HeadReader, Request, Response, parse_response, serialize_request

__all__ = ["Proxy", "ProxyTunnel", "parse_proxy", "proxy_from_environment"]


class Proxy(NamedTuple):
    """Where an HTTP proxy is, and how to authenticate to it.

    Attributes:
        host: the proxy's host name or address.
        port: its port (8080 when the URL names none).
        authorization: the ``Proxy-Authorization`` value, or None.
    """

    host: str
    port: int
    authorization: Optional[str] = None


def parse_proxy(url: str) -> Proxy:
    """Read an ``http://[user:password@]host[:port]`` proxy URL.

    User and password are percent-decoded and sent with HTTP Basic
    authentication (RFC 7617, UTF-8).

    Raises:
        ValueError: another scheme (``https://`` and ``socks5://`` proxies
            are not supported), no host, or a bad port.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"unsupported proxy {url!r}: only http:// proxies (HTTP CONNECT) are supported")
    host = parts.hostname
    if not host:
        raise ValueError(f"proxy URL {url!r} has no host")
    port = parts.port or 8080  # ValueError for a port that is not a number or out of range
    authorization = None
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")
        authorization = f"Basic {token}"
    return Proxy(host, port, authorization)


def proxy_from_environment(secure: bool, host: str) -> Optional[str]:
    """The proxy URL the environment names for a connection to ``host``, or None.

    ``wss://`` looks at ``https_proxy``, ``ws://`` at ``http_proxy``, both
    then at ``all_proxy`` (lower or upper case, lower first); ``no_proxy``
    lists hosts reached directly. This is the standard library's reading of
    them (:func:`urllib.request.getproxies`, :func:`urllib.request.proxy_bypass`).
    """
    proxies = urllib.request.getproxies()
    if not proxies or urllib.request.proxy_bypass(host):
        return None
    for key in ("https" if secure else "http", "all"):
        url = proxies.get(key)
        if url:
            return url
    return None


class ProxyTunnel:
    """One CONNECT exchange: send :attr:`request`, then feed the proxy's
    bytes to :meth:`receive_data` until it returns True.

    Args:
        proxy: the proxy (see :func:`parse_proxy`).
        host: the server to reach through it.
        port: the server's port.
        max_head_size: the largest response head accepted.

    Raises:
        ValueError: a host that cannot be put in a request.
    """

    def __init__(self, proxy: Proxy, host: str, port: int, *, max_head_size: int = DEFAULT_MAX_HEAD_SIZE) -> None:
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        headers = [("Host", authority)]
        if proxy.authorization is not None:
            headers.append(("Proxy-Authorization", proxy.authorization))
        #: The CONNECT request to send first.
        self.request: bytes = serialize_request(Request("CONNECT", authority, headers))
        #: The proxy's response head, once complete.
        self.response: Optional[Response] = None
        self._head = HeadReader(max_head_size)

    def receive_data(self, data: Union[bytes, bytearray, memoryview]) -> bool:
        """Feed bytes read from the proxy; True once the tunnel is open.

        Raises:
            InvalidProxyStatus: the proxy answered with a status other than 2xx.
            InvalidProxyMessage: the answer is not an HTTP response head, or
                is over ``max_head_size``, or bytes came after it (the server
                cannot speak before the client does).
        """
        try:
            done = self._head.feed(data)
            if done is None:
                return False
            head, rest = done
            response = parse_response(head)
        except InvalidMessage as exc:
            raise InvalidProxyMessage(f"invalid answer from the proxy: {exc.reason}") from None
        self.response = response
        if not 200 <= response.status < 300:
            response.body = rest
            raise InvalidProxyStatus(response, response.status)
        if rest:
            raise InvalidProxyMessage("data from the server before the client sent anything")
        return True

    def receive_eof(self) -> None:
        """The proxy closed the connection before its answer was complete.

        Raises:
            InvalidProxyMessage: always.
        """
        raise InvalidProxyMessage("the proxy closed the connection before answering CONNECT")

"""wsframe.sync: recv_streaming() and connect(proxy=...) over loopback
(127.0.0.1, port 0, every wait bounded); the aio tests cover the details."""

from __future__ import annotations

import time
from typing import Any

import pytest
from proxy_support import ConnectProxy

from wsframe import sync as wsync
from wsframe.handshake import InvalidProxyStatus

WAIT = 10.0


def reporter(ws: Any) -> None:
    """Stream each message and answer with the repr of its parts."""
    for _ in range(3):
        ws.send(repr(list(ws.recv_streaming(timeout=WAIT))))


def uri(server: wsync.Server) -> str:
    return f"ws://127.0.0.1:{server.port}/"


def test_recv_streaming_yields_fragments_in_order():
    with wsync.serve(reporter, compression=None) as server:
        server.start()
        with wsync.connect(uri(server), compression=None, open_timeout=WAIT) as ws:
            ws._conn.send_fragment("a", fin=False)  # parts as separate frames
            ws._conn.send_fragment("é", fin=False)
            ws._conn.send_fragment("z", fin=True)
            ws._flush()
            assert ws.recv(timeout=WAIT) == repr(["a", "é", "z"])
            ws.send(b"whole")
            assert ws.recv(timeout=WAIT) == repr([b"whole"])


def test_recv_joins_fragments_and_a_timeout_keeps_the_parts():
    def handler(ws: Any) -> None:
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)  # takes the first part, then times out
        ws.send(repr(list(ws.recv_streaming(timeout=WAIT))))
        ws.send(ws.recv(timeout=WAIT))

    with wsync.serve(handler, compression=None) as server:
        server.start()
        with wsync.connect(uri(server), compression=None, open_timeout=WAIT) as ws:
            ws._conn.send_fragment(b"1", fin=False)
            ws._flush()
            time.sleep(0.6)
            ws._conn.send_fragment(b"2", fin=True)
            ws._flush()
            assert ws.recv(timeout=WAIT) == repr([b"1", b"2"])
            ws._conn.send_fragment("x", fin=False)
            ws._conn.send_fragment("y", fin=True)
            ws._flush()
            assert ws.recv(timeout=WAIT) == "xy"


def echo(ws: Any) -> None:
    for message in ws:
        ws.send(message)


def test_echo_through_a_proxy_and_407():
    with wsync.serve(echo) as server:
        server.start()
        with ConnectProxy().in_thread() as proxy:
            with wsync.connect(uri(server), proxy=proxy.url, open_timeout=WAIT) as ws:
                ws.send("through")
                assert ws.recv(timeout=WAIT) == "through"
            assert proxy.heads[0].startswith(f"CONNECT 127.0.0.1:{server.port} HTTP/1.1\r\n".encode())
        refusal = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
        with ConnectProxy(refusal).in_thread() as proxy:
            with pytest.raises(InvalidProxyStatus) as info:
                wsync.connect(uri(server), proxy=proxy.url, open_timeout=WAIT)
            assert info.value.status == 407

"""wsframe.aio.connect(proxy=...) through a tiny CONNECT proxy on 127.0.0.1
(tests/proxy_support.py) to a wsframe.aio echo server; and the sans-I/O
ProxyTunnel on its own."""

from __future__ import annotations

import base64

import pytest
from aio_support import echo, run
from proxy_support import ConnectProxy

from wsframe.aio import connect, serve
from wsframe.handshake import (
    InvalidProxyMessage,
    InvalidProxyStatus,
    ProxyError,
    ProxyTunnel,
    parse_proxy,
    proxy_from_environment,
)


def test_echo_through_the_proxy():
    async def main():
        async with serve(echo) as server, ConnectProxy().running() as proxy:
            async with connect(f"ws://127.0.0.1:{server.port}/chat", proxy=proxy.url) as ws:
                await ws.send("through")
                assert await ws.recv() == "through"
                await ws.send(b"\x00" * 100_000)
                assert await ws.recv() == b"\x00" * 100_000
            assert ws.close_code == 1000
        head = proxy.heads[0].decode()
        assert head.startswith(f"CONNECT 127.0.0.1:{server.port} HTTP/1.1\r\n")
        assert f"\r\nHost: 127.0.0.1:{server.port}\r\n" in head
        assert "Proxy-Authorization" not in head

    run(main())


def test_credentials_are_sent_as_basic_auth():
    async def main():
        async with serve(echo) as server, ConnectProxy().running() as proxy:
            url = f"http://al%40ice:s%3Acret@127.0.0.1:{proxy.port}"
            async with connect(f"ws://127.0.0.1:{server.port}/", proxy=url) as ws:
                await ws.send("hi")
                assert await ws.recv() == "hi"
        token = base64.b64encode(b"al@ice:s:cret").decode()
        assert f"\r\nProxy-Authorization: Basic {token}\r\n" in proxy.heads[0].decode()

    run(main())


def test_407_raises_invalid_proxy_status():
    answer = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n"

    async def main():
        async with ConnectProxy(answer).running() as proxy:
            with pytest.raises(InvalidProxyStatus) as info:
                await connect("ws://example.invalid/", proxy=proxy.url, open_timeout=10)
        assert info.value.status == 407
        assert info.value.http_response.headers.get("Proxy-Authenticate") == "Basic"
        assert isinstance(info.value, ProxyError)

    run(main())


@pytest.mark.parametrize("answer", [b"SSH-2.0-OpenSSH\r\n\r\n", b"", b"HTTP/1.1 200 OK\r\n\r\nhello"])
def test_a_bad_answer_raises_invalid_proxy_message(answer):
    async def main():
        async with ConnectProxy(answer).running() as proxy:
            with pytest.raises(InvalidProxyMessage):
                await connect("ws://example.invalid/", proxy=proxy.url, open_timeout=10)

    run(main())


def test_an_endless_head_is_bounded():
    async def main():
        async with ConnectProxy(b"HTTP/1.1 200 OK\r\nX: " + b"y" * 100_000).running() as proxy:
            with pytest.raises(InvalidProxyMessage):
                await connect("ws://example.invalid/", proxy=proxy.url, open_timeout=10, max_head_size=4096)

    run(main())


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def clear_proxy_environment(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_proxy_true_reads_the_environment(monkeypatch):
    clear_proxy_environment(monkeypatch)

    async def main():
        async with serve(echo) as server, ConnectProxy().running() as proxy:
            monkeypatch.setenv("http_proxy", proxy.url)
            async with connect(f"ws://127.0.0.1:{server.port}/", proxy=True) as ws:
                await ws.send("env")
                assert await ws.recv() == "env"
            assert len(proxy.heads) == 1
            monkeypatch.setenv("no_proxy", "127.0.0.1")
            async with connect(f"ws://127.0.0.1:{server.port}/", proxy=True) as ws:
                await ws.send("direct")
                assert await ws.recv() == "direct"
            assert len(proxy.heads) == 1  # bypassed
            async with connect(f"ws://127.0.0.1:{server.port}/") as ws:  # the default: no proxy
                pass
            assert len(proxy.heads) == 1

    run(main())


def test_proxy_from_environment_choice(monkeypatch):
    clear_proxy_environment(monkeypatch)
    assert proxy_from_environment(True, "example.com") is None
    monkeypatch.setenv("ALL_PROXY", "http://all:1")
    assert proxy_from_environment(True, "example.com") == "http://all:1"
    monkeypatch.setenv("HTTPS_PROXY", "http://secure:2")
    assert proxy_from_environment(True, "example.com") == "http://secure:2"
    assert proxy_from_environment(False, "example.com") == "http://all:1"
    monkeypatch.setenv("NO_PROXY", "example.com")
    assert proxy_from_environment(True, "example.com") is None


def test_parse_proxy():
    assert parse_proxy("http://proxy.local") == ("proxy.local", 8080, None)
    assert parse_proxy("http://u:p@[::1]:3128").port == 3128
    for bad in ("socks5://h:1080", "https://h:3128", "http://:8080"):
        with pytest.raises(ValueError):
            parse_proxy(bad)

    async def main():
        with pytest.raises(ValueError):
            await connect("ws://example.invalid/", proxy="socks5://127.0.0.1:1")

    run(main())


def test_tunnel_sans_io_split_answer():
    tunnel = ProxyTunnel(parse_proxy("http://p:1"), "::1", 443)
    assert tunnel.request == b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"
    answer = b"HTTP/1.0 200 Connection established\r\nProxy-Agent: test\r\n\r\n"
    for byte in answer[:-1]:
        assert tunnel.receive_data(bytes([byte])) is False
    assert tunnel.receive_data(answer[-1:]) is True
    assert tunnel.response is not None and tunnel.response.status == 200
    with pytest.raises(InvalidProxyMessage):
        ProxyTunnel(parse_proxy("http://p:1"), "h", 80).receive_eof()

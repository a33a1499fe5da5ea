"""wss:// with a self-signed certificate made by the test: verification is on by
default (an untrusted certificate fails), a custom context trusting it works."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from aio_support import echo, run

import os

from wsframe.aio import Listener, broadcast, connect, serve, serve_listener

x509 = pytest.importorskip("cryptography.x509", reason="cryptography is needed to make a test certificate")
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory: pytest.TempPathFactory):
    """A self-signed certificate for localhost and 127.0.0.1, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wsframe test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory: Path = tmp_path_factory.mktemp("tls")
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def server_context(cert_files) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert_files)
    return context


@pytest.fixture
def client_context(cert_files) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert_files[0]))
    return context


def test_wss_echo_with_trusted_self_signed_cert(server_context, client_context):
    async def main():
        async with serve(echo, ssl=server_context) as server:
            for host in ("127.0.0.1", "localhost"):
                async with connect(f"wss://{host}:{server.port}/tls", ssl=client_context) as ws:
                    await ws.send("secret")
                    assert await ws.recv() == "secret"
                    payload = bytes(range(256)) * 1000
                    await ws.send(payload)
                    assert await ws.recv() == payload
                assert ws.close_code == 1000

    run(main())


def test_wss_verifies_by_default(server_context):
    async def main():
        async with serve(echo, ssl=server_context) as server:
            with pytest.raises(ssl.SSLCertVerificationError):
                await connect(f"wss://127.0.0.1:{server.port}/", open_timeout=10)

    run(main())


def test_wss_checks_host_name(server_context, cert_files):
    # Trusted certificate, but for other names than the one we dial.
    context = ssl.create_default_context(cafile=str(cert_files[0]))

    async def main():
        async with serve(echo, ssl=server_context, host="127.0.0.1") as server:
            with pytest.raises(ssl.SSLCertVerificationError):
                await connect(f"wss://127.0.0.1:{server.port}/", ssl=context, server_hostname="not-this-host.example")

    run(main())


def test_ssl_context_needs_wss(client_context):
    async def main():
        with pytest.raises(ValueError):
            await connect("ws://127.0.0.1:1/", ssl=client_context)

    run(main())


def test_wss_through_a_connect_proxy(server_context, client_context):
    from proxy_support import ConnectProxy

    async def main():
        async with serve(echo, ssl=server_context) as server, ConnectProxy().running() as proxy:
            async with connect(f"wss://localhost:{server.port}/", ssl=client_context, proxy=proxy.url) as ws:
                await ws.send("tunnelled")
                assert await ws.recv() == "tunnelled"
        assert proxy.heads[0].startswith(f"CONNECT localhost:{server.port} HTTP/1.1\r\n".encode())

    run(main())


class EchoListener(Listener):
    def on_message(self, ws, message):
        ws.send(message)


@pytest.mark.parametrize("api", ["coroutine", "listener"])
def test_wss_large_messages_both_apis(server_context, client_context, api):
    """Large payloads go out as header + payload buffers; through TLS too."""

    async def main():
        if api == "listener":
            server = serve_listener(EchoListener, ssl=server_context, max_size=1 << 22)
        else:
            server = serve(echo, ssl=server_context, max_size=1 << 22)
        async with server:
            async with connect(f"wss://localhost:{server.port}/", ssl=client_context, max_size=1 << 22) as ws:
                for payload in (os.urandom(600_000), os.urandom(70_000), "t" * 300_000):
                    await ws.send(payload)
                    assert await ws.recv() == payload

    run(main())


def _loop_params():
    try:
        import uvloop
    except ImportError:
        return [pytest.param(None, id="asyncio")]
    return [pytest.param(None, id="asyncio"), pytest.param(uvloop.new_event_loop, id="uvloop")]


@pytest.mark.parametrize("loop_factory", _loop_params())
def test_wss_broadcast_reaches_tls_connections(server_context, client_context, loop_factory):
    """TLS transports are never sent to directly (their bytes are encrypted
    first): broadcast falls back to transport.write, in order with send()."""

    async def hold(ws):
        await ws.wait_closed()

    async def main():
        async with serve(hold, ssl=server_context) as server:
            clients = [await connect(f"wss://localhost:{server.port}/", ssl=client_context) for _ in range(3)]
            while len(server.connections) < 3:
                await asyncio.sleep(0.01)
            assert all(ws._fanout_fd == -1 for ws in server.connections)
            assert broadcast(server.connections, "to everyone") == 3
            for ws in server.connections:
                await ws.send("own")
            assert broadcast(server.connections, b"\x00" * 100_000) == 3
            for ws in clients:
                assert await ws.recv() == "to everyone"
                assert await ws.recv() == "own"
                assert await ws.recv() == b"\x00" * 100_000
                await ws.close()

    run(main(), loop_factory=loop_factory)

"""permessage-deflate interop over loopback: wsframe.aio against websockets and aiohttp,
both ways, with every parameter combination they support (RFC 7692)."""

from __future__ import annotations

import asyncio
import json

import pytest
from aio_support import echo, run

from wsframe.aio import connect, serve
from wsframe.deflate import ClientPerMessageDeflate, Offer, ServerPerMessageDeflate

pytestmark = pytest.mark.interop

# Chat-like JSON (compressible, repeated: exercises context takeover), text
# beyond ASCII, a large compressible message and an incompressible one.
MESSAGES = [
    json.dumps(
        {"type": "message", "room": "general", "user": f"user{i % 5}", "id": i, "text": "hello there " * (i % 9)}
    )
    for i in range(30)
] + ["héllo wörld ✓ 𝄞" * 40, "", "x", "a" * 150_000, bytes(range(256)) * 300, bytes(200_000)]


def deflate_header(headers) -> str:
    value = headers.get("Sec-WebSocket-Extensions")
    assert value is not None and value.startswith("permessage-deflate"), value
    return value


async def wait_for(predicate, steps: int = 500) -> None:
    for _ in range(steps):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


# ---- websockets ---------------------------------------------------------------------

WEBSOCKETS_CLIENT_OPTIONS = [
    {},
    {"server_no_context_takeover": True},
    {"client_no_context_takeover": True},
    {"server_max_window_bits": 10},
    {"server_max_window_bits": 8},  # we accept and then send uncompressed
    {"client_max_window_bits": 9},
    {"client_max_window_bits": None},
    {
        "server_no_context_takeover": True,
        "client_no_context_takeover": True,
        "server_max_window_bits": 9,
        "client_max_window_bits": 9,
    },
]
OUR_SERVER_POLICIES = [
    {},
    {"server_no_context_takeover": True, "client_no_context_takeover": True},
    {"server_max_window_bits": None, "client_max_window_bits": None},
    {"server_max_window_bits": 9, "client_max_window_bits": 9, "compress_level": 1, "min_size": 0},
]


@pytest.mark.parametrize(
    "policy", OUR_SERVER_POLICIES, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default"
)
@pytest.mark.parametrize(
    "options", WEBSOCKETS_CLIENT_OPTIONS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default"
)
def test_websockets_client_against_our_server(options, policy):
    ws_client = pytest.importorskip("websockets.asyncio.client")
    pmd = pytest.importorskip("websockets.extensions.permessage_deflate")

    async def main():
        factory = ServerPerMessageDeflate(**policy)
        async with serve(echo, extension_factories=[factory]) as server:
            extensions = [pmd.ClientPerMessageDeflateFactory(**options)]
            async with ws_client.connect(
                f"ws://127.0.0.1:{server.port}/", extensions=extensions, compression=None, max_size=None
            ) as client:
                [extension] = client.protocol.extensions
                assert extension.name == "permessage-deflate"
                for message in MESSAGES:
                    await client.send(message)
                    assert await client.recv() == message

    run(main())


WEBSOCKETS_SERVER_OPTIONS = [
    {},
    {"server_no_context_takeover": True},
    {"client_no_context_takeover": True},
    {"server_max_window_bits": 9, "client_max_window_bits": 9},
    {"server_max_window_bits": 15, "client_max_window_bits": 15, "compress_settings": {"memLevel": 9, "level": 9}},
    {"client_max_window_bits": 10, "require_client_max_window_bits": True},
]
OUR_CLIENT_OFFERS = [
    {},
    {"server_no_context_takeover": True},
    {"client_no_context_takeover": True},
    {"server_max_window_bits": 10, "client_max_window_bits": 11},
    {"offers": [Offer(server_no_context_takeover=True, server_max_window_bits=9), Offer(client_max_window_bits=True)]},
]


@pytest.mark.parametrize("offer", OUR_CLIENT_OFFERS, ids=lambda p: ",".join(f"{k}" for k in p) or "default")
@pytest.mark.parametrize(
    "options", WEBSOCKETS_SERVER_OPTIONS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default"
)
def test_our_client_against_websockets_server(options, offer):
    ws_server = pytest.importorskip("websockets.asyncio.server")
    pmd = pytest.importorskip("websockets.extensions.permessage_deflate")
    if (
        options.get("require_client_max_window_bits")
        and "client_max_window_bits" not in offer
        and "offers" not in offer
    ):
        offer = dict(offer, client_max_window_bits=True)

    async def ws_echo(ws):
        async for message in ws:
            await ws.send(message)

    async def main():
        factories = [pmd.ServerPerMessageDeflateFactory(**options)]
        async with ws_server.serve(
            ws_echo, "127.0.0.1", 0, extensions=factories, compression=None, max_size=None
        ) as server:
            port = server.sockets[0].getsockname()[1]
            async with connect(
                f"ws://127.0.0.1:{port}/", extension_factories=[ClientPerMessageDeflate(**offer)], max_size=1 << 22
            ) as ws:
                deflate_header(ws.response_headers)
                for message in MESSAGES:
                    await ws.send(message)
                    assert await ws.recv() == message

    run(main())


def test_websockets_defaults_both_ways():
    # Both libraries' defaults (compression on) meet.
    ws_server = pytest.importorskip("websockets.asyncio.server")
    ws_client = pytest.importorskip("websockets.asyncio.client")

    async def ws_echo(ws):
        async for message in ws:
            await ws.send(message)

    async def main():
        async with ws_server.serve(ws_echo, "127.0.0.1", 0) as theirs:
            async with connect(f"ws://127.0.0.1:{theirs.sockets[0].getsockname()[1]}/") as ws:
                assert "permessage-deflate" in deflate_header(ws.response_headers)
                for message in MESSAGES[:35]:
                    await ws.send(message)
                    assert await ws.recv() == message
        async with serve(echo) as ours:
            async with ws_client.connect(f"ws://127.0.0.1:{ours.port}/") as client:
                assert client.protocol.extensions
                for message in MESSAGES[:35]:
                    await client.send(message)
                    assert await client.recv() == message

    run(main())


# ---- aiohttp ---------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [15, 12, 9])
@pytest.mark.parametrize(
    "policy", OUR_SERVER_POLICIES, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default"
)
def test_aiohttp_client_against_our_server(compress, policy):
    aiohttp = pytest.importorskip("aiohttp")

    async def main():
        async with serve(echo, extension_factories=[ServerPerMessageDeflate(**policy)]) as server:
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(
                    f"ws://127.0.0.1:{server.port}/", compress=compress, max_msg_size=0
                ) as client:
                    assert client.compress
                    for message in MESSAGES:
                        if isinstance(message, str):
                            await client.send_str(message)
                        else:
                            await client.send_bytes(message)
                        reply = await client.receive(timeout=10)
                        assert reply.data == message

    run(main())


@pytest.mark.parametrize("offer", OUR_CLIENT_OFFERS, ids=lambda p: ",".join(f"{k}" for k in p) or "default")
def test_our_client_against_aiohttp_server(offer):
    aiohttp = pytest.importorskip("aiohttp")
    from aiohttp import web

    async def handler(request):
        ws = web.WebSocketResponse(compress=True, max_msg_size=0)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    async def main():
        app = web.Application()
        app.router.add_get("/", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            async with connect(
                f"ws://127.0.0.1:{port}/", extension_factories=[ClientPerMessageDeflate(**offer)], max_size=1 << 22
            ) as ws:
                deflate_header(ws.response_headers)
                for message in MESSAGES:
                    await ws.send(message)
                    assert await ws.recv() == message
        finally:
            await runner.cleanup()

    run(main())


def test_compression_none_offers_nothing():
    async def main():
        async with serve(echo, compression=None) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
                assert ws.response_headers.get("Sec-WebSocket-Extensions") is None
            async with connect(f"ws://127.0.0.1:{server.port}/", compression=None) as ws:
                await ws.send("plain")
                assert await ws.recv() == "plain"
        with pytest.raises(ValueError):
            serve(echo, compression="brotli")
        with pytest.raises(ValueError):
            connect("ws://127.0.0.1:1/", compression="gzip")

    run(main())


def test_our_aio_server_compresses_on_the_wire():
    # A raw client: the echo of a compressible message comes back with RSV1
    # set and far smaller than the text.
    from wsframe import Connection

    async def main():
        async with serve(echo) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            conn = Connection("client", host="127.0.0.1", extension_factories=[ClientPerMessageDeflate()])
            writer.write(conn.data_to_send())
            head = await reader.readuntil(b"\r\n\r\n")
            conn.receive_data(head)
            assert conn.extensions
            conn.events()  # HandshakeAccepted
            conn.send_text("compress me " * 1000)
            writer.write(conn.data_to_send())
            header = await reader.readexactly(2)
            assert header[0] & 0x40  # RSV1: compressed
            length = header[1] & 0x7F
            assert length < 126  # 12,000 bytes of text in under 126
            conn.receive_data(header + await reader.readexactly(length))
            assert [e.data for e in conn.events()] == ["compress me " * 1000]
            writer.close()

    run(main())

"""wsframe.aio against the websockets, aiohttp and picows clients and servers
(from PyPI) over loopback: text, binary, large messages, pings, closing codes."""

from __future__ import annotations

import asyncio

import pytest
from aio_support import run

from wsframe.aio import ConnectionClosedOK, connect, serve

pytestmark = pytest.mark.interop

BIG = bytes(range(256)) * 800  # 200 KiB, under every library's default limit
TEXTS = ["hello", "", "héllo wörld ✓ 𝄞", "x" * 70_000]


async def recording_echo(ws, record):
    """Echo handler that notes how the connection ended."""
    try:
        async for message in ws:
            await ws.send(message)
    finally:
        record["code"] = ws.close_code
        record["reason"] = ws.close_reason


async def exercise_our_client(ws) -> None:
    """Our client against an echo server: every kind of message comes back."""
    for text in TEXTS:
        await ws.send(text)
        assert await ws.recv() == text
    await ws.send(BIG)
    assert await ws.recv() == BIG
    for i in range(50):  # pipelined
        await ws.send(f"p{i}")
    assert [await ws.recv() for _ in range(50)] == [f"p{i}" for i in range(50)]
    assert await ws.ping(b"are you there") >= 0


# ---- our server, their clients ---------------------------------------------------


def test_websockets_client_against_our_server():
    websockets_client = pytest.importorskip("websockets.asyncio.client")
    record = {}

    async def main():
        async with serve(lambda ws: recording_echo(ws, record)) as server:
            async with websockets_client.connect(f"ws://127.0.0.1:{server.port}/x", max_size=None) as client:
                for text in TEXTS:
                    await client.send(text)
                    assert await client.recv() == text
                await client.send(BIG)
                assert await client.recv() == BIG
                pong = await client.ping(b"ws ping")
                await asyncio.wait_for(pong, 10)
                await client.close(4000, "bye from websockets")
            for _ in range(200):
                if "code" in record:
                    break
                await asyncio.sleep(0.01)

    run(main())
    assert record == {"code": 4000, "reason": "bye from websockets"}


def test_aiohttp_client_against_our_server():
    aiohttp = pytest.importorskip("aiohttp")
    record = {}

    async def main():
        async with serve(lambda ws: recording_echo(ws, record)) as server:
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"ws://127.0.0.1:{server.port}/y", autoping=True) as client:
                    for text in TEXTS:
                        await client.send_str(text)
                        msg = await client.receive(timeout=10)
                        assert msg.type == aiohttp.WSMsgType.TEXT and msg.data == text
                    await client.send_bytes(BIG)
                    msg = await client.receive(timeout=10)
                    assert msg.type == aiohttp.WSMsgType.BINARY and msg.data == BIG
                    await client.close(code=4001, message=b"bye from aiohttp")
            for _ in range(200):
                if "code" in record:
                    break
                await asyncio.sleep(0.01)

    run(main())
    assert record == {"code": 4001, "reason": "bye from aiohttp"}


def test_picows_client_against_our_server():
    picows = pytest.importorskip("picows")
    record = {}

    class Listener(picows.WSListener):
        def __init__(self) -> None:
            self.frames: asyncio.Queue = asyncio.Queue()

        def on_ws_frame(self, transport, frame) -> None:
            self.frames.put_nowait((frame.msg_type, frame.fin, frame.get_payload_as_bytes()))

    async def main():
        async with serve(lambda ws: recording_echo(ws, record)) as server:
            transport, listener = await picows.ws_connect(Listener, f"ws://127.0.0.1:{server.port}/z")
            for text in TEXTS:
                transport.send(picows.WSMsgType.TEXT, text.encode())
                assert await listener.frames.get() == (picows.WSMsgType.TEXT, True, text.encode())
            transport.send(picows.WSMsgType.BINARY, BIG)
            assert await listener.frames.get() == (picows.WSMsgType.BINARY, True, BIG)
            transport.send_ping(b"picows ping")
            assert await listener.frames.get() == (picows.WSMsgType.PONG, True, b"picows ping")
            transport.send_close(picows.WSCloseCode.GOING_AWAY, b"bye from picows")
            kind, _, _ = await listener.frames.get()  # our close echo
            assert kind == picows.WSMsgType.CLOSE
            transport.disconnect()
            await transport.wait_disconnected()
            for _ in range(200):
                if "code" in record:
                    break
                await asyncio.sleep(0.01)

    run(main())
    assert record == {"code": 1001, "reason": "bye from picows"}


# ---- their servers, our client ---------------------------------------------------


def test_our_client_against_websockets_server():
    websockets_server = pytest.importorskip("websockets.asyncio.server")

    async def handler(conn):
        async for message in conn:
            await conn.send(message)

    async def main():
        async with websockets_server.serve(handler, "127.0.0.1", 0, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                await exercise_our_client(ws)
            assert ws.close_code == 1000

    run(main())


def test_our_client_against_aiohttp_server():
    aiohttp = pytest.importorskip("aiohttp")
    from aiohttp import web

    async def handler(request):
        ws = web.WebSocketResponse(max_msg_size=0)
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
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            port = runner.addresses[0][1]
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                await exercise_our_client(ws)
            assert ws.close_code == 1000
        finally:
            await runner.cleanup()

    run(main())


def test_our_client_against_picows_server():
    picows = pytest.importorskip("picows")

    class Echo(picows.WSListener):
        def on_ws_frame(self, transport, frame) -> None:
            if frame.msg_type in (picows.WSMsgType.TEXT, picows.WSMsgType.BINARY):
                transport.send(frame.msg_type, frame.get_payload_as_bytes())
            elif frame.msg_type == picows.WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()

    async def main():
        server = await picows.ws_create_server(lambda request: Echo(), "127.0.0.1", 0)
        try:
            port = server.sockets[0].getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                await exercise_our_client(ws)
            assert ws.close_code == 1000
        finally:
            server.close()

    run(main())


def test_their_server_closing_first_is_clean():
    websockets_server = pytest.importorskip("websockets.asyncio.server")

    async def handler(conn):
        await conn.send("bye soon")
        await conn.close(1001, "server leaving")

    async def main():
        async with websockets_server.serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            ws = await connect(f"ws://127.0.0.1:{port}/")
            assert await ws.recv() == "bye soon"
            with pytest.raises(ConnectionClosedOK):
                await ws.recv()
            assert ws.close_code == 1001 and ws.close_reason == "server leaving"
            await ws.wait_closed()

    run(main())

"""wsframe.aio server and client against each other: messages, pings, closing,
handshake details, plain HTTP answers, limits and errors."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aio_support import echo, run

from wsframe import handshake
from wsframe.aio import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidURI,
    connect,
    parse_uri,
    serve,
)


def url(server, path="/"):
    return f"ws://127.0.0.1:{server.port}{path}"


def test_echo_text_and_binary():
    async def main():
        async with serve(echo) as server:
            async with connect(url(server)) as ws:
                await ws.send("héllo")
                assert await ws.recv() == "héllo"
                await ws.send(b"\x00\xff" * 1000)
                assert await ws.recv() == b"\x00\xff" * 1000
                await ws.send(bytearray(b"ba"))
                assert await ws.recv() == b"ba"
                await ws.send(memoryview(b"mv"))
                assert await ws.recv() == b"mv"
                await ws.send("")
                assert await ws.recv() == ""
            assert ws.close_code == 1000
            assert ws.closed and not ws.open

    run(main())


def test_many_pipelined_messages_keep_order():
    async def main():
        async with serve(echo) as server:
            async with connect(url(server)) as ws:
                for i in range(2000):
                    await ws.send(str(i))
                got = [await ws.recv() for _ in range(2000)]
                assert got == [str(i) for i in range(2000)]

    run(main())


def test_async_for_stops_on_normal_close():
    received = []

    async def handler(ws):
        for i in range(3):
            await ws.send(f"m{i}")
        await ws.close(1000, "bye")

    async def main():
        async with serve(handler) as server:
            async with connect(url(server)) as ws:
                async for message in ws:
                    received.append(message)
                assert ws.close_code == 1000
                assert ws.close_reason == "bye"
                with pytest.raises(ConnectionClosedOK):
                    await ws.recv()
                with pytest.raises(ConnectionClosed):
                    await ws.send("late")

    run(main())
    assert received == ["m0", "m1", "m2"]


def test_error_close_raises_in_async_for():
    async def handler(ws):
        await ws.close(4001, "custom")

    async def main():
        async with serve(handler) as server:
            async with connect(url(server)) as ws:
                with pytest.raises(ConnectionClosedError) as info:
                    async for _ in ws:
                        pass
                assert info.value.code == 4001
                assert info.value.reason == "custom"
                assert info.value.clean

    run(main())


def test_handler_exception_closes_with_1011():
    async def handler(ws):
        raise RuntimeError("boom")

    async def main():
        async with serve(handler) as server:
            ws = await connect(url(server))
            with pytest.raises(ConnectionClosedError):
                await ws.recv()
            assert ws.close_code == 1011

    run(main())


def test_ping_resolves_on_pong():
    async def main():
        async with serve(echo) as server:
            async with connect(url(server)) as ws:
                rtt = await ws.ping()
                assert rtt >= 0
                assert await ws.ping(b"payload") >= 0
                await ws.pong(b"unsolicited")  # the server ignores it
                await ws.send("still fine")
                assert await ws.recv() == "still fine"

    run(main())


def test_server_can_ping_client():
    async def handler(ws):
        await ws.ping(b"from server")
        await ws.send("pinged")

    async def main():
        async with serve(handler) as server:
            async with connect(url(server)) as ws:
                assert await ws.recv() == "pinged"

    run(main())


def test_path_headers_subprotocol():
    seen = {}

    async def handler(ws):
        seen["path"] = ws.path
        seen["ua"] = ws.request_headers.get("X-Test")
        seen["subprotocol"] = ws.subprotocol
        await ws.send("ok")

    async def main():
        async with serve(handler, subprotocols=["chat.v2", "chat.v1"]) as server:
            async with connect(
                url(server, "/room/1?x=y"), subprotocols=["chat.v1", "chat.v2"], extra_headers=[("X-Test", "yes")]
            ) as ws:
                assert await ws.recv() == "ok"
                assert ws.subprotocol == "chat.v2"
                assert ws.response_headers.get("Sec-WebSocket-Protocol") == "chat.v2"
                assert ws.path == "/room/1?x=y"
                assert ws.remote_address[0] == "127.0.0.1"

    run(main())
    assert seen == {"path": "/room/1?x=y", "ua": "yes", "subprotocol": "chat.v2"}


def test_process_request_answers_plain_http():
    def process_request(conn, request):
        if request.target == "/hello":
            return 200, [("Content-Type", "text/plain")], b"hi\n"
        return None

    async def main():
        async with serve(echo, process_request=process_request) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            data = await reader.read()
            writer.close()
            assert data.startswith(b"HTTP/1.1 200 OK\r\n")
            assert data.endswith(b"\r\n\r\nhi\n")
            # Other paths still get the WebSocket handshake.
            async with connect(url(server, "/ws")) as ws:
                await ws.send("x")
                assert await ws.recv() == "x"

    run(main())


def test_plain_http_without_upgrade_gets_an_error_response():
    async def main():
        async with serve(echo) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = await reader.read()
            writer.close()
            assert data.startswith(b"HTTP/1.1 4")

    run(main())


def test_rejected_origin_raises_on_connect():
    async def main():
        async with serve(echo, origins=["https://good.example"]) as server:
            with pytest.raises(handshake.InvalidHandshake):
                await connect(url(server), origin="https://evil.example")
            async with connect(url(server), origin="https://good.example") as ws:
                await ws.send("ok")
                assert await ws.recv() == "ok"

    run(main())


def test_message_too_big_closes_with_1009():
    async def main():
        async with serve(echo, max_size=1000) as server:
            async with connect(url(server)) as ws:
                await ws.send(b"x" * 1000)
                assert await ws.recv() == b"x" * 1000
                await ws.send(b"x" * 1001)
                with pytest.raises(ConnectionClosedError) as info:
                    await ws.recv()
                assert info.value.code == 1009

    run(main())


def test_client_limit_applies_to_server_messages():
    async def handler(ws):
        await ws.send("y" * 5000)
        await asyncio.sleep(5)

    async def main():
        async with serve(handler) as server:
            async with connect(url(server), max_size=100) as ws:
                with pytest.raises(ConnectionClosedError) as info:
                    await ws.recv()
                assert info.value.code == 1009

    run(main())


def test_server_shutdown_closes_with_1001():
    async def main():
        server = await serve(echo)
        ws = await connect(url(server))
        await ws.send("a")
        assert await ws.recv() == "a"
        server.close()
        await server.wait_closed()
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()
        assert ws.close_code == 1001
        await ws.wait_closed()
        # No longer listening.
        with pytest.raises(OSError):
            await connect(url(server), open_timeout=5)

    run(main())


def test_open_timeout_on_server_drops_silent_clients():
    async def main():
        async with serve(echo, open_timeout=0.2) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            data = await asyncio.wait_for(reader.read(), 10)  # EOF once the server gives up
            assert data == b""
            writer.close()

    run(main())


def test_open_timeout_on_client():
    async def main():
        # A TCP server that accepts and never answers.
        writers = []
        listener = await asyncio.start_server(lambda r, w: writers.append(w), "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        with pytest.raises(asyncio.TimeoutError):
            await connect(f"ws://127.0.0.1:{port}/", open_timeout=0.3)
        for writer in writers:
            writer.close()
        listener.close()

    run(main())


def test_close_timeout_when_peer_never_answers_close():
    async def main():
        # A server that completes the handshake by hand and then ignores everything.
        writers = []

        async def silent(reader, writer):
            writers.append(writer)
            head = await reader.readuntil(b"\r\n\r\n")
            request = handshake.parse_request(head)
            writer.write(handshake.accept(request).response)

        listener = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        ws = await connect(f"ws://127.0.0.1:{port}/", close_timeout=0.2)
        await ws.close()
        assert ws.closed
        assert ws.close_code == 1006
        for writer in writers:
            writer.close()
        listener.close()

    run(main())


def test_keepalive_timeout_fails_connection():
    async def main():
        writers = []

        async def deaf(reader, writer):
            writers.append(writer)
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(handshake.accept(handshake.parse_request(head)).response)
            # ... and never reads again, never pongs.

        listener = await asyncio.start_server(deaf, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        ws = await connect(f"ws://127.0.0.1:{port}/", ping_interval=0.05, ping_timeout=0.1, close_timeout=0.2)
        with pytest.raises(ConnectionClosedError):
            await ws.recv()
        await ws.wait_closed()
        for writer in writers:
            writer.close()
        listener.close()

    run(main())


def test_keepalive_keeps_healthy_connection_open():
    async def main():
        async with serve(echo, ping_interval=0.02, ping_timeout=5) as server:
            async with connect(url(server), ping_interval=0.02, ping_timeout=5) as ws:
                for i in range(5):
                    await asyncio.sleep(0.03)
                    await ws.send(str(i))
                    assert await ws.recv() == str(i)
                assert ws.open

    run(main())


def test_server_closes_when_client_drops_tcp():
    async def main():
        done = asyncio.get_running_loop().create_future()

        async def handler(ws):
            try:
                await ws.recv()
            except ConnectionClosed as exc:
                done.set_result(exc.code)

        async with serve(handler) as server:
            ws = await connect(url(server))
            ws._transport.abort()
            assert await done == 1006

    run(main())


def test_concurrent_recv_is_an_error():
    async def main():
        async with serve(echo) as server:
            async with connect(url(server)) as ws:
                first = asyncio.ensure_future(ws.recv())
                await asyncio.sleep(0)
                with pytest.raises(RuntimeError):
                    await ws.recv()
                await ws.send("x")
                assert await first == "x"

    run(main())


def test_send_rejects_other_types():
    async def main():
        async with serve(echo) as server:
            async with connect(url(server)) as ws:
                with pytest.raises(TypeError):
                    await ws.send(123)  # type: ignore[arg-type]

    run(main())


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("ws://example.com", (False, "example.com", 80, "/", "example.com")),
        ("wss://example.com/a?b=c", (True, "example.com", 443, "/a?b=c", "example.com")),
        ("ws://127.0.0.1:8765/chat", (False, "127.0.0.1", 8765, "/chat", "127.0.0.1:8765")),
        ("ws://[::1]:9000/", (False, "::1", 9000, "/", "[::1]:9000")),
    ],
)
def test_parse_uri(uri, expected):
    assert parse_uri(uri) == expected


@pytest.mark.parametrize("uri", ["http://x/", "ws://", "ws://u:p@host/", "ws://host/#frag", "ws://host:99999/"])
def test_parse_uri_rejects(uri):
    with pytest.raises(InvalidURI):
        parse_uri(uri)


def test_connection_refused():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    async def main():
        with pytest.raises(OSError):
            await connect(f"ws://127.0.0.1:{port}/", open_timeout=5)

    run(main())


def test_replies_to_messages_before_a_protocol_error_go_out_before_the_close():
    """Autobahn 3.2-style: a valid message, then a frame with RSV2 set, in one
    write. The echo of the valid message comes first, then the 1002 close."""
    import wsframe
    from wsframe import events as ev

    async def main():
        async with serve(echo) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            client = wsframe.Connection("client", host=f"127.0.0.1:{server.port}")
            writer.write(client.data_to_send())
            writer.write(
                wsframe.encode_frame(wsframe.Opcode.TEXT, b"hello", mask=True)
                + wsframe.encode_frame(wsframe.Opcode.TEXT, b"bad", rsv2=True, mask=True)
                + wsframe.encode_frame(wsframe.Opcode.PING, b"ignored", mask=True)
            )
            seen = []
            while True:
                data = await reader.read(65536)
                if not data:
                    client.receive_eof()
                else:
                    client.receive_data(data)
                seen += client.events()
                if not data or any(isinstance(e, ev.Closed) for e in seen):
                    break
            writer.close()
            kinds = [type(e).__name__ for e in seen]
            assert kinds[:3] == ["HandshakeAccepted", "TextMessage", "CloseReceived"], kinds
            assert seen[1].data == "hello"
            assert seen[2].code == 1002
            assert not any(isinstance(e, ev.Pong) for e in seen)

    run(main())


HOSTILE_HEADS = [
    b"\r\n\r\n",
    b"\x00" * 100 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 500 + b"\r\n",
    b"GET / HTTP/1.1\r\nHost: \xff\xfe\r\nUpgrade: websocket\r\n\r\n",
    b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    b"\n\n",
    b"GET\r\n\r\n",
    bytes(range(256)) * 4 + b"\r\n\r\n",
]


def test_hostile_request_heads_get_http_errors_and_server_survives(caplog):
    import random

    rng = random.Random(6455)
    heads = HOSTILE_HEADS + [
        bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 300))) + b"\r\n\r\n" for _ in range(30)
    ]

    async def main():
        async with serve(echo, max_head_size=8192) as server:
            for head in heads:
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(head)
                data = await reader.read()  # the server answers (or drops) and closes
                writer.close()
                assert data == b"" or data.startswith(b"HTTP/1.1 4"), (head[:60], data[:80])
            async with connect(url(server)) as ws:
                await ws.send("still alive")
                assert await ws.recv() == "still alive"

    with caplog.at_level("ERROR"):
        run(main())
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")], caplog.text


def test_every_ping_of_one_read_gets_its_pong():
    """Autobahn 2.10: ten pings in one write, ten pongs with their payloads, in order."""
    import wsframe
    from wsframe import events as ev

    async def main():
        async with serve(echo) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            client = wsframe.Connection("client", host=f"127.0.0.1:{server.port}", auto_pong=False)
            writer.write(client.data_to_send())
            pongs = []
            opened = False
            while len(pongs) < 10:
                data = await reader.read(65536)
                assert data, "server closed early"
                client.receive_data(data)
                for event in client.events():
                    if isinstance(event, ev.HandshakeAccepted):
                        opened = True
                        for i in range(10):
                            client.send_ping(b"payload-%d" % i)
                        writer.write(client.data_to_send())  # all ten in one write
                    elif isinstance(event, ev.Pong):
                        pongs.append(event.data)
            assert opened
            assert pongs == [b"payload-%d" % i for i in range(10)]
            writer.close()

    run(main())

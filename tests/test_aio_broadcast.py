"""``wsframe.aio.broadcast``: encode once, write straight to idle transports,
close a slow consumer with 1013, keep every other connection's order.

Real loopback sockets, both server APIs (coroutine and listener), every
wait bounded. TLS connections are covered in tests/test_aio_tls.py.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, List, Tuple

import pytest

import wsframe
from wsframe import Opcode
from wsframe.aio import Listener, broadcast, connect, serve, serve_listener
from wsframe.aio.exceptions import ConnectionClosed

from aio_support import run

REQUEST = (
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def small_send_buffer(ws: Any) -> None:
    """A small kernel send buffer: a peer that reads nothing fills the
    transport's buffer soon (instead of megabytes of kernel buffers first)."""
    ws._transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)


class Quiet(Listener):
    def on_open(self, ws: Any) -> None:
        small_send_buffer(ws)

    def on_message(self, ws: Any, message: Any) -> None:
        pass


async def hold(ws: Any) -> None:
    small_send_buffer(ws)
    await ws.wait_closed()


def start(api: str) -> Any:
    if api == "listener":
        return serve_listener(Quiet, "127.0.0.1", 0, compression=None)
    return serve(hold, "127.0.0.1", 0, compression=None)


async def wait_for_connections(server: Any, count: int) -> List[Any]:
    while len(server.connections) < count or not all(ws.open for ws in server.connections):
        await asyncio.sleep(0.01)
    return list(server.connections)


async def raw_client(port: int) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client that stops reading at once (its stream limit is tiny)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=256)
    writer.write(REQUEST)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert b" 101 " in head
    return reader, writer


@pytest.mark.parametrize("api", ["coroutine", "listener"])
def test_slow_consumer_closed_with_1013_others_get_everything_in_order(api: str) -> None:
    async def main() -> None:
        async with start(api) as server:
            good = [await connect(f"ws://127.0.0.1:{server.port}/", max_size=1 << 20) for _ in range(3)]
            reader, writer = await raw_client(server.port)
            conns = await wait_for_connections(server, 4)
            payload = b"m" * 32768
            counts = []
            received: List[List[bytes]] = [[] for _ in good]

            async def read(i: int, ws: Any) -> None:
                while len(received[i]) < 200:
                    received[i].append(await ws.recv())

            readers = [asyncio.ensure_future(read(i, ws)) for i, ws in enumerate(good)]
            slow_port = writer.get_extra_info("sockname")[1]
            fast = [ws for ws in conns if ws.remote_address[1] != slow_port]
            assert len(fast) == 3
            for n in range(200):
                counts.append(broadcast(conns, b"%04d" % n + payload, max_buffer=256 * 1024))
                # The good clients read: wait until their buffers are low again.
                while any(ws._transport is not None and ws._transport.get_write_buffer_size() > 65536 for ws in fast):
                    await asyncio.sleep(0.001)
            await asyncio.wait_for(asyncio.gather(*readers), 20)
            for messages in received:
                assert [m[:4] for m in messages] == [b"%04d" % n for n in range(200)]
            assert counts[0] == 4 and counts[-1] == 3  # the slow one dropped out
            # The slow consumer gets a 1013 close frame after what it was sent.
            parser = wsframe.FrameParser(is_server=False, max_message_size=1 << 24, max_frame_size=1 << 24)
            frames: List[Any] = []
            while not any(f.opcode == Opcode.CLOSE for f in frames):
                data = await asyncio.wait_for(reader.read(1 << 20), 10)
                assert data, "EOF before the close frame"
                frames += parser.feed(data)
            assert wsframe.decode_close_payload(frames[-1].payload)[0] == 1013
            writer.close()
            for ws in good:
                await ws.close()

    run(main())


@pytest.mark.parametrize("api", ["coroutine", "listener"])
def test_frame_goes_after_output_already_queued(api: str) -> None:
    """Output waiting in the connection (a reply not flushed yet) goes out
    before the broadcast; an idle connection gets the frame object itself."""

    async def main() -> None:
        async with start(api) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/") as client:
                (ws,) = await wait_for_connections(server, 1)
                ws._conn.send_text("queued before")  # in the connection, not yet written
                assert broadcast([ws], "broadcast") == 1
                assert await client.recv() == "queued before"
                assert await client.recv() == "broadcast"
                written: List[Any] = []
                transport = ws._transport
                real_write = transport.write

                class Spy:
                    def write(self, data: Any) -> None:
                        written.append(data)
                        real_write(data)

                    def __getattr__(self, name: str) -> Any:
                        return getattr(transport, name)

                ws._transport = Spy()
                assert broadcast([ws], "direct") == 1
                ws._transport = transport
                assert written == [wsframe.encode_broadcast("direct")]
                assert await client.recv() == "direct"

    run(main())


def test_closed_and_client_connections() -> None:
    async def main() -> None:
        async with serve(hold, "127.0.0.1", 0, compression=None) as server:
            client = await connect(f"ws://127.0.0.1:{server.port}/")
            (ws,) = await wait_for_connections(server, 1)
            with pytest.raises(ValueError):
                broadcast([client], "clients mask their frames")
            await client.close()
            await asyncio.wait_for(ws.wait_closed(), 10)
            assert broadcast([ws], "nobody") == 0
            with pytest.raises(ConnectionClosed):
                await client.recv()

    run(main())

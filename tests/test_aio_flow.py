"""Flow control of wsframe.aio both ways, and running on uvloop.

Incoming: a reader that does not keep up makes the protocol pause reading at
``max_queue`` messages and resume when the queue drains. Outgoing: ``send``
waits while the transport's write buffer is above ``write_limit``. The tests
poll conditions (bounded loops), never timings.
"""

from __future__ import annotations

import asyncio

import pytest
from aio_support import echo, run

from wsframe.aio import connect, serve


async def wait_until(predicate, what: str, steps: int = 1000) -> None:
    """Poll ``predicate`` every few ms, at most ``steps`` times."""
    for _ in range(steps):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


def test_slow_reader_pauses_and_resumes_reading():
    count = 200

    async def flood(ws):
        for i in range(count):
            await ws.send(f"message {i}")
        await ws.recv()  # wait for the client to finish

    async def main():
        async with serve(flood) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/", max_queue=8) as ws:
                await wait_until(lambda: ws._reading_paused, "reading paused")
                assert not ws._transport.is_reading()
                assert len(ws._queue) >= 8
                got = [await ws.recv() for _ in range(count)]
                assert got == [f"message {i}" for i in range(count)]
                assert not ws._reading_paused
                await ws.send("thanks")

    run(main())


def test_send_waits_for_a_slow_peer():
    size = 1 << 20
    total = 64

    async def main():
        go = asyncio.Event()

        async def lazy(ws):
            await go.wait()
            for _ in range(total):
                assert len(await ws.recv()) == size
            await ws.send("done")

        async with serve(lazy, max_size=2 * size, max_queue=1) as server:
            # compression=None: deflate would shrink the payload to ~1 KiB and never fill the buffer.
            async with connect(f"ws://127.0.0.1:{server.port}/", write_limit=256 * 1024, compression=None) as ws:
                payload = b"\x42" * size

                async def sender():
                    for _ in range(total):
                        await ws.send(payload)

                task = asyncio.ensure_future(sender())
                await wait_until(lambda: ws._write_paused and not task.done(), "send waiting for drain")
                go.set()
                await task
                assert await ws.recv() == "done"

    run(main())


def test_echo_on_uvloop():
    uvloop = pytest.importorskip("uvloop", reason="uvloop is optional")

    async def main():
        async with serve(echo) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
                for i in range(100):
                    await ws.send(str(i) * i)
                for i in range(100):
                    assert await ws.recv() == str(i) * i
                await ws.send(b"\x00" * 300_000)
                assert await ws.recv() == b"\x00" * 300_000
                assert await ws.ping() >= 0

    run(main(), loop_factory=uvloop.new_event_loop)


def test_connections_share_the_initial_read_buffer_safely() -> None:
    """Idle connections of one loop read into one shared buffer: a frame
    half read by one connection survives the other's reads into it."""
    import base64
    import os

    from wsframe import Opcode, encode_frame

    async def raw_client(port: int) -> "tuple[asyncio.StreamReader, asyncio.StreamWriter]":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 101")
        return reader, writer

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, compression=None) as server:
            (ra, wa), (rb, wb) = await raw_client(server.port), await raw_client(server.port)
            assert len({id(ws._buffer) for ws in server.connections}) == 1  # one buffer, shared
            payload = bytes(range(256)) * 4  # 1 KiB, fits the initial buffer
            frame = encode_frame(Opcode.BINARY, payload, mask=b"\x01\x02\x03\x04")
            wa.write(frame[:300])  # a's frame, half of it
            await wa.drain()
            await asyncio.sleep(0.05)
            for _ in range(3):  # b's reads overwrite the shared buffer meanwhile
                wb.write(encode_frame(Opcode.BINARY, b"\xee" * 1000, mask=b"\x09\x08\x07\x06"))
                await wb.drain()
                echoed = await asyncio.wait_for(rb.readexactly(4 + 1000), 10)
                assert echoed[4:] == b"\xee" * 1000
            wa.write(frame[300:])
            await wa.drain()
            echoed = await asyncio.wait_for(ra.readexactly(4 + len(payload)), 10)
            assert echoed[4:] == payload
            for writer in (wa, wb):
                writer.close()

    run(main())

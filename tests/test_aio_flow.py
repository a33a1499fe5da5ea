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

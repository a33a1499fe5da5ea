"""``wsframe.aio.broadcast``: encode once, ``send()`` straight to idle sockets,
close a slow consumer with 1013, keep every other connection's order.

Real loopback sockets, both server APIs (coroutine and listener), both
loops (asyncio's and uvloop) and both fan-out loops (the compiled
``_fanout_c`` and its pure twin ``_fanout_py``, through the ``fanout``
fixture), every wait bounded. TLS connections (the fallback through
``transport.write``) are covered in tests/test_aio_tls.py.
"""

from __future__ import annotations

import asyncio
import importlib
import platform
import socket
import struct
import time
from types import ModuleType
from typing import Any, Callable, Iterator, List, Optional, Tuple

import pytest

import wsframe
from wsframe import Opcode
from wsframe.aio import Listener, broadcast, connect, serve, serve_listener
from wsframe.aio.exceptions import ConnectionClosed

from aio_support import run
from conftest import env_flag

#: Whether connections qualify for the direct send() at all: the transports'
#: idle test reads CPython's asyncio internals (wsframe.aio.output); on PyPy
#: every connection takes transport.write.
DIRECT_SEND = platform.python_implementation() == "CPython"

broadcast_module = importlib.import_module("wsframe.aio.broadcast")


def _loops() -> List[Any]:
    params: List[Any] = [pytest.param(None, id="asyncio")]
    try:
        import uvloop
    except ImportError:
        return params + [pytest.param(None, id="uvloop", marks=pytest.mark.skip(reason="uvloop is optional"))]
    return params + [pytest.param(uvloop.new_event_loop, id="uvloop")]


LOOPS = _loops()


@pytest.fixture(params=["c", "py"])
def fanout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """broadcast() with the compiled loop, then with its pure twin."""
    if request.param == "c":
        if env_flag("WSFRAME_NO_EXTENSIONS"):
            pytest.skip("WSFRAME_NO_EXTENSIONS=1 (pure-only run)")
        try:
            module = importlib.import_module("wsframe._fanout_c")
        except ImportError as exc:
            pytest.skip(f"compiled fan-out unavailable: {exc}")
    else:
        module = importlib.import_module("wsframe._fanout_py")
    monkeypatch.setattr(broadcast_module, "_fanout", module)
    yield module

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


@pytest.mark.parametrize("loop_factory", LOOPS)
@pytest.mark.parametrize("api", ["coroutine", "listener"])
def test_slow_consumer_closed_with_1013_others_get_everything_in_order(
    api: str, loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]], fanout: ModuleType
) -> None:
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

    run(main(), loop_factory=loop_factory)


@pytest.mark.parametrize("api", ["coroutine", "listener"])
def test_frame_goes_after_output_already_queued(api: str, fanout: ModuleType) -> None:
    """Output waiting in the connection (a reply not flushed yet) goes out
    before the broadcast; an idle connection gets the frame with one
    ``send()`` from the compiled loop, no ``transport.write`` (the pure twin:
    ``transport.write`` of the frame object itself)."""

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
                assert ws._fanout_fd >= 0 or not DIRECT_SEND  # a plain socket transport
                assert broadcast([ws], "direct") == 1
                ws._transport = transport
                if fanout.__name__.endswith("_c"):
                    assert written == []  # straight into the socket
                else:
                    assert written == [wsframe.encode_broadcast("direct")]
                assert await client.recv() == "direct"

    run(main())


def test_closed_and_client_connections(fanout: ModuleType) -> None:
    async def main() -> None:
        async with serve(hold, "127.0.0.1", 0, compression=None) as server:
            client = await connect(f"ws://127.0.0.1:{server.port}/")
            (ws,) = await wait_for_connections(server, 1)
            with pytest.raises(ValueError):
                broadcast([client], "clients mask their frames")
            await client.close()
            await asyncio.wait_for(ws.wait_closed(), 10)
            assert ws._fanout_fd == -1  # its socket number may belong to another connection now
            assert broadcast([ws], "nobody") == 0
            with pytest.raises(ConnectionClosed):
                await client.recv()

    run(main())


def frame_sizes() -> List[int]:
    """Message sizes of the order tests: small, around the 7/16/64-bit
    length boundaries, and large enough for partial sends."""
    return [1, 125, 126, 65535, 65536, 300_000, 20]


@pytest.mark.parametrize("loop_factory", LOOPS)
@pytest.mark.parametrize("api", ["coroutine", "listener"])
def test_every_client_gets_every_message_in_order_interleaved_with_send(
    api: str, loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]], fanout: ModuleType
) -> None:
    """Broadcasts and each connection's own ``send()`` interleave; every
    client sees its own order: the broadcasts in sequence, each reply right
    where it was sent."""

    async def main() -> None:
        async with start(api) as server:
            clients = [await connect(f"ws://127.0.0.1:{server.port}/", max_size=1 << 20) for _ in range(8)]
            conns = await wait_for_connections(server, 8)
            if DIRECT_SEND:
                assert all(ws._fanout_fd >= 0 and ws._fanout_kind != fanout.KIND_NONE for ws in conns)
            sizes = frame_sizes()
            expected: List[str] = []
            for n in range(60):
                expected.append("b%03d:x" % n)
                if n % 3 == 0:
                    expected.append("own%03d" % n)

            async def read(ws: Any) -> List[str]:
                return [(await ws.recv())[:6] for _ in expected]

            # The clients read all along: a coroutine send() waits while a
            # transport is above its write limit.
            readers = asyncio.gather(*(read(ws) for ws in clients))
            counts = []
            for n in range(60):
                counts.append(broadcast(conns, "b%03d:" % n + "x" * sizes[n % len(sizes)]))
                if n % 3 == 0:
                    for ws in conns:
                        sent = ws.send("own%03d" % n)  # each connection's own message, between two broadcasts
                        if sent is not None:  # the coroutine API's send(); the listener's writes at once
                            await sent
            assert counts == [8] * 60
            got = await asyncio.wait_for(readers, 30)
            assert all(messages == expected for messages in got)
            for ws in clients:
                await ws.close()

    run(main(), loop_factory=loop_factory)


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_partial_send_leaves_the_rest_to_the_transport(
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]], fanout: ModuleType
) -> None:
    """A frame bigger than the socket takes: the socket gets what fits, the
    transport buffers the rest, and the next broadcast queues behind it; a
    peer that reads late gets both frames whole and in order."""

    async def main() -> None:
        async with start("coroutine") as server:
            reader, writer = await raw_client(server.port)
            (ws,) = await wait_for_connections(server, 1)
            big = bytes(range(256)) * 8192  # 2 MiB: more than the small send buffer
            assert broadcast([ws], big) == 1
            assert ws._transport.get_write_buffer_size() > 0  # the rest waits in the transport
            assert broadcast([ws], "after") == 1
            parser = wsframe.FrameParser(is_server=False, max_message_size=1 << 24, max_frame_size=1 << 24)
            frames: List[Any] = []
            while len(frames) < 2:
                data = await asyncio.wait_for(reader.read(1 << 20), 10)
                assert data, "EOF before both frames"
                frames += parser.feed(data)
            assert [(f.opcode, bytes(f.payload)) for f in frames] == [(Opcode.BINARY, big), (Opcode.TEXT, b"after")]
            writer.close()

    run(main(), loop_factory=loop_factory)


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_send_error_goes_through_the_transport(
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]], fanout: ModuleType
) -> None:
    """A peer that reset the connection: the failed ``send()`` is left to
    the transport, which reports it as usual (the connection closes); the
    broadcast raises nothing and the other connections get the message."""

    async def main() -> None:
        async with start("coroutine") as server:
            good = await connect(f"ws://127.0.0.1:{server.port}/")
            reader, writer = await raw_client(server.port)
            conns = await wait_for_connections(server, 2)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()  # RST
            deadline = time.monotonic() + 10
            while deadline > time.monotonic() and not any(ws.closed for ws in conns):
                broadcast(conns, "still here")  # the reset one: send() fails, or it is closed already
                await asyncio.sleep(0.01)
            assert any(ws.closed for ws in conns)
            assert await asyncio.wait_for(good.recv(), 10) == "still here"
            await good.close()

    run(main(), loop_factory=loop_factory)


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_slow_consumer_rule_holds_with_a_write_limit_above_max_buffer(
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]], fanout: ModuleType
) -> None:
    """A transport allowed to hold more than ``max_buffer`` (``write_limit``
    above it) is still checked: a peer that reads nothing is closed with 1013
    once the buffer passes ``max_buffer``, on both fan-out loops."""

    async def main() -> None:
        async with serve(hold, "127.0.0.1", 0, compression=None, write_limit=4 << 20) as server:
            reader, writer = await raw_client(server.port)
            (ws,) = await wait_for_connections(server, 1)
            delivered = 0
            for _ in range(40):
                delivered += broadcast([ws], b"x" * 32768, max_buffer=64 * 1024)
                await asyncio.sleep(0.005)
            assert delivered < 40
            assert not ws.open  # closing with 1013, not buffering up to write_limit
            writer.close()

    run(main(), loop_factory=loop_factory)


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_broadcast_waits_for_the_end_of_a_message_sent_in_parts(
    loop_factory: Optional[Callable[[], asyncio.AbstractEventLoop]], fanout: ModuleType
) -> None:
    """A broadcast while a handler is between the parts of a fragmented
    ``send()`` goes out after the message's last frame, not between its
    fragments (RFC 6455 5.4)."""

    async def main() -> None:
        # Made inside the loop: on Python 3.9 an Event binds to the loop current at creation.
        between = asyncio.Event()
        gate = asyncio.Event()

        async def parts() -> Any:
            yield b"part1"
            yield b"part2"  # part1 is written when part2 comes
            between.set()
            await gate.wait()
            yield b"part3"

        async def handler(ws: Any) -> None:
            await ws.send(parts())
            await ws.wait_closed()

        async with serve(handler, "127.0.0.1", 0, compression=None) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/") as client:
                await asyncio.wait_for(between.wait(), 10)
                assert broadcast(server.connections, b"broadcast") == 1
                gate.set()
                assert await asyncio.wait_for(client.recv(), 10) == b"part1part2part3"
                assert await asyncio.wait_for(client.recv(), 10) == b"broadcast"

    run(main(), loop_factory=loop_factory)


def test_broadcasts_held_behind_a_message_sent_in_parts_are_bounded(fanout: ModuleType) -> None:
    """A handler stuck between the parts of a fragmented send: the frames
    held for it count against ``max_buffer``, and past it the connection is
    closed with 1013 instead of holding them without bound."""

    async def main() -> None:
        between = asyncio.Event()

        async def parts() -> Any:
            yield b"part1"
            yield b"part2"
            between.set()
            await asyncio.Event().wait()  # never ends

        async def handler(ws: Any) -> None:
            await ws.send(parts())

        async with serve(handler, "127.0.0.1", 0, compression=None) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/") as client:
                await asyncio.wait_for(between.wait(), 10)
                (ws,) = list(server.connections)
                delivered = sum(broadcast([ws], b"x" * 1024, max_buffer=16 * 1024) for _ in range(100))
                assert delivered < 100
                assert ws._conn._held_prepared_size <= 16 * 1024
                with pytest.raises(ConnectionClosed):
                    while True:
                        await asyncio.wait_for(client.recv(), 10)
                assert client.close_code == 1013

    run(main())

"""Fault injection against the wsframe.aio server: misbehaving TCP peers.

Each test starts a server on 127.0.0.1 (ephemeral port), lets raw-socket
clients misbehave (disconnect mid-handshake, mid-frame or mid-close, leave a
TCP connection half open, read nothing while asking for echoes, dribble a
handshake byte by byte, announce a frame larger than allowed and never send
it), and then checks that the server still serves a well-behaved client,
wrote at most one log record per faulty connection and no traceback, and
holds no connection or task for the faulty ones afterwards. Every wait is
bounded in time; nothing asserts on timings.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import socket
import struct
from typing import Any, Callable, Tuple

import pytest
from aio_support import run

from wsframe import _backend
from wsframe.aio import connect, serve
from wsframe.enums import Opcode
from wsframe.handshake import accept_key

codec = _backend.codec

#: Upper bound of any wait for the server to react (never a timing assertion).
BOUND = 10.0
SERVER_OPTIONS = dict(open_timeout=1.0, close_timeout=1.0, ping_interval=None, compression=None)


async def echo(ws: Any) -> None:
    async for message in ws:
        await ws.send(message)


def request_head(key: str) -> bytes:
    return (
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


class RawClient:
    """A client on plain asyncio streams, for sending exactly what a test wants."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, handshake: bool = True) -> "RawClient":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        if handshake:
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write(request_head(key))
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), BOUND)
            assert head.startswith(b"HTTP/1.1 101 "), head
            assert accept_key(key).encode() in head
        return client

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        self.writer.write(codec.encode_frame(opcode, payload, fin=fin, mask=True))

    async def read_frame(self) -> Tuple[int, bytes]:
        """The next frame from the server (unmasked), within BOUND seconds."""
        head = await asyncio.wait_for(self.reader.readexactly(2), BOUND)
        length = head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        payload = await asyncio.wait_for(self.reader.readexactly(length), BOUND)
        return head[0] & 0x0F, payload

    async def read_until_eof(self) -> bytes:
        """Everything until the server closes TCP (or resets it), within BOUND seconds."""
        data = bytearray()
        try:
            while True:
                chunk = await asyncio.wait_for(self.reader.read(65536), BOUND)
                if not chunk:
                    return bytes(data)
                data += chunk
        except (ConnectionResetError, BrokenPipeError):
            return bytes(data)

    def abort(self) -> None:
        """Reset the connection (RST, no FIN), like a crashed peer."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    def close(self) -> None:
        self.writer.close()


async def probe(port: int) -> None:
    """A well-behaved client gets its echo: the server still serves everyone else."""
    async with connect(f"ws://127.0.0.1:{port}/", open_timeout=BOUND, close_timeout=BOUND) as ws:
        await ws.send("still there?")
        assert await asyncio.wait_for(ws.recv(), BOUND) == "still there?"
        await ws.send(b"\x00" * 70000)
        assert await asyncio.wait_for(ws.recv(), BOUND) == b"\x00" * 70000


async def settled(server: Any, tasks_before: int) -> None:
    """Wait (bounded) until the server holds no connection and no extra task."""
    for _ in range(int(BOUND / 0.05)):
        extra = len(asyncio.all_tasks()) - tasks_before
        if not server.connections and extra <= 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"server still holds {len(server.connections)} connections, {extra} extra tasks")


def check_logs(caplog: pytest.LogCaptureFixture, faulty: int) -> None:
    """At most one record per faulty connection (besides the open/close
    lifecycle lines every connection gets), and never a traceback."""
    lifecycle = ("connection open:", "connection closed:")
    mine = [r for r in caplog.records if r.name.startswith("wsframe") and not r.getMessage().startswith(lifecycle)]
    assert len(mine) <= faulty, [r.getMessage() for r in mine]
    assert not [r for r in mine if r.exc_info or r.levelno >= logging.ERROR], [r.getMessage() for r in mine]


async def scenario(fault: Callable[[int], Any], faulty: int = 1, **options: Any) -> Any:
    """Run ``fault(port)`` against a fresh echo server, then probe and check cleanup."""
    opts = dict(SERVER_OPTIONS)
    opts.update(options)
    tasks_before = len(asyncio.all_tasks())
    async with serve(echo, "127.0.0.1", 0, **opts) as server:
        result = await asyncio.wait_for(fault(server.port), 3 * BOUND)
        await probe(server.port)
        await settled(server, tasks_before)
    return result


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog at DEBUG for wsframe; read ``.records`` after the run (the list
    is replaced between test phases)."""
    caplog.set_level(logging.DEBUG, logger="wsframe")
    return caplog


# ---- disconnects at every stage -----------------------------------------------------


@pytest.mark.parametrize("how", ["close", "abort"])
@pytest.mark.parametrize("cut", [0, 1, 20, -2])
def test_disconnect_mid_handshake(logs: pytest.LogCaptureFixture, how: str, cut: int) -> None:
    async def fault(port: int) -> None:
        client = await RawClient.connect(port, handshake=False)
        head = request_head(base64.b64encode(b"k" * 16).decode())
        client.writer.write(head[:cut] if cut >= 0 else head[: len(head) + cut])
        await client.writer.drain()
        client.abort() if how == "abort" else client.close()

    run(scenario(fault))
    check_logs(logs, 1)


@pytest.mark.parametrize("how", ["close", "abort"])
@pytest.mark.parametrize("stage", ["header", "payload", "between-fragments"])
def test_disconnect_mid_frame(logs: pytest.LogCaptureFixture, how: str, stage: str) -> None:
    async def fault(port: int) -> None:
        client = await RawClient.connect(port)
        frame = codec.encode_frame(Opcode.BINARY, b"x" * 1000, mask=True)
        if stage == "header":
            client.writer.write(frame[:3])
        elif stage == "payload":
            client.writer.write(frame[:500])
        else:
            client.send_frame(Opcode.TEXT, b"first half", fin=False)
        await client.writer.drain()
        client.abort() if how == "abort" else client.close()

    run(scenario(fault))
    check_logs(logs, 1)


@pytest.mark.parametrize("how", ["close-after-our-close", "abort-after-our-close", "gone-when-server-closes"])
def test_disconnect_mid_close(logs: pytest.LogCaptureFixture, how: str) -> None:
    async def fault(port: int) -> None:
        client = await RawClient.connect(port)
        if how == "gone-when-server-closes":
            # Ask for an echo, then vanish without reading it or answering a close.
            client.send_frame(Opcode.TEXT, b"hello")
            await client.writer.drain()
            client.abort()
            return
        client.send_frame(Opcode.CLOSE, codec.encode_close_payload(1000, "bye"))
        await client.writer.drain()
        client.abort() if how.startswith("abort") else client.close()

    run(scenario(fault))
    check_logs(logs, 1)


def test_server_close_unanswered_then_close_timeout(logs: pytest.LogCaptureFixture) -> None:
    """The handler returns (server sends a close frame); the peer never answers."""

    async def one_message(ws: Any) -> None:
        await ws.recv()

    async def main() -> None:
        tasks_before = len(asyncio.all_tasks())
        async with serve(one_message, "127.0.0.1", 0, **SERVER_OPTIONS) as server:
            client = await RawClient.connect(server.port)
            client.send_frame(Opcode.TEXT, b"only one")
            opcode, payload = await client.read_frame()
            assert opcode == Opcode.CLOSE and payload[:2] == b"\x03\xe8"
            # Never answer: the close timeout must end the TCP connection.
            await client.read_until_eof()
            client.close()
            await settled(server, tasks_before)

    run(main())
    check_logs(logs, 1)


# ---- half-open TCP --------------------------------------------------------------------


def test_half_closed_by_peer(logs: pytest.LogCaptureFixture) -> None:
    """The peer shuts down its sending side (FIN) but keeps reading: 1006, closed."""

    async def fault(port: int) -> None:
        client = await RawClient.connect(port)
        client.writer.write_eof()
        await client.read_until_eof()
        client.close()

    run(scenario(fault))
    check_logs(logs, 1)


def test_silent_peer_fails_keepalive(logs: pytest.LogCaptureFixture) -> None:
    """A peer that stays connected but never answers pings (a dead host behind
    a live TCP connection) is dropped when the keepalive pong does not come."""

    async def fault(port: int) -> None:
        client = await RawClient.connect(port)
        data = await client.read_until_eof()  # pings arrive, we never answer
        assert data[:1] == b"\x89", data[:16]
        client.close()

    run(scenario(fault, ping_interval=0.2, ping_timeout=0.5))
    check_logs(logs, 1)


# ---- slow readers: back-pressure keeps memory bounded ----------------------------------


def test_slow_reader_memory_bounded(logs: pytest.LogCaptureFixture) -> None:
    message = os.urandom(16 * 1024)
    write_limit, max_queue = 64 * 1024, 4

    async def main() -> None:
        tasks_before = len(asyncio.all_tasks())
        async with serve(
            echo, "127.0.0.1", 0, write_limit=write_limit, max_queue=max_queue, **SERVER_OPTIONS
        ) as server:
            client = await RawClient.connect(server.port)
            sock = client.writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: we read nothing
            frame = codec.encode_frame(Opcode.BINARY, message, mask=True)
            sent = 0
            stalled = 0
            worst = (0, 0)
            # Ask for up to 64 MiB of echoes while reading nothing. The echo
            # handler blocks in send() (write_limit), stops reading our
            # messages (max_queue), and our own writes stall: check the
            # server's buffers after every step.
            while sent < 4096 and stalled < 10:
                client.writer.write(frame)
                try:
                    await asyncio.wait_for(client.writer.drain(), 0.2)
                    sent += 1
                    stalled = 0
                except asyncio.TimeoutError:
                    stalled += 1
                for conn in server.connections:
                    transport = conn._transport
                    buffered = transport.get_write_buffer_size() if transport is not None else 0
                    worst = max(worst, (buffered, len(conn._queue)))
            assert stalled >= 10, "the server never applied back-pressure"
            # Server write buffer: the limit plus the message that crossed it;
            # queue: max_queue plus what one read can hold.
            assert worst[0] <= write_limit + 2 * len(frame), worst
            assert worst[1] <= max_queue + 64, worst
            client.abort()
            await settled(server, tasks_before)
            await probe(server.port)

    run(main(), timeout=60)
    check_logs(logs, 1)


def test_ping_flood_from_non_reader_memory_bounded(logs: pytest.LogCaptureFixture) -> None:
    """A peer that floods pings and reads nothing must not grow the server's
    write buffer one pong per ping (regression: it grew without bound, 47 MB
    after 52 MB of pings). RFC 6455 section 5.5.3 lets the server answer only
    the most recent ping; the last one is answered once the peer reads."""
    write_limit = 64 * 1024

    async def main() -> None:
        tasks_before = len(asyncio.all_tasks())
        async with serve(echo, "127.0.0.1", 0, write_limit=write_limit, **SERVER_OPTIONS) as server:
            client = await RawClient.connect(server.port)
            burst = codec.encode_frame(Opcode.PING, b"p" * 125, mask=True) * 1000  # 131 KB
            worst = 0
            for _ in range(240):  # 31 MB of pings: far more than the kernel buffers hold
                client.writer.write(burst)
                await asyncio.wait_for(client.writer.drain(), BOUND)
                for conn in server.connections:
                    if conn._transport is not None:
                        worst = max(worst, conn._transport.get_write_buffer_size())
            # Writing pauses only after a write crosses the limit, so one
            # read's worth of pongs may land on top of it (the read buffer
            # grows to 1 MiB); without the fix it grew by the whole flood.
            assert worst <= write_limit + (1 << 20) + 64 * 1024, f"server write buffer reached {worst} bytes"
            client.send_frame(Opcode.PING, b"last")
            await client.writer.drain()
            for _ in range(400000):  # read until the last ping is answered
                opcode, payload = await client.read_frame()
                if opcode == Opcode.PONG and payload == b"last":
                    break
            else:
                raise AssertionError("the last ping was never answered")
            client.abort()
            await settled(server, tasks_before)
            await probe(server.port)

    run(main(), timeout=120)
    check_logs(logs, 1)


# ---- slowloris and oversized frames -----------------------------------------------------


def test_slowloris_handshake_times_out(logs: pytest.LogCaptureFixture) -> None:
    """A request head dribbled one byte at a time is cut off by open_timeout,
    while other clients are served meanwhile."""

    async def fault(port: int) -> None:
        clients = [await RawClient.connect(port, handshake=False) for _ in range(3)]
        head = request_head(base64.b64encode(b"s" * 16).decode())

        async def dribble(client: RawClient) -> bool:
            try:
                for byte in head[:-2]:  # never complete
                    client.writer.write(bytes([byte]))
                    await client.writer.drain()
                    await asyncio.sleep(0.05)
                    if client.reader.at_eof():
                        return True
            except (ConnectionResetError, BrokenPipeError):
                return True
            await client.read_until_eof()
            return True

        tasks = [asyncio.ensure_future(dribble(c)) for c in clients]
        await probe(port)  # served while the slowloris clients hang on
        assert all(await asyncio.wait_for(asyncio.gather(*tasks), 2 * BOUND))
        for c in clients:
            c.close()

    run(scenario(fault, faulty=3, open_timeout=0.5), timeout=60)
    timed_out = [r for r in logs.records if "timed out" in r.getMessage()]
    assert len(timed_out) == 3, [r.getMessage() for r in logs.records]
    check_logs(logs, 3)


@pytest.mark.parametrize(
    "length, code",
    [
        (1024 * 1024 + 1, 1009),  # over max_size: refused before any payload arrives
        (1 << 40, 1009),
        ((1 << 63) + 5, 1002),  # 64-bit length with the top bit set
    ],
)
def test_oversized_frame_announced_never_sent(logs: pytest.LogCaptureFixture, length: int, code: int) -> None:
    async def fault(port: int) -> None:
        client = await RawClient.connect(port)
        header = bytes([0x82, 0xFF]) + struct.pack("!Q", length) + os.urandom(4)
        client.writer.write(header + b"only a few bytes")
        await client.writer.drain()
        opcode, payload = await client.read_frame()
        assert opcode == Opcode.CLOSE and int.from_bytes(payload[:2], "big") == code, payload
        await client.read_until_eof()
        client.close()

    run(scenario(fault, max_size=1024 * 1024))
    check_logs(logs, 1)


def test_many_faulty_clients_at_once(logs: pytest.LogCaptureFixture) -> None:
    """Fifty clients failing in assorted ways at the same time; the server survives."""

    async def fault(port: int) -> None:
        async def one(i: int) -> None:
            kind = i % 5
            client = await RawClient.connect(port, handshake=kind != 0)
            if kind == 0:
                client.writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
            elif kind == 1:
                client.writer.write(codec.encode_frame(Opcode.BINARY, b"y" * 100, mask=True)[:50])
            elif kind == 2:
                client.writer.write(b"\x82\xff" + struct.pack("!Q", 1 << 30) + b"abcd")
            elif kind == 3:
                client.writer.write(b"\x81\x05hello")  # unmasked: 1002
            else:
                client.send_frame(Opcode.CLOSE, b"\x03")  # 1-byte close payload: 1002
            await client.writer.drain()
            client.abort() if i % 2 else client.close()

        await asyncio.gather(*(one(i) for i in range(50)))

    run(scenario(fault, faulty=50), timeout=60)
    check_logs(logs, 50)

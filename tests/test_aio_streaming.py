"""wsframe.aio recv_streaming(): fragmented messages handed over frame by frame.

A raw client (the sans-I/O Connection for the handshake, hand-made frames
after it) sends exactly the fragments each test needs to a wsframe.aio
server on 127.0.0.1; the handler streams them and reports what it got.
"""

from __future__ import annotations

import ast
import asyncio
import tracemalloc
import zlib

import pytest
from aio_support import run

from wsframe import Connection
from wsframe._backend import codec
from wsframe.aio import ConnectionClosed, ConnectionClosedError, connect, serve
from wsframe.deflate import ClientPerMessageDeflate
from wsframe.events import Closed, HandshakeAccepted, TextMessage

TEXT, BINARY, CONT = 1, 2, 0


class RawClient:
    """A client that sends hand-made frames after a real handshake."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = conn

    @classmethod
    async def open(cls, port: int, deflate: bool = False) -> "RawClient":
        factories = [ClientPerMessageDeflate()] if deflate else []
        conn = Connection("client", host=f"127.0.0.1:{port}", extension_factories=factories)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(conn.data_to_send())
        client = cls(reader, writer, conn)
        events = await client.read_events()
        assert any(isinstance(e, HandshakeAccepted) for e in events), events
        assert bool(conn.extensions) is deflate
        return client

    async def read_events(self) -> list:
        while True:
            data = await asyncio.wait_for(self.reader.read(65536), 10)
            if data:
                self.conn.receive_data(data)
            else:
                self.conn.receive_eof()
            events = self.conn.events()
            if events or not data:
                return events

    async def next_text(self) -> str:
        while True:
            for event in await self.read_events():
                if isinstance(event, TextMessage):
                    return event.data
                assert not isinstance(event, Closed), event

    async def close_code(self) -> int:
        while True:
            for event in await self.read_events():
                if isinstance(event, Closed):
                    return event.code

    def send_frame(self, opcode: int, payload: bytes, fin: bool, rsv1: bool = False) -> None:
        self.writer.write(codec.encode_frame(opcode, payload, fin=fin, rsv1=rsv1, mask=True))

    async def aclose(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def frames_of(parts, opcode):
    """(opcode, payload, fin) of a message sent in these parts."""
    return [(opcode if i == 0 else CONT, part, i == len(parts) - 1) for i, part in enumerate(parts)]


async def reporting_handler(ws, log):
    """Stream every message; log each part, answer with a summary."""
    try:
        while True:
            parts = []
            async for part in ws.recv_streaming():
                parts.append(part)
                log.append(part)
            await ws.send(repr(parts))
    except ConnectionClosed as exc:
        log.append(exc)


def test_fragments_arrive_in_order_with_their_types():
    async def main():
        log = []
        async with serve(lambda ws: reporting_handler(ws, log), compression=None) as server:
            client = await RawClient.open(server.port)
            for opcode, payload, fin in frames_of([b"ab", b"cd", b""], BINARY):
                client.send_frame(opcode, payload, fin)
            assert await client.next_text() == repr([b"ab", b"cd", b""])
            for opcode, payload, fin in frames_of([b"x", b"y"], TEXT):
                client.send_frame(opcode, payload, fin)
            assert await client.next_text() == repr(["x", "y"])
            await client.aclose()

    run(main())


def test_unfragmented_message_is_one_part_and_recv_still_joins():
    async def handler(ws):
        parts = [part async for part in ws.recv_streaming()]
        await ws.send(repr(parts))
        await ws.send(repr(await ws.recv()))  # a fragmented message, whole
        parts = [part async for part in ws.recv_streaming(decode=False)]
        await ws.send(repr(parts))

    async def main():
        async with serve(handler, compression=None) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/", compression=None) as ws:
                await ws.send("whole")
                assert await ws.recv() == repr(["whole"])
                await ws.send(["a", "b", "c"])
                assert await ws.recv() == repr("abc")
                await ws.send(["é", "t"])
                assert await ws.recv() == repr(["é".encode(), b"t"])

    run(main())


def test_code_point_split_across_fragments_decodes():
    text = "aé€😀z"
    data = text.encode()

    async def main():
        log = []
        async with serve(lambda ws: reporting_handler(ws, log), compression=None) as server:
            client = await RawClient.open(server.port)
            # Cut every code point: one byte per frame.
            pieces = [data[i : i + 1] for i in range(len(data))]
            for opcode, payload, fin in frames_of(pieces, TEXT):
                client.send_frame(opcode, payload, fin)
            summary = await client.next_text()
            parts = ast.literal_eval(summary)  # a list of str
            assert "".join(parts) == text
            assert all(isinstance(part, str) for part in parts)
            assert len(parts) == len(pieces)  # one part per frame, some empty
            await client.aclose()

    run(main())


def test_invalid_utf8_in_a_later_fragment_closes_1007_after_earlier_parts():
    async def main():
        log = []
        async with serve(lambda ws: reporting_handler(ws, log), compression=None) as server:
            client = await RawClient.open(server.port)
            client.send_frame(TEXT, b"good ", False)
            client.send_frame(CONT, b"also good ", False)
            client.send_frame(CONT, b"bad \xff", True)
            assert await client.close_code() == 1007
            await client.aclose()
            await asyncio.sleep(0)
        assert log[:2] == ["good ", "also good "]
        assert isinstance(log[-1], ConnectionClosedError) and log[-1].code == 1007

    run(main())


def test_message_over_the_limit_closes_1009():
    async def main():
        log = []
        async with serve(lambda ws: reporting_handler(ws, log), compression=None, max_size=1000) as server:
            client = await RawClient.open(server.port)
            client.send_frame(BINARY, b"x" * 600, False)
            client.send_frame(CONT, b"y" * 600, True)
            assert await client.close_code() == 1009
            await client.aclose()
        assert log[0] == b"x" * 600
        assert isinstance(log[-1], ConnectionClosedError) and log[-1].code == 1009

    run(main())


def deflate_parts(data: bytes, cuts: int):
    """A permessage-deflate payload (RFC 7692 7.2.1) cut into ``cuts`` frames."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert payload.endswith(b"\x00\x00\xff\xff")
    payload = payload[:-4]
    step = -(-len(payload) // cuts)
    return [payload[i : i + step] for i in range(0, len(payload), step)]


def test_deflate_fragments_are_inflated_frame_by_frame():
    text = ("streaming é€ " * 2000).encode()

    async def main():
        log = []
        async with serve(lambda ws: reporting_handler(ws, log)) as server:
            client = await RawClient.open(server.port, deflate=True)
            pieces = deflate_parts(text, 5)
            for index, (opcode, payload, fin) in enumerate(frames_of(pieces, TEXT)):
                client.send_frame(opcode, payload, fin, rsv1=index == 0)
            summary = await client.next_text()
            parts = ast.literal_eval(summary)
            assert "".join(parts) == text.decode()
            assert len(parts) == len(pieces) and len(parts[0]) < len(text)
            # The stream carries on into the next message (context takeover).
            for index, (opcode, payload, fin) in enumerate(frames_of(deflate_parts(b"\x00" * 5000, 3), BINARY)):
                client.send_frame(opcode, payload, fin, rsv1=index == 0)
            assert b"".join(ast.literal_eval(await client.next_text())) == b"\x00" * 5000
            await client.aclose()

    run(main())


def test_deflate_fragments_over_the_limit_close_1009():
    async def main():
        log = []
        async with serve(lambda ws: reporting_handler(ws, log), max_size=10_000) as server:
            client = await RawClient.open(server.port, deflate=True)
            pieces = deflate_parts(b"\x00" * 100_000, 2)  # tiny on the wire, 10x the limit inflated
            for index, (opcode, payload, fin) in enumerate(frames_of(pieces, BINARY)):
                client.send_frame(opcode, payload, fin, rsv1=index == 0)
            assert await client.close_code() == 1009
            await client.aclose()

    run(main())


def test_cancelled_recv_keeps_the_parts_it_took():
    async def handler(ws):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)  # takes the first part, then waits
        parts = [part async for part in ws.recv_streaming()]
        await ws.send(repr(parts))

    async def main():
        async with serve(handler, compression=None) as server:
            client = await RawClient.open(server.port)
            client.send_frame(TEXT, b"first ", False)
            await asyncio.sleep(0.6)
            client.send_frame(CONT, b"second", True)
            assert ast.literal_eval(await client.next_text()) == ["first ", "second"]
            await client.aclose()

    run(main())


def test_leaving_recv_streaming_early_leaves_the_rest_for_the_next_one():
    async def handler(ws):
        async for part in ws.recv_streaming():
            first = part
            break
        with pytest.raises(RuntimeError):
            await ws.recv()
        rest = [part async for part in ws.recv_streaming()]
        await ws.send(repr([first, rest]))

    async def main():
        async with serve(handler, compression=None) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/", compression=None) as ws:
                await ws.send([b"1", b"2", b"3"])
                assert await ws.recv() == repr([b"1", [b"2", b"3"]])

    run(main())


def test_decode_true_decodes_binary_parts_incrementally():
    async def handler(ws):
        parts = [part async for part in ws.recv_streaming(decode=True)]
        await ws.send(repr(parts))

    async def main():
        async with serve(handler, compression=None) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/", compression=None) as ws:
                data = "é€".encode()
                await ws.send([data[:1], data[1:3], data[3:]])
                assert "".join(ast.literal_eval(await ws.recv())) == "é€"

    run(main())


def test_memory_stays_bounded_while_streaming_a_large_message():
    size = 64 * 1024 * 1024
    chunk = 1024 * 1024

    async def handler(ws):
        total = 0
        async for part in ws.recv_streaming():
            total += len(part)
        await ws.send(str(total))

    async def chunks():
        block = b"\x5a" * chunk
        for _ in range(size // chunk):
            yield block

    async def main():
        options = dict(compression=None, max_size=2 * size)
        async with serve(handler, **options) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/", **options) as ws:
                tracemalloc.start()
                try:
                    await ws.send(chunks())
                    assert await ws.recv() == str(size)
                    _, peak = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()
        # Client and server together: the receive budget (4 MiB) and a few
        # fragments in flight, not the message.
        assert peak < size // 4, peak

    run(main(), timeout=120)

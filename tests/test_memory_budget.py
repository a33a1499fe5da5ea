"""The per-connection memory budget, in bytes, against a hostile peer.

``Connection`` stops decoding once ``max_queue_bytes`` of messages wait for
the application; the rest stays raw (as compressed as it came), and
``wsframe.aio`` stops reading. Each test reproduces an attack that used to
grow memory without bound (issue 19, defects 1-3 and 6) and measures the
bound with tracemalloc. Runs on whichever backend is live (the suite runs
once per backend).
"""

from __future__ import annotations

import asyncio
import base64
import os
import tracemalloc
from typing import Any, List, Tuple

import pytest

import wsframe
from wsframe import BinaryMessage, Connection, TextMessage
from wsframe.aio import serve
from wsframe.connection import DEFAULT_MAX_QUEUE_BYTES, MESSAGE_OVERHEAD
from wsframe.deflate import ClientPerMessageDeflate, ServerPerMessageDeflate

from aio_support import run

MiB = 1024 * 1024


def deflate_pair(**server_options: Any) -> Tuple[Connection, Connection]:
    client = Connection("client", host="example.com", extension_factories=[ClientPerMessageDeflate()])
    server = Connection("server", extension_factories=[ServerPerMessageDeflate()], **server_options)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    assert client.extensions and server.extensions
    client.events()
    server.events()
    return client, server


def zeros_wire(client: Connection, count: int, size: int = MiB) -> bytes:
    """``count`` messages of ``size`` zero bytes, compressed (context takeover)."""
    payload = bytes(size)
    chunks = []
    for _ in range(count):
        client.send_binary(payload)
        chunks.append(client.data_to_send())
    return b"".join(chunks)


def test_one_call_no_longer_inflates_everything() -> None:
    """Defect 3: 300 compressed 1 MiB messages in one receive_data() call."""
    client, server = deflate_pair()
    wire = zeros_wire(client, 300)
    assert len(wire) < 400_000  # a few hundred KB on the wire
    tracemalloc.start()
    try:
        server.receive_data(wire)
        first = server.events()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert server.receiving_paused
    assert 1 <= len(first) <= DEFAULT_MAX_QUEUE_BYTES // MiB + 1
    assert peak < DEFAULT_MAX_QUEUE_BYTES + 3 * MiB, peak  # was about 301 MiB
    # Everything still arrives, in order, a budget's worth per events() call.
    received = len(first)
    del first
    while server.receiving_paused:
        batch = server.events()
        assert len(batch) <= DEFAULT_MAX_QUEUE_BYTES // MiB + 1
        assert all(isinstance(e, BinaryMessage) and len(e.data) == MiB for e in batch)
        received += len(batch)
    received += len(server.events())
    assert received == 300


def test_tracked_budget_waits_for_delivery() -> None:
    """With track_delivery the budget spans the host's own queue."""
    client, server = deflate_pair(track_delivery=True, max_queue_bytes=2 * MiB)
    server.receive_data(zeros_wire(client, 10))
    held: List[Any] = [e.data for e in server.events()]
    assert len(held) == 2 and server.receiving_paused
    assert server.events() == []  # nothing delivered: nothing more decoded
    server.delivered(held.pop(0))
    more = server.events()
    assert len(more) == 1  # room for one more message
    for message in held + [e.data for e in more]:
        server.delivered(message)
    total = 3
    while server.receiving_paused or total < 10:
        batch = server.events()
        assert batch, "stalled"
        for event in batch:
            server.delivered(event.data)
        total += len(batch)
    assert total == 10 and not server.receiving_paused


def test_tiny_messages_are_bounded_too() -> None:
    """Defect 2: a 1 MiB read full of 2-byte messages is decoded a budget at a time."""
    server = Connection.opened("server", max_queue_bytes=256 * 1024)
    wire = wsframe.encode_frame(wsframe.Opcode.TEXT, b"hi", mask=b"abcd") * (MiB // 8)
    server.receive_data(wire)
    batch = server.events()
    per_message = 2 + MESSAGE_OVERHEAD
    # The budget is checked per 64 KiB slice: at most one slice of messages over it.
    assert len(batch) * per_message <= 256 * 1024 + (64 * 1024 // 8) * per_message
    assert server.receiving_paused
    total = len(batch)
    while server.receiving_paused:
        total += len(server.events())
    total += len(server.events())
    assert total == MiB // 8


def test_a_close_frame_behind_the_budget_waits_its_turn() -> None:
    client, server = deflate_pair()
    wire = zeros_wire(client, 12)
    client.close(1000, "bye")
    server.receive_data(wire + client.data_to_send())
    kinds: List[str] = []
    while True:
        batch = server.events()
        if not batch:
            break
        kinds += [type(event).__name__ for event in batch]
    assert kinds.count("BinaryMessage") == 12
    assert kinds[12:] == ["CloseReceived", "Closed"]


def test_protocol_error_behind_the_budget_comes_after_the_messages() -> None:
    client, server = deflate_pair()
    wire = zeros_wire(client, 8) + b"\x83\x80abcd"  # then a reserved opcode: 1002
    server.receive_data(wire)
    events: List[Any] = []
    while True:
        batch = server.events()
        if not batch:
            break
        events += batch
    assert sum(isinstance(e, BinaryMessage) for e in events) == 8
    assert server.close_code == 1002


def test_eof_behind_the_budget_comes_after_the_messages() -> None:
    client, server = deflate_pair()
    server.receive_data(zeros_wire(client, 8))
    server.receive_eof()
    names: List[str] = []
    while True:
        batch = server.events()
        if not batch:
            break
        names += [type(e).__name__ for e in batch]
    assert names.count("BinaryMessage") == 8 and names[-1] == "Closed"
    assert server.close_code == 1006


def test_budget_option_is_checked() -> None:
    with pytest.raises(ValueError):
        Connection("server", max_queue_bytes=0)
    with pytest.raises(TypeError):
        Connection("server", max_queue_bytes=1.5)  # type: ignore[arg-type]


# ---- over the network: wsframe.aio -----------------------------------------------------


def upgrade_request() -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    ).encode()


async def deflate_attacker(port: int, wire: List[bytes]) -> asyncio.StreamWriter:
    """Attack 1: two ordinary ~1 MiB messages, then many compressed 1 MiB
    messages of zeros (about 1 KiB each on the wire), never reading. The
    wire bytes are made once (``wire``) and replayed: every server
    connection inflates them from a fresh context, as it would its own."""
    client = Connection("client", host="127.0.0.1", extension_factories=[ClientPerMessageDeflate()])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(client.data_to_send())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    client.receive_data(head)
    assert client.extensions, head
    if not wire:
        client.send_binary(os.urandom(MiB - 100))
        client.send_binary(os.urandom(MiB - 100))
        wire.append(client.data_to_send() + zeros_wire(client, 300))
    writer.write(wire[0])
    return writer


def test_compressed_queue_bomb_against_a_non_reading_handler() -> None:
    """Defect 1: ten connections, each 2 MiB of real data then 300 compressed
    1 MiB messages, against a handler that never reads. Before the budget one
    connection held about +478 MiB (900 such messages); now each stays within
    the documented bound."""
    connections = 10

    async def main() -> Tuple[int, int]:
        stop = asyncio.Event()

        async def never_reads(ws: Any) -> None:
            await stop.wait()

        async with serve(never_reads, max_size=2 * MiB, ping_interval=None) as server:
            wire: List[bytes] = []
            await deflate_attacker(server.port, wire)  # makes the wire bytes (outside the measure)
            tracemalloc.start()
            try:
                base = tracemalloc.get_traced_memory()[0]
                attackers = [await deflate_attacker(server.port, wire) for _ in range(connections)]
                for _ in range(20):
                    await asyncio.sleep(0.1)
                now, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            stop.set()
            for writer in attackers:
                writer.close()
        return now - base, peak - base

    held, peak = run(main(), timeout=120)
    print(f"held {held / MiB:.1f} MiB, peak {peak / MiB:.1f} MiB for {connections} connections")
    # The bound per connection (docs/hardening.md): the budget plus one
    # message over it, the 1 MiB read buffer and its raw backlog, zlib state.
    bound = DEFAULT_MAX_QUEUE_BYTES + 2 * MiB + 2 * MiB + MiB
    assert held < connections * bound, (held, connections * bound)
    assert peak < connections * bound + 8 * MiB, peak


def test_read_buffer_shrinks_when_idle_without_keepalive() -> None:
    """Defect 6: one big message grows the read buffer to 1 MiB; it goes back
    to its initial size within two idle seconds even with ping_interval=None."""
    sizes: List[int] = []

    async def main() -> None:
        async def handler(ws: Any) -> None:
            await ws.recv()
            sizes.append(len(ws._buffer))
            await asyncio.sleep(2.8)  # two idle checks (IDLE_SHRINK_DELAY) and some slack
            sizes.append(len(ws._buffer))

        async with serve(handler, max_size=4 * MiB, ping_interval=None, compression=None) as server:
            async with wsframe.aio.connect(f"ws://127.0.0.1:{server.port}/", max_size=4 * MiB) as ws:
                await ws.send(os.urandom(3 * MiB))
                await asyncio.sleep(3.5)

    run(main())
    assert sizes[0] > 64 * 1024, sizes
    assert sizes[1] == 4 * 1024, sizes


def test_text_messages_count_what_they_hold() -> None:
    server = Connection.opened("server", max_queue_bytes=10_000)
    text = "é" * 1000
    server.receive_data(wsframe.encode_frame(wsframe.Opcode.TEXT, text.encode(), mask=True) * 30)
    batch = server.events()
    assert all(isinstance(e, TextMessage) for e in batch) and len(batch) == 30  # one slice: decoded already
    assert server.queued_bytes == 0  # handed over: the untracked budget is free again


def test_message_limit_bounds_the_work_for_a_handler_that_does_not_read() -> None:
    """aio passes max_queue as max_queue_messages: a read full of tiny
    messages costs max_queue decodes, the rest waits as raw input."""
    server = Connection.opened("server", max_queue_messages=16, track_delivery=True)
    wire = wsframe.encode_frame(wsframe.Opcode.TEXT, b"hi", mask=b"abcd") * (MiB // 8)
    server.receive_data(wire)
    batch = server.events()
    assert len(batch) == 16 and server.receiving_paused
    assert server.events() == []  # nothing delivered, nothing more decoded
    for event in batch[:4]:
        server.delivered(event.data)
    assert len(server.events()) == 4


def test_pings_behind_the_message_limit_are_still_answered() -> None:
    server = Connection.opened("server", max_queue_messages=2, track_delivery=True)
    ping = wsframe.encode_frame(wsframe.Opcode.PING, b"p", mask=True)
    text = wsframe.encode_frame(wsframe.Opcode.TEXT, b"t", mask=True)
    server.receive_data(text + ping * 5)
    names = [type(e).__name__ for e in server.events()]
    assert names == ["TextMessage"] + ["Ping"] * 5
    assert server.data_to_send().count(b"\x8a\x01p") == 5


@pytest.mark.parametrize("bare", [False, True])
def test_both_limits_in_one_read_keep_the_order(bare: bool) -> None:
    """The message limit holds back the end of a read, then the byte budget
    stops the general path (a control frame first) earlier in it: what the
    budget held goes before what the limit held, so messages keep their order."""
    server = Connection.opened("server", max_queue_messages=3, max_queue_bytes=1, bare_messages=bare)
    ping = wsframe.encode_frame(wsframe.Opcode.PING, b"", mask=True)
    data = b"".join(wsframe.encode_frame(wsframe.Opcode.BINARY, b"%d" % i, mask=True) for i in range(1, 6))
    server.receive_data(ping + data)
    got: List[Any] = []
    for _ in range(20):
        events = server.events()
        if not events:
            break
        got += [e if type(e) is bytes else getattr(e, "data", None) for e in events]
    assert [g for g in got if g] == [b"1", b"2", b"3", b"4", b"5"]

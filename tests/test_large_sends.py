"""Large sends without a payload copy (``LARGE_PAYLOAD``, ``data_to_send_buffers``).

The bytes on the wire must be exactly those of the copying path (one frame
object per message), on both sides, with and without permessage-deflate;
and the caller's ``bytes`` must reach the transport as the same object.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Callable, List, Tuple

import pytest

import wsframe
import wsframe.connection as connection_module
from wsframe import Connection, Opcode
from wsframe.aio import Listener, connect, serve, serve_listener
from wsframe.aio.options import Options
from wsframe.events import BinaryMessage, HandshakeAccepted, TextMessage

from aio_support import echo, run

LARGE = connection_module.LARGE_PAYLOAD
SIZES = [0, 125, LARGE - 1, LARGE, 200_000, 700_000]
BIG = 600_000  # above SEPARATE_WRITE_MIN: separate writes even without a vectored writelines


def pair(deflate: bool) -> Tuple[Connection, Connection]:
    """A client and a server, OPEN in memory, with or without permessage-deflate."""
    options = Options(compression="deflate" if deflate else None, max_size=1 << 22)
    common = {"max_message_size": 1 << 22, "max_frame_size": 1 << 22}
    client = Connection("client", host="example.com", extension_factories=options.client_extensions(), **common)
    server = Connection("server", extension_factories=options.server_extensions(), **common)
    server.receive_data(client.data_to_send())
    assert isinstance(server.events()[0], HandshakeAccepted)
    client.receive_data(server.data_to_send())
    assert isinstance(client.events()[0], HandshakeAccepted)
    assert bool(server.extensions) is deflate
    return client, server


def messages() -> List[Any]:
    rng = os.urandom
    out: List[Any] = []
    for size in SIZES:
        out.append(rng(size))
        out.append("é" * (size // 2))
        out.append(b"a" * size)  # compresses well
    return out


def send_all(conn: Connection, items: List[Any]) -> List[bytes]:
    """Send each message and take its output with data_to_send_buffers()."""
    wire = []
    for item in items:
        if isinstance(item, str):
            conn.send_text(item)
        else:
            conn.send_binary(item)
        wire.append(b"".join(conn.data_to_send_buffers()))
    return wire


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
def test_server_bytes_identical_with_and_without_the_no_copy_path(
    deflate: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = messages()
    _, server = pair(deflate)
    with_split = send_all(server, items)
    monkeypatch.setattr(connection_module, "LARGE_PAYLOAD", 1 << 62)  # never split
    _, server = pair(deflate)
    without = send_all(server, items)
    assert with_split == without
    if not deflate:
        for item, wire in zip(items, with_split):
            data = item.encode() if isinstance(item, str) else item
            opcode = Opcode.TEXT if isinstance(item, str) else Opcode.BINARY
            assert wire == wsframe.encode_frame(opcode, data)


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
def test_client_frames_are_masked_in_one_buffer_and_arrive_whole(deflate: bool) -> None:
    items = messages()
    client, server = pair(deflate)
    for item in items:
        if isinstance(item, str):
            client.send_text(item)
        else:
            client.send_binary(item)
        buffers = client.data_to_send_buffers()
        assert len(buffers) == 1  # header and masked payload in one buffer, masked once
        server.receive_data(buffers[0])
        (event,) = server.events()
        assert type(event) is (TextMessage if isinstance(item, str) else BinaryMessage)
        assert event.data == item
        server.delivered(event.data)


def test_the_caller_s_bytes_are_queued_as_they_are() -> None:
    _, server = pair(False)
    payload = os.urandom(LARGE)
    server.send_text("small first")
    server.send_binary(payload)
    server.send_text("small after")
    buffers = server.data_to_send_buffers()
    assert len(buffers) == 3 and buffers[1] is payload
    assert buffers[0] == wsframe.encode_frame(Opcode.TEXT, b"small first") + wsframe.encode_frame_header(
        Opcode.BINARY, LARGE
    )
    # A mutable buffer is copied (the caller may change it after send).
    data = bytearray(payload)
    server.send_binary(data)
    (frame,) = server.data_to_send_buffers()
    data[0] ^= 1
    assert frame == wsframe.encode_frame(Opcode.BINARY, payload)
    # data_to_send() still joins everything into one bytes.
    server.send_binary(payload)
    assert server.data_to_send() == wsframe.encode_frame(Opcode.BINARY, payload)


# ---- over real sockets ---------------------------------------------------------------


class Recording:
    """Wraps a transport, keeping every object handed to write/writelines."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self.written: List[Any] = []

    def write(self, data: Any) -> None:
        self.written.append(data)
        self._transport.write(data)

    def writelines(self, data: Any) -> None:
        data = list(data)
        self.written.extend(data)
        self._transport.writelines(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


PAYLOAD = os.urandom(BIG)


class SendOnOpen(Listener):
    recorders: List[Recording] = []

    def on_open(self, ws: Any) -> None:
        recording = Recording(ws._transport)
        ws._transport = recording
        self.recorders.append(recording)
        ws.send(PAYLOAD)


async def coroutine_sender(ws: Any) -> None:
    recording = Recording(ws._transport)
    ws._transport = recording
    SendOnOpen.recorders.append(recording)
    await ws.send(PAYLOAD)
    await ws.recv()  # until the client closes


def serve_kind(kind: str) -> Any:
    if kind == "listener":
        return serve_listener(SendOnOpen, "127.0.0.1", 0, compression=None)
    return serve(coroutine_sender, "127.0.0.1", 0, compression=None)


def _loops() -> List[Any]:
    params: List[Any] = [pytest.param(asyncio.new_event_loop, id="asyncio")]
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return params
    return params + [pytest.param(uvloop.new_event_loop, id="uvloop")]


@pytest.mark.parametrize("loop_factory", _loops())
@pytest.mark.parametrize("kind", ["listener", "coroutine"])
def test_wire_bytes_and_no_copy_over_a_socket(kind: str, loop_factory: Callable[[], Any]) -> None:
    """A raw client reads exactly encode_frame(BINARY, payload) after the
    101, and the transport was handed the caller's payload object itself."""
    SendOnOpen.recorders.clear()

    async def main() -> None:
        async with serve_kind(kind) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(
                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            expected = wsframe.encode_frame(Opcode.BINARY, PAYLOAD)
            received = await asyncio.wait_for(reader.readexactly(len(expected)), 10)
            assert received == expected
            writer.write(wsframe.encode_frame(Opcode.CLOSE, b"\x03\xe8", mask=True))
            await asyncio.wait_for(reader.read(), 10)
            writer.close()

    run(main(), loop_factory=loop_factory)
    (recording,) = SendOnOpen.recorders
    assert any(chunk is PAYLOAD for chunk in recording.written)


@pytest.mark.parametrize("deflate", [None, "deflate"])
def test_client_and_server_large_messages_round_trip(deflate: Any) -> None:
    """connect() to serve(): large text and binary both ways, masked client
    frames, with and without permessage-deflate."""

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, compression=deflate, max_size=1 << 22) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/", compression=deflate, max_size=1 << 22) as ws:
                for message in [os.urandom(BIG), "x" * BIG, b"b" * LARGE]:
                    await ws.send(message)
                    assert await ws.recv() == message

    run(main())


class FakeTransport:
    def __init__(self) -> None:
        self.calls: List[Tuple[str, Any]] = []

    def write(self, data: Any) -> None:
        self.calls.append(("write", data))

    def writelines(self, data: Any) -> None:
        self.calls.append(("writelines", list(data)))


def test_write_buffers_picks_writelines_separate_writes_or_one_join(monkeypatch: pytest.MonkeyPatch) -> None:
    from wsframe.aio import output

    header, small, big = b"\x82\x7f" + bytes(8), os.urandom(LARGE), os.urandom(output.SEPARATE_WRITE_MIN)
    transport = FakeTransport()
    output.write_buffers(transport, [header, small])  # type: ignore[arg-type]
    output.write_buffers(transport, [header, big])  # type: ignore[arg-type]
    output.write_buffers(transport, [])  # type: ignore[arg-type]
    assert transport.calls[0] == ("write", header + small)  # a join is cheaper than a second send()
    assert transport.calls[1][1] is header and transport.calls[2][1] is big
    assert len(transport.calls) == 3
    transport.calls.clear()
    output.write_buffers(transport, [header, small, header, small, header, big, b"tail"])  # type: ignore[arg-type]
    assert transport.calls == [("write", header + small + header + small + header), ("write", big), ("write", b"tail")]
    assert transport.calls[1][1] is big
    monkeypatch.setitem(output._VECTORED, FakeTransport, True)  # as uvloop's, or asyncio's from 3.12
    vectored = FakeTransport()
    output.write_buffers(vectored, [header, small])  # type: ignore[arg-type]
    assert vectored.calls == [("writelines", [header, small])] and vectored.calls[0][1][1] is small

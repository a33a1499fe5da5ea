"""The chat demo with Python clients: the page, rooms, fan-out, join/leave
notices, history, bad input, reconnecting after a server restart, the CLI."""

from __future__ import annotations

import asyncio
import json

import pytest
from aio_support import cli_server, run

from wsframe import handshake
from wsframe.aio import ConnectionClosed, ConnectionClosedOK, connect
from wsframe.chat import ChatServer


async def http_get(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    return data


async def next_event(ws, kind=None):
    """The next JSON event (of type ``kind`` if given, skipping others)."""
    while True:
        event = json.loads(await ws.recv())
        if kind is None or event["type"] == kind:
            return event


async def join(port: int, room: str, name: str):
    ws = await connect(f"ws://127.0.0.1:{port}/ws")
    await ws.send(json.dumps({"type": "join", "room": room, "name": name}))
    joined = await next_event(ws)
    assert joined["type"] == "joined" and joined["room"] == room and joined["name"] == name
    return ws, joined


def test_page_is_served():
    async def main():
        async with ChatServer().serve(port=0) as server:
            page = await http_get(server.port, "/")
            assert page.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b"text/html" in page
            assert b"new WebSocket(" in page
            assert (await http_get(server.port, "/index.html?x=1")).startswith(b"HTTP/1.1 200")
            assert (await http_get(server.port, "/nope")).startswith(b"HTTP/1.1 404")

    run(main())


def test_rooms_fan_out_and_notices():
    async def main():
        async with ChatServer().serve(port=0) as server:
            port = server.port
            alice, joined = await join(port, "lobby", "alice")
            assert joined["members"] == ["alice"] and joined["history"] == []
            bob, joined = await join(port, "lobby", "bob")
            assert joined["members"] == ["alice", "bob"]
            carol, _ = await join(port, "elsewhere", "carol")

            notice = await next_event(alice)
            assert notice == {"type": "join", "room": "lobby", "name": "bob", "members": ["alice", "bob"]}

            await bob.send(json.dumps({"type": "message", "text": "hi all ✓"}))
            for ws in (alice, bob):
                event = await next_event(ws, "message")
                assert (event["room"], event["name"], event["text"]) == ("lobby", "bob", "hi all ✓")

            await carol.send(json.dumps({"type": "message", "text": "only here"}))
            assert (await next_event(carol, "message"))["text"] == "only here"

            await bob.close()
            leave = await next_event(alice)
            assert leave == {"type": "leave", "room": "lobby", "name": "bob", "members": ["alice"]}

            # Nothing from the other room reached alice.
            await alice.send(json.dumps({"type": "message", "text": "still here"}))
            assert (await next_event(alice))["text"] == "still here"
            await alice.close()
            await carol.close()

    run(main())


def test_history_and_room_switch():
    async def main():
        async with ChatServer().serve(port=0) as server:
            alice, _ = await join(server.port, "a", "alice")
            for i in range(3):
                await alice.send(json.dumps({"type": "message", "text": f"m{i}"}))
                await next_event(alice, "message")
            bob, joined = await join(server.port, "a", "bob")
            assert [m["text"] for m in joined["history"]] == ["m0", "m1", "m2"]
            await next_event(alice, "join")
            # Bob moves to room b: alice sees him leave.
            await bob.send(json.dumps({"type": "join", "room": "b", "name": "bob"}))
            assert (await next_event(bob))["type"] == "joined"
            assert (await next_event(alice))["type"] == "leave"
            await alice.close()
            await bob.close()

    run(main())


def test_bad_requests_get_errors():
    async def main():
        async with ChatServer().serve(port=0) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
                for bad in (
                    "not json",
                    "[1, 2]",
                    json.dumps({"type": "message", "text": "early"}),
                    json.dumps({"type": "join", "room": "", "name": "x"}),
                    json.dumps({"type": "join", "room": "r", "name": "n" * 33}),
                    json.dumps({"type": "dance"}),
                ):
                    await ws.send(bad)
                    assert (await next_event(ws))["type"] == "error"
                await ws.send(b"binary")
                assert (await next_event(ws))["type"] == "error"
                await ws.send(json.dumps({"type": "join", "room": "r", "name": "n"}))
                assert (await next_event(ws))["type"] == "joined"
                await ws.send(json.dumps({"type": "message", "text": "x" * 2001}))
                assert (await next_event(ws))["type"] == "error"
                # A frame over the demo's 16 KiB limit closes with 1009.
                await ws.send("y" * 20000)
                with pytest.raises(ConnectionClosed) as info:
                    await ws.recv()
                assert info.value.code == 1009

    run(main())


def test_reconnect_after_server_restart():
    async def reconnect(port: int, room: str, name: str, attempts: int = 200):
        for _ in range(attempts):
            try:
                return await join(port, room, name)
            except (OSError, ConnectionClosed):
                await asyncio.sleep(0.02)
        raise AssertionError("could not reconnect")

    async def main():
        first = await ChatServer().serve(port=0)
        port = first.port
        alice, _ = await join(port, "lobby", "alice")
        first.close()
        await first.wait_closed()
        with pytest.raises(ConnectionClosedOK):
            await alice.recv()
        assert alice.close_code == 1001  # going away

        async with ChatServer().serve(port=port) as second:
            alice, _ = await reconnect(second.port, "lobby", "alice")
            bob, _ = await reconnect(second.port, "lobby", "bob")
            await bob.send(json.dumps({"type": "message", "text": "welcome back"}))
            assert (await next_event(alice, "message"))["text"] == "welcome back"
            await alice.close()
            await bob.close()

    run(main())


def test_chat_command_line():
    with cli_server("chat", "http://127.0.0.1:") as port:

        async def main():
            assert (await http_get(port, "/")).startswith(b"HTTP/1.1 200")
            ws, _ = await join(port, "cli", "tester")
            await ws.close()

        run(main())


def test_cross_origin_browsers_are_refused():
    async def main():
        async with ChatServer().serve(port=0) as server:
            port = server.port
            with pytest.raises(handshake.InvalidHandshake):
                await connect(f"ws://127.0.0.1:{port}/ws", origin="https://evil.example")
            ws, _ = await join_with_origin(port, f"http://127.0.0.1:{port}")
            await ws.close()

    async def join_with_origin(port, origin):
        ws = await connect(f"ws://127.0.0.1:{port}/ws", origin=origin)
        await ws.send(json.dumps({"type": "join", "room": "o", "name": "same-origin"}))
        assert (await next_event(ws))["type"] == "joined"
        return ws, None

    run(main())

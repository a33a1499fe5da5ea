"""The chat demo with Python clients: the page, rooms, fan-out, join/leave
notices, history, bad input, reconnecting after a server restart, the CLI,
and the bounds: rooms, history, empty-room expiry (memory comes back), the
per-connection rate limit."""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc

import pytest
from aio_support import cli_server, run

from wsframe import handshake
from wsframe.aio import ConnectionClosed, ConnectionClosedOK, connect
from wsframe.chat import ChatServer
from wsframe.chat.server import TokenBucket


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


async def history_seen(port: int, room: str) -> list:
    """The texts of the history someone joining ``room`` now gets (they leave again)."""
    ws, joined = await join(port, room, "newcomer")
    await ws.close()
    return [m["text"] for m in joined["history"]]


async def say(ws, *texts: str) -> None:
    """Send messages and wait until each comes back (so the server has them)."""
    for text in texts:
        await ws.send(json.dumps({"type": "message", "text": text}))
    for _ in texts:
        await asyncio.wait_for(next_event(ws, "message"), 10)


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


# ---- bounds ------------------------------------------------------------------------------------


def test_room_cap_drops_empty_rooms_then_refuses_new_ones():
    async def main():
        async with ChatServer(max_rooms=2).serve(port=0) as server:
            port = server.port
            alice, _ = await join(port, "one", "alice")
            bob, _ = await join(port, "two", "bob")
            await say(bob, "kept until someone needs the room")
            await bob.close()
            # "two" is empty (with history): a new room takes its place.
            carol, joined = await join(port, "three", "carol")
            assert joined["history"] == []
            # Both rooms have people now: a third one is refused, the connection stays usable.
            await carol.send(json.dumps({"type": "join", "room": "four", "name": "carol"}))
            error = await asyncio.wait_for(next_event(carol), 10)
            assert error["type"] == "error" and "2 rooms" in error["message"]
            await say(carol, "still in three")
            await carol.send(json.dumps({"type": "join", "room": "one", "name": "carol"}))
            assert (await asyncio.wait_for(next_event(carol, "joined"), 10))["members"] == ["alice", "carol"]
            dave, joined = await join(port, "two", "dave")  # "three" is empty now: it makes way
            assert joined["history"] == []
            for ws in (alice, carol, dave):
                await ws.close()

    run(main())


def test_history_cap():
    async def main():
        async with ChatServer(history=5).serve(port=0) as server:
            alice, _ = await join(server.port, "h", "alice")
            await say(alice, *(f"m{i}" for i in range(8)))
            assert await history_seen(server.port, "h") == ["m3", "m4", "m5", "m6", "m7"]
            await alice.close()

    run(main())


def test_empty_room_history_expires():
    async def main():
        chat = ChatServer(empty_ttl=1.0)
        async with chat.serve(port=0) as server:
            alice, _ = await join(server.port, "e", "alice")
            await say(alice, "before")
            await alice.close()
            assert await history_seen(server.port, "e") == ["before"]  # back within the delay: kept
            for _ in range(50):  # the delay starts again when the newcomer leaves
                if "e" not in chat.rooms:
                    break
                await asyncio.sleep(0.1)
            assert await history_seen(server.port, "e") == []

    run(main())


def test_memory_of_empty_rooms_comes_back():
    """3,000 rooms x 10 messages of 2,000 characters, all left: +69 MiB held
    forever before the bound; after the expiry delay it is all given back."""

    rooms, per_room, text = 3000, 10, "x" * 1990

    async def main():
        chat = ChatServer(max_rooms=rooms + 1, empty_ttl=1.0, rate=None)
        async with chat.serve(port=0) as server:
            ws, _ = await join(server.port, "start", "filler")
            gc.collect()
            tracemalloc.start()
            try:
                for r in range(rooms):
                    await ws.send(json.dumps({"type": "join", "room": f"room{r}", "name": "filler"}))
                    for i in range(per_room):
                        await ws.send(json.dumps({"type": "message", "text": f"{text}{i:010d}"}))
                    for _ in range(per_room + 1):
                        await asyncio.wait_for(ws.recv(), 10)
                await ws.send(json.dumps({"type": "join", "room": "start", "name": "filler"}))
                await asyncio.wait_for(next_event(ws, "joined"), 10)
                held, _ = tracemalloc.get_traced_memory()
                for _ in range(100):  # the last room expires 1 s after the filler left it
                    if len(chat.rooms) == 1:
                        break
                    await asyncio.sleep(0.1)
                gc.collect()
                after, _ = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert list(chat.rooms) == ["start"]
            # Before the bound this stayed at about 69 MiB (2.4 KiB per message).
            assert after < 1 << 20, f"{after / 2**20:.1f} MiB still held (was {held / 2**20:.1f} MiB at the end of the fill)"
            await ws.close()

    run(main(), timeout=180)


def test_token_bucket_refills_at_its_rate_up_to_the_burst():
    bucket = TokenBucket(rate=16, burst=3, now=100.0)  # times in 1/32 s: exact in binary
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(100.03125) is False  # half a token back
    assert bucket.take(100.0625) is True
    assert [bucket.take(200.0) for _ in range(4)] == [True, True, True, False]  # a long pause saves 3 at most


def test_flooding_connection_is_closed_1008_others_go_on():
    async def main():
        async with ChatServer(rate=5, burst=10).serve(port=0) as server:
            port = server.port
            alice, _ = await join(port, "r", "alice")
            bob, _ = await join(port, "r", "bob")
            mallory, _ = await join(port, "r", "mallory")
            try:
                for i in range(60):
                    await mallory.send(json.dumps({"type": "message", "text": f"flood {i}"}))
            except ConnectionClosed:
                pass

            async def closed_code(ws):
                with pytest.raises(ConnectionClosed):
                    while True:
                        await ws.recv()
                return ws.close_code, ws.close_reason

            code, reason = await asyncio.wait_for(closed_code(mallory), 10)
            assert code == 1008 and "per second" in reason
            await alice.send(json.dumps({"type": "message", "text": "still here"}))

            async def text_from(ws, name):
                while True:
                    event = await next_event(ws, "message")
                    if event["name"] == name:
                        return event["text"]

            assert await asyncio.wait_for(text_from(bob, "alice"), 10) == "still here"
            assert await asyncio.wait_for(text_from(alice, "alice"), 10) == "still here"
            assert alice.open and bob.open
            await alice.close()
            await bob.close()

    run(main())

"""The chat's seeds features on the in-memory hub (one process, no Redis):
every message has an id, a client that reconnects with its last id gets
what it missed in order and once, an older gap is reported, names are
unique per room, direct messages, ``POST /push`` with its token, the
``members`` request, big rooms without notices, and SIGTERM closing every
connection with 1001."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from typing import Any, Tuple

import pytest
from aio_support import IMPORT_ROOT, run
from chat_support import close_code, join, next_event

from wsframe.aio import connect
from wsframe.chat import ChatServer
from wsframe.chat import server as chat_server
from wsframe.hub import MemoryHub






async def say(ws: Any, *texts: str) -> list:
    for text in texts:
        await ws.send(json.dumps({"type": "message", "text": text}))
    return [await next_event(ws, "message") for _ in texts]


async def post(port: int, path: str, body: bytes, headers: str = "") -> Tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode())
    await writer.drain()
    await asyncio.sleep(0.05)  # the body in a later segment: the server waits for it
    writer.write(body)
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return int(data.split(b" ", 2)[1]), data.split(b"\r\n\r\n", 1)[1]


def test_reconnect_with_last_id_gets_what_was_missed_once_in_order():
    async def main():
        async with ChatServer().serve(port=0) as server:
            port = server.port
            alice, _ = await join(port, "r", "alice")
            bob, _ = await join(port, "r", "bob", client="bobs-tab")
            seen = await say(alice, "m0", "m1")
            assert [m["text"] for m in seen] == ["m0", "m1"] and seen[0]["id"] < seen[1]["id"]
            bob_seen = [await next_event(bob, "message") for _ in range(2)]
            assert [m["id"] for m in bob_seen] == [m["id"] for m in seen]
            await bob.close()
            await say(alice, "m2", "m3", "m4")
            bob, joined = await join(port, "r", "bob", client="bobs-tab", after=seen[1]["id"])
            assert [m["text"] for m in joined["history"]] == ["m2", "m3", "m4"]
            assert "gap" not in joined
            await say(alice, "m5")
            assert (await next_event(bob, "message"))["text"] == "m5"
            await alice.close()
            await bob.close()

    run(main())


def test_an_older_gap_is_reported():
    async def main():
        async with ChatServer(history=3, rate=None).serve(port=0) as server:
            alice, _ = await join(server.port, "g", "alice")
            first = (await say(alice, "old"))[0]["id"]
            await say(alice, *(f"n{i}" for i in range(5)))
            late, joined = await join(server.port, "g", "late", after=first)
            assert joined["gap"]["room"] == "g" and joined["gap"]["after"] == first
            assert [m["text"] for m in joined["history"]] == ["n2", "n3", "n4"]
            await alice.close()
            await late.close()

    run(main())


def test_names_are_unique_per_room_and_a_client_takes_its_name_back():
    async def main():
        async with ChatServer().serve(port=0) as server:
            alice, _ = await join(server.port, "u", "alice", client="tab-1")
            other = await connect(f"ws://127.0.0.1:{server.port}/ws")
            await other.send(json.dumps({"type": "join", "room": "u", "name": "alice", "client": "tab-2"}))
            assert "taken" in (await next_event(other, "error"))["message"]
            again, _ = await join(server.port, "u", "alice", client="tab-1")  # the same tab reconnecting
            elsewhere, _ = await join(server.port, "v", "alice", client="tab-2")  # another room: fine
            for ws in (alice, other, again, elsewhere):
                await ws.close()

    run(main())


def test_direct_messages_and_push_with_a_token():
    async def main():
        async with ChatServer(push_token="s3cret").serve(port=0) as server:
            port = server.port
            alice, _ = await join(port, "a", "alice")
            bob, _ = await join(port, "b", "bob")
            await alice.send(json.dumps({"type": "direct", "to": "bob", "text": "hi bob"}))
            for ws in (bob, alice):
                event = await next_event(ws, "direct")
                assert (event["from"], event["to"], event["text"]) == ("alice", "bob", "hi bob") and event["id"]
            await alice.send(json.dumps({"type": "direct", "to": "", "text": "x"}))
            assert (await next_event(alice, "error"))["type"] == "error"

            body = json.dumps({"user": "bob", "text": "deploy done"}).encode()
            status, answer = await post(port, "/push", body, "Authorization: Bearer s3cret\r\n")
            assert status == 202
            notice = await next_event(bob, "notice")
            assert notice["text"] == "deploy done" and notice["id"] == json.loads(answer)["id"]
            assert (await post(port, "/push", body))[0] == 401
            assert (await post(port, "/push", body, "Authorization: Bearer nope\r\n"))[0] == 401
            assert (await post(port, "/push", b"[1]", "Authorization: Bearer s3cret\r\n"))[0] == 400
            assert (await post(port, "/", body))[0] == 405
            await alice.close()
            await bob.close()
        async with ChatServer().serve(port=0) as server:  # no token configured: push is off
            assert (await post(server.port, "/push", b"{}", "Authorization: Bearer x\r\n"))[0] == 403

    run(main())


def test_members_request_and_big_rooms_without_notices(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(chat_server, "NOTICE_MEMBERS", 2)

    async def main():
        async with ChatServer(hub=MemoryHub()).serve(port=0) as server:
            a, _ = await join(server.port, "big", "a")
            b, _ = await join(server.port, "big", "b")
            assert (await next_event(a))["type"] == "join"  # 2 members: notices
            c, _ = await join(server.port, "big", "c")  # 3: none
            await a.send(json.dumps({"type": "members"}))
            assert await next_event(a) == {"type": "members", "room": "big", "members": ["a", "b", "c"]}
            for ws in (a, b, c):
                await ws.close()

    run(main())


def test_sigterm_closes_every_connection_with_1001():
    env = dict(os.environ, PYTHONPATH=IMPORT_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsframe", "chat", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None and proc.stderr is not None
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        line = proc.stdout.readline()
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])

        async def main():
            clients = [(await join(port, "t", f"u{i}"))[0] for i in range(3)]
            proc.send_signal(signal.SIGTERM)
            for ws in clients:
                assert await close_code(ws) == 1001

        run(main())
        assert proc.wait(20) == 0
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def test_workers_need_redis():
    env = dict(os.environ, PYTHONPATH=IMPORT_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-m", "wsframe", "chat", "--workers", "2"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2 and "--redis" in done.stderr

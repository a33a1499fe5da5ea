"""The hubs (wsframe.hub), in memory and on a real redis-server, through the
same tests: live delivery in order to real WebSocket clients, history and
resume after an id, the gap report, presence, and (Redis) an outage:
publishing raises HubUnavailable, local delivery goes on, and live delivery
resumes after redis-server comes back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from typing import Any, AsyncIterator, Callable, List, Optional

import pytest
from aio_support import run
from redis_support import RedisProcess, need_redis, redis_server  # noqa: F401

from wsframe.aio import connect, serve
from wsframe.hub import Hub, HubUnavailable, MemoryHub, hub_from_url, id_key
from wsframe.hub.base import with_id

HubFactory = Callable[..., Hub]


@pytest.fixture(params=["memory", "redis"])
def make_hub(request: Any) -> HubFactory:
    """Makes hubs of one kind; the Redis kind starts a redis-server for the test."""
    if request.param == "memory":
        return lambda **options: MemoryHub(**options)
    need_redis()
    server: RedisProcess = request.getfixturevalue("redis_server")
    request.node.redis = server
    return lambda **options: hub_from_url(server.url, timeout=1.0, backoff=(0.05, 0.5), **options)


class Subscribers:
    """A WebSocket server whose clients say ``{"topic", "after", "recent"}`` and then listen."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def handler(self, ws: Any) -> None:
        request = json.loads(await ws.recv())
        if request.get("flap"):  # the last subscriber here leaves and one comes back at once
            await self.hub.subscribe(request["topic"], ws)
            self.hub.unsubscribe(request["topic"], ws)
        await self.hub.subscribe(request["topic"], ws, after=request.get("after"), recent=request.get("recent", 0))
        await ws.send(json.dumps({"type": "ready"}))
        try:
            async for _ in ws:
                pass
        finally:
            self.hub.unsubscribe(request["topic"], ws)


async def listener(port: int, topic: str, after: Optional[str] = None, recent: int = 0, flap: bool = False) -> Any:
    ws = await connect(f"ws://127.0.0.1:{port}/")
    await ws.send(json.dumps({"topic": topic, "after": after, "recent": recent, "flap": flap}))
    return ws


async def received(ws: Any, count: int) -> List[dict]:
    """The next ``count`` messages (not the "ready" marker)."""
    out: List[dict] = []
    while len(out) < count:
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if event.get("type") != "ready":
            out.append(event)
    return out


async def ready(ws: Any) -> List[dict]:
    """Everything before the "ready" marker (the replay)."""
    out = []
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if event.get("type") == "ready":
            return out
        out.append(event)


@contextlib.asynccontextmanager
async def hosted(hub: Hub) -> AsyncIterator[int]:
    async with hub:
        async with serve(Subscribers(hub).handler, "127.0.0.1", 0) as server:
            yield server.port


def test_ids_compare_and_encode():
    assert id_key("12-3") == (12, 3) and id_key("7") == (7, 0)
    assert id_key("x-1") is None and id_key(None) is None and id_key("1-") is None
    assert id_key("2-0") > id_key("1-99")
    assert json.loads(with_id("1-2", '{"a":1}')) == {"id": "1-2", "a": 1}
    assert json.loads(with_id("1-2", "{}")) == {"id": "1-2"}


def test_importing_wsframe_does_not_import_redis():
    import subprocess

    code = "import sys, wsframe, wsframe.hub, wsframe.chat, wsframe.aio; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_publish_reaches_every_subscriber_in_order(make_hub: HubFactory):
    async def main():
        hub = make_hub()
        async with hosted(hub) as port:
            a = await listener(port, "t")
            b = await listener(port, "t")
            other = await listener(port, "elsewhere")
            for ws in (a, b, other):
                assert await ready(ws) == []
            ids = [await hub.publish("t", {"n": i, "text": "✓"}) for i in range(50)]
            assert [id_key(i) for i in ids] == sorted(id_key(i) for i in ids)
            for ws in (a, b):
                got = await received(ws, 50)
                assert [m["n"] for m in got] == list(range(50))
                assert [m["id"] for m in got] == ids
            await hub.signal("elsewhere", {"type": "notice"})
            assert await received(other, 1) == [{"type": "notice"}]  # only its own topic, no id
            for ws in (a, b, other):
                await ws.close()

    run(main())


def test_leaving_and_coming_back_at_once_keeps_live_delivery(make_hub: HubFactory):
    async def main():
        hub = make_hub()
        async with hosted(hub) as port:
            ws = await listener(port, "flap", flap=True)
            await ready(ws)
            await asyncio.sleep(0.2)  # an UNSUBSCRIBE sent after the SUBSCRIBE would have landed
            await hub.publish("flap", {"n": 1})
            assert [m["n"] for m in await received(ws, 1)] == [1]
            await ws.close()

    run(main())


def test_history_and_resume_after_an_id(make_hub: HubFactory):
    async def main():
        hub = make_hub()
        async with hosted(hub) as port:
            ids = [await hub.publish("room", {"n": i}) for i in range(10)]
            recent = await listener(port, "room", recent=3)
            assert [m["n"] for m in await ready(recent)] == [7, 8, 9]
            back = await listener(port, "room", after=ids[4])
            assert [m["n"] for m in await ready(back)] == [5, 6, 7, 8, 9]
            await hub.publish("room", {"n": 10})
            assert [m["n"] for m in await received(back, 1)] == [10]
            assert [m["n"] for m in await received(recent, 1)] == [10]
            up_to_date = await listener(port, "room", after=ids[-1])
            assert [m["n"] for m in await ready(up_to_date)] == [10]
            for ws in (recent, back, up_to_date):
                await ws.close()

    run(main())


def test_resume_while_publishing_loses_and_repeats_nothing(make_hub: HubFactory):
    async def main():
        hub = make_hub()
        async with hosted(hub) as port:
            first = await hub.publish("busy", {"n": 0})

            async def publisher():
                for i in range(1, 200):
                    await hub.publish("busy", {"n": i})
                    if i % 10 == 0:
                        await asyncio.sleep(0)

            task = asyncio.ensure_future(publisher())
            ws = await listener(port, "busy", after=first)
            await task
            seen = [m["n"] for m in await received(ws, 199)]
            assert seen == list(range(1, 200))
            await ws.close()

    run(main())


def test_gap_is_reported(make_hub: HubFactory):
    async def main():
        hub = make_hub(history=5)
        async with hosted(hub) as port:
            ids = [await hub.publish("g", {"n": i}) for i in range(300)]
            ws = await listener(port, "g", after=ids[10])
            replay = await ready(ws)
            assert replay[0]["type"] == "gap" and replay[0]["after"] == ids[10] and replay[0]["topic"] == "g"
            assert [m["n"] for m in replay[1:]] == [295, 296, 297, 298, 299]
            fine = await listener(port, "g", after=ids[296])
            assert [m["n"] for m in await ready(fine)] == [297, 298, 299]  # no gap
            for w in (ws, fine):
                await w.close()

    run(main())


def test_presence_names_are_unique_per_room(make_hub: HubFactory):
    async def main():
        hub = make_hub()
        async with hub:
            assert await hub.claim("r", "ada", "owner-1")
            assert not await hub.claim("r", "ada", "owner-2")
            assert await hub.claim("r", "ada", "owner-1")  # the same client again
            assert await hub.claim("other", "ada", "owner-2")
            assert await hub.claim("r", "bob", "owner-3")
            assert await hub.members("r") == ["ada", "bob"]
            await hub.release("r", "ada", "owner-2")  # not its name: nothing happens
            assert await hub.members("r") == ["ada", "bob"]
            await hub.release("r", "ada", "owner-1")
            assert await hub.members("r") == ["bob"]
            assert await hub.claim("r", "ada", "owner-2")

    run(main())


def test_presence_of_a_dead_process_expires(make_hub: HubFactory, request: Any):
    if not hasattr(request.node, "redis"):
        pytest.skip("an in-memory hub dies with its process")

    async def main():
        expired: List[Any] = []
        alive = make_hub(presence_ttl=0.6)
        dead = make_hub(presence_ttl=0.6)
        alive.on_expired = lambda room, names: expired.append((room, names))
        async with alive:
            await dead.start()
            assert await dead.claim("r", "ghost", "g")
            assert await alive.claim("r", "me", "m")
            for task in dead._tasks:  # the process "dies": no heartbeat, no release
                task.cancel()
            for _ in range(100):  # expiry 0.6 s, pruned at the next beat (every 0.2 s)
                if expired:
                    break
                await asyncio.sleep(0.1)
            assert await alive.members("r") == ["me"]
            assert expired == [("r", ["ghost"])]
            assert await alive.claim("r", "ghost", "someone-else")
            dead._claims.clear()
            await dead.close()

    run(main())


def test_redis_outage_raises_local_delivery_goes_on_then_resumes(make_hub: HubFactory, request: Any, caplog: Any):
    if not hasattr(request.node, "redis"):
        pytest.skip("an in-memory hub has no outage")
    server: RedisProcess = request.node.redis
    caplog.set_level(logging.WARNING, logger="wsframe.hub")

    async def main():
        hub = make_hub()
        async with hosted(hub) as port:
            ws = await listener(port, "o")
            await ready(ws)
            await hub.publish("o", {"n": 1})
            assert [m["n"] for m in await received(ws, 1)] == [1]

            server.stop()
            with pytest.raises(HubUnavailable) as info:
                await asyncio.wait_for(hub.publish("o", {"n": 2}), 5)  # fails fast, never hangs
            assert info.value.delivered == 1
            local = await received(ws, 1)
            assert local == [{"n": 2}]  # delivered here, without an id
            with pytest.raises(HubUnavailable):
                await hub.members("r")

            server.start()
            for _ in range(200):  # the reader reconnects with backoff (<= 0.5 s here)
                try:
                    await hub.publish("o", {"n": 3})
                    break
                except HubUnavailable:
                    await asyncio.sleep(0.05)
            got = await received(ws, 1)
            assert got[0]["n"] == 3 and "id" in got[0]
            await hub.publish("o", {"n": 4})
            assert [m["n"] for m in await received(ws, 1)] == [4]
            await ws.close()
        logged = [r.getMessage() for r in caplog.records if r.name == "wsframe.hub"]
        assert any("unavailable" in m and "reconnecting" in m for m in logged), logged
        assert any("is back" in m for m in logged), logged

    run(main())

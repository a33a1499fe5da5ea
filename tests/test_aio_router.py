"""``wsframe.aio.route`` over loopback: 404 without a route, path parameters,
the parsed query, the application's own hook behind the router, and
``respond``."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any, List

import pytest
from aio_support import run

from wsframe.aio import Router, connect, respond, route, serve
from wsframe.handshake import InvalidStatus


async def chat(ws: Any) -> None:
    await ws.send(json.dumps({"route": "chat", "params": ws.path_params, "query": ws.query}))


async def admin(ws: Any) -> None:
    await ws.send(json.dumps({"route": "admin", "params": ws.path_params, "query": ws.query}))


async def files(ws: Any) -> None:
    await ws.send(json.dumps({"route": "files", "params": ws.path_params}))


ROUTES = {"/chat": chat, "/admin/{room}": admin, "/rooms/{room}/users/{user}": admin, "/files/{rest:path}": files}


async def ask(port: int, target: str) -> Any:
    async with connect(f"ws://127.0.0.1:{port}{target}") as ws:
        return json.loads(await ws.recv())


def test_parameters_and_query_over_loopback() -> None:
    async def main() -> None:
        router = route(ROUTES)
        async with serve(router, "127.0.0.1", 0, process_request=router.process_request) as server:
            port = server.port
            assert await ask(port, "/chat") == {"route": "chat", "params": {}, "query": {}}
            assert await ask(port, "/chat?tag=a&tag=b&room=x") == {
                "route": "chat",
                "params": {},
                "query": {"tag": ["a", "b"], "room": ["x"]},
            }
            assert (await ask(port, "/admin/lobby"))["params"] == {"room": "lobby"}
            assert (await ask(port, "/admin/caf%C3%A9?q=1"))["params"] == {"room": "café"}
            answer = await ask(port, "/rooms/7/users/ann")
            assert answer["route"] == "admin" and answer["params"] == {"room": "7", "user": "ann"}
            assert (await ask(port, "/files/a/b/c.txt"))["params"] == {"rest": "a/b/c.txt"}

    run(main())


def test_no_route_is_404_before_the_handshake() -> None:
    async def main() -> None:
        router = route(ROUTES)
        async with serve(router, "127.0.0.1", 0, process_request=router.process_request) as server:
            for target in ["/", "/chat/", "/admin", "/admin/a/b", "/nothing?x=1"]:
                with pytest.raises(InvalidStatus) as info:
                    await connect(f"ws://127.0.0.1:{server.port}{target}")
                assert info.value.status == 404, target
            # The body, from a raw client.
            loop = asyncio.get_running_loop()

            def raw() -> bytes:
                with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                    sock.sendall(b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
                    data = b""
                    while True:
                        chunk = sock.recv(4096)
                        if not chunk:
                            return data
                        data += chunk

            data = await loop.run_in_executor(None, raw)
            assert data.startswith(b"HTTP/1.1 404") and data.endswith(b"\r\n\r\nnot found\n")
            assert b"Content-Type: text/plain; charset=utf-8" in data

    run(main())


def test_serve_with_the_router_alone_answers_404_without_a_route() -> None:
    """serve() takes the router's own process_request when none is given."""
    from wsframe.handshake import InvalidStatus

    async def main() -> None:
        async with serve(route(ROUTES), "127.0.0.1", 0) as server:
            assert (await ask(server.port, "/admin/x"))["params"] == {"room": "x"}
            with pytest.raises(InvalidStatus) as info:
                await connect(f"ws://127.0.0.1:{server.port}/missing")
            assert info.value.status == 404

    run(main())


def test_application_hook_runs_before_the_404() -> None:
    seen: List[Any] = []

    async def auth(connection: Any, request: Any) -> Any:
        seen.append(connection.path_params)
        if request.target == "/health":
            return respond(200, "OK\n")
        if "token" not in connection.query:
            return respond(401, "token needed\n", [("WWW-Authenticate", "Token")])
        return None

    async def main() -> None:
        router = route(ROUTES, process_request=auth)
        async with serve(router, "127.0.0.1", 0, process_request=router.process_request) as server:
            with pytest.raises(InvalidStatus) as info:
                await connect(f"ws://127.0.0.1:{server.port}/admin/ops")
            assert info.value.status == 401
            assert (await ask(server.port, "/admin/ops?token=t"))["query"] == {"token": ["t"]}
            with pytest.raises(InvalidStatus) as info:
                await connect(f"ws://127.0.0.1:{server.port}/health")  # a path without a route, answered
            assert info.value.status == 200
            with pytest.raises(InvalidStatus) as info:
                await connect(f"ws://127.0.0.1:{server.port}/unknown?token=t")  # the hook said None: 404
            assert info.value.status == 404
            with pytest.raises(InvalidStatus) as info:
                await connect(f"ws://127.0.0.1:{server.port}/unknown")  # the hook's answer wins
            assert info.value.status == 401
        assert seen == [{"room": "ops"}, {"room": "ops"}, {}, {}, {}]

    run(main())


def test_respond_builds_the_tuple() -> None:
    assert respond(200, "hé") == (200, [("Content-Type", "text/plain; charset=utf-8")], "hé".encode())
    assert respond(200, "x", [("content-type", "text/html")]) == (200, [("content-type", "text/html")], b"x")
    assert respond(302, b"", [("Location", "/chat")]) == (302, [("Location", "/chat")], b"")


def test_bad_patterns_and_matching_order() -> None:
    with pytest.raises(ValueError):
        route({"chat": chat})
    with pytest.raises(ValueError):
        route({"/a/{x}/{x}": chat})
    with pytest.raises(ValueError):
        route({"/a/{x": chat})
    router = Router({"/a/{x}": chat, "/a/b": admin})
    found = router.match("/a/b")
    assert found is not None and found.handler is chat and found.pattern == "/a/{x}"
    found = router.match("ws://example.com/a/b?z=1")  # absolute-form target
    assert found is not None and found.query == {"z": ["1"]}
    assert router.match("/a/b/c") is None

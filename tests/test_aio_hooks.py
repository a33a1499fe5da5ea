"""The handshake hooks of ``wsframe.aio.serve`` and the shared typed options.

``process_request`` and ``process_response`` may be plain functions or
coroutine functions; a hook that raises or returns something else gives a
clean 500 and a log line, never a dead connection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import typing
from typing import Any

import pytest

from wsframe.aio import connect, serve
from wsframe.aio.options import CommonOptions, Options
from wsframe.handshake import InvalidStatus, Response

from aio_support import echo, run


async def round_trip(port: int, text: str = "hi") -> Any:
    async with connect(f"ws://127.0.0.1:{port}/", open_timeout=5) as ws:
        await ws.send(text)
        assert await asyncio.wait_for(ws.recv(), 5) == text
        return ws.response_headers


async def refused(port: int) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as info:
        await connect(f"ws://127.0.0.1:{port}/", open_timeout=5)
    return info.value


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_process_request_answers_with_a_body(kind: str) -> None:
    answer = (418, [("X-Tea", "yes")], b"short and stout")

    def sync_hook(connection: Any, request: Any) -> Any:
        return answer

    async def async_hook(connection: Any, request: Any) -> Any:
        await asyncio.sleep(0)
        return answer

    async def main() -> None:
        hook = sync_hook if kind == "sync" else async_hook
        async with serve(echo, process_request=hook) as server:
            error = await refused(server.port)
        assert error.status == 418
        response = error.http_response
        assert response.headers.get("X-Tea") == "yes"
        assert response.body == b"short and stout"

    run(main())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_process_request_none_goes_on_and_sees_the_request(kind: str) -> None:
    seen = []

    def sync_hook(connection: Any, request: Any) -> None:
        seen.append(request.target)

    async def async_hook(connection: Any, request: Any) -> None:
        await asyncio.sleep(0.01)
        seen.append(request.target)

    async def main() -> None:
        async with serve(echo, process_request=sync_hook if kind == "sync" else async_hook) as server:
            await round_trip(server.port)
        assert seen == ["/"]

    run(main())


def test_process_request_may_return_a_response_object() -> None:
    async def main() -> None:
        async with serve(echo, process_request=lambda c, r: Response(404, "", [], body=b"nothing here")) as server:
            error = await refused(server.port)
        assert error.status == 404 and error.http_response.body == b"nothing here"

    run(main())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_process_response_adds_headers(kind: str) -> None:
    def sync_hook(connection: Any, request: Any, response: Response) -> None:
        response.headers.add("X-Served-By", "wsframe")

    async def async_hook(connection: Any, request: Any, response: Response) -> None:
        await asyncio.sleep(0)
        response.headers.add("X-Served-By", "wsframe")

    async def main() -> None:
        async with serve(echo, process_response=sync_hook if kind == "sync" else async_hook) as server:
            headers = await round_trip(server.port)
        assert headers.get("X-Served-By") == "wsframe"

    run(main())


def test_process_response_may_replace_the_101() -> None:
    async def main() -> None:
        replace = lambda c, r, response: (503, [], b"busy")  # noqa: E731
        async with serve(echo, process_response=replace) as server:
            error = await refused(server.port)
        assert error.status == 503 and error.http_response.body == b"busy"

    run(main())


def broken_sync(*args: Any) -> Any:
    raise RuntimeError("bug in the hook")


async def broken_async(*args: Any) -> Any:
    raise RuntimeError("bug in the hook")


def wrong_value(*args: Any) -> Any:
    return "not an answer"


async def wrong_async_value(*args: Any) -> Any:
    return 42


@pytest.mark.parametrize("hook", [broken_sync, broken_async, wrong_value, wrong_async_value])
@pytest.mark.parametrize("which", ["process_request", "process_response"])
def test_a_bad_hook_gives_a_clean_500(hook: Any, which: str, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with serve(echo, **{which: hook}) as server:
            for _ in range(2):  # the server keeps answering, request after request
                error = await refused(server.port)
                assert error.status == 500

    run(main())
    assert any(record.levelname == "ERROR" for record in caplog.records)


def test_common_options_and_the_dataclass_agree() -> None:
    fields = {field.name: field for field in dataclasses.fields(Options)}
    hints = typing.get_type_hints(CommonOptions)
    assert set(fields) == set(hints)
    option_hints = typing.get_type_hints(Options)
    for name, hint in hints.items():
        assert option_hints[name] == hint, name


def test_unknown_or_invalid_options_are_refused_at_once() -> None:
    with pytest.raises(TypeError):
        serve(echo, max_sise=10)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        connect("ws://127.0.0.1:9/", ping_intervall=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        serve(echo, compression="brotli")
    with pytest.raises(ValueError):
        connect("ws://127.0.0.1:9/", max_queue=0)


def test_open_and_close_are_logged_with_the_connection_id(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    custom = logging.getLogger("my.app.ws")
    caplog.set_level(logging.INFO)

    async def main() -> Any:
        async with serve(echo, logger=custom) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/chat?x=1") as ws:
                await ws.send("hi")
                await ws.recv()
                client_id = ws.id
            await asyncio.sleep(0.05)
        return client_id

    client_id = run(main())
    server_lines = [r for r in caplog.records if r.name == "my.app.ws"]
    assert any("connection open" in r.getMessage() and "path=/chat?x=1" in r.getMessage() for r in server_lines)
    assert any("connection closed" in r.getMessage() and "code=1000" in r.getMessage() for r in server_lines)
    client_lines = [r for r in caplog.records if r.name == "wsframe.aio"]
    assert any(str(client_id) in r.getMessage() for r in client_lines)
    assert all(hasattr(r, "id") for r in server_lines + client_lines)


def test_request_path_is_an_alias_of_target() -> None:
    from wsframe.handshake import Request

    assert Request("GET", "/chat?room=1", []).path == "/chat?room=1"


def test_recv_decode_flag() -> None:
    async def main() -> None:
        async with serve(echo) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
                await ws.send("é")
                assert await ws.recv(decode=False) == "é".encode()
                await ws.send("é".encode())
                assert await ws.recv(decode=True) == "é"
                await ws.send("x")
                assert await ws.recv() == "x"

    run(main())


def test_compression_options_reach_the_handshake() -> None:
    async def main() -> Any:
        async with serve(echo, compression_options={"server_no_context_takeover": True}) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/", compression_options={"compress_level": 1}) as ws:
                await ws.send("hello" * 100)
                assert await ws.recv() == "hello" * 100
                return ws.response_headers.get("Sec-WebSocket-Extensions")

    assert "server_no_context_takeover" in run(main())
    with pytest.raises(ValueError):
        serve(echo, compression=None, compression_options={"mem_level": 4})


def test_unix_sockets(tmp_path: Any) -> None:
    from wsframe.aio import unix_connect, unix_serve

    path = str(tmp_path / "ws.sock")

    async def main() -> None:
        async with unix_serve(echo, path):
            async with unix_connect(path, "ws://localhost/chat") as ws:
                await ws.send("over a unix socket")
                assert await ws.recv() == "over a unix socket"
                assert ws.path == "/chat"

    run(main())


@pytest.mark.parametrize("compression", ["deflate", None])
def test_send_an_iterable_as_one_fragmented_message(compression: Any) -> None:
    async def parts() -> Any:
        for word in ("a", "fragmented", "message"):
            await asyncio.sleep(0)
            yield word

    async def main() -> None:
        async with serve(echo, compression=compression) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/", compression=compression) as ws:
                await ws.send(["one ", "two ", "three"])
                assert await ws.recv() == "one two three"
                await ws.send(iter([b"\x00", b"\x01\x02"]))
                assert await ws.recv() == b"\x00\x01\x02"
                await ws.send(parts())
                assert await ws.recv() == "afragmentedmessage"
                await ws.send([])  # nothing at all
                await ws.send("after")
                assert await ws.recv() == "after"
                with pytest.raises(TypeError):
                    await ws.send(["text", b"bytes"])

    run(main())


def test_fragments_at_the_connection_level() -> None:
    from wsframe import Connection, InvalidState, TextMessage

    client = Connection.opened("client")
    server = Connection.opened("server")
    client.send_fragment("héllo ", fin=False)
    with pytest.raises(InvalidState):
        client.send_text("no whole message in the middle")
    client.send_ping(b"between")  # control frames may come between the parts
    client.send_fragment(b"w\xc3\xb6rld", fin=True)
    server.receive_data(client.data_to_send())
    events = server.events()
    assert TextMessage("héllo wörld") in events
    with pytest.raises(ValueError):
        client.send_fragment(b"\xff", fin=True, text=True)
    client.send_text("whole again")


def test_an_iterable_that_fails_midway_closes_with_1011() -> None:
    def parts() -> Any:
        yield "first "
        yield "second "
        raise RuntimeError("the producer broke")

    async def main() -> Any:
        async with serve(echo) as server:
            async with connect(f"ws://127.0.0.1:{server.port}/") as ws:
                with pytest.raises(RuntimeError):
                    await ws.send(parts())
                await ws.wait_closed()
                return ws.close_code

    assert run(main()) == 1011

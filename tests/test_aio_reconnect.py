"""``async for ws in connect(uri)``: reconnecting after outages, with backoff.

Servers listen on a fixed free port of 127.0.0.1 so they can be stopped
and started again on the same port; one is a child process killed with
SIGKILL. Every wait is bounded (``run``), and the backoff is made short.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from typing import Any, List

import pytest
from aio_support import IMPORT_ROOT, echo, run

from wsframe.aio import ConnectionClosed, connect, reconnecting, serve
from wsframe.aio.reconnect import Reconnecting, retryable
from wsframe.handshake import InvalidMessage, InvalidStatus, NegotiationError

FAST = dict(initial_delay=0.02, max_delay=0.2, factor=2.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_retryable_follows_the_documented_policy() -> None:
    assert retryable(ConnectionRefusedError())
    assert retryable(asyncio.TimeoutError())
    assert not retryable(InvalidMessage("not HTTP"))  # as websockets: a misconfiguration
    for status in (500, 502, 503, 504):
        assert retryable(InvalidStatus(None, status))
    for status in (400, 401, 403, 404, 429, 501, 505):
        assert not retryable(InvalidStatus(None, status))
    assert not retryable(NegotiationError("no"))
    assert not retryable(ValueError("bug"))


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    it = Reconnecting(connect("ws://127.0.0.1:1/"), initial_delay=0.5, factor=2.0, max_delay=30.0, jitter=0.5)
    delays = [it._next_delay() for _ in range(10)]
    caps = [min(0.5 * 2**i, 30.0) for i in range(10)]
    assert all(cap / 2 <= d <= cap for d, cap in zip(delays, caps)), delays
    with pytest.raises(ValueError):
        Reconnecting(connect("ws://127.0.0.1:1/"), initial_delay=5, max_delay=1)


def test_server_restarted_on_the_same_port() -> None:
    """Server A greets, then goes away (1001); the client retries against a
    closed port (connection refused) until server B is up on the same port."""
    port = free_port()

    def greeter(name: str) -> Any:
        async def handler(ws: Any) -> None:
            await ws.send(name)
            async for message in ws:
                await ws.send(message)

        return handler

    async def main() -> None:
        greetings: List[str] = []
        codes: List[Any] = []
        server = await serve(greeter("A"), "127.0.0.1", port)
        restarted: List[Any] = []

        async def restart_later() -> None:
            await asyncio.sleep(0.3)  # the client keeps failing meanwhile
            restarted.append(await serve(greeter("B"), "127.0.0.1", port))

        restart = None
        iterator = reconnecting(connect(f"ws://127.0.0.1:{port}/"), **FAST)
        async for ws in iterator:
            greetings.append(await ws.recv())
            if len(greetings) == 1:
                server.close()  # 1001 to the client
                await server.wait_closed()
                restart = asyncio.ensure_future(restart_later())
                try:
                    await ws.recv()
                except ConnectionClosed as exc:
                    codes.append(exc.code)
                continue
            await ws.send("echo")
            assert await ws.recv() == "echo"
            await ws.close()  # 1000: the iteration ends
        assert greetings == ["A", "B"] and codes == [1001]
        assert isinstance(iterator, Reconnecting) and iterator.connections == 2
        assert restart is not None
        await restart
        restarted[0].close()
        await restarted[0].wait_closed()

    run(main())


def test_a_killed_server_process_is_reconnected_to() -> None:
    """A server in a child process killed with SIGKILL (the client sees 1006),
    then started again on the same port."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=IMPORT_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def start() -> "subprocess.Popen[str]":
        return subprocess.Popen(
            [sys.executable, "-m", "wsframe", "echo", "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )

    procs = [start()]

    async def main() -> None:
        codes: List[Any] = []
        answers: List[Any] = []
        async for ws in reconnecting(connect(f"ws://127.0.0.1:{port}/", open_timeout=5), **FAST):
            await ws.send(f"hello {len(answers)}")
            answers.append(await ws.recv())
            if len(answers) == 1:
                procs[0].send_signal(signal.SIGKILL)
                procs[0].wait(10)
                try:
                    await asyncio.wait_for(ws.recv(), 10)
                except ConnectionClosed as exc:
                    codes.append(exc.code)
                procs.append(start())
                continue
            await ws.close()
        assert answers == ["hello 0", "hello 1"] and codes == [1006]

    try:
        # The first server may still be starting: the iterator retries (refused) until it listens.
        run(main(), timeout=60)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
            assert proc.stdout is not None
            proc.stdout.close()


def test_a_4xx_refusal_is_raised_and_a_5xx_is_retried() -> None:
    calls: List[int] = []

    def hook(connection: Any, request: Any) -> Any:
        calls.append(1)
        if request.target == "/missing":
            return 404, [], b"no such feed\n"
        if len(calls) < 4:  # two 503s after the 404
            return 503, [], b"starting\n"
        return None

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, process_request=hook) as server:
            with pytest.raises(InvalidStatus) as info:
                async for ws in reconnecting(connect(f"ws://127.0.0.1:{server.port}/missing"), **FAST):
                    raise AssertionError("a 404 is not retried")
            assert info.value.status == 404
            async for ws in reconnecting(connect(f"ws://127.0.0.1:{server.port}/"), **FAST):
                await ws.send("up")
                assert await ws.recv() == "up"
                await ws.close()
            assert len(calls) == 4  # the 404, two 503s, then the open (run() bounds the time)

    run(main())


def test_close_codes_decide_between_reconnecting_and_stopping() -> None:
    sequence = [1012, 1011, 4000]

    async def handler(ws: Any) -> None:
        code = sequence.pop(0) if sequence else 1000
        await ws.close(code)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            seen: List[Any] = []
            async for ws in connect(f"ws://127.0.0.1:{server.port}/"):  # the default backoff: 0.25-0.5 s, 0.5-1 s
                try:
                    await ws.recv()
                except ConnectionClosed as exc:
                    seen.append(exc.code)
            assert seen == [1012, 1011, 4000]  # 4000 is not in RETRY_CODES: the loop ends

    run(main())


def test_max_attempts_gives_up_with_the_last_error() -> None:
    port = free_port()

    async def main() -> None:
        with pytest.raises(OSError):
            async for ws in reconnecting(connect(f"ws://127.0.0.1:{port}/"), max_attempts=3, **FAST):
                raise AssertionError("nothing listens there")

    run(main())

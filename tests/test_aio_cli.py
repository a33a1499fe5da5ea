"""``python -m wsframe echo``: the echo server subcommand answers over loopback,
on both APIs, on asyncio and (when installed) on uvloop."""

from __future__ import annotations

from typing import List

import pytest

from wsframe.aio import connect

from aio_support import cli_server, run


def _variants() -> List[object]:
    params: List[object] = [
        pytest.param([], id="coroutine"),
        pytest.param(["--api", "callback"], id="callback"),
    ]
    try:
        import uvloop  # noqa: F401
    except ImportError:  # pragma: no cover - uvloop is in the test extras
        return params
    params.append(pytest.param(["--api", "callback", "--uvloop"], id="callback-uvloop"))
    return params


@pytest.mark.parametrize("extra_args", _variants())
def test_echo_command_line(extra_args: List[str]) -> None:
    with cli_server("echo", "ws://127.0.0.1:", extra_args=extra_args) as port:

        async def main() -> None:
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send("echo?")
                assert await ws.recv() == "echo?"
                await ws.send(b"\x00\x01")
                assert await ws.recv() == b"\x00\x01"

        run(main())

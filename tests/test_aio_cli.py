"""``python -m wsframe echo``: the echo server subcommand answers over loopback."""

from __future__ import annotations

from wsframe.aio import connect

from aio_support import cli_server, run


def test_echo_command_line():
    with cli_server("echo", "ws://127.0.0.1:") as port:

        async def main():
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send("echo?")
                assert await ws.recv() == "echo?"
                await ws.send(b"\x00\x01")
                assert await ws.recv() == b"\x00\x01"

        run(main())

"""``python -m wsframe echo``: the echo server subcommand answers over loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import wsframe
from wsframe.aio import connect

from aio_support import run

# Run the subprocess on the same wsframe this test imported (src/ or site-packages).
IMPORT_ROOT = str(Path(wsframe.__file__).resolve().parents[1])


def test_echo_command_line():
    env = dict(os.environ, PYTHONPATH=IMPORT_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsframe", "echo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(60, proc.kill)  # bounds readline() if the server never starts
    watchdog.start()
    try:
        line = proc.stdout.readline()
        assert "ws://127.0.0.1:" in line, line
        port = int(line.split("ws://127.0.0.1:")[1].split("/")[0])

        async def main():
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send("echo?")
                assert await ws.recv() == "echo?"
                await ws.send(b"\x00\x01")
                assert await ws.recv() == b"\x00\x01"

        run(main())
    finally:
        watchdog.cancel()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()

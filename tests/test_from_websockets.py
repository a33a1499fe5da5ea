"""The migration example: ``examples/from_websockets/server_websockets.py``
and its wsframe port ``server_wsframe.py`` give the same answers.

Each server runs as a child process on 127.0.0.1 port 0 (it prints its URL);
one client, websockets' own sync client plus raw HTTP, asks both the same
questions, and the two lists of answers must be equal.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest
from pypy_quirks import websockets_sync_on_pypy
from aio_support import IMPORT_ROOT

pytest.importorskip("websockets")
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "from_websockets"
WAIT = 10.0


def start(script: str) -> Tuple["subprocess.Popen[str]", int]:
    env = dict(os.environ, PYTHONPATH=IMPORT_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / script), "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    watchdog = threading.Timer(60, proc.kill)  # bounds readline()
    watchdog.start()
    try:
        line = proc.stdout.readline()
    finally:
        watchdog.cancel()
    assert "listening on ws://127.0.0.1:" in line, line
    return proc, int(line.rsplit(":", 1)[1].strip().strip("/"))


@pytest.fixture(params=["server_websockets.py", "server_wsframe.py"])
def server_port(request: pytest.FixtureRequest) -> Iterator[int]:
    proc, port = start(request.param)
    try:
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            assert stream is not None
            stream.close()


def http_get(port: int, target: str) -> Tuple[int, bytes]:
    """Status and body of a plain (non-upgrade) GET, read to EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def closed_with(ws: Any) -> Tuple[str, Any, Any]:
    """Read until the close; the code and reason the server sent."""
    try:
        while True:
            ws.recv(timeout=WAIT)
    except ConnectionClosed as exc:
        assert exc.rcvd is not None
        return ("closed", exc.rcvd.code, exc.rcvd.reason)


def questions(port: int) -> List[Any]:
    """The same questions for either server; the answers, in order."""
    base = f"ws://127.0.0.1:{port}"
    answers: List[Any] = [http_get(port, "/health")]
    try:
        connect(f"{base}/nope", open_timeout=WAIT)
    except InvalidStatus as exc:
        answers.append(("refused", exc.response.status_code, exc.response.body))
    with connect(f"{base}/echo", open_timeout=WAIT) as ws:
        for message in ["hi", b"\x00\x01", "é" * 500]:
            ws.send(message)
            answers.append(ws.recv(timeout=WAIT))
        ws.send("x" * (64 * 1024 + 1))
        answers.append(closed_with(ws))
    with connect(f"{base}/upper", open_timeout=WAIT) as ws:
        ws.send("MiXed")
        ws.send(b"abc")
        answers += [ws.recv(timeout=WAIT), ws.recv(timeout=WAIT)]
    with connect(f"{base}/rooms/caf%C3%A9", open_timeout=WAIT) as ws:
        ws.send("hi")
        answers.append(ws.recv(timeout=WAIT))
        ws.send(b"binary")
        answers.append(closed_with(ws))
    for target in ["/greet?name=ann", "/greet"]:
        with connect(f"{base}{target}", open_timeout=WAIT) as ws:
            answers.append(ws.recv(timeout=WAIT))
            answers.append(closed_with(ws))
    return answers


EXPECTED = [
    (200, b"OK\n"),
    ("refused", 404, b"not found\n"),
    "hi",
    b"\x00\x01",
    "é" * 500,
    ("closed", 1009, None),  # the reason is each library's own wording: not compared
    "MIXED",
    b"abc",
    "café: hi",
    ("closed", 1003, "text only"),
    "hello ann",
    ("closed", 1000, ""),
    "hello stranger",
    ("closed", 1000, ""),
]


@websockets_sync_on_pypy
def test_same_answers(server_port: int) -> None:
    answers = questions(server_port)
    assert answers[5][:2] == ("closed", 1009)
    answers[5] = EXPECTED[5]
    assert answers == EXPECTED

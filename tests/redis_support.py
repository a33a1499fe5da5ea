"""A real redis-server for the tests: started on a free port, stopped after.

``redis_server`` (a pytest fixture, function scope: tests stop and restart
it) yields a :class:`RedisProcess`. Without ``redis-server`` or the redis
package the tests SKIP with the reason, unless ``WSFRAME_REQUIRE_REDIS=1``,
which makes that a failure (CI: .ci/checks/redis_hub.sh).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from typing import Iterator, Optional

import pytest

REQUIRED = os.environ.get("WSFRAME_REQUIRE_REDIS") == "1"


def need_redis() -> str:
    """The path of redis-server; skip (or fail when required) without it or redis-py."""
    why = ""
    path = shutil.which("redis-server")
    if path is None:
        why = "redis-server is not installed (apt-get install redis-server)"
    else:
        try:
            import redis  # noqa: F401
        except ImportError:
            why = "the redis package is not installed (pip install redis)"
    if why:
        if REQUIRED:
            pytest.fail(f"WSFRAME_REQUIRE_REDIS=1 but {why}")
        pytest.skip(why)
    assert path is not None
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """One redis-server on 127.0.0.1; :meth:`stop` and :meth:`start` again keep its port."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.port = free_port()
        self.proc: Optional["subprocess.Popen[bytes]"] = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        args = [self.path, "--port", str(self.port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while deadline > time.monotonic():
            if self.ping():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"redis-server did not answer PING on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait(10)


@pytest.fixture
def redis_server() -> Iterator[RedisProcess]:
    server = RedisProcess(need_redis())
    server.start()
    try:
        yield server
    finally:
        server.stop()

"""One behaviour battery, several hosts: every policy lives in ``wsframe.Connection``.

The same raw-socket client drives ``wsframe.aio.serve`` and the callback
API's ``wsframe.aio.serve_listener`` (each on asyncio and uvloop),
``wsframe.sync.serve`` and the thread-per-connection host of
``examples/thread_server.py``; all must
behave alike, because neither makes a protocol decision of its own:
a ping flood from a peer that never reads stays bounded, a protocol error
after valid messages answers those messages and then closes with the
error's code, handshake refusals and plain HTTP answers carry their status,
headers and body, and ``process_request`` works as a function (and, on
aio, as a coroutine).
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import sys
import threading
import time
import tracemalloc
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import wsframe
from wsframe import Opcode
from wsframe import sync as wsync
from wsframe.aio import Listener, serve, serve_listener

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
from thread_server import ThreadServer  # noqa: E402

HOSTS = ["aio", "aio-uvloop", "listener", "listener-uvloop", "sync", "thread"]
DEADLINE = 20.0  # seconds for any one exchange


def page_or_refusal(request: Any) -> Optional[Tuple[int, List[Tuple[str, str]], bytes]]:
    """The hook of the battery: a page at /page, a refusal with a body at /nope."""
    if request.target == "/page":
        return 200, [("Content-Type", "text/html"), ("X-Host", "battery")], b"<p>hello</p>"
    if request.target == "/nope":
        return 403, [("X-Why", "not today")], b"go away\n"
    return None


class EchoListener(Listener):
    """The callback API's echo application."""

    def on_message(self, ws: Any, message: Any) -> None:
        ws.send(message)


class AioHost:
    """``wsframe.aio.serve`` (or ``serve_listener``) on a loop in a thread of its own."""

    def __init__(self, process_request: Callable[..., Any], uvloop: bool = False, listener: bool = False) -> None:
        self._hook = process_request
        self._listener = listener
        if uvloop:
            module = pytest.importorskip("uvloop", reason="uvloop is optional")
            self._loop = module.new_event_loop()
        else:
            self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: Optional[asyncio.Future[None]] = None
        self.port = 0
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        async def echo(ws: Any) -> None:
            async for message in ws:
                await ws.send(message)

        hook = self._hook

        def process_request(connection: Any, request: Any) -> Any:
            return hook(request)

        self._stop = self._loop.create_future()
        if self._listener:
            server = serve_listener(EchoListener, "127.0.0.1", 0, process_request=process_request, compression=None)
        else:
            server = serve(echo, "127.0.0.1", 0, process_request=process_request, compression=None)
        async with server:
            self.port = server.port
            self._ready.set()
            await self._stop

    def __enter__(self) -> "AioHost":
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)
        self._loop.close()


class SyncHost:
    """``wsframe.sync.serve`` serving from a background thread."""

    def __init__(self, process_request: Callable[..., Any]) -> None:
        def echo(ws: Any) -> None:
            for message in ws:
                ws.send(message)

        def hook(connection: Any, request: Any) -> Any:
            return process_request(request)

        self._server = wsync.serve(echo, "127.0.0.1", 0, process_request=hook, compression=None)
        self.port = self._server.port

    def __enter__(self) -> "SyncHost":
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()


def make_host(kind: str, process_request: Callable[..., Any] = page_or_refusal) -> Any:
    if kind.startswith(("aio", "listener")):
        return AioHost(process_request, uvloop=kind.endswith("-uvloop"), listener=kind.startswith("listener"))
    if kind == "sync":
        return SyncHost(process_request)
    return ThreadServer(process_request=process_request)


# ---- a raw client ------------------------------------------------------------------


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    return sock


def request(target: str = "/", upgrade: bool = True) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1"]
    if upgrade:
        lines += ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock: socket.socket) -> Tuple[int, Dict[str, str], bytes]:
    """Status, headers (lower-case names) and whatever followed the head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"EOF before the response head: {data!r}"
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, rest


def read_http(sock: socket.socket) -> Tuple[int, Dict[str, str], bytes]:
    """A whole non-101 response: head and body up to EOF."""
    status, headers, body = read_response(sock)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return status, headers, body
        body += chunk


def open_ws(port: int) -> Tuple[socket.socket, bytes]:
    sock = connect(port)
    sock.sendall(request())
    status, _, rest = read_response(sock)
    assert status == 101
    return sock, rest


def client_frame(opcode: int, payload: bytes = b"") -> bytes:
    return wsframe.encode_frame(opcode, payload, mask=True)


def read_until_close(sock: socket.socket, rest: bytes = b"") -> List[Any]:
    """Frames from the server up to and including its close frame (or EOF)."""
    parser = wsframe.FrameParser(is_server=False, max_message_size=1 << 24, max_frame_size=1 << 24)
    frames = list(parser.feed(rest))
    deadline = time.monotonic() + DEADLINE
    while not any(f.opcode == Opcode.CLOSE for f in frames) and deadline > time.monotonic():
        data = sock.recv(65536)
        if not data:
            break
        frames += parser.feed(data)
    return frames


# ---- the battery -------------------------------------------------------------------


@pytest.mark.parametrize("host", HOSTS)
def test_protocol_error_after_valid_messages_answers_them_then_closes(host: str) -> None:
    with make_host(host) as server:
        sock, rest = open_ws(server.port)
        with sock:
            good = [client_frame(Opcode.TEXT, f"message {i}".encode()) for i in range(3)]
            bad = b"\x83\x80" + os.urandom(4)  # reserved opcode 3 (RFC 6455 5.2): 1002
            sock.sendall(b"".join(good) + bad)
            frames = read_until_close(sock, rest)
    texts = [f.payload for f in frames if f.opcode == Opcode.TEXT]
    assert texts == [f"message {i}".encode() for i in range(3)]
    assert frames[-1].opcode == Opcode.CLOSE
    assert wsframe.decode_close_payload(frames[-1].payload)[0] == 1002


@pytest.mark.parametrize("host", HOSTS)
def test_invalid_utf8_after_valid_messages_closes_with_1007(host: str) -> None:
    with make_host(host) as server:
        sock, rest = open_ws(server.port)
        with sock:
            sock.sendall(client_frame(Opcode.TEXT, b"fine") + client_frame(Opcode.TEXT, b"\xff\xfe"))
            frames = read_until_close(sock, rest)
    assert [f.payload for f in frames if f.opcode == Opcode.TEXT] == [b"fine"]
    assert wsframe.decode_close_payload(frames[-1].payload)[0] == 1007


@pytest.mark.parametrize("host", HOSTS)
def test_refusal_carries_status_headers_and_body(host: str) -> None:
    with make_host(host) as server:
        with connect(server.port) as sock:
            sock.sendall(request("/nope"))
            status, headers, body = read_http(sock)
    assert status == 403 and headers["x-why"] == "not today" and body == b"go away\n"
    assert headers["content-length"] == str(len(body))


@pytest.mark.parametrize("host", HOSTS)
def test_plain_http_page_from_process_request(host: str) -> None:
    with make_host(host) as server:
        with connect(server.port) as sock:
            sock.sendall(request("/page", upgrade=False))
            status, headers, body = read_http(sock)
    assert status == 200 and body == b"<p>hello</p>" and headers["x-host"] == "battery"


@pytest.mark.parametrize("host", HOSTS)
def test_invalid_upgrade_gets_the_connection_s_error(host: str) -> None:
    with make_host(host) as server:
        with connect(server.port) as sock:
            sock.sendall(request("/", upgrade=False))  # process_request says None
            status, _, body = read_http(sock)
    assert status == 400 and b"Upgrade" in body


@pytest.mark.parametrize("host", HOSTS)
def test_process_request_that_raises_gives_500(host: str, caplog: pytest.LogCaptureFixture) -> None:
    def broken(request: Any) -> Any:
        raise RuntimeError("bug in the hook")

    if host == "thread":
        pytest.skip("the thread host leaves hook errors to its caller (it is an example)")
    with make_host(host, broken) as server:
        with connect(server.port) as sock:
            sock.sendall(request())
            status, _, _ = read_http(sock)
    assert status == 500
    assert any("process_request failed" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("host", HOSTS)
def test_ping_flood_from_a_non_reader_stays_bounded(host: str) -> None:
    """120,000 pings (about 15 MB of pongs to answer) from a peer that reads
    nothing: the server's memory stays far below what it was asked to send
    (what remains is per read: a 1 MiB read buffer and its ping events)."""
    with make_host(host) as server:
        sock, _ = open_ws(server.port)
        with sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(0.5)
            ping = client_frame(Opcode.PING, b"p" * 125)
            batch = ping * 100
            tracemalloc.start()
            try:
                sent = 0
                deadline = time.monotonic() + DEADLINE
                while sent < 1200 and deadline > time.monotonic():
                    try:
                        sock.sendall(batch)
                    except socket.timeout:
                        break  # the server stopped reading: back-pressure, also bounded
                    sent += 1
                time.sleep(0.5)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert sent >= 20, "the flood did not get going"
    # Unbounded, the server would hold about sent * 100 * 127 bytes of pongs.
    assert peak < 4 * 1024 * 1024, (sent, peak)


@pytest.mark.parametrize("listener", [False, True], ids=["aio", "listener"])
def test_async_process_request_on_aio(listener: bool) -> None:
    async def hook(request: Any) -> Any:
        await asyncio.sleep(0.01)
        return page_or_refusal(request)

    with AioHost(hook, listener=listener) as server:
        with connect(server.port) as sock:
            sock.sendall(request("/nope"))
            status, headers, body = read_http(sock)
        assert status == 403 and body == b"go away\n"
        sock, rest = open_ws(server.port)  # None from the coroutine: the upgrade goes on
        with sock:
            sock.sendall(client_frame(Opcode.TEXT, b"after an async hook"))
            parser = wsframe.FrameParser(is_server=False)
            frames = list(parser.feed(rest))
            while not frames:
                frames = parser.feed(sock.recv(65536))
    assert frames[0].payload == b"after an async hook"


@pytest.fixture(autouse=True)
def _bounded() -> Iterator[None]:
    yield

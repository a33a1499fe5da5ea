"""wsframe.sync over loopback: messages, closing, limits, timeouts, keepalive,
back-pressure, and interop with the websockets library's sync client and server.

Every server listens on 127.0.0.1 port 0, every wait is bounded, and no
assertion is about timing beyond generous upper bounds.
"""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
import tracemalloc
from typing import Any, Dict, Iterator, List

import pytest
from pypy_quirks import websockets_sync_on_pypy

import wsframe
from wsframe import Opcode
from wsframe import sync as wsync
from wsframe.aio import ConnectionClosedError, ConnectionClosedOK, InvalidURI
from wsframe.handshake import InvalidStatus

WAIT = 10.0  # seconds, upper bound of any one wait


def echo(ws: Any) -> None:
    for message in ws:
        ws.send(message)


@pytest.fixture
def echo_server() -> Iterator[wsync.Server]:
    with wsync.serve(echo, compression=None) as server:
        server.start()
        yield server


def uri(server: wsync.Server, path: str = "/") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


# ---- a raw client, for what a polite client would never do -------------------------


def raw_open(port: int, target: str = "/") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, "EOF during the handshake"
        data += chunk
    assert data.startswith(b"HTTP/1.1 101"), data
    assert data.endswith(b"\r\n\r\n"), "nothing follows the 101 before the client speaks"
    return sock


def raw_frames(sock: socket.socket, until: int = Opcode.CLOSE) -> List[Any]:
    """Frames from the server until one with opcode ``until`` (or EOF)."""
    parser = wsframe.FrameParser(is_server=False, max_message_size=1 << 24, max_frame_size=1 << 24)
    frames: List[Any] = []
    deadline = time.monotonic() + WAIT
    while not any(f.opcode == until for f in frames) and deadline > time.monotonic():
        data = sock.recv(65536)
        if not data:
            break
        frames += parser.feed(data)
    return frames


def close_code(frames: List[Any]) -> int:
    assert frames and frames[-1].opcode == Opcode.CLOSE, frames
    return int(wsframe.decode_close_payload(frames[-1].payload)[0])


# ---- messages and the handshake --------------------------------------------------


def test_text_binary_and_many_messages(echo_server: wsync.Server) -> None:
    with wsync.connect(uri(echo_server)) as ws:
        for message in ["hello", "", "héllo wörld ✓ 𝄞", b"\x00\xff" * 40_000, b""]:
            ws.send(message)
            answer = ws.recv(timeout=WAIT)
            assert answer == message and type(answer) is type(message)
        for i in range(200):
            ws.send(f"m{i}")
        assert [ws.recv(timeout=WAIT) for _ in range(200)] == [f"m{i}" for i in range(200)]
        assert ws.ping(timeout=WAIT) >= 0.0
        assert ws.ping(b"payload", timeout=WAIT) >= 0.0
        ws.pong(b"unsolicited")
    assert ws.close_code == 1000 and ws.closed


def test_handshake_facts_on_both_sides() -> None:
    seen: Dict[str, Any] = {}

    def handler(ws: Any) -> None:
        seen.update(path=ws.path, subprotocol=ws.subprotocol, remote=ws.remote_address, request=ws.request)
        ws.send("ok")

    with wsync.serve(handler, subprotocols=["b", "a"]) as server:
        server.start()
        with wsync.connect(uri(server, "/room/1?x=2"), subprotocols=["a", "b"]) as ws:
            assert ws.recv(timeout=WAIT) == "ok"
            assert ws.subprotocol == "b"
            assert ws.path == "/room/1?x=2"
            assert ws.remote_address[1] == server.port
            assert ws.response_headers.get("Sec-WebSocket-Protocol") == "b"
    assert seen["path"] == "/room/1?x=2" and seen["subprotocol"] == "b"
    assert seen["remote"][0] == "127.0.0.1" and seen["request"].target == "/room/1?x=2"


def test_compression_is_negotiated_by_default() -> None:
    with wsync.serve(echo) as server:
        server.start()
        with wsync.connect(uri(server)) as ws:
            assert "permessage-deflate" in (ws.response_headers.get("Sec-WebSocket-Extensions") or "")
            ws.send("x" * 100_000)
            assert ws.recv(timeout=WAIT) == "x" * 100_000


def test_process_request_answers_plain_http_and_the_client_sees_invalid_status() -> None:
    def hook(connection: Any, request: Any) -> Any:
        if request.target == "/health":
            return 200, [("Content-Type", "text/plain")], b"ok\n"
        if request.target == "/forbidden":
            return 403, [], b"no\n"
        return None

    with wsync.serve(echo, process_request=hook) as server:
        server.start()
        with pytest.raises(InvalidStatus) as info:
            wsync.connect(uri(server, "/forbidden"))
        assert info.value.status == 403
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"ok\n")
        with wsync.connect(uri(server, "/")) as ws:
            ws.send("through")
            assert ws.recv(timeout=WAIT) == "through"


def test_process_response_adds_a_header() -> None:
    def add(connection: Any, request: Any, response: Any) -> None:
        response.headers.add("X-Served-By", "sync")

    with wsync.serve(echo, process_response=add) as server:
        server.start()
        with wsync.connect(uri(server)) as ws:
            assert ws.response_headers.get("X-Served-By") == "sync"


def test_bad_uris() -> None:
    with pytest.raises(InvalidURI):
        wsync.connect("http://127.0.0.1/")
    with pytest.raises(InvalidURI, match="wss"):
        wsync.connect("wss://127.0.0.1/")
    with pytest.raises(TypeError):
        wsync.connect("ws://127.0.0.1/", no_such_option=1)  # type: ignore[call-arg]


# ---- closing ---------------------------------------------------------------------


def test_close_code_and_reason_from_the_server() -> None:
    def handler(ws: Any) -> None:
        ws.recv(timeout=WAIT)
        ws.close(4000, "custom")

    with wsync.serve(handler) as server:
        server.start()
        with wsync.connect(uri(server)) as ws:
            ws.send("bye")
            with pytest.raises(ConnectionClosedError) as info:
                ws.recv(timeout=WAIT)
            assert info.value.code == 4000 and info.value.reason == "custom"
            assert ws.close_code == 4000 and ws.close_reason == "custom"
            with pytest.raises(ConnectionClosedError):
                ws.send("too late")


def test_handler_returning_closes_1000_and_iteration_stops() -> None:
    def handler(ws: Any) -> None:
        ws.send("one")
        ws.send("two")

    with wsync.serve(handler) as server:
        server.start()
        with wsync.connect(uri(server)) as ws:
            assert list(ws) == ["one", "two"]  # every message, then a quiet stop
            assert ws.close_code == 1000


def test_handler_raising_closes_1011() -> None:
    def handler(ws: Any) -> None:
        raise RuntimeError("bug")

    with wsync.serve(handler) as server:
        server.start()
        with wsync.connect(uri(server)) as ws:
            with pytest.raises(ConnectionClosedError) as info:
                ws.recv(timeout=WAIT)
    assert info.value.code == 1011


def test_shutdown_closes_connections_with_1001(echo_server: wsync.Server) -> None:
    with wsync.connect(uri(echo_server)) as ws:
        ws.send("hello")
        assert ws.recv(timeout=WAIT) == "hello"
        echo_server.shutdown()
        with pytest.raises(ConnectionClosedOK) as info:
            ws.recv(timeout=WAIT)
    assert info.value.code == 1001


def test_client_close_is_clean_on_both_sides() -> None:
    codes: List[Any] = []

    def handler(ws: Any) -> None:
        for _ in ws:
            pass
        codes.append((ws.close_code, ws.closed))

    with wsync.serve(handler) as server:
        server.start()
        ws = wsync.connect(uri(server))
        ws.close(1000, "done")
        assert ws.close_code == 1000
        deadline = time.monotonic() + WAIT
        while not codes and deadline > time.monotonic():
            time.sleep(0.01)
    assert codes == [(1000, True)]


def test_peer_dropping_tcp_gives_1006(echo_server: wsync.Server) -> None:
    sock = raw_open(echo_server.port)
    ws_seen: List[Any] = []
    deadline = time.monotonic() + WAIT
    while not echo_server.connections and deadline > time.monotonic():
        time.sleep(0.01)
    ws_seen.extend(echo_server.connections)
    sock.close()
    deadline = time.monotonic() + WAIT
    while not ws_seen[0].closed and deadline > time.monotonic():
        time.sleep(0.01)
    assert ws_seen[0].close_code == 1006


# ---- limits ----------------------------------------------------------------------


def test_oversize_message_closes_1009() -> None:
    with wsync.serve(echo, max_size=1000, compression=None) as server:
        server.start()
        with wsync.connect(uri(server)) as ws:
            ws.send("x" * 1000)
            assert ws.recv(timeout=WAIT) == "x" * 1000
            with pytest.raises(ConnectionClosedError) as info:
                # The server's 1009 may be read before send() returns (seen on
                # PyPy): then send() itself reports the close.
                ws.send("x" * 1001)
                ws.recv(timeout=WAIT)
    assert info.value.code == 1009


def test_client_limit_closes_1009_too() -> None:
    def handler(ws: Any) -> None:
        ws.send(b"y" * 5000)
        ws.recv(timeout=WAIT)

    with wsync.serve(handler) as server:
        server.start()
        with wsync.connect(uri(server), max_size=4096) as ws:
            with pytest.raises(ConnectionClosedError) as info:
                ws.recv(timeout=WAIT)
    assert info.value.code == 1009


def test_invalid_utf8_closes_1007(echo_server: wsync.Server) -> None:
    with raw_open(echo_server.port) as sock:
        sock.sendall(wsframe.encode_frame(Opcode.TEXT, b"ok", mask=True))
        sock.sendall(wsframe.encode_frame(Opcode.TEXT, b"\xc3\x28", mask=True))
        frames = raw_frames(sock)
    assert [f.payload for f in frames if f.opcode == Opcode.TEXT] == [b"ok"]
    assert close_code(frames) == 1007


def test_recv_timeout(echo_server: wsync.Server) -> None:
    with wsync.connect(uri(echo_server)) as ws:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)
        waited = time.monotonic() - started
        assert waited > 0.15  # the timeout was honoured, not skipped (behaviour, not speed)
        ws.send("still open")
        assert ws.recv(timeout=WAIT) == "still open"
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0)


def test_two_threads_in_recv_is_an_error(echo_server: wsync.Server) -> None:
    with wsync.connect(uri(echo_server)) as ws:
        errors: List[BaseException] = []
        thread = threading.Thread(target=lambda: errors.append(pytest.raises(TimeoutError, ws.recv, 1.0).value))
        thread.start()
        deadline = time.monotonic() + WAIT
        while not ws._recv_busy and deadline > time.monotonic():
            time.sleep(0.01)  # until the other thread is inside recv()
        with pytest.raises(RuntimeError):
            ws.recv(timeout=0.1)
        thread.join(WAIT)
        assert errors and isinstance(errors[0], TimeoutError)


def test_bad_option_values_are_refused() -> None:
    with pytest.raises(ValueError):
        wsync.serve(echo, max_queue=0)
    with pytest.raises(ValueError):
        wsync.serve(echo, compression="brotli")


# ---- keepalive -------------------------------------------------------------------


def test_keepalive_pings_are_answered() -> None:
    with wsync.serve(echo, ping_interval=0.05, ping_timeout=WAIT) as server:
        server.start()
        with wsync.connect(uri(server), ping_interval=0.05, ping_timeout=WAIT) as ws:
            deadline = time.monotonic() + WAIT
            while ws.latency == 0.0 and deadline > time.monotonic():
                time.sleep(0.05)  # until a keepalive pong came back
            time.sleep(0.3)  # a few more rounds each way
            ws.send("alive")
            assert ws.recv(timeout=WAIT) == "alive"
            assert ws.latency > 0.0


def test_late_pong_fails_with_1011() -> None:
    """A peer that reads but never answers pings: the server closes with 1011."""
    with wsync.serve(echo, ping_interval=0.1, ping_timeout=0.2) as server:
        server.start()
        with raw_open(server.port) as sock:
            frames = raw_frames(sock)
    assert any(f.opcode == Opcode.PING for f in frames)
    assert close_code(frames) == 1011


def test_client_keepalive_fails_with_1011_against_a_silent_server() -> None:
    """Our client against a server that never answers pings (a raw listener)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    got: List[bytes] = []

    def silent_server() -> None:
        conn, _ = listener.accept()
        with conn:
            server = wsframe.Connection("server", auto_pong=False)
            conn.settimeout(WAIT)
            while server.state is not wsframe.State.CLOSED:
                data = conn.recv(65536)
                if not data:
                    break
                server.receive_data(data)
                server.events()
                conn.sendall(server.data_to_send())
                got.append(data)

    thread = threading.Thread(target=silent_server, daemon=True)
    thread.start()
    try:
        ws = wsync.connect(f"ws://127.0.0.1:{port}/", ping_interval=0.1, ping_timeout=0.2, close_timeout=1)
        with pytest.raises(ConnectionClosedError) as info:
            ws.recv(timeout=WAIT)
        assert info.value.code == 1011
        ws.close()
    finally:
        thread.join(WAIT)
        listener.close()


# ---- back-pressure ---------------------------------------------------------------


def test_non_reading_handler_does_not_grow_memory() -> None:
    """A handler that never reads while the peer sends 60 MiB: the server
    stops reading (max_queue messages, the Connection's budget) and TCP
    pushes back; what it holds stays far below what was sent."""
    release = threading.Event()

    def sleeper(ws: Any) -> None:
        release.wait(WAIT)

    with wsync.serve(sleeper, compression=None, max_queue=4) as server:
        server.start()
        with raw_open(server.port) as sock:
            sock.settimeout(0.5)
            frame = wsframe.encode_frame(Opcode.BINARY, b"z" * (256 * 1024), mask=True)
            tracemalloc.start()
            try:
                sent = 0
                while sent < 240:
                    try:
                        sock.sendall(frame)
                    except socket.timeout:
                        break  # the server stopped reading: back-pressure
                    sent += 1
                time.sleep(0.3)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
                release.set()
    assert sent < 240, "the server read everything: no back-pressure"
    assert peak < sent * 256 * 1024 / 2, (sent, peak)
    # Unbounded, the server would hold sent * 256 KiB; the bound here is
    # the queue (4 messages), the budget and one read.
    assert peak < 8 * 1024 * 1024, (sent, peak)


def test_ping_flood_from_a_peer_that_reads_nothing_is_bounded(echo_server: wsync.Server) -> None:
    with raw_open(echo_server.port) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(0.5)
        batch = wsframe.encode_frame(Opcode.PING, b"p" * 125, mask=True) * 100
        tracemalloc.start()
        try:
            for _ in range(1000):
                try:
                    sock.sendall(batch)
                except socket.timeout:
                    break
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 4 * 1024 * 1024


# ---- interop with the websockets library ------------------------------------------------


@websockets_sync_on_pypy
def test_websockets_sync_client_against_our_sync_server(echo_server: wsync.Server) -> None:
    client = pytest.importorskip("websockets.sync.client")
    with client.connect(uri(echo_server), open_timeout=WAIT, close_timeout=WAIT) as ws:
        for message in ["hi", "é" * 1000, b"\x01" * 70_000]:
            ws.send(message)
            assert ws.recv(timeout=WAIT) == message
        ws.ping().wait(WAIT)
    assert ws.close_code == 1000


@websockets_sync_on_pypy
def test_websockets_client_with_compression_against_our_server() -> None:
    client = pytest.importorskip("websockets.sync.client")
    with wsync.serve(echo) as server:
        server.start()
        with client.connect(uri(server), open_timeout=WAIT) as ws:
            ws.send("compressible " * 10_000)
            assert ws.recv(timeout=WAIT) == "compressible " * 10_000


@websockets_sync_on_pypy
def test_our_sync_client_against_websockets_sync_server() -> None:
    ws_server = pytest.importorskip("websockets.sync.server")
    closes: List[Any] = []

    def their_echo(ws: Any) -> None:
        for message in ws:
            ws.send(message)
        closes.append(ws.close_code)

    with ws_server.serve(their_echo, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        try:
            with wsync.connect(f"ws://127.0.0.1:{port}/") as ws:
                for message in ["hi", "é" * 1000, b"\x01" * 70_000]:
                    ws.send(message)
                    assert ws.recv(timeout=WAIT) == message
                assert ws.ping(timeout=WAIT) >= 0
            assert ws.close_code == 1000
        finally:
            server.shutdown()
            thread.join(WAIT)
    assert closes == [1000]


@websockets_sync_on_pypy
def test_websockets_server_closing_first_is_clean() -> None:
    ws_server = pytest.importorskip("websockets.sync.server")

    def their_handler(ws: Any) -> None:
        ws.recv()
        ws.close(1001, "bye")

    with ws_server.serve(their_handler, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        try:
            ws = wsync.connect(f"ws://127.0.0.1:{port}/")
            ws.send("x")
            with pytest.raises(ConnectionClosedOK) as info:
                ws.recv(timeout=WAIT)
            assert info.value.code == 1001 and info.value.reason == "bye"
            ws.close()
        finally:
            server.shutdown()
            thread.join(WAIT)


# ---- the same API as wsframe.aio ------------------------------------------------------


def test_same_connection_api_as_aio() -> None:
    """Every public member of an aio connection exists on a sync one (the
    asyncio protocol's own methods aside), and serve()/connect() take the
    same parameters but TLS."""
    import asyncio
    import inspect

    from wsframe import aio

    protocol_names = set(dir(asyncio.BufferedProtocol))
    aio_names = {n for n in dir(aio.WebSocket) if not n.startswith("_")} - protocol_names
    sync_names = {n for n in dir(wsync.WebSocket) if not n.startswith("_")}
    assert aio_names - sync_names == {"wait_closed"}, aio_names - sync_names

    def params(func: Any) -> set:  # type: ignore[type-arg]
        return set(inspect.signature(func).parameters)

    assert params(aio.serve) - params(wsync.serve) == {"ssl"}
    assert params(wsync.serve) - params(aio.serve) == set()
    assert params(aio.connect) - params(wsync.connect) == {"ssl", "server_hostname"}
    assert params(wsync.connect) - params(aio.connect) == set()


# ---- routing ---------------------------------------------------------------------------


def test_router_parameters_query_and_404() -> None:
    def room(ws: Any) -> None:
        ws.send(f"{ws.path_params['room']} {sorted(ws.query.items())}")

    def health(connection: Any, request: Any) -> Any:
        return wsync.respond(200, "OK\n") if request.target == "/health" else None

    router = wsync.route({"/rooms/{room}": room}, process_request=health)
    with wsync.serve(router, process_request=router.process_request) as server:
        server.start()
        with wsync.connect(uri(server, "/rooms/caf%C3%A9?tag=a&tag=b")) as ws:
            assert ws.recv(timeout=WAIT) == "café [('tag', ['a', 'b'])]"
        for target, status in [("/nowhere", 404), ("/rooms/", 404), ("/health", 200)]:
            with pytest.raises(InvalidStatus) as info:
                wsync.connect(uri(server, target))
            assert info.value.status == status, target
    with wsync.serve(router) as server:  # without its hook: accepted, then 1008
        server.start()
        with wsync.connect(uri(server, "/nowhere")) as ws:
            with pytest.raises(ConnectionClosedError) as closed:
                ws.recv(timeout=WAIT)
        assert closed.value.code == 1008

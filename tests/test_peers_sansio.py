"""wsframe.Connection against real peers over loopback sockets.

A blocking, thread-per-connection server driven by wsframe.Connection talks to
the clients of websockets (sync) and wsproto; a wsframe.Connection client talks
to their servers. Every socket is on 127.0.0.1 with an ephemeral port and a
timeout; nothing asserts on timings.
"""

from __future__ import annotations

import functools
import socket
import threading
from typing import Any, Callable, Iterator, List

import pytest
from pypy_quirks import websockets_sync_on_pypy

from wsframe import (
    BinaryMessage,
    Closed,
    CloseReceived,
    Connection,
    HandshakeAccepted,
    HandshakeRejected,
    Opcode,
    Ping,
    Pong,
    State,
    TextMessage,
    encode_frame,
)
from wsframe.handshake import build_request, parse_response

from sansio_driver import TIMEOUT, BlockingWS, ThreadedServer, WsprotoPeer, connect, read_until_eof, split_http

pytestmark = pytest.mark.interop

BIG = 8 << 20  # limits raised for the several-MiB messages
LARGE_BINARY = bytes(range(256)) * (5 << 12)  # 5 MiB
LARGE_TEXT = "wsframé " * (3 << 17)  # about 3.4 MiB of UTF-8


# ---- a wsframe.Connection server -------------------------------------------------


def wsframe_server_handler(sock: socket.socket, **options: Any) -> List[object]:
    """Echo server with a few commands; returns the events it saw.

    Text commands: "please close" (close 4000), "please ping" (ping b"srv",
    then "got pong" when the pong arrives), "please fragment" (a fragmented
    reply).
    """
    options.setdefault("subprotocols", ["chat.v1", "chat.v2"])
    options.setdefault("max_message_size", BIG)
    options.setdefault("max_frame_size", BIG)
    ws = BlockingWS(sock, Connection("server", **options))
    first = ws.next_event()
    if not isinstance(first, HandshakeAccepted):
        ws.linger()
        return ws.log
    while True:
        event = ws.next_event()
        if isinstance(event, TextMessage) and ws.conn.state is State.OPEN:
            if event.data == "please close":
                ws.send("close", 4000, "asked")
            elif event.data == "please ping":
                ws.send("send_ping", b"srv")
            elif event.data == "please fragment":
                ws.send("send_text", "fragmented reply", fragment_size=3)
            else:
                ws.send("send_text", event.data)
        elif isinstance(event, BinaryMessage) and ws.conn.state is State.OPEN:
            ws.send("send_binary", event.data)
        elif isinstance(event, Pong) and event.data == b"srv" and ws.conn.state is State.OPEN:
            ws.send("send_text", "got pong")
        elif isinstance(event, Closed):
            break
    ws.linger()
    return ws.log


@pytest.fixture
def wsframe_server() -> Iterator[ThreadedServer]:
    with ThreadedServer(wsframe_server_handler) as server:
        yield server
    assert not server.errors, server.errors


def last_closed(server: ThreadedServer) -> Closed:
    server.join_handlers()
    assert not server.errors, server.errors
    events = server.results[-1]
    assert isinstance(events, list) and isinstance(events[-1], Closed), events
    return events[-1]


# ---- websockets client -> wsframe server --------------------------------------------


@websockets_sync_on_pypy
def test_websockets_client(wsframe_server: ThreadedServer) -> None:
    from websockets.sync.client import connect as ws_connect

    uri = f"ws://127.0.0.1:{wsframe_server.port}/room?x=1"
    with ws_connect(
        uri, subprotocols=["chat.v2", "other"], max_size=BIG, open_timeout=TIMEOUT, close_timeout=TIMEOUT
    ) as ws:
        assert ws.subprotocol == "chat.v2"
        for message in ["hello", "", b"", b"\x00\xff" * 10, "é" * 1000]:
            ws.send(message)
            assert ws.recv(timeout=TIMEOUT) == message
        ws.send(["frag", "men", "ted"])  # a fragmented message
        assert ws.recv(timeout=TIMEOUT) == "fragmented"
        ws.send([b"\x01", b"\x02"])
        assert ws.recv(timeout=TIMEOUT) == b"\x01\x02"
        ws.send(LARGE_BINARY)
        assert ws.recv(timeout=TIMEOUT) == LARGE_BINARY
        ws.send(LARGE_TEXT)
        assert ws.recv(timeout=TIMEOUT) == LARGE_TEXT
        ws.send("please fragment")
        assert ws.recv(timeout=TIMEOUT) == "fragmented reply"
        assert ws.ping(b"abc").wait(TIMEOUT)
        ws.send("please ping")  # websockets answers our ping by itself
        assert ws.recv(timeout=TIMEOUT) == "got pong"
        ws.close(1000, "done")
    closed = last_closed(wsframe_server)
    assert (closed.code, closed.reason, closed.clean) == (1000, "done", True)


@websockets_sync_on_pypy
def test_websockets_client_server_closes(wsframe_server: ThreadedServer) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect as ws_connect

    with ws_connect(f"ws://127.0.0.1:{wsframe_server.port}/", open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
        assert ws.subprotocol is None
        ws.send("please close")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=TIMEOUT)
        assert (ws.close_code, ws.close_reason) == (4000, "asked")
    closed = last_closed(wsframe_server)
    assert (closed.code, closed.clean) == (4000, True)


@websockets_sync_on_pypy
def test_websockets_client_too_big_gets_1009() -> None:
    from websockets.exceptions import ConnectionClosedError
    from websockets.sync.client import connect as ws_connect

    handler = functools.partial(wsframe_server_handler, max_message_size=1000)
    with ThreadedServer(handler) as server:
        with ws_connect(f"ws://127.0.0.1:{server.port}/", open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
            ws.send(b"x" * 1001)
            with pytest.raises(ConnectionClosedError):
                ws.recv(timeout=TIMEOUT)
            assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1009
        assert last_closed(server).code == 1009


@websockets_sync_on_pypy
def test_websockets_client_refused_origin() -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect as ws_connect

    handler = functools.partial(wsframe_server_handler, origins=["https://good.example"])
    with ThreadedServer(handler) as server:
        with pytest.raises(InvalidStatus) as info:
            ws_connect(f"ws://127.0.0.1:{server.port}/", origin="https://evil.example", open_timeout=TIMEOUT)
        assert info.value.response.status_code == 403
        with ws_connect(f"ws://127.0.0.1:{server.port}/", origin="https://good.example", open_timeout=TIMEOUT) as ws:
            ws.send("ok")
            assert ws.recv(timeout=TIMEOUT) == "ok"


# ---- wsproto client -> wsframe server -----------------------------------------------


def test_wsproto_client(wsframe_server: ThreadedServer) -> None:
    from wsproto import events as wev

    sock = connect(wsframe_server.port)
    try:
        peer = WsprotoPeer(sock, client=True)
        peer.send(wev.Request(host=f"127.0.0.1:{wsframe_server.port}", target="/chat", subprotocols=["chat.v1"]))
        assert peer.next() == ("accept", "chat.v1")
        for message in ["hello", "", b"", b"\x00\xff" * 10, LARGE_BINARY, LARGE_TEXT]:
            kind = "text" if isinstance(message, str) else "bytes"
            event = wev.TextMessage(data=message) if kind == "text" else wev.BytesMessage(data=message)
            peer.send(event)
            assert peer.next() == (kind, message)
        peer.send(wev.TextMessage(data="frag", message_finished=False))
        peer.send(wev.TextMessage(data="mented", message_finished=True))
        assert peer.next() == ("text", "fragmented")
        peer.send(wev.Ping(payload=b"abc"))
        assert peer.next() == ("pong", b"abc")
        peer.send(wev.TextMessage(data="please ping"))
        assert peer.next() == ("ping", b"srv")
        assert peer.next() == ("text", "got pong")
        peer.send(wev.CloseConnection(code=1001, reason="leaving"))
        assert peer.next() == ("close", 1001, "leaving")
        assert peer.next() == ("eof",)  # the server closes TCP
    finally:
        sock.close()
    closed = last_closed(wsframe_server)
    assert (closed.code, closed.reason, closed.clean) == (1001, "leaving", True)


def test_wsproto_client_server_closes(wsframe_server: ThreadedServer) -> None:
    from wsproto import events as wev

    sock = connect(wsframe_server.port)
    try:
        peer = WsprotoPeer(sock, client=True)
        peer.send(wev.Request(host="localhost", target="/"))
        assert peer.next() == ("accept", None)
        peer.send(wev.TextMessage(data="please close"))
        assert peer.next() == ("close", 4000, "asked")
        assert peer.next() == ("eof",)
    finally:
        sock.close()
    assert last_closed(wsframe_server).code == 4000


# ---- hostile clients over a raw socket ------------------------------------------------

GOOD_REQUEST = build_request("127.0.0.1", key="dGhlIHNhbXBsZSBub25jZQ==").data


@pytest.mark.parametrize(
    "request_, status",
    [
        (GOOD_REQUEST.replace(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", b""), 400),
        (GOOD_REQUEST.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"AAAAAAAAAAAAAAAAAAAA"), 400),
        (GOOD_REQUEST.replace(b"Upgrade: websocket\r\n", b""), 400),
        (GOOD_REQUEST.replace(b"Version: 13", b"Version: 7"), 426),
        (GOOD_REQUEST.replace(b"\r\n\r\n", b"\r\nOrigin: https://evil.example\r\n\r\n"), 403),
        (GOOD_REQUEST[:-2] + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ],
)
def test_hostile_handshakes_over_socket(request_: bytes, status: int) -> None:
    handler = functools.partial(wsframe_server_handler, origins=[None, "https://good.example"])
    with ThreadedServer(handler) as server:
        sock = connect(server.port)
        try:
            try:
                sock.sendall(request_)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before we finish sending a huge head
            response = read_until_eof(sock)
        finally:
            sock.close()
        head, body = split_http(response)
        parsed = parse_response(head)
        assert parsed.status == status
        assert len(body) == int(parsed.headers.get("Content-Length"))
        if status == 426:
            assert parsed.headers.get("Sec-WebSocket-Version") == "13"
        server.join_handlers()
        assert not server.errors


def test_slow_trickle_handshake_over_socket(wsframe_server: ThreadedServer) -> None:
    sock = connect(wsframe_server.port)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for i in range(len(GOOD_REQUEST)):
            sock.sendall(GOOD_REQUEST[i : i + 1])
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk
            head += chunk
        assert parse_response(split_http(head)[0]).status == 101
        frame = encode_frame(Opcode.TEXT, b"slow", mask=b"abcd")
        for i in range(len(frame)):
            sock.sendall(frame[i : i + 1])
        assert sock.recv(4096) == b"\x81\x04slow"
        sock.sendall(encode_frame(Opcode.CLOSE, b"\x03\xe8", mask=b"abcd"))
        assert read_until_eof(sock) == b"\x88\x02\x03\xe8"
    finally:
        sock.close()


@pytest.mark.parametrize(
    "frames, code",
    [
        (encode_frame(Opcode.TEXT, b"unmasked"), 1002),
        (encode_frame(Opcode.TEXT, b"\xc3\x28", mask=b"abcd"), 1007),
        (encode_frame(5, b"", mask=b"abcd"), 1002),
        (encode_frame(Opcode.BINARY, b"", rsv1=True, mask=b"abcd"), 1002),
        (encode_frame(Opcode.PING, b"", fin=False, mask=b"abcd"), 1002),
        (encode_frame(Opcode.CLOSE, b"\x03\xee", mask=b"abcd"), 1002),  # 1006 on the wire
        (b"\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01" + b"abcd", 1002),  # 64-bit length with the MSB set
        (b"\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff" + b"abcd", 1009),  # 2**63 - 1 declared
        (b"\x82\xff\x00\x00\x00\x00\x7f\xff\xff\xff" + b"abcd", 1009),  # 2 GiB declared
    ],
)
def test_hostile_frames_over_socket(wsframe_server: ThreadedServer, frames: bytes, code: int) -> None:
    sock = connect(wsframe_server.port)
    try:
        sock.sendall(GOOD_REQUEST)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            assert chunk
            data += chunk
        _, rest = split_http(data)
        sock.sendall(frames)
        rest += read_until_eof(sock)
    finally:
        sock.close()
    assert rest[0] == 0x88 and int.from_bytes(rest[2:4], "big") == code
    assert last_closed(wsframe_server).code == code


# ---- wsframe client -> websockets / wsproto servers -----------------------------------


def wsframe_client(port: int, **options: Any) -> BlockingWS:
    options.setdefault("max_message_size", BIG)
    options.setdefault("max_frame_size", BIG)
    conn = Connection("client", host=f"127.0.0.1:{port}", target="/path?q=1", **options)
    ws = BlockingWS(connect(port), conn)
    ws.flush()
    return ws


def client_scenario(ws: BlockingWS, server_pings: bool = True) -> None:
    """Exchange every kind of message with an echo server, then close."""
    for message in ["hello", "", b"", b"\x00\xff" * 10, "é" * 1000, LARGE_BINARY, LARGE_TEXT]:
        if isinstance(message, str):
            ws.send("send_text", message)
            assert ws.expect(TextMessage).data == message
        else:
            ws.send("send_binary", message)
            assert ws.expect(BinaryMessage).data == message
    ws.send("send_text", "fragmented" * 10, fragment_size=7)
    assert ws.expect(TextMessage).data == "fragmented" * 10
    ws.send("send_binary", b"\x01" * 1000, fragment_size=100)
    assert ws.expect(BinaryMessage).data == b"\x01" * 1000
    ws.send("send_ping", b"abc")
    assert ws.expect(Pong).data == b"abc"
    if server_pings:
        ws.send("send_text", "please ping")
        assert ws.expect(Ping).data == b"srv"  # our pong went out automatically
        assert ws.expect(TextMessage).data == "got pong"
    ws.send("send_text", "please fragment")
    assert ws.expect(TextMessage).data == "fragmented reply"


def websockets_handler(ws: Any) -> None:
    for message in ws:
        if message == "please close":
            ws.close(4001, "asked")
        elif message == "please ping":
            ws.ping(b"srv").wait(TIMEOUT)
            ws.send("got pong")
        elif message == "please fragment":
            ws.send(["fragm", "ented", " reply"])
        else:
            ws.send(message)


@pytest.fixture
def websockets_server() -> Iterator[int]:
    from websockets.sync.server import serve

    server = serve(websockets_handler, "127.0.0.1", 0, subprotocols=["chat.v1"], max_size=BIG, close_timeout=TIMEOUT)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.socket.getsockname()[1]
    finally:
        server.shutdown()
        thread.join(TIMEOUT)


@websockets_sync_on_pypy
def test_client_against_websockets_server(websockets_server: int) -> None:
    ws = wsframe_client(websockets_server, subprotocols=["chat.v0", "chat.v1"])
    try:
        accepted = ws.expect(HandshakeAccepted)
        assert accepted.subprotocol == "chat.v1" == ws.conn.subprotocol
        client_scenario(ws)
        ws.send("close", 1000, "bye")
        assert ws.expect(CloseReceived).code == 1000
        closed = ws.wait_closed()
        assert (closed.code, closed.reason, closed.clean) == (1000, "bye", True)
        assert ws.eof  # the server closed TCP first (RFC 6455 section 7.1.1)
    finally:
        ws.close_socket()


@websockets_sync_on_pypy
def test_client_against_websockets_server_that_closes(websockets_server: int) -> None:
    ws = wsframe_client(websockets_server, subprotocols=["chat.v1"])
    try:
        assert ws.expect(HandshakeAccepted).subprotocol == "chat.v1"
        ws.send("send_text", "please close")
        assert ws.expect(CloseReceived) == CloseReceived(4001, "asked")
        closed = ws.wait_closed()
        assert closed.clean and closed.code == 4001
        assert ws.conn.should_close_transport
    finally:
        ws.close_socket()


@websockets_sync_on_pypy
def test_client_rejected_by_websockets_server() -> None:
    from websockets.sync.server import serve

    server = serve(websockets_handler, "127.0.0.1", 0, origins=["https://good.example"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        ws = wsframe_client(server.socket.getsockname()[1], origin="https://evil.example")
        try:
            rejected = ws.expect(HandshakeRejected)
            assert rejected.status == 403
            assert isinstance(ws.next_event(), Closed)
            assert ws.conn.should_close_transport
        finally:
            ws.close_socket()
    finally:
        server.shutdown()
        thread.join(TIMEOUT)


def wsproto_server_handler(sock: socket.socket) -> List[tuple]:
    """An echo server driven by wsproto, with the same commands."""
    from wsproto import events as wev

    peer = WsprotoPeer(sock, client=False)
    seen: List[tuple] = []
    kind, request = peer.next()
    assert kind == "request"
    chosen = "chat.v1" if "chat.v1" in request.subprotocols else None
    peer.send(wev.AcceptConnection(subprotocol=chosen))
    while True:
        item = peer.next()
        seen.append(item)
        if item[0] == "text":
            if item[1] == "please close":
                peer.send(wev.CloseConnection(code=4002, reason="asked"))
            elif item[1] == "please ping":
                peer.send(wev.Ping(payload=b"srv"))
            elif item[1] == "please fragment":
                peer.send(wev.TextMessage(data="fragmented", message_finished=False))
                peer.send(wev.TextMessage(data=" reply", message_finished=True))
            else:
                peer.send(wev.TextMessage(data=item[1]))
        elif item[0] == "bytes":
            peer.send(wev.BytesMessage(data=item[1]))
        elif item[0] == "pong" and item[1] == b"srv":
            peer.send(wev.TextMessage(data="got pong"))
        elif item[0] == "close":
            sock.shutdown(socket.SHUT_WR)  # the server closes TCP first
            while peer.next()[0] != "eof":
                pass
            return seen
        elif item[0] == "eof":
            return seen


def test_client_against_wsproto_server() -> None:
    with ThreadedServer(wsproto_server_handler) as server:
        ws = wsframe_client(server.port, subprotocols=["chat.v1"])
        try:
            assert ws.expect(HandshakeAccepted).subprotocol == "chat.v1"
            client_scenario(ws)
            ws.send("close", 3000, "app done")
            assert ws.expect(CloseReceived) == CloseReceived(3000, "app done")
            closed = ws.wait_closed()
            assert closed.clean and ws.eof
        finally:
            ws.close_socket()
        server.join_handlers()
        assert not server.errors, server.errors
        assert server.results[-1][-1] == ("close", 3000, "app done")


def test_client_against_wsproto_server_that_closes() -> None:
    with ThreadedServer(wsproto_server_handler) as server:
        ws = wsframe_client(server.port)
        try:
            ws.expect(HandshakeAccepted)
            ws.send("send_text", "please close")
            assert ws.expect(CloseReceived) == CloseReceived(4002, "asked")
            assert ws.wait_closed().clean
        finally:
            ws.close_socket()
        server.join_handlers()
        assert not server.errors, server.errors


# ---- the README example --------------------------------------------------------------


def readme_example() -> Callable[[socket.socket], None]:
    """The serve_one() of README.md's "Use wsframe from your own server", run as is."""
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    section = readme.split("## Use wsframe from your own server", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace["serve_one"]


@websockets_sync_on_pypy
def test_readme_example_serves_websockets_client() -> None:
    from websockets.sync.client import connect as ws_connect

    with ThreadedServer(readme_example()) as server:
        uri = f"ws://127.0.0.1:{server.port}/"
        with ws_connect(uri, subprotocols=["chat"], open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
            assert ws.subprotocol == "chat"
            ws.send("echo me")
            assert ws.recv(timeout=TIMEOUT) == "echo me"
            assert ws.ping(b"p").wait(TIMEOUT)
        server.join_handlers()
        assert not server.errors, server.errors


# ---- websocket-client (another sync client) -> wsframe server ---------------------------


def test_websocket_client_library(wsframe_server: ThreadedServer) -> None:
    websocket = pytest.importorskip("websocket")

    ws = websocket.create_connection(
        f"ws://127.0.0.1:{wsframe_server.port}/", subprotocols=["chat.v2"], timeout=TIMEOUT
    )
    try:
        assert ws.getsubprotocol() == "chat.v2"
        ws.send("hello")
        assert ws.recv() == "hello"
        ws.send_binary(b"\x00\x01")
        assert ws.recv() == b"\x00\x01"
        ws.send("please fragment")
        assert ws.recv() == "fragmented reply"
        ws.close(status=1000, reason=b"bye")
    finally:
        ws.shutdown()
    closed = last_closed(wsframe_server)
    assert (closed.code, closed.reason, closed.clean) == (1000, "bye", True)

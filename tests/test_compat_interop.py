"""Patched libraries against real peers over loopback: same echoes, same close codes.

For wsproto, websockets and aiohttp (the issue's proof), and tornado and
Autobahn too, we start the library's own server on
127.0.0.1 (ephemeral port) and talk to it twice, unpatched and patched, with
(a) the library's own client sending large messages (client masking goes
through the patch) and (b) a raw client of ours sending hand-made frames:
fragmented messages with a ping between fragments, invalid UTF-8 in one
frame or in a later fragment, and an unmasked client frame. The echoes and
the close codes (RFC 6455 section 7.4.1) must be identical. Every wait is
bounded by ``TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from typing import Any, Awaitable, Callable, List, Tuple

import pytest
from compat_helpers import skip_unverified

import wsframe
import wsframe.compat as compat

pytestmark = [
    pytest.mark.interop,
    # Under WSFRAME_NO_EXTENSIONS=1 every patch() warns that it slows things down.
    pytest.mark.filterwarnings("ignore:wsframe.compat. patching:RuntimeWarning"),
]

TIMEOUT = 30.0
LARGE_BINARY = os.urandom(900_000)  # under every library's default 1 MiB limit
LARGE_TEXT = ("h\u00e9llo w\u00f6rld \u20ac\U0001f600 " * 30_000).encode()[:600_000].decode("utf-8", "ignore")

Message = Tuple[int, bytes]  # (opcode, payload)


# ---- a raw client: hand-made frames, RFC 6455 section 5.2 ------------------------------------


def client_frame(opcode: int, payload: bytes, fin: bool = True, masked: bool = True) -> bytes:
    """One client frame, masked with a fresh key unless ``masked`` is False."""
    head = bytes([(0x80 if fin else 0) | opcode])
    bit = 0x80 if masked else 0
    n = len(payload)
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + wsframe.apply_mask(payload, key)


async def read_frame(reader: asyncio.StreamReader) -> Tuple[bool, int, bytes]:
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    key = await reader.readexactly(4) if b1 & 0x80 else None
    payload = await reader.readexactly(n)
    if key:
        payload = wsframe.apply_mask(payload, key)
    return bool(b0 & 0x80), b0 & 0x0F, payload


async def raw_session(port: int, path: str, frames: List[bytes], replies: int) -> Tuple[List[Message], Any]:
    """Handshake, send ``frames``, collect ``replies`` messages (or until close).

    Returns the messages and ``(code, reason)`` of the server's close frame
    (1005 for an empty close payload, 1006 for a connection closed without a
    close frame).
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        for frame in frames:
            writer.write(frame)
        await writer.drain()
        messages: List[Message] = []
        opcode, parts = 0, []  # type: int, List[bytes]
        sent_close = False
        while True:
            try:
                fin, op, payload = await read_frame(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return messages, (1006, "")
            if op == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                if not sent_close:
                    writer.write(client_frame(0x8, payload[:2]))
                return messages, (code, payload[2:].decode())
            if op in (0x9, 0xA):
                continue
            if op != 0:
                opcode = op
            parts.append(payload)
            if fin:
                messages.append((opcode, b"".join(parts)))
                parts = []
                if len(messages) == replies and not sent_close:
                    writer.write(client_frame(0x8, struct.pack("!H", 1000)))
                    sent_close = True
    finally:
        writer.close()


def scenarios() -> List[Tuple[str, List[bytes], int]]:
    """(id, frames to send, replies to wait for) of the raw-client exchanges."""
    text = "fragm\u00e9nted \u20ac message ".encode() * 2000
    a, b, c = text[:7], text[7:20001], text[20001:]  # cuts inside multi-byte characters
    return [
        ("fragmented-text", [client_frame(1, a, fin=False), client_frame(9, b"ping"), client_frame(0, b, fin=False), client_frame(0, c)], 1),
        ("fragmented-binary", [client_frame(2, LARGE_BINARY[:70_000], fin=False), client_frame(0, LARGE_BINARY[70_000:])], 1),
        ("large-masked-binary", [client_frame(2, LARGE_BINARY)], 1),
        ("invalid-utf8", [client_frame(1, b"valid " * 100 + b"\xed\xa0\x80 then more")], 1),
        ("invalid-utf8-in-fragment", [client_frame(1, b"ok ", fin=False), client_frame(0, b"\xf4\x90\x80\x80", fin=False), client_frame(0, b"end")], 1),
        ("truncated-utf8", [client_frame(1, b"cut \xe2\x82")], 1),
        ("unmasked-frame", [client_frame(2, b"not masked", masked=False)], 1),
    ]


SCENARIOS = scenarios()


# ---- servers --------------------------------------------------------------------------------


async def wsproto_server(ready: Callable[[int], Awaitable[None]]) -> None:
    from wsproto import ConnectionType, WSConnection
    from wsproto.connection import ConnectionState
    from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Ping, Request, TextMessage

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = WSConnection(ConnectionType.SERVER)
        parts: List[Any] = []
        try:
            while True:
                data = await reader.read(65536)
                conn.receive_data(data or None)
                out = b""
                for event in conn.events():
                    if isinstance(event, Request):
                        out += conn.send(AcceptConnection())
                    elif isinstance(event, (TextMessage, BytesMessage)):
                        parts.append(event.data)
                        if event.message_finished:
                            joined = "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
                            out += conn.send(type(event)(data=joined))
                            parts = []
                    elif isinstance(event, Ping):
                        out += conn.send(event.response())
                    elif isinstance(event, CloseConnection):
                        if conn.state is ConnectionState.REMOTE_CLOSING:
                            out += conn.send(event.response())
                        elif conn.state is ConnectionState.OPEN:  # a parse error: we close
                            out += conn.send(CloseConnection(code=event.code, reason=event.reason))
                        writer.write(out)
                        return
                writer.write(out)
                await writer.drain()
                if not data:
                    return
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        await ready(server.sockets[0].getsockname()[1])


async def websockets_server(ready: Callable[[int], Awaitable[None]]) -> None:
    from websockets.asyncio.server import serve

    async def echo(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 0, max_size=2**20, ping_interval=None) as server:
        await ready(list(server.sockets)[0].getsockname()[1])


async def aiohttp_server(ready: Callable[[int], Awaitable[None]]) -> None:
    from aiohttp import WSMsgType, web

    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type is WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await ready(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


async def tornado_server(ready: Callable[[int], Awaitable[None]]) -> None:
    import tornado.httpserver
    import tornado.netutil
    import tornado.web
    import tornado.websocket

    class Echo(tornado.websocket.WebSocketHandler):
        def on_message(self, message: Any) -> None:
            self.write_message(message, binary=isinstance(message, bytes))

    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(tornado.web.Application([("/", Echo)]))
    server.add_sockets(sockets)
    try:
        await ready(sockets[0].getsockname()[1])
    finally:
        server.stop()


async def autobahn_server(ready: Callable[[int], Awaitable[None]]) -> None:
    from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

    class Echo(WebSocketServerProtocol):
        def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802,N803
            self.sendMessage(payload, isBinary)

    factory = WebSocketServerFactory()
    factory.protocol = Echo
    factory.setProtocolOptions(failByDrop=False)  # send close codes instead of dropping TCP
    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    try:
        await ready(server.sockets[0].getsockname()[1])
    finally:
        server.close()


# ---- native clients (their masking is patched too) ------------------------------------------


async def wsproto_client(port: int, messages: List[Any]) -> List[Any]:
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Request, TextMessage

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = WSConnection(ConnectionType.CLIENT)
    writer.write(conn.send(Request(host="127.0.0.1", target="/")))
    echoes: List[Any] = []
    parts: List[Any] = []
    pending = list(messages)
    try:
        while True:
            data = await reader.read(65536)
            conn.receive_data(data or None)
            for event in conn.events():
                if isinstance(event, AcceptConnection) or (isinstance(event, (TextMessage, BytesMessage)) and event.message_finished):
                    if not isinstance(event, AcceptConnection):
                        parts.append(event.data)
                        echoes.append("".join(parts) if isinstance(event, TextMessage) else b"".join(parts))
                        parts = []
                    if pending:
                        item = pending.pop(0)
                        writer.write(conn.send(TextMessage(data=item) if isinstance(item, str) else BytesMessage(data=item)))
                    else:
                        writer.write(conn.send(CloseConnection(code=1000)))
                elif isinstance(event, (TextMessage, BytesMessage)):
                    parts.append(event.data)
                elif isinstance(event, CloseConnection):
                    return echoes
            if not data:
                return echoes
    finally:
        writer.close()


async def websockets_client(port: int, messages: List[Any]) -> List[Any]:
    from websockets.asyncio.client import connect

    echoes = []
    async with connect(f"ws://127.0.0.1:{port}/", max_size=2**20, ping_interval=None) as ws:
        for message in messages:
            await ws.send(message)
            echoes.append(await ws.recv())
    return echoes


async def aiohttp_client(port: int, messages: List[Any]) -> List[Any]:
    import aiohttp

    echoes = []
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://127.0.0.1:{port}/") as ws:
            for message in messages:
                if isinstance(message, str):
                    await ws.send_str(message)
                else:
                    await ws.send_bytes(message)
                echoes.append((await ws.receive()).data)
    return echoes


async def tornado_client(port: int, messages: List[Any]) -> List[Any]:
    import tornado.websocket

    conn = await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{port}/")
    echoes = []
    try:
        for message in messages:
            await conn.write_message(message, binary=isinstance(message, bytes))
            echoes.append(await conn.read_message())
    finally:
        conn.close()
    return echoes


async def autobahn_client(port: int, messages: List[Any]) -> List[Any]:
    from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

    loop = asyncio.get_running_loop()
    opened: "asyncio.Future[Any]" = loop.create_future()
    queue: "asyncio.Queue[Any]" = asyncio.Queue()

    class Client(WebSocketClientProtocol):
        def onOpen(self) -> None:  # noqa: N802
            opened.set_result(self)

        def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802,N803
            queue.put_nowait(payload if isBinary else payload.decode())

    factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/")
    factory.protocol = Client
    transport, _ = await loop.create_connection(factory, "127.0.0.1", port)
    try:
        client = await opened
        echoes = []
        for message in messages:
            binary = isinstance(message, bytes)
            client.sendMessage(message if binary else message.encode(), isBinary=binary)
            echoes.append(await queue.get())
        return echoes
    finally:
        transport.close()


LIBRARIES = {
    "wsproto": (wsproto_server, wsproto_client, {}),
    "websockets": (websockets_server, websockets_client, {}),
    "websockets-fail-fast": (websockets_server, websockets_client, {"fail_fast_utf8": True}),
    "aiohttp": (aiohttp_server, aiohttp_client, {}),
    "tornado": (tornado_server, tornado_client, {}),
    "autobahn": (autobahn_server, autobahn_client, {}),
}


def run_all(library: str) -> Tuple[List[Any], List[Tuple[str, List[Message], Any]]]:
    """Native echoes and raw-client results against ``library``'s server."""
    serve, client, _ = LIBRARIES[library]
    results: List[Tuple[str, List[Message], Any]] = []
    echoes: List[Any] = []

    async def ready(port: int) -> None:
        echoes.extend(await client(port, [LARGE_BINARY, LARGE_TEXT, b"", "small"]))
        for name, frames, replies in SCENARIOS:
            messages, code = await raw_session(port, "/", frames, replies)
            results.append((name, messages, code))

    asyncio.run(asyncio.wait_for(serve(ready), TIMEOUT))
    return echoes, results


BAD_INPUT = ("invalid-utf8", "invalid-utf8-in-fragment", "truncated-utf8", "unmasked-frame")


def expected_codes(name: str) -> dict:
    """Close codes each server answers the bad-input scenarios with, unpatched."""
    codes = {"invalid-utf8": 1007, "invalid-utf8-in-fragment": 1007, "truncated-utf8": 1007, "unmasked-frame": 1002}
    if name == "tornado":  # tornado drops the connection on bad text, without a close frame
        codes = dict.fromkeys(codes, 1006)
    if name in ("aiohttp", "tornado"):  # they accept unmasked client frames and echo them
        codes["unmasked-frame"] = 1000
    return codes


def count_kernel_calls(monkeypatch: pytest.MonkeyPatch) -> List[int]:
    """Count calls of wsframe's kernels (the raw client's own masking included);
    the websockets patch parses and encodes frames with FrameParser and encode_frame."""
    calls = [0]
    for attr in ("apply_mask", "apply_mask_inplace", "find_invalid_utf8", "encode_frame", "FrameParser"):
        original = getattr(wsframe, attr)

        def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            calls[0] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(wsframe, attr, counted)
    return calls


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_patched_library_behaves_like_unpatched(library: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip(library.split("-")[0])
    skip_unverified(library.split("-")[0])
    name = library.split("-")[0]
    options = LIBRARIES[library][2]
    compat.unpatch(name)
    calls = count_kernel_calls(monkeypatch)
    plain_echoes, plain = run_all(library)
    plain_calls = calls[0]
    with compat.patched(name, **options):
        patched_echoes, patched = run_all(library)
    assert calls[0] - plain_calls > plain_calls, "the patched library never called wsframe"
    assert plain_echoes == [LARGE_BINARY, LARGE_TEXT, b"", "small"]
    assert patched_echoes == plain_echoes
    codes = {scenario: code for scenario, _, (code, _) in plain}
    # Sanity: the bad input really reaches each server's checks (unpatched).
    assert {k: codes[k] for k in BAD_INPUT} == expected_codes(name)
    for (scenario, messages, close), (_, p_messages, p_close) in zip(plain, patched):
        assert (scenario, p_close) == (scenario, close)
        assert p_messages == messages, scenario


def test_websockets_fail_fast_closes_before_the_message_ends() -> None:
    """The documented change: a bad fragment fails at once, not after the last fragment."""
    pytest.importorskip("websockets")
    skip_unverified("websockets")
    frames = [client_frame(1, b"ok ", fin=False), client_frame(0, b"\xff", fin=False)]  # never finished

    def run() -> int:
        codes: List[int] = []

        async def ready(port: int) -> None:
            try:
                codes.append((await asyncio.wait_for(raw_session(port, "/", frames, 1), 2.0))[1][0])
            except asyncio.TimeoutError:
                codes.append(0)  # still waiting for the rest of the message

        asyncio.run(asyncio.wait_for(websockets_server(ready), TIMEOUT))
        return codes[0]

    compat.unpatch("websockets")
    assert run() == 0
    with compat.patched("websockets", fail_fast_utf8=True):
        assert run() == 1007

"""A real browser against the chat demo: headless Chromium opens the page,
sends a message a Python client sees, sees the Python client's message, and
rejoins its room after the server restarts; then direct messages both ways,
a pushed notice, and a dropped connection that gets the message sent
meanwhile exactly once.

Chromium is driven over the DevTools protocol, itself a WebSocket, with our
own client (wsframe.aio.connect). When Chromium is missing, a session fixture
tries ``apt-get install -y chromium`` (as root, bounded in time); when that
is impossible or Chromium will not start, the test is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Any, AsyncIterator, Dict, Iterator, Optional, Tuple

import pytest
from aio_support import run

from wsframe.aio import connect
from wsframe.chat import ChatServer

INSTALL_TIMEOUT = 600  # seconds for all apt-get calls together (a cold install downloads ~100 MB)
START_TIMEOUT = 60  # seconds for Chromium to print its DevTools address

try:  # the install may take longer than the suite's per-test timeout
    import pytest_timeout  # noqa: F401

    pytestmark = pytest.mark.timeout(INSTALL_TIMEOUT + START_TIMEOUT + 300)
except ImportError:  # pragma: no cover
    pass
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _find_browser() -> Optional[str]:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _install_chromium() -> str:
    """Try Debian's chromium package; return why not when it cannot be done."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "not root, cannot apt-get install chromium"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    command = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    deadline = time.monotonic() + INSTALL_TIMEOUT

    def left() -> float:
        return max(1.0, deadline - time.monotonic())

    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=left())
        if done.returncode != 0:  # maybe the package lists are missing: update once
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=left())
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=left())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"apt-get install chromium failed: {exc}"
    if done.returncode != 0:
        return f"apt-get install chromium failed: {done.stderr.strip()[-300:]}"
    return ""


@pytest.fixture(scope="session")
def chromium() -> Iterator[str]:
    """A running headless Chromium; yields its DevTools browser WebSocket URL."""
    path = _find_browser()
    if path is None:
        why = _install_chromium()
        path = _find_browser()
        if path is None:
            pytest.skip(f"Chromium is not installed and could not be installed: {why or 'not found after install'}")
    profile = tempfile.mkdtemp(prefix="wsframe-chromium-")
    args = [
        path,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "about:blank",
    ]
    try:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    except OSError as exc:
        pytest.skip(f"Chromium could not be started: {exc}")
    watchdog = threading.Timer(START_TIMEOUT, proc.kill)
    watchdog.start()
    url = None
    lines = []
    try:
        for line in proc.stderr:  # type: ignore[union-attr]
            lines.append(line)
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                url = match.group(1)
                break
    finally:
        watchdog.cancel()
    if url is None:
        proc.kill()
        proc.wait(10)
        proc.stderr.close()  # type: ignore[union-attr]
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip("Chromium did not start: " + "".join(lines)[-500:])
    # Keep draining stderr so Chromium never blocks on a full pipe.
    drain = threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True)  # type: ignore[union-attr]
    drain.start()
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        drain.join(10)
        proc.stderr.close()  # type: ignore[union-attr]
        shutil.rmtree(profile, ignore_errors=True)


class DevTools:
    """A minimal Chrome DevTools Protocol client over wsframe.aio."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending: Dict[int, asyncio.Future] = {}
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            waiter = self.pending.pop(message.get("id", -1), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(message)

    async def call(self, method: str, params: Optional[dict] = None, session: Optional[str] = None) -> dict:
        ident = next(self.ids)
        request: Dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            request["sessionId"] = session
        waiter = asyncio.get_running_loop().create_future()
        self.pending[ident] = waiter
        await self.ws.send(json.dumps(request))
        reply = await asyncio.wait_for(waiter, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    async def evaluate(self, session: str, expression: str) -> Any:
        result = await self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page error: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, session: str, expression: str, what: str, steps: int = 600) -> Any:
        """Poll a page expression until it is truthy (every 50 ms, bounded)."""
        for _ in range(steps):
            value = await self.evaluate(session, expression)
            if value:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"the page never got there: {what}")

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()


async def next_message(ws) -> dict:
    while True:
        event = json.loads(await ws.recv())
        if event["type"] == "message":
            return event


@contextlib.asynccontextmanager
async def open_page(chromium: str, url: str, room: str) -> AsyncIterator[Tuple[DevTools, str]]:
    """A new Chromium tab on ``url`` that has joined ``room``: (devtools, session); closed after."""
    devtools = DevTools(await connect(chromium, max_size=64 << 20, ping_interval=None))
    target = None
    try:
        target = (await devtools.call("Target.createTarget", {"url": url}))["targetId"]
        session = (await devtools.call("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
        await devtools.wait_for(session, f"window.chat && window.chat.room === '{room}'", "joined the room")
        yield devtools, session
    finally:
        if target is not None:
            try:
                await devtools.call("Target.closeTarget", {"targetId": target})
            except Exception:
                pass
        await devtools.close()


async def python_joins(port: int, room: str, name: str, devtools: DevTools, session: str) -> Any:
    """A Python client joins ``room``; returns once the page lists it."""
    ws = await connect(f"ws://127.0.0.1:{port}/ws")
    await ws.send(json.dumps({"type": "join", "room": room, "name": name}))
    await devtools.wait_for(session, f"chat.members.includes('{name}')", f"saw {name} join")
    return ws


def test_chat_page_in_chromium(chromium: str) -> None:
    async def main():
        chat = ChatServer()
        server = await chat.serve(port=0)
        port = server.port
        page_url = f"http://127.0.0.1:{port}/?name=chromium&room=browsertest"
        try:
            async with open_page(chromium, page_url, "browsertest") as (devtools, session):
                # A Python client in the same room.
                ws = await python_joins(port, "browsertest", "python", devtools, session)

                # Browser -> Python.
                assert await devtools.evaluate(session, "chat.send('hello from chromium ✓')")
                event = await asyncio.wait_for(next_message(ws), 20)
                assert (event["name"], event["text"]) == ("chromium", "hello from chromium ✓")

                # Python -> browser, in the page state and on screen.
                await ws.send(json.dumps({"type": "message", "text": "hello from python"}))
                await devtools.wait_for(
                    session,
                    "chat.messages.some(m => m.type === 'message' && m.name === 'python' && m.text === 'hello from python')",
                    "python's message in chat.messages",
                )
                assert "hello from python" in await devtools.evaluate(session, "document.getElementById('log').textContent")
                await ws.close()

                # The server restarts on the same port: the page reconnects and rejoins.
                server.close()
                await server.wait_closed()
                await devtools.wait_for(session, "!chat.connected", "noticed the server went away")
                server = await ChatServer().serve(port=port)
                await devtools.wait_for(session, "chat.connected && chat.room === 'browsertest'", "rejoined after restart")
                ws = await python_joins(port, "browsertest", "python2", devtools, session)
                assert await devtools.evaluate(session, "chat.send('back again')")
                event = await asyncio.wait_for(next_message(ws), 20)
                assert (event["name"], event["text"]) == ("chromium", "back again")
                await ws.close()
        finally:
            server.close()
            await server.wait_closed()

    run(main(), timeout=120)


async def post_push(port: int, user: str, text: str, token: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"user": user, "text": text}).encode()
    head = f"POST /push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode() + body)
    answer = await asyncio.wait_for(reader.read(), 20)
    writer.close()
    return int(answer.split(b" ", 2)[1])


def test_chat_page_direct_messages_push_and_resume(chromium: str) -> None:
    """The page's seeds features: a direct message both ways, a pushed notice,
    and a reconnect that gets the message sent meanwhile exactly once."""

    async def main():
        server = await ChatServer(push_token="tok").serve(port=0)
        port = server.port
        page_url = f"http://127.0.0.1:{port}/?name=page&room=seeds"
        try:
            async with open_page(chromium, page_url, "seeds") as (devtools, session):
                ws = await python_joins(port, "seeds", "py", devtools, session)

                await ws.send(json.dumps({"type": "direct", "to": "page", "text": "just for you"}))
                await devtools.wait_for(
                    session, "chat.messages.some(m => m.type === 'direct' && m.from === 'py')", "the direct message"
                )
                assert await devtools.evaluate(session, "chat.direct('py', 'back to you')")
                while True:
                    event = json.loads(await asyncio.wait_for(ws.recv(), 20))
                    if event["type"] == "direct" and event["from"] == "page":
                        assert event["text"] == "back to you"
                        break

                assert await post_push(port, "page", "pushed to the page", "tok") == 202
                await devtools.wait_for(session, "document.getElementById('log').textContent.includes('pushed to the page')", "push")

                await ws.send(json.dumps({"type": "message", "text": "before the drop"}))
                await devtools.wait_for(
                    session, "document.getElementById('log').textContent.includes('before the drop')", "a message"
                )
                await devtools.evaluate(session, "chat.socket.close(), true")
                await devtools.wait_for(session, "!chat.connected", "the page noticed the drop")
                await ws.send(json.dumps({"type": "message", "text": "while it was away"}))
                await devtools.wait_for(session, "chat.connected && chat.room === 'seeds'", "rejoined")
                await devtools.wait_for(
                    session, "document.getElementById('log').textContent.includes('while it was away')", "the missed message"
                )
                log = await devtools.evaluate(session, "document.getElementById('log').textContent")
                assert log.count("while it was away") == 1 and log.count("before the drop") == 1
                await ws.close()
        finally:
            server.close()
            await server.wait_closed()

    run(main(), timeout=120)

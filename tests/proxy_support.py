"""A tiny HTTP CONNECT proxy for the proxy tests, on 127.0.0.1 port 0.

It reads one request head (bounded), records it, and either refuses with a
fixed answer or connects to the requested host:port, answers 200 and pipes
bytes both ways until either side closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import AsyncIterator, Iterator, List, Optional

MAX_HEAD = 16 * 1024


class ConnectProxy:
    """Args:
    answer: None to open tunnels, or the raw bytes to answer every request with.
    """

    def __init__(self, answer: Optional[bytes] = None) -> None:
        self.answer = answer
        self.heads: List[bytes] = []  # every request head received
        self.port = 0

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            if len(head) > MAX_HEAD:
                return
            self.heads.append(head)
            if self.answer is not None:
                writer.write(self.answer)
                await writer.drain()
                return
            method, target, _ = head.split(b"\r\n", 1)[0].split(b" ")
            assert method == b"CONNECT"
            host, _, port = target.decode().rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["ConnectProxy"]:
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            await server.wait_closed()

    @contextlib.contextmanager
    def in_thread(self) -> Iterator["ConnectProxy"]:
        """:meth:`running` on an event loop of its own thread (for wsframe.sync)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        stop = loop.create_future()

        async def main() -> None:
            async with self.running():
                started.set()
                await stop
            # Tunnels still piping: end them before the loop closes.
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        thread.start()
        try:
            assert started.wait(10), "the proxy did not start"
            yield self
        finally:
            loop.call_soon_threadsafe(stop.set_result, None)
            thread.join(10)
            loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()

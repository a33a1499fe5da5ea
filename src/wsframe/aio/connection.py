"""The user-facing WebSocket connection of :mod:`wsframe.aio`.

One object per connection, on both sides: ``await ws.recv()``,
``async for message in ws``, ``await ws.send(text_or_bytes)``,
``await ws.ping()`` (resolves on the pong), ``await ws.close(code, reason)``,
and what the handshake said (``path``, ``request_headers``, ``subprotocol``).
Text messages arrive as ``str``, binary ones as ``bytes``.
"""

from __future__ import annotations

import codecs
from typing import AsyncIterable, AsyncIterator, Iterable, List, Optional, Union, cast

from ..connection import InvalidState, State
from ..events import MessageFragment
from .base import WebSocketBase
from .exceptions import ConnectionClosedOK
from .messages import join_parts
from .output import write_buffers

__all__ = ["WebSocket"]

Data = Union[str, bytes]

_Fragment = MessageFragment
_STREAM_UNFINISHED = "a message is partly read by recv_streaming(): read the rest with recv_streaming()"


class WebSocket(WebSocketBase):
    """An open WebSocket connection (the server hands one to its handler,
    :func:`wsframe.aio.connect` returns one)."""

    # The parts of a fragmented message recv() has taken so far (kept here,
    # not in the coroutine, so a cancelled recv() loses nothing), and whether
    # recv_streaming() has handed out part of a message but not its end.
    _parts: Optional[List[Data]] = None
    _streaming: bool = False

    # ---- receiving -------------------------------------------------------------

    async def recv(self, decode: Optional[bool] = None) -> Data:
        """The next message: ``str`` for text, ``bytes`` for binary.

        Args:
            decode: None (default) as above; False gives text as its
                (validated) UTF-8 bytes, e.g. for ``orjson.loads``; True
                decodes binary messages as UTF-8 too (as websockets does).

        Raises:
            ConnectionClosed: the connection is closed and every message
                received before the close has been returned.
            RuntimeError: another coroutine is already waiting in ``recv``.
        """
        if self._streaming:
            raise RuntimeError(_STREAM_UNFINISHED)
        queue = self._queue
        while True:
            if queue:
                item = queue.popleft()
                if type(item) is _Fragment:
                    message = self._gather(item)
                    if message is None:
                        continue  # more parts to come
                else:
                    message = cast(Data, item)
                    self._message_taken(message)
                return _decoded(message, decode)
            if self._closed_event is not None or self._lost:
                raise self._closed_exception()
            if self._failing:
                # Every message before the protocol error is handled now:
                # the held close frame goes out (Connection.data_to_send).
                self._flush(force=True)
                continue
            await queue.wait()

    def __aiter__(self) -> AsyncIterator[Data]:
        return self

    async def __anext__(self) -> Data:
        """Messages until a normal close (1000/1001); other closes raise."""
        queue = self._queue
        if queue and not self._reading_paused:
            message = queue.popleft()  # the common case, without a nested coroutine
            if type(message) is not _Fragment:
                self._conn.delivered(cast(Data, message))
                return cast(Data, message)
            queue.appendleft(message)
        try:
            return await self.recv()
        except ConnectionClosedOK:
            raise StopAsyncIteration from None

    def _gather(self, fragment: MessageFragment) -> Optional[Data]:
        """recv() took one part of a fragmented message: the whole message
        once this is its last part, else None."""
        self._message_taken(fragment.data)
        parts = self._parts
        if parts is None:
            parts = self._parts = []
        parts.append(fragment.data)
        if not fragment.fin:
            return None
        self._parts = None
        return join_parts(parts)

    async def _next(self) -> Union[Data, MessageFragment]:
        """The next item of the queue (a message or a part), marked taken;
        waits for it."""
        queue = self._queue
        while True:
            if queue:
                item = queue.popleft()
                self._message_taken(item.data if type(item) is _Fragment else cast(Data, item))
                return item
            if self._closed_event is not None or self._lost:
                raise self._closed_exception()
            if self._failing:
                self._flush(force=True)
                continue
            await queue.wait()

    async def recv_streaming(self, decode: Optional[bool] = None) -> AsyncIterator[Data]:
        """The next message in parts, as they arrive: ``str`` parts for text,
        ``bytes`` for binary (``decode`` as in :meth:`recv`).

        A fragmented message comes a frame at a time, so it is never held
        whole here (``max_size`` still limits the whole message); a message
        sent in one frame comes as one part. Text parts end on code point
        boundaries. Leaving the loop before the last part leaves the rest
        for the next ``recv_streaming()`` (``recv()`` raises RuntimeError
        until then).

        Raises:
            ConnectionClosed: the connection closed before the message
                ended (after the parts received before the close).
            RuntimeError: another coroutine is reading.
        """
        parts, self._parts = self._parts, None
        if parts:
            # A recv() that was cancelled had taken these parts already.
            self._streaming = True
            yield _decoded(join_parts(parts), decode)
        item = await self._next()
        if type(item) is not _Fragment:
            yield _decoded(cast(Data, item), decode)
            return
        fragment = item
        binary_decoder = codecs.getincrementaldecoder("utf-8")() if decode and not fragment.text else None
        while True:
            self._streaming = not fragment.fin
            data = fragment.data
            if binary_decoder is not None:
                yield binary_decoder.decode(cast(bytes, data), fragment.fin)
            else:
                yield _decoded(data, decode)
            if not self._streaming:
                return
            fragment = cast(MessageFragment, await self._next())

    # ---- sending ---------------------------------------------------------------

    async def send(self, message: Union[Data, bytearray, memoryview, Iterable[Data], AsyncIterable[Data]]) -> None:
        """Send one message: text for ``str``, binary for bytes-like objects.

        An iterable or async iterable of ``str`` (text) or bytes (binary)
        parts is sent as one fragmented message, a frame per part, as the
        parts come (RFC 6455 section 5.4); an empty one sends nothing.
        Waits while the transport's write buffer is over ``write_limit``.

        Raises:
            ConnectionClosed: the connection is closing or closed.
            TypeError: ``message`` is neither str nor bytes-like nor an
                iterable of them.
        """
        conn = self._conn
        try:
            if type(message) is str:
                conn.send_text(message)
            elif isinstance(message, (bytes, bytearray, memoryview)):
                conn.send_binary(message)
            elif isinstance(message, (Iterable, AsyncIterable)) and not isinstance(message, str):
                await self._send_parts(cast(Union[Iterable[Data], AsyncIterable[Data]], message))
                return
            else:
                raise TypeError(f"send() takes str or a bytes-like object, not {type(message).__name__}")
        except InvalidState:
            raise self._closed_exception() from None
        transport = self._transport
        if (
            not self._queue
            and not self._write_paused
            and not self._flush_scheduled
            and not self._failing
            and transport is not None
            and not transport.is_closing()
        ):
            # Latency path: the application has caught up with its input,
            # nothing else waits: write what the connection framed, now.
            buffers = conn.data_to_send_buffers()
            if len(buffers) == 1:
                transport.write(buffers[0])
            else:
                write_buffers(transport, buffers)
            return
        self._queued(len(message))
        if self._write_paused:
            await self._drain()

    async def _send_parts(self, parts: Union[Iterable[Data], AsyncIterable[Data]]) -> None:
        """A message in parts: each part is written as it comes; the last
        one (known by looking one part ahead) carries FIN."""
        try:
            await self._send_parts_unguarded(parts)
        except Exception:
            if self._conn.state is State.OPEN and self._conn.sending_fragments:
                # Parts went out and the message cannot end: as websockets
                # does, close with 1011 (a close frame may come between parts).
                self._start_closing(1011, "error while sending a fragmented message")
            raise

    async def _send_parts_unguarded(self, parts: Union[Iterable[Data], AsyncIterable[Data]]) -> None:
        conn = self._conn
        pending: Optional[Data] = None
        text: Optional[bool] = None
        async for part in _as_async(parts):
            if not isinstance(part, (str, bytes, bytearray, memoryview)):
                raise TypeError(f"message parts must be str or bytes-like, not {type(part).__name__}")
            if text is None:
                text = isinstance(part, str)
            elif text is not isinstance(part, str):
                raise TypeError("all parts of a message must be str, or all bytes-like")
            if pending is not None:
                conn.send_fragment(pending, fin=False, text=text)
                self._flush()
                if self._write_paused:
                    await self._drain()
            pending = bytes(part) if not isinstance(part, str) else part
        if pending is not None:
            conn.send_fragment(pending, fin=True, text=text)
            self._queued(len(pending))
            if self._write_paused:
                await self._drain()

    async def ping(self, data: Optional[bytes] = None) -> float:
        """Send a ping and wait for its pong; return the round trip in seconds.

        Args:
            data: the payload (at most 125 bytes); 4 random bytes by default.

        Raises:
            ConnectionClosed: the connection closed before the pong came.
        """
        waiter = self._send_ping(None if data is None else bytes(data))
        return await waiter

    async def pong(self, data: bytes = b"") -> None:
        """Send an unsolicited pong (RFC 6455 section 5.5.3), e.g. as a heartbeat."""
        try:
            self._conn.send_pong(data)
        except InvalidState:
            raise self._closed_exception() from None
        self._flush()

    # ---- closing ---------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Run the closing handshake (RFC 6455 section 7) and wait for the TCP close.

        Returns after at most about twice ``close_timeout``: the transport is
        aborted if the peer does not answer. Closing twice is harmless.

        Raises:
            ValueError: a code that may not be sent (1005, 1006, 1015, ...).
        """
        self._start_closing(code, reason)
        await self.wait_closed()


async def _as_async(parts: Union[Iterable[Data], AsyncIterable[Data]]) -> AsyncIterator[Data]:
    """Iterate over an iterable or an async iterable alike."""
    if isinstance(parts, AsyncIterable):
        async for part in parts:
            yield part
    else:
        for part in parts:
            yield part


def _decoded(message: Data, decode: Optional[bool]) -> Data:
    """A message (or part) as ``decode`` asks: None leaves it, False gives
    text as UTF-8 bytes, True decodes bytes as UTF-8."""
    if decode is None:
        return message
    if isinstance(message, str):
        return message if decode else message.encode("utf-8")
    return message.decode("utf-8") if decode else message


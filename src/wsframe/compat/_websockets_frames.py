"""websockets' frame reading and writing on wsframe's compiled codec.

websockets' sans-I/O ``Protocol`` (``websockets/protocol.py``, under its
asyncio, sync and trio connections and uvicorn's websockets-sansio) parses
each frame in Python: a generator step per header part through its
``StreamReader``, ``struct`` unpacking, an ``Opcode()`` call, the extension
loop and ``Frame.check()``; ``Frame.serialize`` builds every frame in a
``BytesIO``. This module supplies replacements for ``Protocol.parse`` (the
frame loop after the handshake), ``Protocol.send_frame`` and
``Frame.serialize`` that do the byte work in :class:`wsframe.FrameParser`
(``reassemble=False``: each frame, fragments included, comes out on its own)
and :func:`wsframe.encode_frame`, and hand websockets its own ``Frame``
objects, so ``recv_frame``, the extensions (permessage-deflate) and the
events are websockets' code.

The rule that keeps websockets' behaviour exact: the compiled parser only
ever *accepts* frames. A frame it would reject, or one websockets would judge
differently (an RSV bit with no extension, a frame over websockets' per-frame
size limit, the end of the stream, a header websockets already rejects from
its first bytes), makes this connection hand the rest of the stream, from the
first byte of that frame, to websockets' original ``parse()``, which then
raises the same exception at the same moment with the same words. The
compiled parser never decides an error on its own.
"""

from __future__ import annotations

import importlib
import secrets
from typing import Any, Callable, Generator, List, Optional, Tuple

import wsframe
from wsframe.errors import ProtocolError as _WsframeError

__all__ = ["make_parse", "make_send_frame", "make_serialize", "message_limits"]

# Larger than any frame a bytes object can hold: "no limit" for FrameParser.
_UNLIMITED = (1 << 63) - 1

#: RFC 6455 5.2: the opcodes websockets' Frame.parse accepts.
_VALID_OPCODES = frozenset((0x0, 0x1, 0x2, 0x8, 0x9, 0xA))


def message_limits(protocol: Any) -> Callable[[], Optional[int]]:
    """A function giving the payload limit websockets applies to the next frame.

    websockets 16 and later keep ``max_message_size``, ``max_fragment_size``
    and ``current_size``; 13 to 15 keep ``max_size`` and ``cur_size``. The
    limit is the room left in the message, capped by the fragment limit.
    """
    if hasattr(protocol, "max_message_size"):

        def limit() -> Optional[int]:
            message, fragment = protocol.max_message_size, protocol.max_fragment_size
            size = protocol.current_size
            room = None if message is None else (message if size is None else message - size)
            if fragment is not None and (room is None or fragment < room):
                room = fragment
            return room

        return limit

    def old_limit() -> Optional[int]:
        message: Optional[int] = protocol.max_size
        size: Optional[int] = protocol.cur_size
        if message is None:
            return None
        return message if size is None else message - size

    return old_limit


def _upper_bound(protocol: Any) -> int:
    """The largest frame any later ``limit()`` can allow (for FrameParser)."""
    if hasattr(protocol, "max_message_size"):
        bounds = [protocol.max_message_size, protocol.max_fragment_size]
    else:
        bounds = [protocol.max_size]
    given = [b for b in bounds if b is not None]
    return max(0, min(given)) if given else _UNLIMITED


def _partial_frame(buf: bytearray, server: bool, room: Optional[int]) -> int:
    """What to do about the partial frame at ``buf[0:]``.

    Returns -1 when websockets' Frame.parse rejects it already (it judges the
    opcode and the mask bit from the first two bytes and the length as soon
    as the length field is in; the compiled parser waits for the whole
    header); else how many bytes the buffer must hold before feeding the
    parser is worth it: the whole frame once its length is known (websockets
    itself waits for that much without parsing), else one more byte.
    """
    n = len(buf)
    if n < 2:
        return n + 1
    if buf[0] & 0x0F not in _VALID_OPCODES or bool(buf[1] & 0x80) != server:
        return -1
    code = buf[1] & 0x7F
    if code < 126:
        length, size = code, 2
    elif code == 126:
        if n < 4:
            return n + 1
        length, size = int.from_bytes(buf[2:4], "big"), 4
    else:
        if n < 10:
            return n + 1
        length, size = int.from_bytes(buf[2:10], "big"), 10
    if room is not None and length > room:
        return -1
    return size + (4 if server else 0) + length


def make_parse(original: Callable[[Any], Generator[None, None, None]]) -> Callable[[Any], Generator[None, None, None]]:
    """``Protocol.parse`` on the compiled parser; ``original`` is websockets' own."""
    frames_mod = importlib.import_module("websockets.frames")
    exceptions = importlib.import_module("websockets.exceptions")
    protocol_mod = importlib.import_module("websockets.protocol")
    Frame = frames_mod.Frame
    CloseCode = frames_mod.CloseCode
    SERVER = protocol_mod.SERVER
    WsProtocolError = exceptions.ProtocolError
    PayloadTooBig = exceptions.PayloadTooBig
    # wsframe opcode (an int) -> websockets' Opcode member.
    opcodes: List[Any] = [None] * 16
    for member in frames_mod.Opcode:
        opcodes[int(member)] = member

    def stop(self: Any, exc: BaseException) -> None:
        """Fail the connection as websockets' parse() does for ``exc``
        (called inside the ``except`` clause, so ``exc_info=True`` logs it)."""
        if isinstance(exc, WsProtocolError):
            self.fail(CloseCode.PROTOCOL_ERROR, str(exc))
        elif isinstance(exc, EOFError):
            self.fail(CloseCode.ABNORMAL_CLOSURE, str(exc))
        elif isinstance(exc, UnicodeDecodeError):
            self.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
        elif isinstance(exc, PayloadTooBig):
            if hasattr(exc, "set_current_size"):  # websockets >= 14
                exc.set_current_size(getattr(self, "current_size", getattr(self, "cur_size", None)))
            self.fail(CloseCode.MESSAGE_TOO_BIG, str(exc))
        else:
            self.logger.error("parser failed", exc_info=True)
            # websockets keeps the details out of the close frame.
            self.fail(CloseCode.INTERNAL_ERROR)
        self.parser_exc = exc

    def fast(self: Any) -> Generator[None, None, bool]:
        """Parse frames until something needs websockets' own parser: then
        return True with the reader's buffer starting at that frame."""
        owner = self.parser  # recv_frame() or fail() replace it: we are done then
        reader = self.reader
        server = self.side is SERVER
        mask_size = 4 if server else 0
        limit = message_limits(self)
        new_api = hasattr(self, "max_message_size")
        parser = wsframe.FrameParser(
            is_server=server,
            max_frame_size=_upper_bound(self),
            max_message_size=_UNLIMITED,
            max_fragments=_UNLIMITED,
            reassemble=False,
            validate_utf8=False,  # websockets decodes text itself, later
            rsv_allowed=(True, True, True),  # RSV policy stays with websockets
        )
        fed = 0  # bytes at the start of the buffer the parser holds (a partial frame)
        need = 1  # bytes the buffer must hold before the parser is fed again
        try:
            while True:
                buf = reader.buffer
                while len(buf) < need:
                    if reader.eof:
                        return True  # websockets words the end of the stream
                    yield
                    buf = reader.buffer
                if fed:
                    with memoryview(buf) as view:
                        chunk = view[fed:]
                        try:
                            frames, broken = parser.feed(chunk), False
                        except _WsframeError as exc:
                            frames, broken = exc.frames, True
                        finally:
                            chunk.release()
                else:
                    try:
                        frames, broken = parser.feed(buf), False
                    except _WsframeError as exc:
                        frames, broken = exc.frames, True
                extensions = self.extensions
                simple = new_api and self.max_fragment_size is None
                pos = 0  # where the next frame starts in buf
                for item in frames:
                    start = pos
                    payload = item.payload
                    length = len(payload)
                    code = buf[pos + 1] & 0x7F
                    pos += length + mask_size + (2 if code < 126 else 4 if code == 126 else 10)
                    rsv1, rsv2, rsv3 = item.rsv1, item.rsv2, item.rsv3
                    if simple:  # the common case, inline: no fragment limit, no message in progress
                        room = self.max_message_size if self.current_size is None else limit()
                    else:
                        room = limit()
                    if (room is not None and length > room) or ((rsv1 or rsv2 or rsv3) and not extensions):
                        del buf[:start]
                        return True
                    frame = Frame(opcodes[item.opcode], payload, item.fin, rsv1, rsv2, rsv3)
                    if extensions:
                        for extension in reversed(extensions):
                            frame = extension.decode(frame, max_size=room)
                        frame.check()
                    self.recv_frame(frame)
                    if self.parser is not owner:
                        # A close frame (or an error) switched websockets to
                        # discard(), which emptied the buffer: the frames
                        # after this one are dropped, as websockets drops them.
                        fed, need = 0, 1
                        break
                else:
                    if pos:
                        del buf[:pos]
                    if broken:
                        return True
                    fed = len(buf)
                    if fed:
                        need = _partial_frame(buf, server, limit())
                        if need < 0:
                            return True
                    else:
                        need = 1
                    continue
                while True:
                    yield  # not stepped again: the protocol steps its new parser
        except Exception as exc:
            stop(self, exc)
        yield
        raise AssertionError("parse() shouldn't step after error")

    def parse(self: Any) -> Generator[None, None, None]:
        if self.debug:  # websockets logs each frame: leave it all to websockets
            yield from original(self)
            return
        if (yield from fast(self)):
            yield from original(self)

    parse.__wrapped__ = original  # type: ignore[attr-defined]
    parse.__doc__ = original.__doc__
    parse.__qualname__ = getattr(original, "__qualname__", "parse")
    return parse


def make_serialize(original: Callable[..., bytes]) -> Callable[..., bytes]:
    """``Frame.serialize`` on :func:`wsframe.encode_frame`; ``original`` is websockets' own.

    The same checks and messages as ``Frame.check()``, the extensions applied
    in order, a mask from ``secrets.token_bytes(4)`` (looked up at each call,
    as websockets does, so a test that patches it still controls the key).
    """
    exceptions = importlib.import_module("websockets.exceptions")
    WsProtocolError = exceptions.ProtocolError
    encode = wsframe.encode_frame

    def serialize(self: Any, *, mask: bool, extensions: Optional[Any] = None) -> bytes:
        if self.rsv1 or self.rsv2 or self.rsv3:
            raise WsProtocolError("reserved bits must be 0")
        opcode = self.opcode
        if opcode >= 8:
            if len(self.data) > 125:
                raise WsProtocolError("control frame too long")
            if not self.fin:
                raise WsProtocolError("fragmented control frame")
        frame = self
        if extensions:
            for extension in extensions:
                frame = extension.encode(frame)
        key = secrets.token_bytes(4) if mask else None
        return encode(
            frame.opcode, frame.data, fin=frame.fin, rsv1=frame.rsv1, rsv2=frame.rsv2, rsv3=frame.rsv3, mask=key
        )

    serialize.__wrapped__ = original  # type: ignore[attr-defined]
    serialize.__doc__ = original.__doc__
    return serialize


def make_send_frame(original: Callable[[Any, Any], None], serialize: Callable[..., bytes]) -> Callable[[Any, Any], None]:
    """``Protocol.send_frame`` calling our ``serialize`` without a method lookup."""
    frames_mod = importlib.import_module("websockets.frames")
    protocol_mod = importlib.import_module("websockets.protocol")
    Frame = frames_mod.Frame
    CLIENT = protocol_mod.CLIENT

    def send_frame(self: Any, frame: Any) -> None:
        if self.debug:
            self.logger.debug("> %s", frame)
        if type(frame) is Frame:
            data = serialize(frame, mask=self.side is CLIENT, extensions=self.extensions)
        else:  # a subclass may have its own serialize()
            data = frame.serialize(mask=self.side is CLIENT, extensions=self.extensions)
        self.writes.append(data)

    send_frame.__wrapped__ = original  # type: ignore[attr-defined]
    send_frame.__doc__ = original.__doc__
    return send_frame


def swaps_for(protocol_cls: Any, frame_cls: Any) -> List[Tuple[Any, str, Any]]:
    """(owner, attribute, replacement) for the three functions."""
    parse = make_parse(vars(protocol_cls)["parse"])
    serialize = make_serialize(vars(frame_cls)["serialize"])
    send_frame = make_send_frame(vars(protocol_cls)["send_frame"], serialize)
    return [(protocol_cls, "parse", parse), (protocol_cls, "send_frame", send_frame), (frame_cls, "serialize", serialize)]

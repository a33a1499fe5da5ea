"""Drop-in for ``websockets.speedups.apply_mask`` and a patch for websockets.

Replaces ``from websockets.speedups import apply_mask``.

:func:`patch` (``wsframe.compat.patch("websockets")``) moves websockets'
frame reading and writing onto wsframe's compiled codec: its sans-I/O
``Protocol.parse`` (the frame loop under its asyncio, sync and trio
connections, and uvicorn's websockets-sansio), ``Protocol.send_frame`` and
``Frame.serialize`` (see :mod:`wsframe.compat._websockets_frames`). The same
``websockets.frames.Frame`` objects reach ``recv_frame`` and the extensions,
the same exceptions, close codes and bytes come out. It also swaps the masking
function (``websockets.frames`` and, if imported, ``websockets.legacy.framing``:
the legacy layer keeps its own frame reader). ``frames=False`` swaps the
masking function only.

With ``fail_fast_utf8=True`` text frames are also validated as they arrive
(RFC 6455 section 8.1) instead of when the application decodes the whole
message. Close code (1007) and reason ("<reason> at position <n>", the same
words CPython's decoder uses) stay those of websockets; what changes:

* a fragmented message fails at the first bad fragment, not after the last;
* the connection fails even if the application never calls ``recv()``, or
  calls ``recv(decode=False)`` (unpatched websockets never checks then).
"""

from __future__ import annotations

import importlib
import weakref
from typing import Any, List, Optional

import wsframe

from . import _patching, _websockets_frames
from ._buffers import flat_bytes
from ._errors import tp_name
from ._utf8dfa import ACCEPT, scan

__all__ = ["apply_mask", "spec"]


def _bytes_like(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return flat_bytes(obj)
    raise TypeError(f"expected a bytes-like object, {tp_name(obj)} found")


def apply_mask(data: Any, mask: Any) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` (RFC 6455 section 5.3); new bytes.

    Same contract as ``websockets.speedups.apply_mask``: ``data`` and ``mask``
    are bytes, bytearray or memoryview (contiguous or not).

    Raises:
        TypeError: an argument is not bytes, bytearray or memoryview.
        ValueError: ``mask`` is not 4 bytes.
    """
    if type(mask) is bytes and len(mask) == 4 and (type(data) is bytes or type(data) is bytearray):
        return wsframe.apply_mask(data, mask)  # the common case, without coercions
    data = _bytes_like(data)
    mask = _bytes_like(mask)
    if len(mask) != 4:
        raise ValueError("mask must contain 4 bytes")
    return wsframe.apply_mask(data, mask)


# ---- fail-fast UTF-8 -----------------------------------------------------------


class _TextCheck:
    """UTF-8 state of the text message a connection is receiving."""

    __slots__ = ("validator", "tail", "active")

    def __init__(self) -> None:
        self.validator = wsframe.Utf8Validator()
        self.tail = b""  # the last <= 3 bytes of the message so far
        self.active = False

    def start(self) -> None:
        self.validator.reset()
        self.tail = b""
        self.active = True

    def feed(self, data: bytes, fin: bool) -> None:
        """Validate a fragment; raise UnicodeDecodeError as ``bytes.decode`` would."""
        seen = self.validator.position
        try:
            self.validator.feed(data, final=fin)
        except wsframe.InvalidUTF8 as exc:
            self.active = False
            raise _decode_error(exc.position, seen, self.tail, data) from None
        self.tail = (self.tail + bytes(data[-3:]))[-3:]
        if fin:
            self.active = False


def _decode_error(position: int, seen: int, tail: bytes, data: bytes) -> UnicodeDecodeError:
    """The UnicodeDecodeError ``message.decode()`` raises for a bad sequence at ``position``.

    ``seen`` bytes of the message came before ``data``; ``tail`` is their end.
    The reason is CPython's: the DFA rejecting on the first byte means an
    invalid start byte, on a later one an invalid continuation byte, and not
    rejecting at all a sequence cut by the end of the message.
    """
    if position >= seen:
        window = bytes(data[position - seen : position - seen + 4])
    else:
        window = (tail + bytes(data[:4]))[position - (seen - len(tail)) :][:4]
    reject = scan(window, ACCEPT)[1]
    if reject < 0:
        reason = "unexpected end of data"
    elif reject == 0:
        reason = "invalid start byte"
    else:
        reason = "invalid continuation byte"
    # start/end are message offsets, which is what websockets reports.
    return UnicodeDecodeError("utf-8", window, position, position + max(reject, 1), reason)


def _message_size(protocol: Any) -> Optional[int]:
    """Bytes of the message in progress (None between messages), on any websockets.

    websockets 16 and later call it ``current_size``; 13 to 15 ``cur_size``.
    """
    try:
        size: Optional[int] = protocol.current_size
    except AttributeError:
        size = protocol.cur_size
    return size


def _fail_fast_recv_frame(original: Any) -> Any:
    frames = importlib.import_module("websockets.frames")  # by name: type-checks without websockets
    BINARY, CONT, TEXT = frames.Opcode.BINARY, frames.Opcode.CONT, frames.Opcode.TEXT  # websockets 13 has no aliases

    checks: "weakref.WeakKeyDictionary[Any, _TextCheck]" = weakref.WeakKeyDictionary()

    def recv_frame(self: Any, frame: Any) -> None:
        # Only frames websockets itself accepts in sequence are checked, so a
        # sequencing error keeps its 1002 (RFC 6455 section 5.4).
        opcode = frame.opcode
        if opcode is TEXT or opcode is BINARY or opcode is CONT:
            check = checks.get(self)
            if check is None:
                check = checks[self] = _TextCheck()
            size = _message_size(self)
            if opcode is TEXT and size is None:
                check.start()
                check.feed(frame.data, frame.fin)
            elif opcode is CONT and size is not None and check.active:
                check.feed(frame.data, frame.fin)
            elif opcode is BINARY:
                check.active = False
        original(self, frame)

    recv_frame.__wrapped__ = original  # type: ignore[attr-defined]
    recv_frame.__doc__ = original.__doc__
    return recv_frame


# ---- patch -----------------------------------------------------------------------


def spec(*, fail_fast_utf8: bool = False, frames: bool = True) -> _patching.PatchSpec:
    """The patch of websockets.

    Args:
        fail_fast_utf8: add the text check (see the module docstring).
        frames: parse and serialise frames with wsframe's codec (the speedup);
            False swaps the masking function only.
    """

    def swaps() -> List[_patching.Swap]:
        frames_mod = importlib.import_module("websockets.frames")
        result = [_patching.Swap(frames_mod, "apply_mask", apply_mask)]
        try:
            speedups = importlib.import_module("websockets.speedups")
        except ImportError:
            speedups = None
        if speedups is not None:  # later importers of speedups get ours too
            result.append(_patching.Swap(speedups, "apply_mask", apply_mask))
        legacy = _patching.loaded("websockets.legacy.framing")
        if legacy is not None:  # never imported here: it warns DeprecationWarning
            result.append(_patching.Swap(legacy, "apply_mask", apply_mask))
        protocol = importlib.import_module("websockets.protocol")
        if frames:
            for owner, attribute, replacement in _websockets_frames.swaps_for(protocol.Protocol, frames_mod.Frame):
                result.append(_patching.Swap(owner, attribute, replacement))
        if fail_fast_utf8:
            original = vars(protocol.Protocol)["recv_frame"]
            result.append(_patching.Swap(protocol.Protocol, "recv_frame", _fail_fast_recv_frame(original)))
        return result

    return _patching.PatchSpec(
        name="websockets",
        distribution="websockets",
        # Every release from 13.0 to 17.4 was run through
        # tests/test_compat_websockets_protocol.py (scripts/websockets_versions.sh).
        minimum=(13, 0),
        below=(18, 0),
        swaps=swaps,
        module="websockets",
    )

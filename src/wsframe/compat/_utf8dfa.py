"""The incremental UTF-8 validator of wsaccel and Autobahn, on wsframe's fast scan.

Both expose Bjoern Hoehrmann's DFA: ``validate(chunk)`` returns
``(valid, endsOnCodePoint, currentIndex, totalIndex)`` and, on failure, the
indexes point at the byte where the DFA rejects, which is the first byte that
cannot continue the sequence (for ``E0 80`` that is the ``80``). CPython and
wsframe report the *start* of the bad sequence instead (the ``E0``), so we scan
with :func:`wsframe.find_invalid_utf8` and then walk at most 4 bytes with our
own step function to find the reject byte and the DFA state.

States (the numbers the originals expose through ``state`` and ``decode()``):
0 accept, 1 reject (sticky), 2 one continuation byte missing, 3 two missing,
4 after E0 (next A0..BF), 5 after ED (next 80..9F), 6 after F0 (next 90..BF),
7 after F1..F3 (three missing), 8 after F4 (next 80..8F). RFC 3629 section 4
gives the well-formed byte sequences these encode.
"""

from __future__ import annotations

from typing import Any, Tuple

import wsframe

from ._buffers import uchar_view

ACCEPT = 0
REJECT = 1

# State after a lead byte (RFC 3629 section 4): C2..DF need 1 more, E0/ED/E1..EF
# need 2 with a restricted second byte for E0 (no overlongs) and ED (no
# surrogates), F0/F4/F1..F3 need 3 (F0: no overlongs, F4: not above U+10FFFF).
_AFTER_LEAD = [ACCEPT] * 0x80 + [REJECT] * 0x42 + [2] * 0x1E + [4] + [3] * 12 + [5] + [3] * 2 + [6] + [7] * 3 + [8] + [REJECT] * 11

# Allowed range of the next byte and the state it leads to, per pending state.
_NEXT = {
    2: (0x80, 0xBF, ACCEPT),
    3: (0x80, 0xBF, 2),
    4: (0xA0, 0xBF, 2),
    5: (0x80, 0x9F, 2),
    6: (0x90, 0xBF, 3),
    7: (0x80, 0xBF, 3),
    8: (0x80, 0x8F, 3),
}

# Code point bits a byte contributes when it starts a sequence, as the DFA's
# ``(0xFF >> class) & byte`` computes them (invalid lead bytes included).
_LEAD_BITS = (
    [0xFF] * 0x80 + [0x7F] * 0x10 + [0x00] * 0x10 + [0x01] * 0x20 + [0x00] * 2 + [0x3F] * 0x1E
    + [0x00] + [0x1F] * 12 + [0x0F] + [0x1F] * 2 + [0x00] + [0x03] * 3 + [0x07] + [0x00] * 11
)


def step(state: int, byte: int) -> int:
    """DFA transition: the state after ``byte`` in ``state``."""
    if state == ACCEPT:
        return _AFTER_LEAD[byte]
    if state == REJECT:
        return REJECT
    low, high, after = _NEXT[state]
    return after if low <= byte <= high else REJECT


def scan(data: Any, state: int) -> Tuple[int, int]:
    """Run the DFA over ``data`` (a flat byte buffer) starting in ``state``.

    Returns:
        ``(state, reject_index)``: the final state and the index of the byte
        where the DFA rejected (``-1`` if it did not). Reject is sticky: from
        state 1 the first byte, if any, rejects at index 0.
    """
    n = len(data)
    i = 0
    while i < n:
        if state == REJECT:
            return REJECT, i
        if state != ACCEPT:
            state = step(state, data[i])
            if state == REJECT:
                return REJECT, i
            i += 1
            continue
        # Accepting: jump over valid UTF-8 with the fast validator.
        bad = wsframe.find_invalid_utf8(memoryview(data)[i:] if i else data)
        if bad < 0:
            return ACCEPT, -1
        i += bad
        state = step(ACCEPT, data[i])
        if state == REJECT:
            return REJECT, i
        i += 1
    return state, -1


def truncated_only(data: Any) -> bool:
    """Whether ``data`` holds no invalid byte (it may end inside a code point).

    This is websocket-client's ``validate_utf8`` contract: the DFA never
    rejected, whatever state it ended in.
    """
    return scan(data, ACCEPT)[1] < 0


class Utf8Validator:
    """Drop-in for ``wsaccel.utf8validator.Utf8Validator`` (and Autobahn's).

    Replaces ``from wsaccel.utf8validator import Utf8Validator``. The public
    ``state``, ``i`` and ``codepoint`` attributes behave as wsaccel's.
    ``validate`` also accepts what wsaccel does: any 1-D unsigned-byte buffer.
    """

    UTF8_ACCEPT = ACCEPT
    UTF8_REJECT = REJECT

    __slots__ = ("state", "i", "codepoint")

    def __init__(self) -> None:
        self.state = ACCEPT
        self.i = 0
        self.codepoint = 0

    def reset(self) -> None:
        """Start a new message: accept state, counters at 0."""
        self.state = ACCEPT
        self.codepoint = 0
        self.i = 0

    def decode(self, b: int) -> int:
        """Eat one octet; return the new state (0 when a code point is complete)."""
        if not 0 <= b <= 0xFF:
            raise ValueError("octet must be in 0..255")
        if self.state != ACCEPT:
            cp = (b & 0x3F) | (self.codepoint << 6)
            cp &= 0xFFFFFFFF  # the originals keep it in a C int
            self.codepoint = cp - (1 << 32) if cp & 0x80000000 else cp
        else:
            self.codepoint = _LEAD_BITS[b] & b
        self.state = step(self.state, b)
        return self.state

    def validate(self, buf: Any) -> Tuple[bool, bool, int, int]:
        """Validate one more chunk.

        Returns:
            ``(valid, endsOnCodePoint, currentIndex, totalIndex)``. On failure
            ``currentIndex`` is the index in ``buf`` of the rejected byte and
            ``totalIndex`` the same counted over all chunks; otherwise
            ``len(buf)`` and the total consumed.

        Raises:
            TypeError: ``buf`` is not bytes-like (or is None).
            ValueError: ``buf`` is a buffer of another item type.
        """
        if buf is None:
            raise TypeError("'NoneType' is not iterable")
        data: Any = uchar_view(buf)
        state, bad = scan(data, self.state)
        if bad >= 0:
            self.state = REJECT
            self.i += bad
            return False, False, bad, self.i
        n = len(data)
        self.state = state
        self.i += n
        return True, state == ACCEPT, n, self.i

"""Opcodes and close codes of RFC 6455, shared by both backends."""

from __future__ import annotations

import enum

__all__ = ["Opcode", "CloseCode", "is_valid_close_code", "CONTROL_OPCODES", "DATA_OPCODES"]


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 section 5.2); 3-7 and 11-15 are reserved."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA

    @property
    def is_control(self) -> bool:
        """True for close, ping and pong (RFC 6455 section 5.5)."""
        return self >= 0x8


CONTROL_OPCODES = frozenset({Opcode.CLOSE, Opcode.PING, Opcode.PONG})
DATA_OPCODES = frozenset({Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY})


class CloseCode(enum.IntEnum):
    """Close codes registered for RFC 6455 (section 7.4 and the IANA registry)."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    # 1004 is reserved.
    NO_STATUS_RCVD = 1005  # never on the wire
    ABNORMAL_CLOSURE = 1006  # never on the wire
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015  # never on the wire


# Codes defined by the RFC or the IANA registry that may appear in a close frame.
_WIRE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


def is_valid_close_code(code: int) -> bool:
    """Whether ``code`` may appear in a close frame received on the wire.

    RFC 6455 section 7.4: 1000-1003 and 1007-1014 are defined; 1004, 1005,
    1006, 1015 and the other unassigned codes below 3000 are not allowed;
    3000-4999 are for libraries, frameworks and applications.
    """
    return code in _WIRE_CODES or 3000 <= code <= 4999

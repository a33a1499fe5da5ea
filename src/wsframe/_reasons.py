"""Reason strings for framing errors, shared so both backends say the same words.

Each is short enough for a close frame (at most 123 bytes). The parser checks a
frame's header in this order, and reports the first rule broken:

1. 64-bit length with the top bit set                         LENGTH_MSB
2. an RSV bit not allowed (RSV1 is allowed only on the first
   frame of a TEXT/BINARY message, and only when enabled)      RSV_NOT_ALLOWED
3. reserved opcode (3-7, 11-15)                               RESERVED_OPCODE
4. control frame with FIN clear / payload over 125 bytes      FRAGMENTED_CONTROL / CONTROL_TOO_LONG
5. mask direction by role                                     MUST_BE_MASKED / MUST_NOT_BE_MASKED
6. message sequencing                                         UNEXPECTED_CONTINUATION / EXPECTED_CONTINUATION
7. limits (1009)                                              FRAME_TOO_BIG / MESSAGE_TOO_BIG / TOO_MANY_FRAGMENTS
8. payload: text UTF-8 (1007, fail-fast, as bytes arrive), close payload
   (CLOSE_ONE_BYTE, CLOSE_BAD_CODE with 1002; CLOSE_BAD_REASON with 1007)
"""

LENGTH_MSB = "frame length has its most significant bit set"
RSV_NOT_ALLOWED = "reserved bits must be 0 without a negotiated extension"
RESERVED_OPCODE = "reserved opcode"
FRAGMENTED_CONTROL = "control frame must not be fragmented"
CONTROL_TOO_LONG = "control frame payload over 125 bytes"
MUST_BE_MASKED = "client frames must be masked"
MUST_NOT_BE_MASKED = "server frames must not be masked"
UNEXPECTED_CONTINUATION = "continuation frame without a message to continue"
EXPECTED_CONTINUATION = "new data frame inside a fragmented message"
FRAME_TOO_BIG = "frame over the size limit"
MESSAGE_TOO_BIG = "message over the size limit"
TOO_MANY_FRAGMENTS = "message over the fragment limit"
INVALID_UTF8 = "invalid UTF-8 in text message"
CLOSE_ONE_BYTE = "close frame payload of 1 byte"
CLOSE_BAD_CODE = "invalid close code"
CLOSE_BAD_REASON = "invalid UTF-8 in close reason"
EOF_IN_FRAME = "connection closed inside a frame"
EOF_IN_MESSAGE = "connection closed inside a fragmented message"
UTF8_INVALID = "invalid UTF-8"
UTF8_TRUNCATED = "UTF-8 input ends inside a code point"

# Not a framing error: the RuntimeError of a stateful object (FrameParser,
# Utf8Validator, PerMessageDeflate) called while another thread is inside one
# of its methods; ``{}`` is the class name.
IN_USE = "{} is already in use by another thread"

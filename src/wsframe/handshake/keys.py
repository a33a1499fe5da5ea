"""Sec-WebSocket-Key and Sec-WebSocket-Accept (RFC 6455 sections 4.1 and 4.2.2)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

__all__ = ["GUID", "accept_key", "generate_key", "is_valid_key"]

#: RFC 6455 section 1.3: the GUID appended to the key before hashing.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def generate_key() -> str:
    """A fresh client key: base64 of 16 random bytes (RFC 6455 section 4.1).

    The nonce comes from :mod:`secrets`, a cryptographic source, as the RFC asks.
    """
    return base64.b64encode(secrets.token_bytes(16)).decode("ascii")


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key.

    RFC 6455 section 4.2.2: base64 of the SHA-1 of the key concatenated with
    the GUID (the key is used as sent, not decoded).
    """
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def is_valid_key(key: str) -> bool:
    """Whether ``key`` is base64 of exactly 16 bytes (RFC 6455 section 4.1).

    Such a key is always 24 characters ending with ``==``; anything else,
    including other padding or characters outside the base64 alphabet, fails.
    """
    if len(key) != 24 or not key.isascii():
        return False
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 16

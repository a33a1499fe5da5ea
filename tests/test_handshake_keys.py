"""Sec-WebSocket-Key / Sec-WebSocket-Accept (RFC 6455 sections 1.3, 4.1, 4.2.2)."""

from __future__ import annotations

import base64

import pytest

from wsframe.handshake import GUID, accept_key, generate_key, is_valid_key


def test_accept_key_rfc_example() -> None:
    # RFC 6455 section 1.3 worked example.
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert GUID == "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def test_generate_key_is_fresh_base64_of_16_bytes() -> None:
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert len(base64.b64decode(key, validate=True)) == 16
        assert is_valid_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "dGhlIHNhbXBsZSBub25jZQ",  # no padding
        "dGhlIHNhbXBsZSBub25jZQ=",  # short padding
        "dGhlIHNhbXBsZSBub25jZQ===",
        "dGhlIHNhbXBsZSBub25j",  # 15 bytes... base64 of fewer bytes
        "dGhlIHNhbXBsZSBub25jZSE=",  # 17 bytes
        "dGhlIHNhbXBsZSBub25jZQ!=",  # bad alphabet
        "dGhlIHNhbXBsZSBub25 jZQ=",
        "dGhlIHNhbXBsZSBub25jZQ==\u00e9",
        "ÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿ==",
    ],
)
def test_invalid_keys(key: str) -> None:
    assert not is_valid_key(key)

"""Sec-WebSocket-Extensions parsing and formatting (RFC 6455 section 9.1)."""

from __future__ import annotations

import pytest

from wsframe.handshake import InvalidHeader, format_extensions, parse_extensions


@pytest.mark.parametrize(
    "values, expected",
    [
        ([], []),
        ([""], []),
        (["permessage-deflate"], [("permessage-deflate", [])]),
        (
            ["permessage-deflate; client_max_window_bits"],
            [("permessage-deflate", [("client_max_window_bits", None)])],
        ),
        (
            ['permessage-deflate; server_max_window_bits="10" ;client_no_context_takeover , x-y'],
            [
                ("permessage-deflate", [("server_max_window_bits", "10"), ("client_no_context_takeover", None)]),
                ("x-y", []),
            ],
        ),
        (["a", "b; c=d"], [("a", []), ("b", [("c", "d")])]),
        ([" a ,, b "], [("a", []), ("b", [])]),
        (['a; p="x\\yz"'], [("a", [("p", "xyz")])]),
    ],
)
def test_parse(values, expected) -> None:  # type: ignore[no-untyped-def]
    assert parse_extensions(values) == expected


@pytest.mark.parametrize(
    "value",
    [";", "a;", "a; =1", "a; p=", "a b", 'a; p="two words"', 'a; p="unterminated', "a; p=1 2", "a=1", "é"],
)
def test_parse_invalid(value: str) -> None:
    with pytest.raises(InvalidHeader) as info:
        parse_extensions([value])
    assert info.value.status == 400 and info.value.name == "Sec-WebSocket-Extensions"


def test_format_roundtrip() -> None:
    offers = [("permessage-deflate", [("client_max_window_bits", None), ("server_max_window_bits", "10")]), ("x", [])]
    text = format_extensions(offers)
    assert text == "permessage-deflate; client_max_window_bits; server_max_window_bits=10, x"
    assert parse_extensions([text]) == offers
    with pytest.raises(ValueError):
        format_extensions([("a b", [])])
    with pytest.raises(ValueError):
        format_extensions([("a", [("p", "x y")])])

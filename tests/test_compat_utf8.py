"""Our UTF-8 shims against the originals, on the same random and hostile input.

wsaccel's and Autobahn's ``validate()`` 4-tuples, websocket-client's
``validate_utf8`` and the UnicodeDecodeError our websockets fail-fast check
raises (against ``bytes.decode``) must all be identical. Inputs mix valid text,
random bytes and the edge sequences of RFC 3629 section 4 (overlongs,
surrogates, above U+10FFFF, truncations), split into random chunks.
"""

from __future__ import annotations

import importlib
from typing import Any, List, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsframe.compat import autobahn as c_autobahn
from wsframe.compat import websocket_client as c_wsclient
from wsframe.compat import wsaccel as c_wsaccel
from wsframe.compat.websockets import _TextCheck


def optional(module: str) -> Tuple[Any, Any]:
    """The module (None when it is not installed) and a skip marker for the
    tests that need it: a missing peer skips its own section, not the file
    (on PyPy the compiled-only peers are missing, the others are not)."""
    try:
        return importlib.import_module(module), pytest.mark.skipif(False, reason=f"{module} is installed")
    except ImportError as exc:
        return None, pytest.mark.skipif(True, reason=f"could not import {module!r}: {exc}")


wsaccel_utf8, needs_wsaccel = optional("wsaccel.utf8validator")

EDGES = [
    b"\xc0\x80", b"\xc1\xbf", b"\xc2\x80", b"\xdf\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xe0\xa0\x80",
    b"\xed\x9f\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xee\x80\x80", b"\xef\xbf\xbf", b"\xf0\x8f\xbf\xbf",
    b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff", b"\x80",
    b"\xbf", b"\xe1", b"\xe1\x80", b"\xf1\x80\x80", b"\xf0", b"\xf4", b"\xed", b"\xe0", "\u00e9\u20ac\U0001f600".encode(),
]

pieces = st.one_of(
    st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=12),
    st.sampled_from(EDGES),
    st.just(b"a" * 70),
)
messages = st.lists(pieces, max_size=8).map(b"".join)


@st.composite
def chunked(draw: st.DrawFn) -> List[bytes]:
    """A message cut at random points (possibly inside code points)."""
    data = draw(messages)
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(data)), max_size=5)))
    bounds = [0] + cuts + [len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


@needs_wsaccel
@given(chunked(), st.integers(min_value=0, max_value=2))
def test_wsaccel_validate_matches(chunks: List[bytes], extra: int) -> None:
    ours, theirs = c_wsaccel.Utf8Validator(), wsaccel_utf8.Utf8Validator()
    for chunk in chunks + [b"x"] * extra + [b""]:  # keep going after a failure: sticky
        assert ours.validate(chunk) == theirs.validate(chunk)
        assert (ours.state, ours.i) == (theirs.state, theirs.i)
    ours.reset(), theirs.reset()
    assert ours.validate(b"ok") == theirs.validate(b"ok")


@needs_wsaccel
@given(messages)
def test_wsaccel_decode_matches(data: bytes) -> None:
    ours, theirs = c_wsaccel.Utf8Validator(), wsaccel_utf8.Utf8Validator()
    for byte in data:
        assert ours.decode(byte) == theirs.decode(byte)
        assert ours.codepoint == theirs.codepoint


@needs_wsaccel
@pytest.mark.parametrize(
    "arg",
    ["text", None, 5, [1, 2], bytearray(b"\xc3\xa9"), memoryview(b"ab\xffcd")[::2], memoryview(b"abcd").cast("I")],
    ids=repr,
)
def test_wsaccel_validate_argument_types(arg: object) -> None:
    def run(validator: object) -> object:
        try:
            return validator.validate(arg)  # type: ignore[attr-defined]
        except Exception as exc:
            return type(exc)

    assert run(c_wsaccel.Utf8Validator()) == run(wsaccel_utf8.Utf8Validator())


@needs_wsaccel
def test_wsaccel_class_constants() -> None:
    assert c_wsaccel.Utf8Validator.UTF8_ACCEPT == wsaccel_utf8.Utf8Validator.UTF8_ACCEPT
    assert c_wsaccel.Utf8Validator.UTF8_REJECT == wsaccel_utf8.Utf8Validator.UTF8_REJECT


ab_utf8, needs_autobahn = optional("autobahn.websocket.utf8validator")


@needs_autobahn
@given(chunked())
def test_autobahn_validate_matches_until_failure(chunks: List[bytes]) -> None:
    # Autobahn's NVX backend restarts after a failure (see compat.autobahn); we
    # compare up to and including the first failure, all Autobahn ever uses.
    ours, theirs = c_autobahn.Utf8Validator(), ab_utf8.Utf8Validator()
    for chunk in chunks:
        got, want = ours.validate(chunk), theirs.validate(chunk)
        assert got == want
        if not got[0]:
            break


ws_utils, needs_websocket_client = optional("websocket._utils")


@needs_websocket_client
@given(messages)
def test_websocket_client_validate_utf8_matches(data: bytes) -> None:
    assert c_wsclient.validate_utf8(data) == ws_utils._validate_utf8(data)


@given(chunked())
def test_websockets_fail_fast_error_is_decode_error(chunks: List[bytes]) -> None:
    """Fed frame by frame, the first error is bytes.decode()'s (start and reason)."""
    message = b"".join(chunks)
    try:
        message.decode()
        expected = None
    except UnicodeDecodeError as exc:
        expected = (exc.start, exc.reason)
    check = _TextCheck()
    check.start()
    got = None
    frames = chunks or [b""]
    for i, chunk in enumerate(frames):
        try:
            check.feed(chunk, fin=i == len(frames) - 1)
        except UnicodeDecodeError as exc:
            got = (exc.start, exc.reason)
            break
    assert got == expected

"""Our mask shims against the originals they replace, on the same random inputs.

Each test runs the library's own function and ours on identical arguments and
compares the results, the mutations of in-place arguments, and the type of any
exception (RFC 6455 section 5.3 masking; the argument rules are the
libraries' own).
"""

from __future__ import annotations

import array
import importlib
import importlib.util
import sys
from typing import Any, Callable, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsframe.compat import aiohttp as c_aiohttp
from wsframe.compat import autobahn as c_autobahn
from wsframe.compat import tornado as c_tornado
from wsframe.compat import websocket_client as c_wsclient
from wsframe.compat import websockets as c_websockets
from wsframe.compat import wsaccel as c_wsaccel
from wsframe.compat import wsproto as c_wsproto


def optional(module: str) -> Tuple[Any, Any]:
    """The module (None when it is not installed) and a skip marker for the
    tests that need it: a missing peer skips its own section, not the file
    (on PyPy the compiled-only peers are missing, the others are not)."""
    try:
        return importlib.import_module(module), pytest.mark.skipif(False, reason=f"{module} is installed")
    except ImportError as exc:
        return None, pytest.mark.skipif(True, reason=f"could not import {module!r}: {exc}")


def verified(name: str) -> Any:
    """Skip marker for when the installed ``name`` is outside the range its shim was
    verified against (Python 3.9 gets older wsproto and autobahn, which differ)."""
    from wsframe.compat import CompatError, _patching

    module = importlib.import_module(f"wsframe.compat.{name}")
    try:
        _patching.check_version(module.spec())
    except CompatError as exc:
        return pytest.mark.skipif(True, reason=str(exc))
    return pytest.mark.skipif(False, reason=f"{name} is a verified version")


def outcome(func: Callable[..., Any], *args: Any) -> Tuple[str, Any]:
    """("ok", result) or ("error", exception type): comparable with ==."""
    try:
        return "ok", func(*args)
    except Exception as exc:  # the type is what must match
        return "error", type(exc)


payloads = st.binary(max_size=300)
keys = st.binary(min_size=4, max_size=4)
any_keys = st.binary(max_size=6)


def views(data: bytes) -> list:
    """The same bytes as several buffer types, contiguous and strided."""
    doubled = bytes(b for x in data for b in (x, 0))
    return [data, bytearray(data), memoryview(data), memoryview(doubled)[::2]]


# Odd arguments: wrong types, wrong formats, None.
ODD = ["abcd", "xyz\u00e9", None, 5, [1, 2, 3, 4], array.array("B", b"abcd"), array.array("I", [7]),
       memoryview(b"abcdefgh").cast("I"), memoryview(b"abcdabcd").cast("B", (2, 4)), bytearray(b"abcd")]


# ---- websockets.speedups.apply_mask ---------------------------------------------------

websockets_speedups, needs_websockets = optional("websockets.speedups")
websockets_verified = verified("websockets")


@needs_websockets
@websockets_verified
@given(payloads, any_keys)
def test_websockets_apply_mask_matches(data: bytes, key: bytes) -> None:
    # Under PyPy, websockets' C module runs through cpyext, which cannot give
    # it a contiguous buffer of a strided view (NotImplementedError): compare
    # the contiguous views only there.
    cases = views(data)[:3] if sys.implementation.name == "pypy" else views(data)
    for d in cases:
        for k in views(key)[:3]:
            assert outcome(c_websockets.apply_mask, d, k) == outcome(websockets_speedups.apply_mask, d, k)


@needs_websockets
@websockets_verified
@pytest.mark.parametrize("odd", ODD, ids=repr)
def test_websockets_apply_mask_odd_arguments(odd: Any) -> None:
    for args in ((odd, b"abcd"), (b"payload", odd)):
        assert outcome(c_websockets.apply_mask, *args) == outcome(websockets_speedups.apply_mask, *args)


@needs_websockets
@websockets_verified
def test_websockets_apply_mask_keywords() -> None:
    assert c_websockets.apply_mask(data=b"xyz", mask=b"abcd") == websockets_speedups.apply_mask(data=b"xyz", mask=b"abcd")


# ---- aiohttp websocket_mask (in place) ---------------------------------------------------

aiohttp_mask_module, needs_aiohttp_mask = optional("aiohttp._websocket.mask")
aiohttp_mask = getattr(aiohttp_mask_module, "_websocket_mask_cython", None)
aiohttp_helpers, needs_aiohttp_helpers = optional("aiohttp._websocket.helpers")


@needs_aiohttp_mask
@needs_aiohttp_helpers
@given(payloads, any_keys)
def test_aiohttp_websocket_mask_matches(data: bytes, key: bytes) -> None:
    ours, theirs = bytearray(data), bytearray(data)
    assert outcome(c_aiohttp.websocket_mask, key, ours) == outcome(aiohttp_mask, key, theirs)
    assert ours == theirs
    python = bytearray(data)
    if len(key) == 4:  # the pure fallback gives the same bytes
        aiohttp_helpers._websocket_mask_python(key, python)
        assert python == ours


@needs_aiohttp_mask
@needs_aiohttp_helpers
@pytest.mark.parametrize("odd", ODD + [b"abcd", b"abc"], ids=repr)
def test_aiohttp_websocket_mask_odd_arguments(odd: Any) -> None:
    for make in (lambda: (odd, bytearray(b"payload")), lambda: (b"abcd", odd), lambda: (odd, odd)):
        ours, theirs = make(), make()
        assert outcome(c_aiohttp.websocket_mask, *ours) == outcome(aiohttp_mask, *theirs)


# ---- tornado websocket_mask --------------------------------------------------------------

tornado_speedups, needs_tornado = optional("tornado.speedups")


@needs_tornado
@given(payloads, any_keys)
def test_tornado_websocket_mask_matches(data: bytes, key: bytes) -> None:
    for d in views(data):
        assert outcome(c_tornado.websocket_mask, key, d) == outcome(tornado_speedups.websocket_mask, key, d)


@needs_tornado
@given(st.text(max_size=20), st.text(min_size=1, max_size=5))
def test_tornado_websocket_mask_takes_str(data: str, key: str) -> None:
    assert outcome(c_tornado.websocket_mask, key, data) == outcome(tornado_speedups.websocket_mask, key, data)


@needs_tornado
@pytest.mark.parametrize("odd", ODD + ["\udc80"], ids=repr)
def test_tornado_websocket_mask_odd_arguments(odd: Any) -> None:
    for args in ((odd, b"payload"), (b"abcd", odd)):
        assert outcome(c_tornado.websocket_mask, *args) == outcome(tornado_speedups.websocket_mask, *args)
    with pytest.raises(TypeError):
        c_tornado.websocket_mask(mask=b"abcd", data=b"x")  # type: ignore[call-arg]


# ---- wsaccel maskers ----------------------------------------------------------------------

wsaccel_xormask, needs_wsaccel = optional("wsaccel.xormask")


@needs_wsaccel
@given(st.lists(payloads, max_size=5), any_keys)
def test_wsaccel_masker_matches_across_chunks(chunks: list, key: bytes) -> None:
    made = outcome(c_wsaccel.XorMaskerSimple, key), outcome(wsaccel_xormask.XorMaskerSimple, key)
    assert made[0][0] == made[1][0]
    if made[0][0] == "error":
        assert made[0] == made[1]
        return
    ours, theirs = made[0][1], made[1][1]
    for i, chunk in enumerate(chunks):
        data = views(chunk)[i % 4]
        assert ours.process(data) == theirs.process(data)
        assert ours.pointer() == theirs.pointer()
    ours.reset(), theirs.reset()
    assert ours.pointer() == theirs.pointer() == 0
    assert ours.process(b"abcdef") == theirs.process(b"abcdef")


@needs_wsaccel
@pytest.mark.parametrize("odd", ODD + [b"abc", memoryview(b"abcdabcd")[::2]], ids=repr)
def test_wsaccel_masker_odd_arguments(odd: Any) -> None:
    assert outcome(c_wsaccel.XorMaskerSimple, odd)[0] == outcome(wsaccel_xormask.XorMaskerSimple, odd)[0]
    assert outcome(lambda m: type(m.process(odd)), c_wsaccel.XorMaskerSimple(b"abcd")) == outcome(
        lambda m: type(m.process(odd)), wsaccel_xormask.XorMaskerSimple(b"abcd")
    )
    assert outcome(lambda: c_wsaccel.XorMaskerNull().process(odd)) == outcome(
        lambda: wsaccel_xormask.XorMaskerNull().process(odd)
    )


@needs_wsaccel
def test_wsaccel_factory_and_null() -> None:
    ours = c_wsaccel.createXorMasker(b"abcd", 1000)
    theirs = wsaccel_xormask.createXorMasker(b"abcd", 1000)
    assert ours.process(b"hello") == theirs.process(b"hello")
    null, their_null = c_wsaccel.XorMaskerNull(b"abcd"), wsaccel_xormask.XorMaskerNull(b"abcd")
    assert null.process(b"abc") == their_null.process(b"abc") and null.pointer() == their_null.pointer() == 3
    null.reset()
    assert null.pointer() == 0


# ---- wsproto maskers ------------------------------------------------------------------------

wsproto_fp, needs_wsproto = optional("wsproto.frame_protocol")
wsproto_verified = verified("wsproto")


@needs_wsproto
@wsproto_verified
@given(st.lists(payloads, max_size=5), keys, st.booleans())
def test_wsproto_masker_matches_across_chunks(chunks: list, key: bytes, as_bytearray: bool) -> None:
    k = bytearray(key) if as_bytearray else key
    ours, theirs = c_wsproto.XorMaskerSimple(k), wsproto_fp.XorMaskerSimple(k)
    for i, chunk in enumerate(chunks):
        data = views(chunk)[i % 3]
        got, want = ours.process(data), theirs.process(data)
        assert type(got) is type(want) and got == want
        assert ours._masking_key == theirs._masking_key
        assert type(ours._masking_key) is type(theirs._masking_key)


@needs_wsproto
@wsproto_verified
@pytest.mark.parametrize("odd", [None, 3, "abc", [1, 2, 300], [1, 2]], ids=repr)
def test_wsproto_masker_odd_arguments(odd: Any) -> None:
    assert outcome(c_wsproto.XorMaskerSimple(b"abcd").process, odd) == outcome(
        wsproto_fp.XorMaskerSimple(b"abcd").process, odd
    )
    assert outcome(c_wsproto.XorMaskerNull().process, odd) == outcome(wsproto_fp.XorMaskerNull().process, odd)


@needs_wsproto
@wsproto_verified
def test_wsproto_masker_bad_key_fails_like_wsproto() -> None:
    for key in (b"abc", b"abcde"):
        assert outcome(c_wsproto.XorMaskerSimple(key).process, b"x") == outcome(
            wsproto_fp.XorMaskerSimple(key).process, b"x"
        )
        assert c_wsproto.XorMaskerSimple(key).process(b"") == wsproto_fp.XorMaskerSimple(key).process(b"")


# ---- websocket-client ----------------------------------------------------------------------

ws_abnf, needs_websocket_client = optional("websocket._abnf")
# The shim mirrors websocket-client with wsaccel installed (ValueError for a key
# that is not 4 bytes); without wsaccel (PyPy) its pure _mask takes any key.
with_wsaccel = pytest.mark.skipif(
    importlib.util.find_spec("wsaccel") is None, reason="websocket-client masks without wsaccel here"
)


@needs_websocket_client
@with_wsaccel
@given(payloads, any_keys)
def test_websocket_client_mask_matches(data: bytes, key: bytes) -> None:
    assert outcome(c_wsclient.abnf_mask, key, data) == outcome(ws_abnf.ABNF.mask, key, data)
    a_key, a_data = array.array("B", key), array.array("B", data)
    assert outcome(c_wsclient.mask, a_key, a_data) == outcome(ws_abnf._mask, a_key, a_data)


@needs_websocket_client
@with_wsaccel
@given(st.text(max_size=30).filter(lambda s: max(map(ord, s), default=0) < 256), st.text(min_size=4, max_size=4))
def test_websocket_client_mask_takes_latin1_str(data: str, key: str) -> None:
    assert outcome(c_wsclient.abnf_mask, key, data) == outcome(ws_abnf.ABNF.mask, key, data)


@needs_websocket_client
@with_wsaccel
@pytest.mark.parametrize("odd", [None, 5, [1, 2, 3, 4], "\u0100", memoryview(b"abcd"), bytearray(b"abcd")], ids=repr)
def test_websocket_client_mask_odd_arguments(odd: Any) -> None:
    for args in ((b"abcd", odd), (odd, b"payload")):
        assert outcome(c_wsclient.abnf_mask, *args) == outcome(ws_abnf.ABNF.mask, *args)


# ---- autobahn ------------------------------------------------------------------------------

ab_xormasker, needs_autobahn = optional("autobahn.websocket.xormasker")
autobahn_verified = verified("autobahn")


@needs_autobahn
@autobahn_verified
@given(st.lists(payloads, max_size=5), keys, st.integers(min_value=0, max_value=1000))
def test_autobahn_masker_matches_across_chunks(chunks: list, key: bytes, hint: int) -> None:
    ours, theirs = c_autobahn.create_xor_masker(key, hint), ab_xormasker.create_xor_masker(key, hint)
    for chunk in chunks:
        assert ours.process(chunk) == theirs.process(chunk)
        assert ours.pointer() == theirs.pointer()
    ours.reset(), theirs.reset()
    assert ours.process(b"abcdef") == theirs.process(b"abcdef")


@needs_autobahn
@autobahn_verified
def test_autobahn_masker_bad_mask_is_assertion() -> None:
    for mask in (b"abc", b"abcde"):
        assert outcome(c_autobahn.create_xor_masker, mask) == outcome(ab_xormasker.create_xor_masker, mask)
    null, theirs = c_autobahn.XorMaskerNull(b"abcd"), ab_xormasker.XorMaskerNull(b"abcd")
    assert null.process(b"xyz") == theirs.process(b"xyz") == b"xyz"
    assert null.pointer() == theirs.pointer() == 3

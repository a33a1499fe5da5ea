"""patch() / unpatch() / patched(): what is swapped, what is refused, what is restored."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from compat_helpers import skip_unverified

import wsframe.compat as compat
from wsframe.compat import _patching

# Under WSFRAME_NO_EXTENSIONS=1 every patch() warns that it slows things down.
pytestmark = pytest.mark.filterwarnings("ignore:wsframe.compat. patching:RuntimeWarning")

# Where this run imports wsframe from (src/ or an installed wheel's site-packages).
SRC = Path(compat.__file__).resolve().parents[2]

# name -> [(module, attribute)] that patch(name) must replace.
TARGETS = {
    "websockets": [("websockets.frames", "apply_mask")],
    "aiohttp": [("aiohttp._websocket.writer", "websocket_mask"), ("aiohttp._websocket.reader_py", "websocket_mask")],
    "wsproto": [("wsproto.frame_protocol", "XorMaskerSimple")],
    "tornado": [("tornado.websocket", "_websocket_mask"), ("tornado.util", "_websocket_mask")],
    "autobahn": [("autobahn.websocket.protocol", "Utf8Validator"), ("autobahn.websocket.protocol", "create_xor_masker")],
    "websocket-client": [("websocket._abnf", "_mask"), ("websocket._utils", "_validate_utf8")],
}


def current(targets: List[Tuple[str, str]]) -> List[Any]:
    return [getattr(importlib.import_module(module), attr) for module, attr in targets]


@pytest.fixture(params=sorted(TARGETS))
def name(request: pytest.FixtureRequest) -> str:
    pytest.importorskip(TARGETS[request.param][0][0])
    skip_unverified(request.param)
    compat.unpatch(request.param)
    yield request.param
    compat.unpatch(request.param)


def test_patch_swaps_and_unpatch_restores(name: str) -> None:
    before = current(TARGETS[name])
    compat.patch(name)
    assert compat.is_patched(name)
    during = current(TARGETS[name])
    assert all(a is not b for a, b in zip(before, during))
    assert all(getattr(obj, "__module__", "").startswith("wsframe.compat") for obj in during)
    compat.patch(name)  # idempotent
    compat.unpatch(name)
    assert not compat.is_patched(name)
    assert all(a is b for a, b in zip(before, current(TARGETS[name])))
    compat.unpatch(name)  # nothing to do


def test_patched_context_manager(name: str) -> None:
    before = current(TARGETS[name])
    with compat.patched(name):
        assert compat.is_patched(name)
        with compat.patched(name):  # already patched: stays patched after
            pass
        assert compat.is_patched(name)
    assert not compat.is_patched(name)
    assert all(a is b for a, b in zip(before, current(TARGETS[name])))


def test_unverified_version_is_refused(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_patching, "installed_version", lambda dist, module="": "0.0.1")
    with pytest.raises(compat.CompatError, match=r"0\.0\.1 is not a version this patch was verified against"):
        compat.patch(name)
    assert not compat.is_patched(name)
    compat.patch(name, force=True)  # the explicit escape hatch
    assert compat.is_patched(name)


def test_not_installed_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_patching, "installed_version", lambda dist, module="": None)
    with pytest.raises(compat.CompatError, match="not installed"):
        compat.patch("wsproto")
    with pytest.raises(compat.CompatError, match="not installed"):
        compat.patch("wsproto", force=True)


def test_bad_names_and_options() -> None:
    with pytest.raises(ValueError, match="unknown library 'ws4py'"):
        compat.patch("ws4py")
    with pytest.raises(TypeError):
        compat.patch("wsproto", fail_fast_utf8=True)
    assert compat.is_patched("websocket_client") == compat.is_patched("websocket-client")
    assert set(compat.SUPPORTED) == set(TARGETS)
    assert set(compat.versions()) == set(TARGETS)


def test_missing_attribute_swaps_nothing() -> None:
    import wsproto.frame_protocol as fp

    original = fp.XorMaskerSimple
    spec = _patching.PatchSpec(
        name="broken",
        distribution="wsproto",
        minimum=(0,),
        below=(99,),
        swaps=lambda: [_patching.Swap(fp, "XorMaskerSimple", object()), _patching.Swap(fp, "NoSuchThing", 1)],
    )
    with pytest.raises(compat.CompatError, match="NoSuchThing does not exist"):
        _patching.apply(spec)
    assert fp.XorMaskerSimple is original
    assert not _patching.is_applied("broken")


def test_failed_swap_undoes_the_earlier_ones() -> None:
    # The second owner is an immutable built-in type: its setattr fails after
    # the first swap was made; the library must be left exactly as it was.
    import types

    module = types.ModuleType("fake_lib")
    module.helper = original = object()
    spec = _patching.PatchSpec(
        name="half",
        distribution="wsproto",
        minimum=(0,),
        below=(99,),
        swaps=lambda: [_patching.Swap(module, "helper", object()), _patching.Swap(bytes, "hex", object())],
    )
    with pytest.raises(compat.CompatError, match="cannot patch half"):
        _patching.apply(spec)
    assert module.helper is original
    assert not _patching.is_applied("half")


def snapshot(name: str) -> dict:
    """Every attribute of every module patch(name) touches, by identity."""
    return {module: dict(vars(importlib.import_module(module))) for module, _ in TARGETS[name]}


def same(before: dict, after: dict) -> bool:
    return before.keys() == after.keys() and all(
        before[m].keys() == after[m].keys() and all(before[m][k] is after[m][k] for k in before[m]) for m in before
    )


def test_unpatch_restores_every_module_exactly(name: str) -> None:
    before = snapshot(name)
    compat.patch(name)
    assert not same(before, snapshot(name))
    compat.unpatch(name)
    assert same(before, snapshot(name))


def test_unpatch_leaves_a_later_replacement_alone() -> None:
    import wsproto.frame_protocol as fp

    skip_unverified("wsproto")
    original = fp.XorMaskerSimple
    compat.patch("wsproto")
    mine = object()
    fp.XorMaskerSimple = mine
    try:
        with pytest.warns(RuntimeWarning, match="replaced by someone else"):
            compat.unpatch("wsproto")
        assert fp.XorMaskerSimple is mine
    finally:
        fp.XorMaskerSimple = original


@pytest.mark.parametrize("text,expected", [("17.4", (17, 4)), ("3.14.5rc1", (3, 14, 5)), ("1.9.2.post1", (1, 9, 2)), ("26.10.2", (26, 10, 2)), ("dev", ())])
def test_parse_version(text: str, expected: Tuple[int, ...]) -> None:
    assert _patching.parse_version(text) == expected


def test_importing_compat_patches_nothing() -> None:
    code = textwrap.dedent(
        """
        import importlib, sys
        modules = {}
        for name in %r:
            try:
                modules[name] = importlib.import_module(name)
            except ImportError:
                pass
        before = {name: dict(vars(m)) for name, m in modules.items()}
        import wsframe.compat, wsframe.compat.websockets, wsframe.compat.wsproto, wsframe.compat.tornado
        import wsframe.compat.aiohttp, wsframe.compat.autobahn, wsframe.compat.websocket_client, wsframe.compat.wsaccel
        for name, m in modules.items():
            after = vars(m)
            assert after.keys() == before[name].keys(), name
            changed = [k for k in after if after[k] is not before[name][k]]
            assert not changed, (name, changed)
        assert not any(wsframe.compat.is_patched(n) for n in wsframe.compat.SUPPORTED)
        """
        % sorted({module for targets in TARGETS.values() for module, _ in targets} | {"websockets.speedups"})
    )
    env = dict(os.environ, PYTHONPATH=str(SRC))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# ---- patched libraries still speak RFC 6455 (sans-IO, no sockets) ------------------------


def test_patched_websocket_client_frames_roundtrip() -> None:
    from websocket._abnf import ABNF

    with compat.patched("websocket-client"):
        frame = ABNF.create_frame("h\u00e9llo" * 100, ABNF.OPCODE_TEXT)
        wire = frame.format()
        key, masked = wire[4:8], wire[8:]
        assert ABNF.mask(key, masked) == ("h\u00e9llo" * 100).encode()
        from websocket._utils import validate_utf8

        assert validate_utf8(b"h\xc3\xa9llo") and not validate_utf8(b"\xed\xa0\x80")


def test_patched_wsproto_sans_io_roundtrip() -> None:
    from wsproto import ConnectionType
    from wsproto.connection import Connection
    from wsproto.events import BytesMessage, TextMessage

    skip_unverified("wsproto")
    with compat.patched("wsproto"):
        client, server = Connection(ConnectionType.CLIENT), Connection(ConnectionType.SERVER)
        payload = bytes(range(256)) * 300
        server.receive_data(client.send(BytesMessage(data=payload)) + client.send(TextMessage(data="\u20ac" * 5000)))
        events = list(server.events())
        assert b"".join(e.data for e in events if isinstance(e, BytesMessage)) == payload
        assert "".join(e.data for e in events if isinstance(e, TextMessage)) == "\u20ac" * 5000


def test_patching_with_the_pure_backend_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    import wsframe

    skip_unverified("wsproto")
    compat.unpatch("wsproto")
    monkeypatch.setattr(wsframe, "HAS_C_EXTENSION", False)
    with pytest.warns(RuntimeWarning, match="pure-Python backend"):
        with compat.patched("wsproto"):
            pass


def test_patching_again_with_other_options_is_refused() -> None:
    skip_unverified("websockets")
    compat.unpatch("websockets")
    with compat.patched("websockets"):
        compat.patch("websockets")  # same options: nothing to do
        with pytest.raises(compat.CompatError, match="already patched"):
            compat.patch("websockets", fail_fast_utf8=True)
    with compat.patched("websockets", fail_fast_utf8=True):
        assert compat.is_patched("websockets")
    assert not compat.is_patched("websockets")

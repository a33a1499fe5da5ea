"""Drop-in speedups for the WebSocket libraries people already use.

Two ways in:

* **Shims**: functions and classes with the exact signature and behaviour of
  the accelerators other libraries import, e.g.
  ``from wsframe.compat.websockets import apply_mask`` for
  ``websockets.speedups.apply_mask``. One module per library.
* **Patches**: ``wsframe.compat.patch("wsproto")`` swaps a library's masking
  (and, where it helps, UTF-8 validation) for ours at run time;
  ``unpatch()`` restores it, ``patched()`` does both around a block::

      import wsframe.compat
      wsframe.compat.patch("wsproto")

  A patch refuses (:class:`CompatError`) when the installed version is not one
  it was verified against; ``force=True`` skips that check (the attributes it
  swaps must still exist). Nothing is patched on import. Patching while
  wsframe runs its pure-Python backend works but warns: it is slower.

Supported names: ``websockets``, ``aiohttp``, ``wsproto``, ``tornado``,
``autobahn``, ``websocket-client``. wsaccel has shims only
(:mod:`wsframe.compat.wsaccel`).
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from typing import Any, Dict, Iterator, Tuple

from ._patching import CompatError, installed_version, is_applied
from ._patching import apply as _apply
from ._patching import lock as _lock
from ._patching import revert as _revert

__all__ = ["CompatError", "SUPPORTED", "patch", "unpatch", "patched", "is_patched", "versions"]

# patch() name -> module of wsframe.compat holding its spec().
_MODULES: Dict[str, str] = {
    "websockets": "websockets",
    "aiohttp": "aiohttp",
    "wsproto": "wsproto",
    "tornado": "tornado",
    "autobahn": "autobahn",
    "websocket-client": "websocket_client",
}

#: Library names :func:`patch` knows.
SUPPORTED: Tuple[str, ...] = tuple(_MODULES)

# Options each patched library was patched with.
_options: Dict[str, Dict[str, Any]] = {}

_ALIASES = {"websocket_client": "websocket-client", "websocket": "websocket-client"}


def _canonical(name: str) -> str:
    key = _ALIASES.get(name, name)
    if key not in _MODULES:
        raise ValueError(f"wsframe.compat: unknown library {name!r}; supported: {', '.join(SUPPORTED)}")
    return key


def patch(name: str, *, force: bool = False, **options: Any) -> None:
    """Swap ``name``'s masking/UTF-8 helpers for wsframe's, until :func:`unpatch`.

    Args:
        name: one of :data:`SUPPORTED` (``"websocket_client"`` also works).
        force: patch even if the installed version was not verified.
        **options: library options, e.g. ``fail_fast_utf8=True`` for websockets.

    Raises:
        ValueError: unknown library name.
        TypeError: an option the library does not have.
        CompatError: not installed, unverified version, unexpected layout, or
            already patched with other options.
    """
    key = _canonical(name)
    module = importlib.import_module(f"{__name__}.{_MODULES[key]}")
    spec = module.spec(**options)
    with _lock:  # two threads patching at once must not mix up the options
        if is_applied(key):
            if _options.get(key) != options:
                raise CompatError(
                    f"wsframe.compat: {key} is already patched with options {_options.get(key)}; unpatch it first"
                )
            return
        import wsframe

        if not wsframe.HAS_C_EXTENSION:
            warnings.warn(
                f"wsframe.compat: patching {key} with wsframe's pure-Python backend "
                f"({wsframe.C_IMPORT_ERROR}); this is slower than {key}'s own code",
                RuntimeWarning,
                stacklevel=2,
            )
        _apply(spec, force=force)
        _options[key] = dict(options)


def unpatch(name: str) -> None:
    """Restore what :func:`patch` replaced (nothing happens if not patched)."""
    _revert(_canonical(name))


def is_patched(name: str) -> bool:
    """Whether ``name`` is currently patched."""
    return is_applied(_canonical(name))


@contextlib.contextmanager
def patched(name: str, *, force: bool = False, **options: Any) -> Iterator[None]:
    """Patch ``name`` for the duration of a ``with`` block.

    If it was already patched before the block, it stays patched after it.
    """
    already = is_patched(name)
    patch(name, force=force, **options)
    try:
        yield
    finally:
        if not already:
            unpatch(name)


def versions() -> Dict[str, Any]:
    """Installed version of each supported library (None if not installed)."""
    dists = {"websocket-client": "websocket-client"}
    return {name: installed_version(dists.get(name, name)) for name in SUPPORTED}

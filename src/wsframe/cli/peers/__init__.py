"""Adapters: one callable per (implementation, operation), wsframe and peers alike.

Each adapter turns benchmark inputs into a ``Prepared`` call whose result the
runner checks once before timing it, so a peer that silently does something
else (or a broken kernel) shows up as "wrong answer", never as a fast number.
The pytest-benchmark suite in ``benchmarks/`` uses the same adapters.

Operations (and what ``prepare`` receives):

* ``mask_inplace`` (buf: bytearray, key): XOR ``buf`` in place (RFC 6455 5.3);
* ``mask_copy`` (data: bytes, key): return a new masked bytes;
* ``utf8`` (data: bytes): say whether ``data`` is valid UTF-8;
* ``parse`` (stream: bytes, count): parse ``count`` masked text frames fed in
  one call, with full validation (UTF-8 included); return the frame count;
* ``encode`` (payload: bytes): one unmasked binary frame (server side).

One module per library (``lib_*.py``). Peers are imported lazily and defensively: a missing or incompatible one is
listed with the reason instead of failing the run.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from ._base import OPERATIONS, STREAM_CHUNK, Adapter, Catalog, Prepared, Unsupported
from .lib_aiohttp import add_aiohttp
from .lib_picows import add_picows
from .lib_small import add_tornado, add_wsaccel, add_wsproto
from .lib_websockets import add_websockets
from .own import add_wsframe, load_backend
from .references import add_references

__all__ = [
    "OPERATIONS",
    "STREAM_CHUNK",
    "Adapter",
    "Prepared",
    "Unsupported",
    "adapters",
    "load_backend",
]

#: One loader per third-party library; each adds what that library offers.
PEER_LOADERS = (add_websockets, add_aiohttp, add_wsproto, add_wsaccel, add_tornado, add_picows)


def adapters(backends: Sequence[str] = ("c", "py"), peers: bool = True) -> Tuple[List[Adapter], Dict[str, str]]:
    """Every adapter that can run here, and the reasons for those that cannot.

    Args:
        backends: wsframe backends to include ("c", "py").
        peers: include third-party libraries (references are always included).

    Returns:
        (adapters, {implementation: why it is missing}).
    """
    cat = Catalog()
    for name in backends:
        mod, why = load_backend(name)
        label = "C" if name == "c" else "py"
        if mod is None:
            cat.missing[f"wsframe {label}"] = why or "unavailable"
        else:
            add_wsframe(cat, label, mod)
    add_references(cat)
    if peers:
        for loader in PEER_LOADERS:
            try:
                loader(cat)
            except Exception as exc:  # an incompatible peer version must not stop the run
                cat.missing[loader.__name__[len("add_"):]] = f"{type(exc).__name__}: {exc}"
    return cat.adapters, cat.missing

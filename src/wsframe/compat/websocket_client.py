"""Drop-ins for websocket-client's mask and UTF-8 functions and a patch for it.

Replaces ``websocket._abnf._mask``, ``websocket.ABNF.mask`` and
``websocket._utils._validate_utf8``. websocket-client uses wsaccel when it
is installed (one byte per loop iteration, plus two ``array`` copies per
frame) and big-integer XOR or a pure-Python DFA otherwise.

``validate_utf8`` keeps websocket-client's contract: False only when an
invalid byte is seen; input that merely ends inside a code point is accepted
(the library checks whole messages, so that case never reaches it cut).
"""

from __future__ import annotations

import array
import importlib
from typing import Any, List, Union

import wsframe

from . import _patching
from ._buffers import flat_bytes
from ._maskers import XorMaskerSimple
from ._utf8dfa import truncated_only

__all__ = ["mask", "abnf_mask", "validate_utf8", "spec"]


def mask(mask_value: Any, data_value: Any) -> bytes:
    """``websocket._abnf._mask``: XOR ``data_value`` with 4-byte ``mask_value``.

    Both are byte buffers (websocket-client passes ``array('B')``).

    Raises:
        ValueError: ``mask_value`` is not 4 bytes ("mask should be 4byte.",
            as with wsaccel installed).
    """
    return XorMaskerSimple(mask_value).process(data_value)


def _as_buffer(value: Any) -> Any:
    # ABNF.mask builds array("B", value); skip that copy when value is a buffer already.
    if type(value) is bytes or type(value) is bytearray:
        return value
    return array.array("B", value)


def abnf_mask(mask_key: Union[str, bytes], data: Union[str, bytes]) -> bytes:
    """``websocket.ABNF.mask``: mask or unmask ``data`` (RFC 6455 section 5.3).

    ``data`` None means empty; ``str`` arguments are encoded as Latin-1, any
    other value goes through ``array("B", ...)`` like the original.
    """
    if data is None:
        data = ""
    if isinstance(mask_key, str):
        mask_key = mask_key.encode("latin-1")
    if isinstance(data, str):
        data = data.encode("latin-1")
    key = _as_buffer(mask_key)
    payload = _as_buffer(data)
    if len(key) != 4:
        raise ValueError("mask should be 4byte.")
    return wsframe.apply_mask(flat_bytes(payload), key)


def validate_utf8(utfbytes: Any) -> bool:
    """``websocket._utils._validate_utf8``: no invalid UTF-8 byte in ``utfbytes``.

    A truncated last code point is accepted, as websocket-client does.
    """
    return truncated_only(flat_bytes(utfbytes))


def spec() -> _patching.PatchSpec:
    """The patch of websocket-client."""

    def swaps() -> List[_patching.Swap]:
        abnf = importlib.import_module("websocket._abnf")
        utils = importlib.import_module("websocket._utils")
        return [
            _patching.Swap(abnf, "_mask", mask),
            _patching.Swap(abnf.ABNF, "mask", staticmethod(abnf_mask)),
            _patching.Swap(utils, "_validate_utf8", validate_utf8),
        ]

    return _patching.PatchSpec(
        name="websocket-client",
        distribution="websocket-client",
        minimum=(1, 9),
        below=(1, 10),
        swaps=swaps,
        module="websocket",
    )

"""Masking (RFC 6455 section 5.3), in place and copy-out, 2 B to 16 MiB.

References in the same groups: a plain copy (``bytes(memoryview)``) and
numpy's in-place uint64 XOR; peers: aiohttp, websockets, tornado, wsaccel, wsproto.
"""

from __future__ import annotations

import pytest

from bench_support import params, run


@pytest.mark.parametrize(("cell", "adapter"), params("mask_inplace"))
def test_mask_inplace(benchmark, cell, adapter):
    run(benchmark, cell, adapter)


@pytest.mark.parametrize(("cell", "adapter"), params("mask_copy"))
def test_mask_copy(benchmark, cell, adapter):
    run(benchmark, cell, adapter)

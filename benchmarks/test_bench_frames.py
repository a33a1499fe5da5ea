"""Frame parsing (10,000 masked 125 B text frames per feed, full validation)
and encoding (one unmasked server frame), against every installed peer."""

from __future__ import annotations

import pytest

from bench_support import params, run


@pytest.mark.parametrize(("cell", "adapter"), params("parse"))
def test_parse(benchmark, cell, adapter):
    run(benchmark, cell, adapter)


@pytest.mark.parametrize(("cell", "adapter"), params("encode"))
def test_encode(benchmark, cell, adapter):
    run(benchmark, cell, adapter)

"""UTF-8 validation: ASCII, Chinese, mixed and invalid text, 125 B to 1 MiB.

One-shot and incremental (4 KiB chunks) for each backend, against
``bytes.decode`` (and its incremental decoder) and wsaccel.
"""

from __future__ import annotations

import pytest

from bench_support import params, run


@pytest.mark.parametrize(("cell", "adapter"), params("utf8"))
def test_utf8(benchmark, cell, adapter):
    run(benchmark, cell, adapter)

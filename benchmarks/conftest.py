"""pytest-benchmark suite of wsframe: backend x operation x size x content.

Run it with ``python -m pytest benchmarks --benchmark-group-by=group``
(add ``--benchmark-autosave`` then ``--benchmark-compare`` to compare runs);
``python -m pytest benchmarks --benchmark-disable -q`` is a quick smoke test
that runs every case once and checks its answer.
"""

from __future__ import annotations

import os
import sys
from typing import List

try:
    import wsframe  # noqa: F401
except ImportError:  # a source checkout without `pip install`: use src/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))


def pytest_report_header(config) -> List[str]:  # type: ignore[no-untyped-def]
    """Say which backend and kernels are measured (never benchmark blind)."""
    from wsframe.cli.info import describe, environment

    return describe(environment()).splitlines()

"""Glue between pytest-benchmark and the CLI's matrix and adapters.

The suite measures exactly what ``python -m wsframe bench`` measures: the same
cells (:func:`wsframe.cli.runner.full_matrix`), the same adapters
(:mod:`wsframe.cli.peers`), the same answer checks before timing.
"""

from __future__ import annotations

from typing import Any, List

import pytest

from wsframe.cli.peers import adapters
from wsframe.cli.runner import Cell, cell_inputs, full_matrix, human_size, prepare_call

ADAPTERS, MISSING = adapters()


def _slug(text: str) -> str:
    return text.replace(" ", "_").replace(",", "")


def params(op: str) -> List[Any]:
    """pytest params (cell, adapter) for every cell of ``op`` in the full matrix.

    wsframe backends that are not available appear as skipped params, so the
    report says the C backend was missing instead of silently leaving it out.
    """
    out: List[Any] = []
    for cell in full_matrix():
        if cell.op != op:
            continue
        size = human_size(cell.size).replace(" ", "")
        if cell.op == "parse":
            size = f"{cell.count}x{size}"
        if cell.content != "random":
            size += f"_{cell.content}"
        for adapter in ADAPTERS:
            if adapter.op == op:
                out.append(pytest.param(cell, adapter, id=_slug(f"{size}-{adapter.impl}")))
        for name, why in MISSING.items():
            if name.startswith("wsframe"):
                out.append(pytest.param(cell, None, id=_slug(f"{size}-{name}"), marks=pytest.mark.skip(reason=f"{name}: {why}")))
    return out


def run(benchmark: Any, cell: Cell, adapter: Any) -> None:
    """Check the adapter's answer on ``cell``, then benchmark it.

    ``benchmark.group`` is the cell ("mask in place 64 KiB"), so
    ``--benchmark-group-by=group`` puts every implementation of one cell
    in one table, and ``extra_info`` keeps implementation, kind and sizes.
    """
    from wsframe.cli.peers import Unsupported

    inp = cell_inputs(cell)
    try:
        prepared, check = prepare_call(adapter, cell, inp)
    except Unsupported as exc:
        pytest.skip(str(exc))
    benchmark.group = cell.label
    benchmark.extra_info.update(
        {"impl": adapter.impl, "kind": adapter.kind, "op": cell.op, "size": cell.size, "content": cell.content, "bytes": inp.nbytes, "frames": cell.count}
    )
    if adapter.checked:
        problem = check()
        assert problem is None, f"{adapter.impl} gave a wrong answer on {cell.label}: {problem}"
    benchmark(prepared.func, *prepared.args)

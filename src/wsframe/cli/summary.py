"""``python -m wsframe`` with no command: the backend in use and a short speed table.

A newcomer's first question is "is the fast path on, and how fast is it?":
this answers both in under about 15 seconds, comparing the compiled backend
with the pure-Python twin, with physical references measured in the same run
(a plain copy for masking, ``bytes.decode`` for UTF-8) and the compiled
peers that are installed (websockets, aiohttp, picows).
"""

from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Sequence

from . import info
from .peers import Adapter, adapters
from .runner import PARSE_FRAMES, Cell, Result, run_cells
from .table import fmt_rate, fmt_ratio, fmt_time, render_rows
from .timing import Budget

__all__ = ["add_arguments", "run", "summary_cells"]

KiB = 1024
MiB = 1024 * KiB

#: The reference each summary row is compared with (physical lower bounds).
SUMMARY_REFERENCES: Dict[str, str] = {
    "mask_inplace": "memcpy",
    "mask_copy": "memcpy",
    "utf8": "bytes.decode",
    "encode": "bytes concat",
}

#: Compiled peers worth the few seconds they take here; `bench` measures all.
SUMMARY_PEERS = ("websockets", "aiohttp", "picows")

#: Default time per measurement (rounds x round length), in milliseconds.
DEFAULT_BUDGET_MS = 60.0


def summary_cells(frames: int = PARSE_FRAMES) -> List[Cell]:
    """The rows of the short table."""
    cells = [Cell(op, size) for op in ("mask_inplace", "mask_copy") for size in (125, 64 * KiB, 1 * MiB)]
    cells += [Cell("utf8", 64 * KiB, "ascii"), Cell("utf8", 64 * KiB, "chinese")]
    cells += [Cell("parse", 125, "ascii", frames), Cell("encode", 125)]
    return cells


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the default command (hidden: they exist for tests)."""
    parser.add_argument("--budget-ms", type=float, default=DEFAULT_BUDGET_MS, help=argparse.SUPPRESS)


def _selected(cell: Cell, adapter: Adapter) -> bool:
    if adapter.kind == "wsframe":
        return not adapter.impl.endswith("stream")
    if adapter.kind == "reference":
        return SUMMARY_REFERENCES.get(cell.op) == adapter.impl
    return adapter.impl in SUMMARY_PEERS


def _row(cell: Cell, group: Sequence[Result]) -> List[str]:
    by_impl = {r.impl: r for r in group if r.ns_per_unit is not None}
    c, py = by_impl.get("wsframe C"), by_impl.get("wsframe py")
    best = c or py
    ref = by_impl.get(SUMMARY_REFERENCES.get(cell.op, ""))
    peers = [r for r in by_impl.values() if r.kind == "peer"]
    peer = min(peers, key=lambda r: r.ns_per_unit or 0.0) if peers else None

    def ratio(other: Optional[Result]) -> str:
        if best is None or other is None or not best.ns_per_unit or other.ns_per_unit is None:
            return "-"
        return fmt_ratio(other.ns_per_unit / best.ns_per_unit)

    def timed(r: Optional[Result]) -> str:
        if r is None:
            return "-"
        rate = f" ({fmt_rate(r.gbps)})" if r.gbps is not None and cell.op in ("mask_inplace", "mask_copy", "utf8") and cell.size >= 4 * KiB else ""
        return fmt_time(r.ns_per_unit) + rate

    return [
        cell.label + (" /frame" if cell.op == "parse" else ""),
        timed(c),
        timed(py),
        ratio(py) if c is not None else "-",
        f"{ref.impl} {fmt_time(ref.ns_per_unit)}" if ref else "-",
        ratio(ref),
        f"{peer.impl} {fmt_time(peer.ns_per_unit)}" if peer else "-",
        ratio(peer),
    ]


def run(args: argparse.Namespace) -> int:
    """Print the backend description and the short table; return 0."""
    env = info.environment()
    print(info.describe(env))
    budget_ms = float(getattr(args, "budget_ms", DEFAULT_BUDGET_MS) or DEFAULT_BUDGET_MS)
    budget = Budget.from_ms(budget_ms, rounds=3)
    frames = PARSE_FRAMES if budget_ms >= 20 else 1_000  # tiny budgets (tests) stay fast
    adapter_list, _missing = adapters()
    print("\nmeasuring (best of 3 rounds per cell; `python -m wsframe bench` runs the full matrix) ...", flush=True)
    results = run_cells(summary_cells(frames), adapter_list, budget, select=_selected)

    groups: Dict[Cell, List[Result]] = {}
    for r in results:
        groups.setdefault(r.cell, []).append(r)
    has_c = any(r.impl == "wsframe C" and r.ns_per_unit is not None for r in results)
    who = "C" if has_c else "Python"
    header = ["operation", "wsframe C", "pure Python", "C vs Py", "reference", f"{who} vs ref", "fastest peer", f"{who} vs peer"]
    rows = [_row(cell, group) for cell, group in groups.items()]
    print()
    print(render_rows(header, rows, right=(1, 2, 3, 5, 7)))
    print("\nratios are (other time) / (wsframe time): above 1 means wsframe is faster.")
    failures = [r for r in results if r.error and not r.error.startswith("n/a")]
    for r in failures:
        print(f"  {r.impl} on {r.cell.label}: {r.error}", file=sys.stderr)
    if not has_c:
        print("The C backend is not available, so only the pure-Python twin was measured (see above why).")
    return 0

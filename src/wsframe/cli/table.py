"""Plain-text tables of benchmark results (terminal and Markdown).

Only ASCII in the terminal output ("us", not a micro sign), so the table
prints on any console encoding.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence

from .runner import REFERENCES, Cell, Result

__all__ = ["fmt_time", "fmt_rate", "fmt_ratio", "render_rows", "render_results", "render_missing"]


def fmt_time(ns: Optional[float]) -> str:
    """17.2 ns, 1.23 us, 4.56 ms, 1.20 s."""
    if ns is None:
        return "-"
    if ns < 1_000:
        return f"{ns:.1f} ns"
    if ns < 1_000_000:
        return f"{ns / 1e3:.2f} us"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def fmt_rate(gbps: Optional[float]) -> str:
    """Throughput in GB/s (10^9 bytes per second), or "-"."""
    if gbps is None:
        return "-"
    return f"{gbps:.2f} GB/s" if gbps < 10 else f"{gbps:.1f} GB/s"


def fmt_ratio(ratio: Optional[float]) -> str:
    """A speed ratio such as 2.35x (reference time over this time)."""
    if ratio is None:
        return "-"
    return f"{ratio:.2f}x" if ratio < 100 else f"{ratio:,.0f}x"


def render_rows(header: Sequence[str], rows: Iterable[Sequence[str]], *, markdown: bool = False, right: Sequence[int] = ()) -> str:
    """Align columns; ``right`` lists the columns to right-align (numbers)."""
    rows = [list(r) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |"]
        lines.append("| " + " | ".join("---:" if i in right else "---" for i in range(len(header))) + " |")
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]

    def line(cells: Sequence[str]) -> str:
        out = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(out).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _group(results: Iterable[Result]) -> Dict[Cell, List[Result]]:
    groups: Dict[Cell, List[Result]] = {}
    for r in results:
        groups.setdefault(r.cell, []).append(r)
    return groups


def render_results(results: Sequence[Result], *, markdown: bool = False) -> str:
    """One block per cell: implementations fastest first, with the ratio column.

    Args:
        results: output of :func:`wsframe.cli.runner.run_cells`.
        markdown: emit Markdown tables (for the README) instead of plain text.
    """
    blocks: List[str] = []
    for cell, group in _group(results).items():
        ref = next((r.reference for r in group if r.reference), None)
        per = "per frame" if cell.op == "parse" else "per call"
        title = f"{cell.label}  ({per}; ratio = {ref or 'no reference'} time / time, higher is faster)"
        timed = sorted((r for r in group if r.ns_per_unit is not None), key=lambda r: r.ns_per_unit or 0.0)
        rows = [[r.impl, fmt_time(r.ns_per_unit), fmt_rate(r.gbps), fmt_ratio(r.ratio)] for r in timed]
        header = ["implementation", "time", "throughput", f"vs {ref}" if ref else "ratio"]
        table = render_rows(header, rows, markdown=markdown, right=(1, 2, 3))
        skipped = [f"{r.impl}: {r.error}" for r in group if r.ns_per_unit is None]
        if skipped:
            table += ("\n\n" if markdown else "\n") + "\n".join(("- " if markdown else "  not timed: ") + s for s in skipped)
        blocks.append(f"**{title}**\n\n{table}" if markdown else f"{title}\n{table}")
    return "\n\n".join(blocks)


def render_missing(missing: Dict[str, str]) -> str:
    """Implementations not measured, and why."""
    if not missing:
        return ""
    lines = ["Not measured:"] + [f"  {name}: {why}" for name, why in sorted(missing.items())]
    return "\n".join(lines)


def reference_note() -> str:
    """One line per operation naming the reference its ratios are against."""
    return "\n".join(f"  {op}: {' / '.join(names)} (first one measured)" for op, names in REFERENCES.items())

"""``bench --plot FILE.png``: draw the results with matplotlib (optional extra ``plot``).

Six panels: masking in place and copy-out (GB/s against size), UTF-8
validation (GB/s per content at the largest size measured), frame parsing
(ns per frame) and encoding (ns per frame), and a panel with the run's
environment. Without matplotlib, :class:`PlotUnavailable` says how to get it.
"""

from __future__ import annotations

import importlib
from typing import Any, Dict, List, Optional, Sequence

from .runner import Result, human_size

__all__ = ["PlotUnavailable", "plot_results"]


class PlotUnavailable(RuntimeError):
    """matplotlib is missing (or cannot draw here)."""


def _pyplot() -> Any:
    try:  # imported by name: an optional dependency, untyped where absent
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")  # files only; never needs a display
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError as exc:
        raise PlotUnavailable(f"matplotlib is not installed ({exc}); install it with: pip install 'wsframe[plot]'") from exc
    return plt


def _null_formatter() -> Any:
    return importlib.import_module("matplotlib.ticker").NullFormatter()


def _style(impl: str) -> Dict[str, object]:
    """wsframe stands out (thick, solid); peers thin; references dashed."""
    if impl.startswith("wsframe"):
        return {"linewidth": 2.6, "marker": "o"}
    if impl in ("memcpy", "numpy", "bytes.decode", "bytes concat") or impl.startswith("bytes.decode"):
        return {"linewidth": 1.4, "linestyle": "--", "marker": "x"}
    return {"linewidth": 1.2, "marker": "."}


def _lines(ax, results: Sequence[Result], op: str, title: str) -> None:  # type: ignore[no-untyped-def]
    series: Dict[str, List[Result]] = {}
    for r in results:
        if r.op == op and r.gbps is not None:
            series.setdefault(r.impl, []).append(r)
    for impl, rs in sorted(series.items()):
        rs.sort(key=lambda r: r.size)
        ax.plot([r.size for r in rs], [r.gbps for r in rs], label=impl, **_style(impl))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    sizes = sorted({r.size for rs in series.values() for r in rs})
    ax.set_xticks(sizes)
    ax.set_xticklabels([human_size(s) for s in sizes], rotation=45, fontsize=7)
    ax.set_ylabel("GB/s (higher is better)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    if series:
        ax.legend(fontsize=6)


def _utf8_bars(ax, results: Sequence[Result]) -> None:  # type: ignore[no-untyped-def]
    rs = [r for r in results if r.op == "utf8" and r.gbps is not None]
    if not rs:
        ax.set_visible(False)
        return
    size = max(r.size for r in rs)
    rs = [r for r in rs if r.size == size]
    contents = list(dict.fromkeys(r.content for r in rs))
    impls = list(dict.fromkeys(r.impl for r in rs))
    width = 0.8 / max(1, len(impls))
    for i, impl in enumerate(impls):
        values = []
        for content in contents:
            hit = next((r for r in rs if r.impl == impl and r.content == content), None)
            values.append(hit.gbps if hit and hit.gbps else 0.0)
        ax.bar([c + i * width for c in range(len(contents))], values, width, label=impl)
    ax.set_xticks([c + 0.4 - width / 2 for c in range(len(contents))])
    ax.set_xticklabels(contents)
    ax.set_yscale("log")
    ax.set_ylabel("GB/s (higher is better)")
    ax.set_title(f"UTF-8 validation, {human_size(size)}")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=6)


def _barh(ax, results: Sequence[Result], op: str, title: str) -> None:  # type: ignore[no-untyped-def]
    rs = [r for r in results if r.op == op and r.ns_per_unit is not None]
    if not rs:
        ax.set_visible(False)
        return
    first = rs[0].cell
    rs = sorted((r for r in rs if r.cell == first), key=lambda r: r.ns_per_unit or 0.0, reverse=True)
    colors = ["tab:red" if r.impl.startswith("wsframe") else "tab:gray" if r.kind == "reference" else "tab:blue" for r in rs]
    ax.barh([r.impl for r in rs], [r.ns_per_unit for r in rs], color=colors)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(_null_formatter())  # minor labels collide on short ranges
    ax.set_xlabel(f"ns per {'frame' if op == 'parse' else 'call'} (lower is better)")
    ax.set_title(f"{title}: {first.label}", fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(True, axis="x", which="both", alpha=0.3)


def plot_results(results: Sequence[Result], path: str, title: Optional[str] = None, notes: str = "") -> None:
    """Draw ``results`` into the image file ``path``.

    Args:
        results: output of :func:`wsframe.cli.runner.run_cells`.
        path: image file to write (the format follows the extension).
        title: figure title.
        notes: text for the sixth panel (the environment of the run).

    Raises:
        PlotUnavailable: matplotlib is not installed.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(17, 10))
    _lines(axes[0][0], results, "mask_inplace", "masking in place")
    _lines(axes[0][1], results, "mask_copy", "masking copy-out")
    _utf8_bars(axes[0][2], results)
    _barh(axes[1][0], results, "parse", "parsing")
    _barh(axes[1][1], results, "encode", "encoding")
    axes[1][2].axis("off")
    if notes:
        axes[1][2].text(0.0, 1.0, notes, va="top", ha="left", fontsize=7, family="monospace", wrap=True)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

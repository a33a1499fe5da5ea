"""``python -m wsframe bench``: the full matrix, without pytest.

Operation x size x content x implementation (wsframe C, wsframe Python, every
installed peer, physical references), each answer checked once, then timed
with auto-scaled repetitions, best of several rounds. Prints a table with
ratios against a named reference from the same run; ``--json`` writes the
numbers, ``--plot`` draws them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import info
from .peers import Adapter, adapters, load_backend
from .progress import Progress
from .runner import Cell, Result, add_ratios, full_matrix, quick_matrix, run_cells
from .table import render_missing, render_results
from .targets import check_targets, render_targets
from .timing import Budget

__all__ = ["add_arguments", "run"]

SIMD_LEVELS = ("generic", "sse2", "avx2", "avx512")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``bench``."""
    parser.add_argument("--quick", action="store_true", help="fewer sizes and shorter rounds (a few seconds)")
    parser.add_argument("--json", metavar="FILE", help="write every number (and the environment) as JSON")
    parser.add_argument("--plot", metavar="FILE.png", help="draw the results (needs matplotlib: pip install 'wsframe[plot]')")
    parser.add_argument("--filter", metavar="SUBSTR", action="append", default=[], help="only rows whose 'operation size content implementation' contains SUBSTR (repeatable, all must match; case-insensitive)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (for the README)")
    parser.add_argument("--no-peers", action="store_true", help="wsframe and the physical references only")
    parser.add_argument(
        "--simd",
        choices=SIMD_LEVELS + ("all",),
        help="force a kernel level (re-runs with WSFRAME_FORCE_SIMD set); 'all' adds a 'wsframe C <level>' row for every level this CPU supports",
    )
    parser.add_argument("--from-json", metavar="FILE", help="do not measure: print (and --plot) a run saved with --json")
    parser.add_argument("--budget-ms", type=float, default=None, help=argparse.SUPPRESS)


def _rerun_with_simd(level: str, given: List[str]) -> int:
    """Run this command again in a child with WSFRAME_FORCE_SIMD=level.

    The extension reads the variable at import and it is already imported
    here, so a fresh interpreter is the only honest way to switch kernels.
    """
    argv: List[str] = []
    skip = False
    for arg in given:
        if skip:
            skip = False
            continue
        if arg == "--simd":
            skip = True
            continue
        if arg.startswith("--simd="):
            continue
        argv.append(arg)
    env = dict(os.environ, WSFRAME_FORCE_SIMD=level)
    return subprocess.call([sys.executable, "-m", "wsframe", *argv], env=env)


def _per_level(args: argparse.Namespace) -> List[Result]:
    """Measure the C backend once per supported kernel level, each in a child.

    Returns the children's "wsframe C" results renamed "wsframe C <level>".
    """
    mod, why = load_backend("c")
    if mod is None:
        print(f"--simd all: no C backend ({why})", file=sys.stderr)
        return []
    levels = list(mod.kernel_info().get("supported") or [])
    found: List[Result] = []
    for level in levels:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "level.json")
            argv = [sys.executable, "-m", "wsframe", "bench", "--no-peers", "--json", out, "--filter", "wsframe C"]
            argv += ["--quick"] if args.quick else []
            argv += [x for f in args.filter for x in ("--filter", f)]
            argv += ["--budget-ms", str(args.budget_ms)] if args.budget_ms is not None else []
            print(f"measuring kernel level {level} in a child process ...", file=sys.stderr, flush=True)
            proc = subprocess.run(argv, env=dict(os.environ, WSFRAME_FORCE_SIMD=level), stdout=subprocess.DEVNULL)
            if proc.returncode != 0 or not os.path.exists(out):
                print(f"  level {level}: child failed with exit code {proc.returncode}", file=sys.stderr)
                continue
            _, results, _, _ = _load(out)
        for r in results:
            if r.impl.startswith("wsframe C"):
                r.impl = r.impl.replace("wsframe C", f"wsframe C {level}", 1)
                found.append(r)
    return found


def _matches(filters: List[str]):  # type: ignore[no-untyped-def]
    needles = [f.lower() for f in filters]

    def select(cell: Cell, adapter: Adapter) -> bool:
        text = f"{cell.op} {cell.label} {adapter.impl}".lower()
        return all(n in text for n in needles)

    return select


def _progress(tracker: Progress) -> Callable[[Result], None]:
    """A progress callback: one line per result, with the cells done and the time left."""

    def show(result: Result) -> None:
        status = result.error or f"{result.ns_per_unit:,.1f} ns/{result.unit}"
        tracker.line(id(result.cell), f"{result.cell.label:<36} {result.impl:<24} {status}")

    return show


def _measure(args: argparse.Namespace, env: Dict[str, Any]) -> Tuple[List[Result], Dict[str, str], Budget]:
    if args.budget_ms is not None:
        budget = Budget.from_ms(args.budget_ms, rounds=3)
    elif args.quick:
        budget = Budget(round_ns=5_000_000, rounds=3)
    else:
        budget = Budget(round_ns=20_000_000, rounds=5)
    cells = quick_matrix() if args.quick else full_matrix()
    adapter_list, missing = adapters(peers=not args.no_peers)
    select = _matches(args.filter) if args.filter else None
    cells = list(cells)
    measured = [c for c in cells if any(a.op == c.op and (select is None or select(c, a)) for a in adapter_list)]
    tracker = Progress(len(measured))
    print(f"\nrunning {len(measured)} cells, best of {budget.rounds} rounds of ~{budget.round_ns / 1e6:.0f} ms each (progress and time left on stderr) ...\n", flush=True)
    return run_cells(cells, adapter_list, budget, select=select, progress=_progress(tracker)), missing, budget


def _merge(results: List[Result], extra: List[Result]) -> List[Result]:
    """Insert ``extra`` rows into their cells (keeping the cell order) and redo the ratios."""
    order = {r.cell: i for i, r in reversed(list(enumerate(results)))}
    merged = sorted(results + extra, key=lambda r: order.get(r.cell, len(results)))
    add_ratios(merged)
    return merged


def _load(path: str) -> Tuple[Dict[str, Any], List[Result], Dict[str, str], Budget]:
    with open(path, encoding="utf-8") as f:
        saved = json.load(f)
    results = [Result(**r) for r in saved["results"]]
    budget = Budget(round_ns=saved["budget"]["round_ns"], rounds=saved["budget"]["rounds"])
    return saved["environment"], results, saved.get("missing", {}), budget


def run(args: argparse.Namespace) -> int:
    """Run the matrix; print, and write JSON / plot when asked. Returns an exit code."""
    if args.simd and args.simd != "all" and os.environ.get("WSFRAME_FORCE_SIMD") != args.simd:
        return _rerun_with_simd(args.simd, list(getattr(args, "argv", None) or sys.argv[1:]))
    if args.from_json:
        env, results, missing, budget = _load(args.from_json)
        print(info.describe(env))
        print(f"(saved run {args.from_json}: best of {budget.rounds} rounds of ~{budget.round_ns / 1e6:.0f} ms each)\n")
    else:
        env = info.environment()
        print(info.describe(env), flush=True)
        results, missing, budget = _measure(args, env)
        if args.simd == "all":
            results = _merge(results, _per_level(args))
    if not results:
        print("nothing matched --filter " + " ".join(repr(f) for f in args.filter))
        return 1

    print(render_results(results, markdown=args.markdown))
    missing_text = render_missing(missing)
    if missing_text:
        print("\n" + missing_text)
    verdicts = check_targets(results)
    if any(v.worst is not None for v in verdicts):
        print("\nTargets of the SIMD issue (worst case over the sizes measured):\n")
        print(render_targets(verdicts, markdown=args.markdown))
    status = 0
    if args.json and not args.from_json:
        payload = {
            "environment": env,
            "budget": {"round_ns": budget.round_ns, "rounds": budget.rounds},
            "missing": missing,
            "results": [r.as_dict() for r in results],
            "targets": [{"target": v.target, "needed": v.needed, "worst": v.worst, "at": v.where, "status": v.status} for v in verdicts],
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=1)
        print(f"\nwrote {args.json}")
    if args.plot:
        from .plot import PlotUnavailable, plot_results

        try:
            plot_results(results, args.plot, title=_plot_title(env), notes=_plot_notes(env))
            print(f"wrote {args.plot}")
        except PlotUnavailable as exc:
            print(f"--plot: {exc}", file=sys.stderr)
            status = 2
    return status


def _plot_title(env: Dict[str, Any]) -> str:
    kernels: Optional[Dict[str, Any]] = env.get("c_kernels")
    kernel = f"C kernels {kernels.get('mask')}/{kernels.get('utf8')}" if kernels else "no C backend"
    return f"wsframe {env['wsframe']} ({kernel}) - {env['cpu']} - {env['python']} - {env['date_utc']}"


def _plot_notes(env: Dict[str, Any]) -> str:
    """The environment, wrapped to fit the plot's text panel."""
    import textwrap

    lines = []
    for line in info.describe(env).splitlines():
        lines += textwrap.wrap(line, 60, subsequent_indent="  ")
    return "\n".join(lines + ["", "ratios in the table: reference time / time", "python -m wsframe bench --plot FILE.png"])

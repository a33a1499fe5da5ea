"""The benchmark matrix and its runner: operation x size x content x implementation.

A ``Cell`` is one operation on one input (say, UTF-8 validation of 64 KiB of
Chinese text); the runner builds its input once, checks each adapter's answer
on it, times the adapters, and adds each result's ratio against the cell's
named reference measured in the same run.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from . import payloads
from .peers import Adapter, Prepared, Unsupported
from .timing import Budget, Calibrated

__all__ = [
    "Cell",
    "Result",
    "REFERENCES",
    "full_matrix",
    "quick_matrix",
    "run_cells",
    "cell_inputs",
    "prepare_call",
    "CellInputs",
    "add_ratios",
    "human_size",
]

KiB = 1024
MiB = 1024 * KiB

#: Frames per feed in the parsing benchmark (the issue's "10,000 masked 125 B text frames").
PARSE_FRAMES = 10_000

#: Per operation, the reference a ratio is against: the first one measured in
#: the cell; "fastest peer" means the quickest third-party library there.
REFERENCES: Dict[str, Tuple[str, ...]] = {
    "mask_inplace": ("aiohttp", "numpy", "memcpy"),
    "mask_copy": ("memcpy",),
    "utf8": ("bytes.decode",),
    "parse": ("fastest peer",),
    "encode": ("fastest peer",),
}

OP_TITLES: Dict[str, str] = {
    "mask_inplace": "mask in place",
    "mask_copy": "mask copy-out",
    "utf8": "UTF-8 validate",
    "parse": "parse frames",
    "encode": "encode frame",
}


def human_size(n: int) -> str:
    """2 B, 125 B, 4 KiB, 1 MiB."""
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB} MiB"
    if n >= KiB and n % KiB == 0:
        return f"{n // KiB} KiB"
    return f"{n} B"


@dataclass(frozen=True)
class Cell:
    """One operation on one input.

    Attributes:
        op: an operation of :data:`wsframe.cli.peers.OPERATIONS`.
        size: payload bytes (per frame for ``parse``).
        content: "random" for bytes whose content does not matter, else a
            text kind of :data:`wsframe.cli.payloads.CONTENTS`.
        count: frames fed at once (``parse`` only).
    """

    op: str
    size: int
    content: str = "random"
    count: int = 1

    @property
    def label(self) -> str:
        size = human_size(self.size)
        if self.op == "parse":
            size = f"{self.count:,} x {size}"
        content = "" if self.content == "random" else f" {self.content}"
        return f"{OP_TITLES.get(self.op, self.op)} {size}{content}"


@dataclass
class Result:
    """One implementation timed on one cell (or why it was not)."""

    op: str
    size: int
    content: str
    count: int
    impl: str
    kind: str
    ns_per_call: Optional[float] = None
    bytes_per_call: int = 0
    unit: str = "call"  # "frame" for parse: ns_per_unit is per frame
    ns_per_unit: Optional[float] = None
    gbps: Optional[float] = None
    reference: Optional[str] = None
    ratio: Optional[float] = None  # reference time / this time: > 1 is faster
    reps: int = 0
    note: str = ""
    error: Optional[str] = None

    @property
    def cell(self) -> Cell:
        return Cell(self.op, self.size, self.content, self.count)

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


# ---- the matrices --------------------------------------------------------------

MASK_SIZES = (2, 16, 125, 1 * KiB, 4 * KiB, 64 * KiB, 1 * MiB, 16 * MiB)
UTF8_SIZES = (125, 4 * KiB, 64 * KiB, 1 * MiB)


def full_matrix() -> List[Cell]:
    """Every cell of ``python -m wsframe bench``."""
    cells = [Cell(op, size) for op in ("mask_inplace", "mask_copy") for size in MASK_SIZES]
    cells += [Cell("utf8", size, kind) for size in UTF8_SIZES for kind in payloads.CONTENTS]
    cells += [Cell("parse", 125, kind, PARSE_FRAMES) for kind in ("ascii", "chinese")]
    cells += [Cell("encode", size) for size in (125, 4 * KiB)]
    return cells


def quick_matrix() -> List[Cell]:
    """The cells of ``bench --quick``: one or two sizes per operation."""
    cells = [Cell(op, size) for op in ("mask_inplace", "mask_copy") for size in (125, 64 * KiB, 1 * MiB)]
    cells += [Cell("utf8", 64 * KiB, kind) for kind in payloads.CONTENTS]
    cells += [Cell("parse", 125, "ascii", PARSE_FRAMES), Cell("encode", 125)]
    return cells


# ---- inputs, checks and timing -------------------------------------------------------


@dataclass
class CellInputs:
    """Input of a cell, built once and shared by every adapter (never mutated)."""

    data: bytes
    key: bytes = payloads.MASK_KEY
    expected: Any = None
    nbytes: int = 0


@functools.lru_cache(maxsize=8)
def cell_inputs(cell: Cell) -> CellInputs:
    """The input of ``cell`` and the expected answer (cached: 16 MiB inputs are slow to build)."""
    if cell.op in ("mask_inplace", "mask_copy"):
        data = payloads.random_bytes(cell.size)
        return CellInputs(data, expected=payloads.mask_bytes(data, payloads.MASK_KEY), nbytes=cell.size)
    if cell.op == "utf8":
        data = payloads.text(cell.content, cell.size)
        return CellInputs(data, expected=cell.content != "invalid", nbytes=cell.size)
    if cell.op == "parse":
        stream, _ = payloads.frame_stream(cell.count, cell.size, cell.content)
        return CellInputs(stream, expected=cell.count, nbytes=len(stream))
    if cell.op == "encode":
        data = payloads.random_bytes(cell.size)
        return CellInputs(data, expected=payloads.server_frame(2, data), nbytes=cell.size)
    raise ValueError(f"unknown operation {cell.op!r}")


def prepare_call(adapter: Adapter, cell: Cell, inp: CellInputs) -> Tuple[Prepared, Callable[[], Optional[str]]]:
    """The adapter's call for this cell, and a check of its answer.

    The check runs the call once and returns None when the answer is right,
    else a short description of what is wrong. Raises Unsupported when the
    adapter cannot take this input.
    """
    if cell.op == "mask_inplace":
        buf = bytearray(inp.data)
        prepared = adapter.prepare(buf, inp.key)

        def check() -> Optional[str]:
            prepared.func(*prepared.args)
            return None if bytes(buf) == inp.expected else "wrong masked bytes"

        return prepared, check
    if cell.op == "mask_copy":
        prepared = adapter.prepare(inp.data, inp.key)

        def check() -> Optional[str]:
            return None if bytes(prepared.func(*prepared.args)) == inp.expected else "wrong masked bytes"

        return prepared, check
    if cell.op == "utf8":
        prepared = adapter.prepare(inp.data)

        def check() -> Optional[str]:
            got = prepared.func(*prepared.args)
            valid = got is not False and got is not None
            return None if valid == inp.expected else f"said valid={valid}, expected {inp.expected}"

        return prepared, check
    if cell.op == "parse":
        prepared = adapter.prepare(inp.data, cell.count)

        def check() -> Optional[str]:
            got = prepared.func(*prepared.args)
            n = got if isinstance(got, int) else len(got)
            return None if n == inp.expected else f"returned {n} frames, expected {inp.expected}"

        return prepared, check
    if cell.op == "encode":
        prepared = adapter.prepare(inp.data)

        def check() -> Optional[str]:
            got = prepared.func(*prepared.args)
            if prepared.output is not None:
                got = prepared.output()
            return None if bytes(got) == inp.expected else "wrong frame bytes"

        return prepared, check
    raise ValueError(f"unknown operation {cell.op!r}")


def _new_result(adapter: Adapter, cell: Cell, inp: CellInputs) -> Result:
    return Result(
        op=cell.op,
        size=cell.size,
        content=cell.content,
        count=cell.count,
        impl=adapter.impl,
        kind=adapter.kind,
        bytes_per_call=inp.nbytes,
        unit="frame" if cell.op == "parse" else "call",
        note=adapter.note,
    )


def _checked_call(adapter: Adapter, cell: Cell, inp: CellInputs, result: Result) -> Optional[Prepared]:
    """The adapter's call if it can run and answers right; else None, with ``result.error`` set."""
    try:
        prepared, check = prepare_call(adapter, cell, inp)
    except Unsupported as exc:
        result.error = f"n/a: {exc}"
        return None
    except Exception as exc:  # a peer that cannot be set up is reported, not fatal
        result.error = f"setup failed: {type(exc).__name__}: {exc}"
        return None
    try:
        problem = check() if adapter.checked else None
    except Exception as exc:
        problem = f"raised {type(exc).__name__}: {exc}"
    if problem:
        result.error = f"wrong answer: {problem}"
        return None
    return prepared


def _time_cell(cell: Cell, chosen: Sequence[Adapter], budget: Budget) -> List[Result]:
    """Check, calibrate, then time the adapters of one cell in interleaved rounds."""
    inp = cell_inputs(cell)
    results = [_new_result(a, cell, inp) for a in chosen]
    running: List[Tuple[Result, Calibrated]] = []
    for adapter, result in zip(chosen, results):
        prepared = _checked_call(adapter, cell, inp, result)
        if prepared is None:
            continue
        try:
            running.append((result, Calibrated(prepared.func, prepared.args, budget)))
        except Exception as exc:
            result.error = f"failed while timing: {type(exc).__name__}: {exc}"
    for _ in range(budget.rounds):  # round-robin: load bursts hit every implementation alike
        for result, calibrated in running:
            if result.error is None:
                try:
                    calibrated.round()
                except Exception as exc:
                    result.error = f"failed while timing: {type(exc).__name__}: {exc}"
    unit_count = cell.count if cell.op == "parse" else 1
    for result, calibrated in running:
        if result.error is not None:
            continue
        timing = calibrated.timing()
        result.ns_per_call = timing.ns_per_call
        result.ns_per_unit = timing.ns_per_call / unit_count
        result.gbps = inp.nbytes / timing.ns_per_call if inp.nbytes else None
        result.reps = timing.reps
    return results


def run_cells(
    cells: Iterable[Cell],
    adapter_list: Sequence[Adapter],
    budget: Budget,
    *,
    select: Optional[Callable[[Cell, Adapter], bool]] = None,
    progress: Optional[Callable[[Result], None]] = None,
) -> List[Result]:
    """Time every adapter of each cell's operation.

    Within a cell, every answer is checked first, then the rounds of all
    implementations are interleaved, so they share the machine's conditions.

    Args:
        cells: what to measure.
        adapter_list: implementations (from :func:`wsframe.cli.peers.adapters`).
        budget: time per measurement.
        select: optional filter on (cell, adapter) pairs.
        progress: called with each result as soon as its cell is done.

    Returns:
        The results, cell by cell, with ratios filled in.
    """
    results: List[Result] = []
    for cell in cells:
        chosen = [a for a in adapter_list if a.op == cell.op and (select is None or select(cell, a))]
        if not chosen:
            continue
        for result in _time_cell(cell, chosen, budget):
            results.append(result)
            if progress is not None:
                progress(result)
    add_ratios(results)
    return results


def add_ratios(results: List[Result]) -> None:
    """Fill ``reference`` and ``ratio`` of each result from its cell's reference."""
    by_cell: Dict[Cell, List[Result]] = {}
    for r in results:
        by_cell.setdefault(r.cell, []).append(r)
    for cell, group in by_cell.items():
        timed = {r.impl: r for r in group if r.ns_per_call is not None}
        ref: Optional[Result] = None
        for name in REFERENCES.get(cell.op, ()):
            if name == "fastest peer":
                peers = [r for r in timed.values() if r.kind == "peer"]
                ref = min(peers, key=lambda r: r.ns_per_call) if peers else None  # type: ignore[arg-type,return-value]
            else:
                ref = timed.get(name)
            if ref is not None:
                break
        if ref is None or ref.ns_per_call is None:
            continue
        for r in group:
            r.reference = ref.impl
            if r.ns_per_call:
                r.ratio = ref.ns_per_call / r.ns_per_call

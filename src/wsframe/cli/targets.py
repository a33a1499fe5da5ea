"""The performance targets of the SIMD issue, checked against one run's results.

Each target compares wsframe with a reference measured in the same run, so
the verdict does not depend on how fast or busy the machine was; where a
target spans several sizes, the worst size is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .runner import KiB, Result, human_size
from .table import fmt_ratio, render_rows

__all__ = ["Verdict", "check_targets", "render_targets"]


@dataclass
class Verdict:
    """One target: what it asks, the worst measured ratio, and whether it holds."""

    target: str
    needed: float  # minimum ratio (reference time / wsframe time)
    worst: Optional[float] = None
    where: str = ""

    @property
    def status(self) -> str:
        if self.worst is None:
            return "not measured"
        return "met" if self.worst >= self.needed else "NOT MET"


Index = Dict[Tuple[str, int, str, str], Result]


def _index(results: Sequence[Result]) -> Index:
    return {(r.op, r.size, r.content, r.impl): r for r in results if r.ns_per_call}


def _worst(
    idx: Index,
    op: str,
    ours: str,
    theirs: Callable[[str, int, str], Optional[Result]],
    keep: Callable[[int, str], bool],
) -> Tuple[Optional[float], str]:
    """Smallest ratio theirs/ours over the cells of ``op`` that ``keep`` accepts."""
    worst: Optional[float] = None
    where = ""
    for (o, size, content, impl), mine in idx.items():
        if o != op or impl != ours or not keep(size, content):
            continue
        other = theirs(op, size, content)
        if other is None or not other.ns_per_call or not mine.ns_per_call:
            continue
        ratio = other.ns_per_call / mine.ns_per_call
        if worst is None or ratio < worst:
            worst = ratio
            where = f"{human_size(size)}{'' if content == 'random' else ' ' + content} vs {other.impl}"
    return worst, where


def _named(idx: Index, impl: str) -> Callable[[str, int, str], Optional[Result]]:
    return lambda op, size, content: idx.get((op, size, content, impl))


def _fastest_peer(idx: Index, compiled_only: bool = True) -> Callable[[str, int, str], Optional[Result]]:
    def pick(op: str, size: int, content: str) -> Optional[Result]:
        peers = [
            r for (o, s, c, _), r in idx.items()
            if (o, s, c) == (op, size, content) and r.kind == "peer" and not (compiled_only and r.impl.endswith(" py"))
        ]
        return min(peers, key=lambda r: r.ns_per_call or 0.0) if peers else None

    return pick


def _slowest_of(idx: Index, impls: Sequence[str]) -> Callable[[str, int, str], Optional[Result]]:
    """The fastest of ``impls`` (the one wsframe must beat to beat them all)."""

    def pick(op: str, size: int, content: str) -> Optional[Result]:
        found = [idx[(op, size, content, i)] for i in impls if (op, size, content, i) in idx]
        return min(found, key=lambda r: r.ns_per_call or 0.0) if found else None

    return pick


def check_targets(results: Sequence[Result]) -> List[Verdict]:
    """Evaluate the issue's targets for the C backend and the pure twin."""
    idx = _index(results)
    big = lambda size, content: size >= 64 * KiB  # noqa: E731
    from_1k = lambda size, content: size >= 1 * KiB  # noqa: E731
    small = lambda size, content: size <= 125  # noqa: E731
    text_4k = lambda size, content: size >= 4 * KiB and content in ("chinese", "mixed")  # noqa: E731
    ascii_4k = lambda size, content: size >= 4 * KiB and content == "ascii"  # noqa: E731
    valid_4k = lambda size, content: size >= 4 * KiB and content != "invalid"  # noqa: E731
    valid_64k = lambda size, content: size >= 64 * KiB and content != "invalid"  # noqa: E731
    anything = lambda size, content: True  # noqa: E731
    c, py = "wsframe C", "wsframe py"

    def one_shot(op: str, size: int, content: str) -> Optional[Result]:
        return idx.get((op, size, content, c))

    specs = [
        ("mask in place, 64 KiB-16 MiB: >= 1.5x aiohttp", 1.5, "mask_inplace", c, _named(idx, "aiohttp"), big),
        ("mask in place, 1 MiB: >= numpy uint64 XOR", 1.0, "mask_inplace", c, _named(idx, "numpy"), lambda s, _: s == 1024 * KiB),
        ("mask copy-out, >= 1 KiB: >= bytes(memoryview) copy", 1.0, "mask_copy", c, _named(idx, "memcpy"), from_1k),
        ("mask in place, 2-125 B: within 10% of fastest peer", 1 / 1.1, "mask_inplace", c, _fastest_peer(idx), small),
        ("mask copy-out, 2-125 B: within 10% of fastest peer", 1 / 1.1, "mask_copy", c, _fastest_peer(idx), small),
        ("UTF-8 Chinese/mixed, >= 4 KiB: >= 4x bytes.decode", 4.0, "utf8", c, _named(idx, "bytes.decode"), text_4k),
        ("UTF-8 ASCII, >= 4 KiB: >= bytes.decode", 1.0, "utf8", c, _named(idx, "bytes.decode"), ascii_4k),
        ("UTF-8, >= 4 KiB: >= 20x wsaccel", 20.0, "utf8", c, _named(idx, "wsaccel"), valid_4k),
        # From 64 KiB (16 chunks): below that the fixed cost of a Python loop and a new
        # validator object dominates, which is not what the target is about.
        ("UTF-8 incremental, 4 KiB chunks, >= 64 KiB: within 20% of one-shot", 1 / 1.2, "utf8", f"{c} stream", one_shot, valid_64k),
        ("parse 10,000 x 125 B: >= 2x fastest compiled peer", 2.0, "parse", c, _fastest_peer(idx), anything),
        ("encode 125 B server frame: >= picows", 1.0, "encode", c, _named(idx, "picows"), small),
        ("pure twin parse: faster than wsproto and websockets py", 1.0, "parse", py, _slowest_of(idx, ("wsproto", "websockets py")), anything),
        ("pure twin encode: faster than wsproto and websockets", 1.0, "encode", py, _slowest_of(idx, ("wsproto", "websockets")), anything),
    ]
    verdicts = []
    for target, needed, op, ours, theirs, keep in specs:
        worst, where = _worst(idx, op, ours, theirs, keep)
        verdicts.append(Verdict(target, needed, worst, where))
    return verdicts


def render_targets(verdicts: Sequence[Verdict], *, markdown: bool = False) -> str:
    """A table: target, worst ratio (and where), verdict."""
    rows = [[v.target, fmt_ratio(v.worst), v.where or "-", v.status] for v in verdicts]
    return render_rows(["target (ratio = reference time / wsframe time)", "worst ratio", "at", "verdict"], rows, markdown=markdown, right=(1,))

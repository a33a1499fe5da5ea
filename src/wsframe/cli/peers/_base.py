"""Types shared by the adapters: what a prepared call and an adapter are."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["OPERATIONS", "STREAM_CHUNK", "OP_BINARY", "Unsupported", "Prepared", "Adapter", "Catalog", "chunks", "load"]

OPERATIONS: Tuple[str, ...] = ("mask_inplace", "mask_copy", "utf8", "parse", "encode")

#: Chunk size of the incremental UTF-8 benchmarks (the issue's target is for 4 KiB).
STREAM_CHUNK = 4096

#: Opcode of the frames the encoders produce (RFC 6455 section 5.2: binary).
OP_BINARY = 0x2


class Unsupported(Exception):
    """An adapter cannot run this input (e.g. numpy needs a multiple of 8 bytes)."""


@dataclass
class Prepared:
    """A call ready to be timed: ``func(*args)``.

    ``output`` (optional) returns what the last call produced when ``func``
    itself returns nothing useful (writers that push bytes into a transport).
    """

    func: Callable[..., Any]
    args: Tuple[Any, ...]
    output: Optional[Callable[[], Any]] = None


@dataclass
class Adapter:
    """One implementation of one operation.

    Attributes:
        op: one of OPERATIONS.
        impl: display name ("wsframe C", "aiohttp", "memcpy", ...).
        kind: "wsframe", "peer" or "reference" (physical lower bounds).
        prepare: builds a Prepared call from the inputs of ``op``.
        note: what exactly is measured, when it is not obvious.
        checked: False for references whose output is not the operation's
            answer (a plain copy is not a masked copy).
    """

    op: str
    impl: str
    kind: str
    prepare: Callable[..., Prepared]
    note: str = ""
    checked: bool = True


@dataclass
class Catalog:
    """Adapters found so far, and why some implementations are missing."""

    adapters: List[Adapter] = field(default_factory=list)
    missing: Dict[str, str] = field(default_factory=dict)

    def add(self, op: str, impl: str, kind: str, prepare: Callable[..., Prepared], note: str = "", checked: bool = True) -> None:
        self.adapters.append(Adapter(op, impl, kind, prepare, note, checked))


def chunks(data: bytes) -> List[memoryview]:
    """``data`` cut into STREAM_CHUNK views (at least one, maybe empty)."""
    view = memoryview(data)
    return [view[i : i + STREAM_CHUNK] for i in range(0, max(len(data), 1), STREAM_CHUNK)]


def load(module: str) -> Any:
    """Import a peer's module by name (ImportError if absent).

    Peers are optional and untyped, so they are imported dynamically: type
    checkers see ``Any`` instead of failing where a peer is not installed.
    """
    return importlib.import_module(module)

"""Reversible attribute swaps guarded by a version check.

A library patch is a :class:`PatchSpec`: the distribution and the version range
we read and tested, and a function listing ``(owner, attribute, replacement)``
swaps. :func:`apply` checks the version and that every attribute exists before
touching anything, then swaps all of them; :func:`revert` puts the originals
back. Nothing happens at import time.
"""

from __future__ import annotations

import importlib
import re
import sys
import threading
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["CompatError", "PatchSpec", "Swap", "apply", "revert", "is_applied", "installed_version", "lock"]

Version = Tuple[int, ...]


class CompatError(RuntimeError):
    """A library cannot be patched: unknown version or unexpected layout."""


@dataclass(frozen=True)
class Swap:
    """Replace ``owner.attribute`` (a module or a class) by ``replacement``."""

    owner: Any
    attribute: str
    replacement: Any


@dataclass(frozen=True)
class PatchSpec:
    """What patching one library means.

    Attributes:
        name: the name ``patch()`` takes.
        distribution: the installed distribution whose version is checked.
        minimum: lowest version known to work (inclusive).
        below: first version not known to work (exclusive).
        swaps: called at patch time (after the version check) to import the
            library's modules and list the swaps.
        notes: what the patch does not cover, for the error messages and docs.
    """

    name: str
    distribution: str
    minimum: Version
    below: Version
    swaps: Callable[[], List[Swap]]
    notes: str = ""
    module: str = field(default="")


def parse_version(text: str) -> Version:
    """The leading numeric release of a version string: ``"3.14.5rc1"`` -> ``(3, 14, 5)``."""
    numbers = []
    for part in text.split("."):
        match = re.match(r"\d+", part)
        if not match:
            break
        numbers.append(int(match.group()))
        if match.end() != len(part):
            break
    return tuple(numbers)


def installed_version(distribution: str, module: str = "") -> Optional[str]:
    """Version string of an installed distribution, or None if it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        pass
    if module:  # e.g. a source checkout on sys.path without metadata
        try:
            mod = importlib.import_module(module)
        except ImportError:
            return None
        found = getattr(mod, "__version__", None) or getattr(mod, "version", None)
        return str(found) if found else None
    return None


def _fmt(version: Version) -> str:
    return ".".join(map(str, version))


def check_version(spec: PatchSpec) -> str:
    """Return the installed version, or raise if it is missing or not known-good."""
    found = installed_version(spec.distribution, spec.module)
    if found is None:
        raise CompatError(f"wsframe.compat: {spec.distribution} is not installed")
    version = parse_version(found)
    if not (spec.minimum <= version < spec.below):
        raise CompatError(
            f"wsframe.compat: {spec.distribution} {found} is not a version this patch was verified "
            f"against (>={_fmt(spec.minimum)},<{_fmt(spec.below)}); its internals may differ. "
            f"Pass force=True to try anyway (the attribute layout is still checked)."
        )
    return found


# name -> the swaps in effect, each with the original it replaced.
_applied: Dict[str, List[Tuple[Swap, Any]]] = {}
# Held by apply(), revert() and compat.patch() (re-entrant): a patch and
# the options recorded for it change together.
lock = threading.RLock()


def is_applied(name: str) -> bool:
    """Whether the patch ``name`` is in effect."""
    return name in _applied


def apply(spec: PatchSpec, *, force: bool = False) -> None:
    """Check the version and layout, then perform every swap (all or nothing).

    Patching an already patched library does nothing.

    Raises:
        CompatError: unknown version (unless ``force``), not installed, or an
            attribute we expect is missing.
    """
    with lock:
        if spec.name in _applied:
            return
        if force:
            if installed_version(spec.distribution, spec.module) is None:
                raise CompatError(f"wsframe.compat: {spec.distribution} is not installed")
        else:
            check_version(spec)
        try:
            swaps = spec.swaps()
        except (ImportError, AttributeError) as exc:
            raise CompatError(f"wsframe.compat: cannot patch {spec.name}: {exc}") from exc
        done: List[Tuple[Swap, Any]] = []
        for swap in swaps:
            if swap.attribute not in vars(swap.owner):
                raise CompatError(
                    f"wsframe.compat: cannot patch {spec.name}: "
                    f"{getattr(swap.owner, '__name__', swap.owner)}.{swap.attribute} does not exist"
                )
        try:
            for swap in swaps:
                original = vars(swap.owner)[swap.attribute]
                setattr(swap.owner, swap.attribute, swap.replacement)
                done.append((swap, original))
        except (TypeError, AttributeError) as exc:
            # e.g. an attribute of an immutable (C) type: undo the swaps made
            # so far, so a failed patch leaves the library as it was.
            for swap, original in reversed(done):
                setattr(swap.owner, swap.attribute, original)
            raise CompatError(f"wsframe.compat: cannot patch {spec.name}: {exc}") from exc
        _applied[spec.name] = done


def revert(name: str) -> None:
    """Put the originals back (nothing if ``name`` is not patched).

    An attribute somebody else replaced after us is left alone, with a warning.
    """
    with lock:
        done = _applied.pop(name, None)
        if done is None:
            return
        for swap, original in reversed(done):
            current = vars(swap.owner).get(swap.attribute)
            if current is swap.replacement:
                setattr(swap.owner, swap.attribute, original)
            else:
                owner = getattr(swap.owner, "__name__", swap.owner)
                warnings.warn(
                    f"wsframe.compat: {owner}.{swap.attribute} was replaced by someone else; left as is",
                    RuntimeWarning,
                    stacklevel=3,
                )


def loaded(module: str) -> Optional[Any]:
    """The module if it is already imported, else None (never imports it)."""
    return sys.modules.get(module)

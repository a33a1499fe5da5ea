#!/usr/bin/env python3
"""Check that the API reference covers every public name (issue 18).

Imports each public module, reads its ``__all__`` and looks for every
``module.name`` among the Python objects of a Sphinx build's ``objects.inv``;
fails listing the names that are missing. The modules checked are those of
``REQUIRED_MODULES`` (``wsframe.sync`` only when it imports), plus every
``wsframe`` module the inventory itself documents, so a page added later is
held to the same rule.

Usage::

    sphinx-build -W --keep-going -b html docs /tmp/wsframe-docs
    python scripts/check_api_coverage.py /tmp/wsframe-docs      # or .../objects.inv

Exit status: 0 when every name is covered, 1 when some are missing (or a
module cannot be imported or has no ``__all__``), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import zlib
from typing import Dict, Iterable, List, Optional, Set, Tuple

# The public modules the reference must cover (docs/conf.py's
# wsframe_public_modules; tests/test_docs_coverage.py keeps the two lists
# equal). Modules listed in OPTIONAL_MODULES are checked only when they import.
REQUIRED_MODULES = (
    "wsframe",
    "wsframe.connection",
    "wsframe.events",
    "wsframe.errors",
    "wsframe.enums",
    "wsframe.handshake",
    "wsframe.deflate",
    "wsframe.extension",
    "wsframe.broadcast",
    "wsframe.aio",
    "wsframe.aio.options",
    "wsframe.aio.messages",
    "wsframe.hub",
    "wsframe.sync",
    "wsframe.compat",
)
OPTIONAL_MODULES = frozenset({"wsframe.sync"})

_LINE = re.compile(r"(?x)(.+?)\s+(\S+?):(\S+)\s+(-?\d+)\s+?(\S*)\s+(.*)")


def parse_inventory(data: bytes) -> Dict[str, Set[str]]:
    """``{name: {"py:class", ...}}`` of a Sphinx objects.inv (format version 2)."""
    lines = data.split(b"\n", 4)
    if len(lines) < 5 or not lines[0].startswith(b"# Sphinx inventory version 2"):
        raise ValueError("not a Sphinx inventory (version 2)")
    if b"zlib" not in lines[3]:
        raise ValueError("inventory body is not zlib-compressed")
    body = zlib.decompress(lines[4]).decode("utf-8")
    objects: Dict[str, Set[str]] = {}
    for line in body.splitlines():
        m = _LINE.match(line.rstrip())
        if m:
            name, domain, role = m.group(1), m.group(2), m.group(3)
            objects.setdefault(name, set()).add(f"{domain}:{role}")
    return objects


def python_names(objects: Dict[str, Set[str]]) -> Set[str]:
    return {name for name, kinds in objects.items() if any(k.startswith("py:") for k in kinds)}


def documented_modules(objects: Dict[str, Set[str]]) -> List[str]:
    return sorted(n for n, kinds in objects.items() if "py:module" in kinds and (n == "wsframe" or n.startswith("wsframe.")))


def check(
    documented: Set[str], modules: Iterable[str], optional: Iterable[str] = ()
) -> Tuple[int, int, Dict[str, List[str]], List[str]]:
    """(covered, total, {module: [missing names]}, [module problems])."""
    optional = set(optional)
    covered = total = 0
    missing: Dict[str, List[str]] = {}
    problems: List[str] = []
    for modname in modules:
        try:
            mod = importlib.import_module(modname)
        except ImportError as exc:
            if modname not in optional:
                problems.append(f"{modname}: cannot be imported ({exc})")
            continue
        names = getattr(mod, "__all__", None)
        if names is None:
            problems.append(f"{modname}: has no __all__")
            continue
        if modname not in documented:
            problems.append(f"{modname}: the module itself is not in the reference")
        for name in names:
            total += 1
            if f"{modname}.{name}" in documented:
                covered += 1
            else:
                missing.setdefault(modname, []).append(name)
    return covered, total, missing, problems


def _inventory_path(arg: str) -> str:
    return os.path.join(arg, "objects.inv") if os.path.isdir(arg) else arg


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build", help="the Sphinx HTML build directory, or its objects.inv")
    args = parser.parse_args(argv)
    path = _inventory_path(args.build)
    try:
        with open(path, "rb") as f:
            objects = parse_inventory(f.read())
    except (OSError, ValueError) as exc:
        print(f"check_api_coverage: {path}: {exc}", file=sys.stderr)
        return 2
    documented = python_names(objects)
    modules = list(REQUIRED_MODULES)
    modules += [m for m in documented_modules(objects) if m not in modules]
    covered, total, missing, problems = check(documented, modules, OPTIONAL_MODULES)

    import wsframe

    print(f"API reference coverage ({path}, built from the {wsframe.BACKEND} backend's docstrings here):")
    for modname in modules:
        mod = sys.modules.get(modname)
        n = len(getattr(mod, "__all__", ())) if mod else 0
        gaps = missing.get(modname, [])
        state = "not importable, skipped" if mod is None else f"{n - len(gaps)}/{n}"
        print(f"  {modname:24} {state}")
    for problem in problems:
        print(f"FAIL: {problem}")
    for modname, names in missing.items():
        print(f"FAIL: {modname}: not in the reference: {', '.join(names)}")
    print(f"{covered}/{total} public names covered in {len(modules)} modules")
    return 1 if missing or problems else 0


if __name__ == "__main__":
    sys.exit(main())

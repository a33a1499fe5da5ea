"""The ``wsframe`` command line (``python -m wsframe``, console script ``wsframe``).

With no command it prints the backend in use and a short C vs pure-Python
speed table. Subcommands live in modules of their own, listed in
:data:`SUBCOMMANDS`; to add one, write a module with

* ``add_arguments(parser: argparse.ArgumentParser) -> None`` and
* ``run(args: argparse.Namespace) -> int`` (the exit code),

and add a line to :data:`SUBCOMMANDS`. A listed module that is not there
yet gets a placeholder that says so, instead of breaking the command line.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType
from typing import Dict, Optional, Sequence, Tuple

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

#: name -> (module, one-line help). Order is the order of ``--help``.
SUBCOMMANDS: Dict[str, Tuple[str, str]] = {
    "bench": ("wsframe.cli.bench", "benchmark matrix: wsframe (C and Python) vs installed peers and physical references"),
    "chat": ("wsframe.chat.command", "real-time group chat demo: web page + WebSocket server (asyncio layer)"),
    "echo": ("wsframe.aio.echo", "WebSocket echo server (asyncio layer)"),
}

#: The module behind ``python -m wsframe`` without a command.
DEFAULT_COMMAND = "wsframe.cli.summary"


def _load(module: str) -> Tuple[Optional[ModuleType], Optional[str]]:
    """Import a command module; (None, why) when it does not exist yet."""
    try:
        return importlib.import_module(module), None
    except ModuleNotFoundError as exc:
        if exc.name != module:  # the module exists but something it imports is missing
            return None, f"cannot be loaded: {exc}"
        return None, "not available yet"


def _placeholder(name: str, why: str):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> int:
        print(f"wsframe {name}: {why} in this version of wsframe.", file=sys.stderr)
        return 2

    return run


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered (placeholders included)."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="wsframe",
        description="Fast, strict WebSocket (RFC 6455) framing. Without a command: show the backend in use and a short speed table.",
    )
    parser.add_argument("--version", action="version", version=f"wsframe {__version__}")
    default, why = _load(DEFAULT_COMMAND)
    if default is None:  # pragma: no cover - the summary ships with the package
        raise ImportError(f"{DEFAULT_COMMAND} {why}")
    default.add_arguments(parser)
    parser.set_defaults(_run=default.run)

    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        mod, why = _load(module)
        if mod is None:
            p = sub.add_parser(name, help=f"{help_text} [{why}]")
            p.set_defaults(_run=_placeholder(name, why or "not available"), _placeholder=True)
            continue
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip().splitlines()[0])
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m wsframe`` and of the ``wsframe`` script."""
    parser = build_parser()
    given = list(argv) if argv is not None else sys.argv[1:]
    args, extra = parser.parse_known_args(given)
    args.argv = given  # for commands that re-run themselves (bench --simd)
    if extra and not getattr(args, "_placeholder", False):  # a placeholder takes any arguments
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m wsframe bench | head`
        return 0

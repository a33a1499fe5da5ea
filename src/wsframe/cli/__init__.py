"""The ``wsframe`` command line (``python -m wsframe``, console script ``wsframe``).

With no command it prints the backend in use and a short C vs pure-Python
speed table (:mod:`wsframe.cli.summary`). Each subcommand is a module with

* ``add_arguments(parser: argparse.ArgumentParser) -> None`` and
* ``run(args: argparse.Namespace) -> int`` (the exit code),

listed in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
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


def _register(parser: argparse.ArgumentParser, module: str) -> str:
    """Give ``parser`` the options and the ``run`` of a command module; its docstring's first line."""
    mod = importlib.import_module(module)
    mod.add_arguments(parser)
    parser.set_defaults(_run=mod.run)
    return (mod.__doc__ or "").strip().split("\n", 1)[0]


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="wsframe",
        description="Fast, strict WebSocket (RFC 6455) framing. Without a command: show the backend in use and a short speed table.",
    )
    parser.add_argument("--version", action="version", version=f"wsframe {__version__}")
    _register(parser, DEFAULT_COMMAND)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        command.description = _register(command, module) or help_text
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m wsframe`` and of the ``wsframe`` script."""
    given = list(argv) if argv is not None else sys.argv[1:]
    args = build_parser().parse_args(given)
    args.argv = given  # for commands that re-run themselves (bench --simd)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m wsframe bench | head`
        return 0

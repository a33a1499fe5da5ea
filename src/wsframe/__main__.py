"""``python -m wsframe`` and the ``wsframe`` console script (see :mod:`wsframe.cli`)."""

from __future__ import annotations

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())

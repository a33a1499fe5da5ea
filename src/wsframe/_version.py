"""The one place the version is written (setup.py and pyproject read it)."""

__version__ = "0.1.0"

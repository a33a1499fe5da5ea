"""wsframe as the WebSocket engine of ASGI servers.

- :class:`UvicornProtocol`: uvicorn's WebSocket protocol on
  :class:`wsframe.Connection`: ``uvicorn app:app --ws wsframe.asgi:UvicornProtocol``
  or ``uvicorn.run(app, ws=UvicornProtocol)``.
- :class:`UvicornWorker`: a gunicorn worker class, uvicorn's worker with
  that protocol: ``gunicorn app:app -k wsframe.asgi.UvicornWorker``.

Both are loaded on first use, so importing this package needs neither
uvicorn nor gunicorn (``pip install wsframe[asgi]`` brings uvicorn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["UvicornProtocol", "UvicornWorker"]

if TYPE_CHECKING:
    from .protocol import UvicornProtocol
    from .worker import UvicornWorker


def __getattr__(name: str) -> Any:
    if name == "UvicornProtocol":
        from .protocol import UvicornProtocol

        return UvicornProtocol
    if name == "UvicornWorker":
        from .worker import UvicornWorker

        return UvicornWorker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

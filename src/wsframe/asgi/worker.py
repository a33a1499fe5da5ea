"""``UvicornWorker``: a gunicorn worker running uvicorn with :class:`UvicornProtocol`.

``gunicorn app:app -k wsframe.asgi.UvicornWorker``. The base class is
``uvicorn_worker.UvicornWorker`` (the ``uvicorn-worker`` package, where
uvicorn moved its worker) when installed, else ``uvicorn.workers.UvicornWorker``
(still shipped by uvicorn 0.55, deprecated there); its own settings are kept
and only the WebSocket protocol is replaced.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict

try:
    from uvicorn_worker import UvicornWorker as _BaseWorker  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    with warnings.catch_warnings():
        # uvicorn.workers warns that it moved to uvicorn-worker on import:
        # asking for our worker is not a use of the deprecated path.
        warnings.simplefilter("ignore", DeprecationWarning)
        from uvicorn.workers import UvicornWorker as _BaseWorker

__all__ = ["UvicornWorker"]

WS_PROTOCOL = "wsframe.asgi:UvicornProtocol"


class UvicornWorker(_BaseWorker):  # type: ignore[misc,unused-ignore]  # gunicorn is untyped
    """uvicorn's gunicorn worker, with wsframe for WebSocket connections."""

    CONFIG_KWARGS: Dict[str, Any] = {**_BaseWorker.CONFIG_KWARGS, "ws": WS_PROTOCOL}

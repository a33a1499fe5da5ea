"""Routing by path for :mod:`wsframe.sync`: the patterns of :func:`wsframe.aio.route`, with plain functions.

::

    router = route({"/chat": chat, "/rooms/{room}": room})
    with serve(router, "127.0.0.1", 8765, process_request=router.process_request) as server:
        server.serve_forever()

``ws.path_params`` and ``ws.query`` are set on the connection; a path
without a route gets 404 before the handshake (or, served without
``process_request=router.process_request``, is accepted and closed with
1008). Matching is :class:`wsframe.aio.router.Routes`: one implementation.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

from ..aio.router import NOT_FOUND_BODY, Routes, respond
from ..handshake.http11 import Request
from .server import ServerConnection

__all__ = ["route", "Router", "respond"]

RouteHandler = Callable[[ServerConnection], Any]
#: A ``process_request`` hook of :func:`wsframe.sync.serve`.
Hook = Callable[[ServerConnection, Request], Any]


class Router(Routes):
    """Handlers by path; a handler of :func:`wsframe.sync.serve` and its
    ``process_request`` hook. Build one with :func:`route`.

    Args:
        routes: ``{pattern: handler}``, tried in order (``{name}`` is one
            path segment, ``{name:path}`` the rest of the path).
        process_request: an application hook run for every request, with
            ``connection.path_params`` (empty without a route) and
            ``connection.query`` set: None to go on (404 without a route),
            or an answer (see :func:`respond`).

    Raises:
        ValueError: a bad pattern.
    """

    def __init__(self, routes: Mapping[str, RouteHandler], *, process_request: Optional[Hook] = None) -> None:
        super().__init__(routes)
        self._hook = process_request

    def process_request(self, connection: ServerConnection, request: Request) -> Any:
        """The ``process_request`` hook: the application's hook, then 404
        for a path without a route unless that hook answered."""
        found = self.bind(connection, request.target)
        answer = None if self._hook is None else self._hook(connection, request)
        if answer is None and found is None:
            return respond(404, NOT_FOUND_BODY)
        return answer

    def __call__(self, connection: ServerConnection) -> None:
        """The handler: run the route's handler with ``path_params`` and ``query`` set."""
        found = self.bind(connection, connection.path)
        if found is None:
            connection.close(1008, "no route")  # served without process_request
            return
        found.handler(connection)


def route(routes: Mapping[str, RouteHandler], *, process_request: Optional[Hook] = None) -> Router:
    """A :class:`Router` of ``{pattern: handler}`` for :func:`wsframe.sync.serve`.

    Args:
        routes: ``{pattern: handler}``; the first match wins.
        process_request: an application hook run for every request before
            the router's 404.

    Returns:
        The :class:`Router`: pass it as the handler, and its
        ``process_request`` as the hook.
    """
    return Router(routes, process_request=process_request)

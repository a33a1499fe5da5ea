"""Routing by path: ``serve(route({"/chat": chat, "/rooms/{room}": room}), ...)``.

:func:`route` builds a :class:`Router`, which is both a handler (it picks
the handler of the request's path and runs it) and a ``process_request``
hook (a path without a route gets 404 before the handshake, unless the
application's own hook, run first, answers it)::

    router = route({"/chat": chat, "/rooms/{room}": room})
    async with serve(router, "127.0.0.1", 8765, process_request=router.process_request):
        ...

In the handler, ``ws.path_params`` holds the path parameters (``{"room":
"lobby"}``, percent-decoded) and ``ws.query`` the parsed query string (a dict
of lists, :func:`urllib.parse.parse_qs`: ``?tag=a&tag=b`` gives
``{"tag": ["a", "b"]}``).

Patterns: literal segments, ``{name}`` for one segment (no ``/``),
``{name:path}`` for the rest of the path (``/`` allowed). The first pattern
that matches the whole path wins. Served without its ``process_request``
(``serve(router)`` alone), a path without a route is accepted and closed at
once with 1008 (policy violation), since a 404 can only be sent before the
handshake.

:func:`respond` builds the ``(status, headers, body)`` answer a
``process_request`` hook returns to answer plain HTTP.
"""

from __future__ import annotations

import inspect
import re
import urllib.parse
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Pattern, Tuple, Union, cast

from ..handshake.http11 import Request, Response
from .server import HTTPResponse, ServerConnection

__all__ = ["route", "Router", "Routes", "respond", "Match"]

RouteHandler = Callable[[ServerConnection], Awaitable[Any]]
#: A ``process_request`` hook of :func:`wsframe.aio.serve`, sync or async.
Hook = Callable[[ServerConnection, Request], Any]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(path))?\}")
NOT_FOUND_BODY = "not found\n"


def respond(
    status: int, text_or_body: Union[str, bytes] = b"", headers: Iterable[Tuple[str, str]] = ()
) -> HTTPResponse:
    """The ``(status, headers, body)`` a ``process_request`` hook returns to answer plain HTTP.

    Args:
        status: the HTTP status, e.g. 200, 301, 404.
        text_or_body: a ``str`` is sent as UTF-8 with
            ``Content-Type: text/plain; charset=utf-8`` (unless ``headers``
            has a Content-Type); ``bytes`` are sent as they are.
        headers: more header fields.

    Returns:
        ``(status, headers, body)``; ``Content-Length`` and
        ``Connection: close`` are added when it is sent.
    """
    fields = list(headers)
    if isinstance(text_or_body, str):
        body = text_or_body.encode("utf-8")
        if not any(name.lower() == "content-type" for name, _ in fields):
            fields.append(("Content-Type", "text/plain; charset=utf-8"))
    else:
        body = bytes(text_or_body)
    return status, fields, body


class Match:
    """A request target matched against the routes.

    Attributes:
        handler: the route's handler.
        pattern: the route's pattern as written.
        path_params: the parameters of the pattern, percent-decoded.
        query: the parsed query string (``urllib.parse.parse_qs``).
    """

    __slots__ = ("handler", "pattern", "path_params", "query")

    def __init__(
        self, handler: Callable[..., Any], pattern: str, path_params: Dict[str, str], query: Dict[str, List[str]]
    ) -> None:
        self.handler = handler
        self.pattern = pattern
        self.path_params = path_params
        self.query = query


def _compile(pattern: str) -> Pattern[str]:
    """``/rooms/{room}`` -> a regular expression matching a whole path."""
    if not pattern.startswith("/"):
        raise ValueError(f"a route pattern starts with '/': {pattern!r}")
    parts: List[str] = []
    names: List[str] = []
    end = 0
    for param in _PARAM.finditer(pattern):
        parts.append(re.escape(pattern[end : param.start()]))
        name = param.group(1)
        if name in names:
            raise ValueError(f"parameter {name!r} twice in {pattern!r}")
        names.append(name)
        parts.append(f"(?P<{name}>.+)" if param.group(2) == "path" else f"(?P<{name}>[^/]+)")
        end = param.end()
    rest = pattern[end:]
    if "{" in rest or "}" in rest:
        raise ValueError(f"bad parameter in route pattern {pattern!r}")
    parts.append(re.escape(rest))
    return re.compile("".join(parts))


class Routes:
    """Patterns and their handlers, whatever the host: matching a request
    target and setting ``path_params`` and ``query`` on a connection.
    :class:`Router` (here) and :class:`wsframe.sync.router.Router` build on it.

    Args:
        routes: ``{pattern: handler}``, tried in order.

    Raises:
        ValueError: a pattern that does not start with ``/`` or has a bad
            or repeated parameter.
    """

    def __init__(self, routes: Mapping[str, Callable[..., Any]]) -> None:
        self._routes: List[Tuple[Pattern[str], str, Callable[..., Any]]] = [
            (_compile(pattern), pattern, handler) for pattern, handler in routes.items()
        ]

    def match(self, target: str) -> Optional[Match]:
        """The route of a request target (``/path?query``, or absolute-form), or None."""
        parts = urllib.parse.urlsplit(target)
        path = parts.path or "/"
        for regex, pattern, handler in self._routes:
            found = regex.fullmatch(path)
            if found is not None:
                params = {name: urllib.parse.unquote(value) for name, value in found.groupdict().items()}
                return Match(handler, pattern, params, urllib.parse.parse_qs(parts.query))
        return None

    def bind(self, connection: object, target: str) -> Optional[Match]:
        """Match ``target``; set ``path_params`` (empty without a match) and
        ``query`` on the connection, for the hook and the handler to read."""
        found = self.match(target)
        if found is None:
            params: Dict[str, str] = {}
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
        else:
            params, query = found.path_params, found.query
        setattr(connection, "path_params", params)
        setattr(connection, "query", query)
        return found


class Router(Routes):
    """Handlers by path; a handler of :func:`wsframe.aio.serve` and its
    ``process_request`` hook. Build one with :func:`route`.

    Args:
        routes: ``{pattern: handler}``, tried in order.
        process_request: an application hook (sync or async) run for every
            request, with ``connection.path_params`` (empty without a route)
            and ``connection.query`` set: None to go on (404 without a
            route), or an answer (see :func:`respond`), e.g. a health
            check on a path that has no route.

    Raises:
        ValueError: a pattern that does not start with ``/`` or has a bad
            or repeated parameter.
    """

    def __init__(self, routes: Mapping[str, RouteHandler], *, process_request: Optional[Hook] = None) -> None:
        super().__init__(routes)
        self._hook = process_request

    async def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Union[None, HTTPResponse, Response]:
        """The ``process_request`` hook: the application's hook (if any), then
        404 for a path without a route unless that hook answered."""
        found = self.bind(connection, request.target)
        answer: Any = None
        if self._hook is not None:
            answer = self._hook(connection, request)
            if inspect.isawaitable(answer):
                answer = await answer
        if answer is None and found is None:
            return respond(404, NOT_FOUND_BODY)
        return cast(Union[None, HTTPResponse, Response], answer)

    async def __call__(self, connection: ServerConnection) -> None:
        """The handler: run the route's handler with ``path_params`` and ``query`` set."""
        found = self.bind(connection, connection.path)
        if found is None:
            await connection.close(1008, "no route")  # served without process_request
            return
        await found.handler(connection)


def route(routes: Mapping[str, RouteHandler], *, process_request: Optional[Hook] = None) -> Router:
    """A :class:`Router` of ``{pattern: handler}``: pass it to :func:`wsframe.aio.serve`
    as the handler and its ``process_request`` as the hook.

    ::

        router = route({"/chat": chat, "/admin/{room}": admin})
        serve(router, host, port, process_request=router.process_request)

    Args:
        routes: ``{pattern: handler}``: ``{name}`` matches one path segment,
            ``{name:path}`` the rest of the path; the first match wins.
        process_request: an application hook run for every request before
            the router's 404 (see :class:`Router`).

    Returns:
        The :class:`Router`.
    """
    return Router(routes, process_request=process_request)

"""Sec-WebSocket-Extensions parsing and negotiation (RFC 6455 section 9.1).

An offer or answer is a list of ``(name, params)`` where ``params`` is a list
of ``(name, value)`` and ``value`` is None for a bare parameter, e.g.
``permessage-deflate; client_max_window_bits`` gives
``[("permessage-deflate", [("client_max_window_bits", None)])]``.

Extensions plug in through two small factory interfaces: the server side picks
offers it accepts, the client side makes offers and checks the answer. Both
return the runtime :class:`wsframe.extension.Extension` the connection uses.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional, Sequence, Tuple

from ..extension import Extension
from .errors import InvalidHeader, NegotiationError
from .responses import _TOKEN

__all__ = [
    "ExtensionParams",
    "ExtensionOffer",
    "parse_extensions",
    "format_extensions",
    "ServerExtensionFactory",
    "ClientExtensionFactory",
    "negotiate_server_extensions",
    "accept_client_extensions",
]

ExtensionParams = List[Tuple[str, Optional[str]]]
ExtensionOffer = Tuple[str, ExtensionParams]

_HEADER = "Sec-WebSocket-Extensions"
# RFC 7230 section 3.2.6 quoted-string, with quoted-pair.
_QUOTED = re.compile(r'"((?:[\t !#-\[\]-~\x80-\xff]|\\[\t !-~\x80-\xff])*)"')
_OWS = re.compile(r"[ \t]*")


class _Scanner:
    """A cursor over one header value; every method skips leading whitespace."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _skip(self) -> None:
        self.pos = _OWS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def at_end(self) -> bool:
        self._skip()
        return self.pos >= len(self.text)

    def peek(self, char: str) -> bool:
        self._skip()
        return self.text.startswith(char, self.pos)

    def take(self, char: str) -> bool:
        if self.peek(char):
            self.pos += 1
            return True
        return False

    def token(self) -> str:
        self._skip()
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            raise InvalidHeader(_HEADER, self.text, "invalid Sec-WebSocket-Extensions header")
        self.pos = match.end()
        return match.group()

    def value(self) -> str:
        """A parameter value: a token or a quoted string that unquotes to a token."""
        self._skip()
        match = _QUOTED.match(self.text, self.pos)
        if match is None:
            return self.token()
        self.pos = match.end()
        value = re.sub(r"\\(.)", r"\1", match.group(1))
        # RFC 6455 section 9.1: a quoted value must conform to the token ABNF.
        if not _TOKEN.fullmatch(value):
            raise InvalidHeader(_HEADER, self.text, "invalid Sec-WebSocket-Extensions header")
        return value


def parse_extensions(values: Iterable[str]) -> List[ExtensionOffer]:
    """Parse every Sec-WebSocket-Extensions field value into (name, params).

    Repeated fields form one list (RFC 7230 section 3.2.2); empty list
    elements are skipped. Raises InvalidHeader (400) on a syntax error.
    """
    offers: List[ExtensionOffer] = []
    for text in values:
        scan = _Scanner(text)
        while not scan.at_end():
            if scan.take(","):
                continue
            name = scan.token()
            params: ExtensionParams = []
            while scan.take(";"):
                pname = scan.token()
                pvalue = scan.value() if scan.take("=") else None
                params.append((pname, pvalue))
            offers.append((name, params))
            if not scan.at_end() and not scan.take(","):
                raise InvalidHeader(_HEADER, text, "invalid Sec-WebSocket-Extensions header")
    return offers


def format_extensions(offers: Sequence[ExtensionOffer]) -> str:
    """The header value for a list of (name, params); ValueError for non-tokens."""
    parts = []
    for name, params in offers:
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"invalid extension name: {name!r}")
        items = [name]
        for pname, pvalue in params:
            if not _TOKEN.fullmatch(pname) or (pvalue is not None and not _TOKEN.fullmatch(pvalue)):
                raise ValueError(f"invalid extension parameter: {pname!r}={pvalue!r}")
            items.append(pname if pvalue is None else f"{pname}={pvalue}")
        parts.append("; ".join(items))
    return ", ".join(parts)


class ServerExtensionFactory:
    """Server half of an extension's negotiation; subclass and override.

    Attributes:
        name: the extension token it answers to, e.g. ``"permessage-deflate"``.
    """

    name: str = ""

    def accept(
        self, params: ExtensionParams, accepted: Sequence[Extension]
    ) -> Optional[Tuple[ExtensionParams, Extension]]:
        """Accept one offer of this extension, or decline it.

        Args:
            params: the offer's parameters.
            accepted: extensions accepted so far for this connection.

        Returns:
            (response parameters, runtime extension), or None to decline this
            offer (the client may have made several).

        Raises:
            NegotiationError: the offer is invalid and the handshake must fail.
        """
        raise NotImplementedError


class ClientExtensionFactory:
    """Client half of an extension's negotiation; subclass and override."""

    name: str = ""

    def offer(self) -> ExtensionParams:
        """The parameters to offer in the request."""
        raise NotImplementedError

    def accept(self, params: ExtensionParams, accepted: Sequence[Extension]) -> Extension:
        """Build the runtime extension from the server's answer.

        Raises:
            NegotiationError: the answer is not acceptable.
        """
        raise NotImplementedError


def negotiate_server_extensions(
    offers: Sequence[ExtensionOffer],
    factories: Sequence[ServerExtensionFactory],
    limit: Optional[int] = None,
) -> Tuple[List[ExtensionOffer], List[Extension]]:
    """Server side: walk the client's offers in its order of preference.

    Each factory accepts at most one offer; unknown extensions are ignored
    (RFC 6455 section 9.1), and so is every offer after ``limit`` extensions
    were accepted (a server may decline any offer). Returns the response
    header items and the runtime extensions, in the same order.
    """
    response: List[ExtensionOffer] = []
    accepted: List[Extension] = []
    used = set()
    for name, params in offers:
        if limit is not None and len(accepted) >= limit:
            break
        for index, factory in enumerate(factories):
            if index in used or factory.name != name:
                continue
            result = factory.accept(params, accepted)
            if result is not None:
                response.append((name, result[0]))
                accepted.append(result[1])
                used.add(index)
                break
    return response, accepted


def accept_client_extensions(
    answer: Sequence[ExtensionOffer],
    factories: Sequence[ClientExtensionFactory],
) -> List[Extension]:
    """Client side: every extension in the server's answer must be one we offered, once.

    Raises NegotiationError otherwise (RFC 6455 section 4.1, item 5 of the
    response checks).
    """
    accepted: List[Extension] = []
    used = set()
    for name, params in answer:
        for index, factory in enumerate(factories):
            if index not in used and factory.name == name:
                accepted.append(factory.accept(params, accepted))
                used.add(index)
                break
        else:
            raise NegotiationError(f"server selected an extension we did not offer: {name}")
    return accepted

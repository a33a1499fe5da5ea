"""permessage-deflate parameters: parse offers and responses, negotiate (RFC 7692 section 7.1).

Four parameters exist. In an *offer* (client to server):

* ``server_no_context_takeover``: the server must not keep its LZ77 window
  between messages (7.1.1.1);
* ``client_no_context_takeover``: a hint that the client will not (7.1.1.2);
* ``server_max_window_bits=N``: the server must compress with a window of at
  most 2**N bytes (7.1.2.1);
* ``client_max_window_bits[=N]``: the client accepts this parameter in the
  response; with a value, a hint that it will use at most N anyway (7.1.2.2).

In a *response* the same four appear, with the meanings made binding; there
``client_max_window_bits`` needs a value and is only allowed when offered.

Everything here is pure data: :func:`parse_offer` and :func:`parse_response`
raise :class:`NegotiationError` for an unknown, duplicate, value-less or
out-of-range parameter (RFC 7692 section 5 and 7.1), and :func:`negotiate`
(server) and :func:`check_response` (client) turn an offer into the binding
:class:`Agreement` both ends then follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Union

from ..handshake.errors import NegotiationError
from ..handshake.extensions import ExtensionParams

__all__ = [
    "EXTENSION_NAME",
    "MIN_WINDOW_BITS",
    "MAX_WINDOW_BITS",
    "Offer",
    "Agreement",
    "parse_offer",
    "parse_response",
    "offer_params",
    "response_params",
    "negotiate",
    "check_response",
    "check_window_bits",
]

EXTENSION_NAME = "permessage-deflate"

#: RFC 7692 section 7.1.2: window bits are 8..15 (a 256 B to 32 KiB LZ77 window).
MIN_WINDOW_BITS = 8
MAX_WINDOW_BITS = 15

_SERVER_NCT = "server_no_context_takeover"
_CLIENT_NCT = "client_no_context_takeover"
_SERVER_BITS = "server_max_window_bits"
_CLIENT_BITS = "client_max_window_bits"
_KNOWN = (_SERVER_NCT, _CLIENT_NCT, _SERVER_BITS, _CLIENT_BITS)

# RFC 7692 section 7.1.2.1: "a decimal integer value ... from 8 to 15,
# inclusive", 1*DIGIT without leading zeros: compare against the exact strings.
_BITS_VALUES = {str(bits): bits for bits in range(MIN_WINDOW_BITS, MAX_WINDOW_BITS + 1)}


def check_window_bits(name: str, value: Optional[int], low: int = MIN_WINDOW_BITS) -> None:
    """Refuse a configured window size outside ``low``..15 (ValueError); None passes."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_WINDOW_BITS:
        raise ValueError(f"{name} must be an integer from {low} to {MAX_WINDOW_BITS}, not {value!r}")


@dataclass(frozen=True)
class Offer:
    """One permessage-deflate offer, as a client sends it.

    Attributes:
        server_no_context_takeover: asks the server not to keep its window.
        client_no_context_takeover: says the client will not keep its window.
        server_max_window_bits: the largest window the server may use, or None.
        client_max_window_bits: None (parameter absent), True (bare: the
            client accepts a limit in the response), or 8..15 (a hint).
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: Optional[int] = None
    client_max_window_bits: Union[None, bool, int] = None


@dataclass(frozen=True)
class Agreement:
    """The negotiated configuration: what the accepted response says.

    ``None`` window bits mean "not limited" (15). Both ends derive their
    compressor and decompressor settings from this one object.
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: Optional[int] = None
    client_max_window_bits: Optional[int] = None

    def window_bits(self, role: str) -> int:
        """Window bits the endpoint in ``role`` ("server"/"client") compresses with at most."""
        bits = self.server_max_window_bits if role == "server" else self.client_max_window_bits
        return MAX_WINDOW_BITS if bits is None else bits

    def no_context_takeover(self, role: str) -> bool:
        """Whether the endpoint in ``role`` resets its compressor after every message."""
        return self.server_no_context_takeover if role == "server" else self.client_no_context_takeover


def _collect(params: ExtensionParams, where: str) -> Dict[str, Any]:
    """Parameters as a dict; NegotiationError for an unknown or repeated name (RFC 7692 section 5)."""
    seen: Dict[str, Any] = {}
    for name, value in params:
        if name not in _KNOWN:
            raise NegotiationError(f"unknown permessage-deflate parameter in {where}: {name}")
        if name in seen:
            raise NegotiationError(f"duplicate permessage-deflate parameter in {where}: {name}")
        seen[name] = value
    return seen


def _flag(seen: Dict[str, Any], name: str, where: str) -> bool:
    """A parameter that must not have a value (7.1.1.1, 7.1.1.2)."""
    if name not in seen:
        return False
    if seen[name] is not None:
        raise NegotiationError(f"{name} takes no value in {where}")
    return True


def _bits(value: Optional[str], name: str, where: str) -> int:
    """A window-bits value: exactly "8".."15" (7.1.2.1, 7.1.2.2)."""
    bits = _BITS_VALUES.get(value) if value is not None else None
    if bits is None:
        raise NegotiationError(f"{name} in {where} must be 8..15, not {value!r}")
    return bits


def parse_offer(params: ExtensionParams) -> Offer:
    """One client offer's parameters as an :class:`Offer`.

    Raises:
        NegotiationError: unknown or duplicate parameter, a value on a flag,
            a missing or out-of-range window size.
    """
    where = "offer"
    seen = _collect(params, where)
    server_bits = _bits(seen[_SERVER_BITS], _SERVER_BITS, where) if _SERVER_BITS in seen else None
    client_bits: Union[None, bool, int] = None
    if _CLIENT_BITS in seen:
        # 7.1.2.2: in an offer the value is optional; bare means "supported".
        value = seen[_CLIENT_BITS]
        client_bits = True if value is None else _bits(value, _CLIENT_BITS, where)
    return Offer(_flag(seen, _SERVER_NCT, where), _flag(seen, _CLIENT_NCT, where), server_bits, client_bits)


def parse_response(params: ExtensionParams) -> Agreement:
    """A server response's parameters as an :class:`Agreement` (not yet checked against the offer).

    Raises:
        NegotiationError: unknown or duplicate parameter, a value on a flag,
            a window size missing (both need one in a response) or out of range.
    """
    where = "response"
    seen = _collect(params, where)
    server_bits = _bits(seen[_SERVER_BITS], _SERVER_BITS, where) if _SERVER_BITS in seen else None
    client_bits = _bits(seen[_CLIENT_BITS], _CLIENT_BITS, where) if _CLIENT_BITS in seen else None
    return Agreement(_flag(seen, _SERVER_NCT, where), _flag(seen, _CLIENT_NCT, where), server_bits, client_bits)


def offer_params(offer: Offer) -> ExtensionParams:
    """The header parameters of an offer, in the RFC's order."""
    params: ExtensionParams = []
    if offer.server_no_context_takeover:
        params.append((_SERVER_NCT, None))
    if offer.client_no_context_takeover:
        params.append((_CLIENT_NCT, None))
    if offer.server_max_window_bits is not None:
        params.append((_SERVER_BITS, str(offer.server_max_window_bits)))
    if offer.client_max_window_bits is True:
        params.append((_CLIENT_BITS, None))
    elif offer.client_max_window_bits is not None and offer.client_max_window_bits is not False:
        params.append((_CLIENT_BITS, str(offer.client_max_window_bits)))
    return params


def response_params(agreement: Agreement) -> ExtensionParams:
    """The header parameters of a response stating ``agreement``."""
    params: ExtensionParams = []
    if agreement.server_no_context_takeover:
        params.append((_SERVER_NCT, None))
    if agreement.client_no_context_takeover:
        params.append((_CLIENT_NCT, None))
    if agreement.server_max_window_bits is not None:
        params.append((_SERVER_BITS, str(agreement.server_max_window_bits)))
    if agreement.client_max_window_bits is not None:
        params.append((_CLIENT_BITS, str(agreement.client_max_window_bits)))
    return params


def negotiate(
    offer: Offer,
    *,
    server_no_context_takeover: bool = False,
    client_no_context_takeover: bool = False,
    server_max_window_bits: Optional[int] = None,
    client_max_window_bits: Optional[int] = None,
) -> Agreement:
    """(server) The response to an acceptable offer under the server's policy.

    Args:
        offer: the client's offer.
        server_no_context_takeover: never keep our window, even if not asked.
        client_no_context_takeover: ask the client not to keep its window.
        server_max_window_bits: the largest window we compress with (None: 15).
        client_max_window_bits: the largest window we want the client to use;
            only sent when the offer allows it (RFC 7692 section 7.1.2.2).

    Returns:
        The :class:`Agreement` to state in the response.
    """
    # 7.1.1.1: an offered server_no_context_takeover must be in the response.
    server_nct = offer.server_no_context_takeover or server_no_context_takeover
    # 7.1.1.2: the client promised it anyway; saying so lets our decoder
    # drop its window between messages.
    client_nct = offer.client_no_context_takeover or client_no_context_takeover
    # 7.1.2.1: answer an offered limit with a value <= it; a server may also
    # state a limit that was not offered.
    server_bits = offer.server_max_window_bits
    if server_max_window_bits is not None and (server_bits is None or server_max_window_bits < server_bits):
        server_bits = server_max_window_bits
    # 7.1.2.2: only if offered; then our limit, or the client's own hint.
    client_bits: Optional[int] = None
    if offer.client_max_window_bits is not None and offer.client_max_window_bits is not False:
        hint = None if offer.client_max_window_bits is True else int(offer.client_max_window_bits)
        candidates = [bits for bits in (hint, client_max_window_bits) if bits is not None]
        client_bits = min(candidates) if candidates else None
    return Agreement(server_nct, client_nct, server_bits, client_bits)


def check_response(offers: Sequence[Offer], agreement: Agreement) -> Agreement:
    """(client) The response must answer one of our offers; return what binds us.

    Tries the offers in our order of preference (the response does not say
    which one the server took) and returns the agreement, with
    ``client_max_window_bits`` lowered to our own hint if we gave one.

    Raises:
        NegotiationError: no offer matches (RFC 7692 section 7.1: the client
            must fail the connection).
    """
    errors: List[str] = []
    for offer in offers:
        problem = _mismatch(offer, agreement)
        if problem is None:
            client_bits = agreement.client_max_window_bits
            if isinstance(offer.client_max_window_bits, int) and offer.client_max_window_bits is not True:
                hint = int(offer.client_max_window_bits)
                client_bits = hint if client_bits is None else min(client_bits, hint)
            client_nct = agreement.client_no_context_takeover or offer.client_no_context_takeover
            return Agreement(
                agreement.server_no_context_takeover, client_nct, agreement.server_max_window_bits, client_bits
            )
        errors.append(problem)
    raise NegotiationError("permessage-deflate response matches no offer: " + "; ".join(errors))


def _mismatch(offer: Offer, agreement: Agreement) -> Optional[str]:
    """Why ``agreement`` cannot answer ``offer`` (None when it can)."""
    if offer.server_no_context_takeover and not agreement.server_no_context_takeover:
        return "server_no_context_takeover was requested but not confirmed"
    if offer.server_max_window_bits is not None:
        if agreement.server_max_window_bits is None:
            return "server_max_window_bits was requested but not confirmed"
        if agreement.server_max_window_bits > offer.server_max_window_bits:
            return "server_max_window_bits above the requested value"
    if agreement.client_max_window_bits is not None:
        if offer.client_max_window_bits is None or offer.client_max_window_bits is False:
            return "client_max_window_bits was not offered"
    return None

"""permessage-deflate negotiators for the handshake: one per role (RFC 7692 section 5).

Pass them as ``extension_factories`` to :class:`wsframe.Connection`,
:func:`wsframe.handshake.accept` / ``build_request``, or ``wsframe.aio``'s
``serve``/``connect`` (which add one by default: ``compression="deflate"``).

The server walks the client's offers in the client's order of preference and
accepts the first valid one, adjusted to its policy; an invalid offer
(unknown, duplicate, value-less or out-of-range parameter) is *declined*, as
RFC 7692 section 5 requires, so the next offer or no compression is used.
The client fails the handshake (:class:`NegotiationError`) when the response
answers none of its offers (section 7.1: "_Fail the WebSocket Connection_").
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, TypedDict, Union

from ..extension import Extension
from ..handshake.errors import NegotiationError
from ..handshake.extensions import ClientExtensionFactory, ExtensionParams, ServerExtensionFactory
from .codec import DEFAULT_COMPRESS_LEVEL, DEFAULT_MEM_LEVEL, DEFAULT_MIN_SIZE, PerMessageDeflate
from .params import (
    EXTENSION_NAME,
    Offer,
    check_response,
    check_window_bits,
    negotiate,
    offer_params,
    parse_offer,
    parse_response,
    response_params,
)
from .zlib_impl import ZlibImpl

__all__ = [
    "ServerPerMessageDeflate",
    "ClientPerMessageDeflate",
    "DEFAULT_SERVER_MAX_WINDOW_BITS",
    "DEFAULT_CLIENT_MAX_WINDOW_BITS",
    "enable_server",
    "enable_client",
    "DeflateOptions",
]


class DeflateOptions(TypedDict, total=False):
    """The permessage-deflate knobs ``serve()``/``connect()`` take as
    ``compression_options`` (the keyword arguments of both factories)."""

    server_no_context_takeover: bool
    client_no_context_takeover: bool
    server_max_window_bits: Optional[int]
    client_max_window_bits: Optional[int]
    compress_level: int
    mem_level: int
    min_size: int

#: The server's defaults keep an idle compressed connection small: windows of
#: 4 KiB (2**12) instead of 32 KiB, like websockets' defaults.
DEFAULT_SERVER_MAX_WINDOW_BITS = 12
DEFAULT_CLIENT_MAX_WINDOW_BITS = 12


def _check_codec_options(compress_level: int, mem_level: int, min_size: int) -> None:
    if not 0 <= compress_level <= 9:
        raise ValueError("compress_level must be 0..9")
    if not 1 <= mem_level <= 9:
        raise ValueError("mem_level must be 1..9")
    if min_size < 0:
        raise ValueError("min_size must be >= 0")


class ServerPerMessageDeflate(ServerExtensionFactory):
    """The server's permessage-deflate policy.

    Args:
        server_no_context_takeover: reset our compressor after every message
            (less memory per idle connection, worse ratio), even if not asked.
        client_no_context_takeover: ask the client to do the same.
        server_max_window_bits: the largest window we compress with, 9..15
            (None: 15, or what the client asks).
        client_max_window_bits: the window we ask the client to stay within,
            8..15, when its offer allows it (None: no request).
        compress_level, mem_level, min_size: see :class:`PerMessageDeflate`.
        zlib_impl: the zlib to use (default: the process-wide choice).
    """

    name = EXTENSION_NAME

    def __init__(
        self,
        *,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: Optional[int] = DEFAULT_SERVER_MAX_WINDOW_BITS,
        client_max_window_bits: Optional[int] = DEFAULT_CLIENT_MAX_WINDOW_BITS,
        compress_level: int = DEFAULT_COMPRESS_LEVEL,
        mem_level: int = DEFAULT_MEM_LEVEL,
        min_size: int = DEFAULT_MIN_SIZE,
        zlib_impl: Optional[ZlibImpl] = None,
    ) -> None:
        # 9: zlib cannot compress with an 8-bit window.
        check_window_bits("server_max_window_bits", server_max_window_bits, low=9)
        check_window_bits("client_max_window_bits", client_max_window_bits)
        _check_codec_options(compress_level, mem_level, min_size)
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits
        self.compress_level = compress_level
        self.mem_level = mem_level
        self.min_size = min_size
        self.zlib_impl = zlib_impl

    def __repr__(self) -> str:
        return (
            f"ServerPerMessageDeflate(server_no_context_takeover={self.server_no_context_takeover}, "
            f"client_no_context_takeover={self.client_no_context_takeover}, "
            f"server_max_window_bits={self.server_max_window_bits}, "
            f"client_max_window_bits={self.client_max_window_bits})"
        )

    def accept(
        self, params: ExtensionParams, accepted: Sequence[Extension]
    ) -> Optional[Tuple[ExtensionParams, Extension]]:
        """Accept one offer (adjusted to our policy), or decline it with None."""
        if any(ext.name == EXTENSION_NAME for ext in accepted):
            return None
        try:
            offer = parse_offer(params)
        except NegotiationError:
            return None  # RFC 7692 section 5: decline an invalid offer
        agreement = negotiate(
            offer,
            server_no_context_takeover=self.server_no_context_takeover,
            client_no_context_takeover=self.client_no_context_takeover,
            server_max_window_bits=self.server_max_window_bits,
            client_max_window_bits=self.client_max_window_bits,
        )
        extension = PerMessageDeflate(
            "server",
            agreement,
            compress_level=self.compress_level,
            mem_level=self.mem_level,
            min_size=self.min_size,
            zlib_impl=self.zlib_impl,
        )
        return response_params(agreement), extension


class ClientPerMessageDeflate(ClientExtensionFactory):
    """The client's permessage-deflate offer(s).

    Args:
        server_no_context_takeover: ask the server to reset its compressor
            after every message.
        client_no_context_takeover: reset ours after every message (and say so).
        server_max_window_bits: ask the server to stay within 2**N (8..15).
        client_max_window_bits: True (default) offers the bare parameter (the
            server may limit our window); 8..15 also promises that limit;
            None leaves it out.
        offers: several :class:`~wsframe.deflate.params.Offer` objects, most
            preferred first, instead of the one the arguments above describe
            (RFC 7692 section 5 lets a client list several).
        compress_level, mem_level, min_size: see :class:`PerMessageDeflate`.
        zlib_impl: the zlib to use (default: the process-wide choice).
    """

    name = EXTENSION_NAME

    def __init__(
        self,
        *,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: Optional[int] = None,
        client_max_window_bits: Union[None, bool, int] = True,
        offers: Optional[Sequence[Offer]] = None,
        compress_level: int = DEFAULT_COMPRESS_LEVEL,
        mem_level: int = DEFAULT_MEM_LEVEL,
        min_size: int = DEFAULT_MIN_SIZE,
        zlib_impl: Optional[ZlibImpl] = None,
    ) -> None:
        if offers is None:
            if client_max_window_bits is False:
                client_max_window_bits = None
            offers = [
                Offer(
                    server_no_context_takeover,
                    client_no_context_takeover,
                    server_max_window_bits,
                    client_max_window_bits,
                )
            ]
        offers = list(offers)
        if not offers:
            raise ValueError("at least one offer is needed")
        for offer in offers:
            check_window_bits("server_max_window_bits", offer.server_max_window_bits)
            if offer.client_max_window_bits is not True and offer.client_max_window_bits is not None:
                check_window_bits("client_max_window_bits", offer.client_max_window_bits)
        _check_codec_options(compress_level, mem_level, min_size)
        self.offers_made: List[Offer] = offers
        self.compress_level = compress_level
        self.mem_level = mem_level
        self.min_size = min_size
        self.zlib_impl = zlib_impl

    def __repr__(self) -> str:
        return f"ClientPerMessageDeflate(offers={self.offers_made!r})"

    def offer(self) -> ExtensionParams:
        """The parameters of our preferred offer."""
        return offer_params(self.offers_made[0])

    def offers(self) -> List[ExtensionParams]:
        """Every offer's parameters, most preferred first (the handshake sends them all)."""
        return [offer_params(offer) for offer in self.offers_made]

    def accept(self, params: ExtensionParams, accepted: Sequence[Extension]) -> Extension:
        """The runtime extension for the server's response.

        Raises:
            NegotiationError: the response is malformed or answers none of our offers.
        """
        if any(ext.name == EXTENSION_NAME for ext in accepted):
            raise NegotiationError("permessage-deflate accepted twice")
        agreement = check_response(self.offers_made, parse_response(params))
        return PerMessageDeflate(
            "client",
            agreement,
            compress_level=self.compress_level,
            mem_level=self.mem_level,
            min_size=self.min_size,
            zlib_impl=self.zlib_impl,
        )


def enable_server(
    factories: Sequence[ServerExtensionFactory], options: Optional[DeflateOptions] = None
) -> List[ServerExtensionFactory]:
    """``factories`` plus a :class:`ServerPerMessageDeflate` (made with
    ``options``) unless one is there."""
    factories = list(factories)
    if not any(f.name == EXTENSION_NAME for f in factories):
        factories.append(ServerPerMessageDeflate(**(options or {})))
    return factories


def enable_client(
    factories: Sequence[ClientExtensionFactory], options: Optional[DeflateOptions] = None
) -> List[ClientExtensionFactory]:
    """``factories`` plus a :class:`ClientPerMessageDeflate` (made with
    ``options``) unless one is there."""
    factories = list(factories)
    if not any(f.name == EXTENSION_NAME for f in factories):
        factories.append(ClientPerMessageDeflate(**(options or {})))
    return factories

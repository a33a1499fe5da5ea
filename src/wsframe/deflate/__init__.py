"""permessage-deflate (RFC 7692) for wsframe, bounded against decompression bombs.

Negotiation (:mod:`.params`, :mod:`.factories`), the runtime codec
(:mod:`.codec`) and the zlib choice (:mod:`.zlib_impl`). Typical use::

    conn = wsframe.Connection("server", extension_factories=[ServerPerMessageDeflate()])
    conn = wsframe.Connection("client", host="example.com",
                              extension_factories=[ClientPerMessageDeflate()])

``wsframe.aio.serve``/``connect`` enable it by default (``compression="deflate"``).
See docs/deflate.md.
"""

from __future__ import annotations

from .codec import DEFAULT_COMPRESS_LEVEL, DEFAULT_MEM_LEVEL, DEFAULT_MIN_SIZE, PerMessageDeflate
from .factories import (
    DEFAULT_CLIENT_MAX_WINDOW_BITS,
    DEFAULT_SERVER_MAX_WINDOW_BITS,
    ClientPerMessageDeflate,
    DeflateOptions,
    ServerPerMessageDeflate,
    enable_client,
    enable_server,
)
from .params import EXTENSION_NAME, Agreement, Offer, check_response, negotiate, parse_offer, parse_response
from .zlib_impl import IMPL as ZLIB

__all__ = [
    "EXTENSION_NAME",
    "PerMessageDeflate",
    "ServerPerMessageDeflate",
    "ClientPerMessageDeflate",
    "Offer",
    "Agreement",
    "parse_offer",
    "parse_response",
    "negotiate",
    "check_response",
    "enable_server",
    "enable_client",
    "DeflateOptions",
    "ZLIB",
    "DEFAULT_COMPRESS_LEVEL",
    "DEFAULT_MEM_LEVEL",
    "DEFAULT_MIN_SIZE",
    "DEFAULT_SERVER_MAX_WINDOW_BITS",
    "DEFAULT_CLIENT_MAX_WINDOW_BITS",
]

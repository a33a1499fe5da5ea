"""The options :func:`wsframe.aio.serve` and :func:`wsframe.aio.connect` share.

One definition: :class:`Options` holds each option's type, default and
check; :class:`CommonOptions` is the same set as a ``TypedDict`` so that
``serve(**options)`` and ``connect(**options)`` are checked by mypy
(``Unpack``). A test keeps the two in step.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple, TypedDict, Union

from .. import deflate as _deflate
from .._backend import codec as _codec
from ..connection import DEFAULT_MAX_QUEUE_BYTES
from ..deflate import DeflateOptions
from ..handshake.http11 import DEFAULT_MAX_HEAD_SIZE

__all__ = ["Options", "CommonOptions", "DEFAULT_READ_BUFFER_SIZE", "DEFAULT_WRITE_LIMIT", "DEFAULT_MAX_QUEUE"]

#: The read buffer starts small so an idle connection costs little
#: (docs/hardening.md, "Load"); it grows for peers that send big frames.
DEFAULT_READ_BUFFER_SIZE = 4 * 1024
DEFAULT_WRITE_LIMIT = 64 * 1024
DEFAULT_MAX_QUEUE = 16
#: Undelivered messages at which the connection stops decoding (at least;
#: 4 x max_queue when that is more), whatever their size.
MESSAGE_LIMIT = 1024

#: A logger, or an adapter of one (websockets' ``logger=`` takes either).
if TYPE_CHECKING:
    LoggerLike = Union[logging.Logger, logging.LoggerAdapter[Any]]
else:  # LoggerAdapter is not subscriptable before Python 3.11
    LoggerLike = Union[logging.Logger, logging.LoggerAdapter]


class CommonOptions(TypedDict, total=False):
    """Keyword options of both ``serve()`` and ``connect()``; see :class:`Options`."""

    subprotocols: Sequence[str]
    extension_factories: Sequence[Any]
    compression: Optional[str]
    compression_options: Optional[DeflateOptions]
    extra_headers: Iterable[Tuple[str, str]]
    max_size: int
    max_frame_size: Optional[int]
    max_fragments: int
    max_head_size: int
    max_queue: int
    max_queue_bytes: int
    read_buffer_size: int
    write_limit: int
    ping_interval: Optional[float]
    ping_timeout: Optional[float]
    open_timeout: Optional[float]
    close_timeout: Optional[float]
    logger: Optional[LoggerLike]


@dataclasses.dataclass(frozen=True)
class Options:
    """Validated options of one server or client.

    Attributes:
        subprotocols: offered (client) or supported (server), most preferred first.
        extension_factories: handshake extension factories.
        compression: ``"deflate"`` (default, like websockets) adds
            permessage-deflate with memory-saving defaults unless
            ``extension_factories`` has one; None turns it off.
        compression_options: permessage-deflate knobs (a
            :class:`wsframe.deflate.DeflateOptions`: window bits, memory
            level, compression level, no-context-takeover, minimum size),
            instead of building extension factories by hand.
        extra_headers: more handshake header fields to send.
        max_size: largest message accepted, after decompression (1009 above).
        max_frame_size: largest frame accepted (default ``max_size``).
        max_fragments: most frames in one message.
        max_head_size: largest handshake head.
        max_queue: unread messages at which reading pauses (resumes at a quarter).
        max_queue_bytes: unread decoded bytes at which reading pauses (the
            :class:`wsframe.Connection` memory budget).
        read_buffer_size: initial size of the buffer asyncio reads into.
        write_limit: transport write-buffer high-water mark for ``send``.
        ping_interval: seconds between keepalive pings, None for none.
        ping_timeout: seconds to wait for a keepalive pong (1011 after), None forever.
        open_timeout: seconds for the opening handshake.
        close_timeout: seconds to wait during the closing handshake.
        logger: where ``connection open`` / ``connection closed`` go (INFO),
            with the connection's id; default the ``wsframe.aio`` logger.
    """

    subprotocols: Sequence[str] = ()
    extension_factories: Sequence[Any] = ()
    compression: Optional[str] = "deflate"
    compression_options: Optional[DeflateOptions] = None
    extra_headers: Iterable[Tuple[str, str]] = ()
    max_size: int = _codec.DEFAULT_MAX_MESSAGE_SIZE
    max_frame_size: Optional[int] = None
    max_fragments: int = _codec.DEFAULT_MAX_FRAGMENTS
    max_head_size: int = DEFAULT_MAX_HEAD_SIZE
    max_queue: int = DEFAULT_MAX_QUEUE
    max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES
    read_buffer_size: int = DEFAULT_READ_BUFFER_SIZE
    write_limit: int = DEFAULT_WRITE_LIMIT
    ping_interval: Optional[float] = 20.0
    ping_timeout: Optional[float] = 20.0
    open_timeout: Optional[float] = 10.0
    close_timeout: Optional[float] = 10.0
    logger: Optional[LoggerLike] = None

    def __post_init__(self) -> None:
        if self.compression not in ("deflate", None):
            raise ValueError(f"unsupported compression: {self.compression!r} (use 'deflate' or None)")
        if self.compression is None and self.compression_options:
            raise ValueError("compression_options need compression='deflate'")
        if self.max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        if self.read_buffer_size < 256:
            raise ValueError("read_buffer_size must be at least 256")
        if self.write_limit < 0:
            raise ValueError("write_limit must be at least 0")
        # Frozen: normalise through object.__setattr__ (one-time, at construction).
        object.__setattr__(self, "subprotocols", list(self.subprotocols))
        object.__setattr__(self, "extension_factories", list(self.extension_factories))
        object.__setattr__(self, "extra_headers", list(self.extra_headers))
        if self.max_frame_size is None:
            object.__setattr__(self, "max_frame_size", self.max_size)

    def server_extensions(self) -> List[Any]:
        """The server's extension factories, with permessage-deflate when on."""
        if self.compression == "deflate":
            return _deflate.enable_server(self.extension_factories, self.compression_options)
        return list(self.extension_factories)

    def client_extensions(self) -> List[Any]:
        """The client's extension factories, with permessage-deflate when on."""
        if self.compression == "deflate":
            return _deflate.enable_client(self.extension_factories, self.compression_options)
        return list(self.extension_factories)

    def connection_kwargs(self) -> Dict[str, Any]:
        """The :class:`wsframe.Connection` options these stand for (both roles)."""
        return {
            "subprotocols": self.subprotocols,
            "extra_headers": self.extra_headers,
            "max_frame_size": self.max_frame_size,
            "max_message_size": self.max_size,
            "max_fragments": self.max_fragments,
            "max_head_size": self.max_head_size,
            "max_queue_bytes": self.max_queue_bytes,
            # A handler that does not read gets a bounded number of messages
            # decoded, not a whole budget's worth of tiny ones; the bound is
            # well above max_queue so a pipelining peer's read (hundreds of
            # messages) is still decoded in one go.
            "max_queue_messages": max(MESSAGE_LIMIT, 4 * self.max_queue),
            # The host hands messages to the application through its queue
            # (track_delivery), and holds the close frame of a protocol error
            # until the messages before it are read (defer_failure).
            "track_delivery": True,
            "defer_failure": True,
        }

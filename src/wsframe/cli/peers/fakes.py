"""In-memory stand-ins for the asyncio objects peers expect, so they run without sockets."""

from __future__ import annotations

from typing import Any

__all__ = ["AiohttpProtocolStub", "SinkTransport", "FakeSocket"]


class AiohttpProtocolStub:
    """The few attributes aiohttp's reader and writer look at on their protocol."""

    _reading_paused = True  # never ask us to pause: nothing reads the queue here
    _paused = False  # the writer waits for drain only when paused

    def pause_reading(self) -> None:  # pragma: no cover - not reached with _reading_paused
        pass

    def resume_reading(self) -> None:  # pragma: no cover
        pass

    async def _drain_helper(self) -> None:
        return None


class SinkTransport:
    """An asyncio-transport look-alike that keeps the last bytes written."""

    def __init__(self) -> None:
        self.last: bytes = b""

    def write(self, data: bytes) -> None:
        self.last = data

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 1  # non-zero: picows then hands bytes to write() instead of send(2)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return FakeSocket() if name == "socket" else default


class FakeSocket:
    """Enough of a socket for picows' connection_made (never sent to)."""

    def fileno(self) -> int:
        return -1

    def setsockopt(self, *args: Any) -> None:
        return None

    def getsockopt(self, *args: Any) -> int:
        return 0

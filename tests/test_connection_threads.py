"""One ``Connection`` fed from several threads at once: a clear error, never a crash.

The rule is one thread at a time per connection; ``receive_data`` refuses a
second thread with ``RuntimeError`` instead of interleaving two parses.
Every thread loop is bounded in time.
"""

from __future__ import annotations

import threading
import time
from typing import List

import wsframe
from wsframe import Connection, Opcode


def test_hammering_one_connection_from_threads() -> None:
    server = Connection.opened("server", max_message_size=8 << 20, max_frame_size=8 << 20)
    big = wsframe.encode_frame(Opcode.BINARY, bytes(1 << 20), mask=True)
    small = wsframe.encode_frame(Opcode.TEXT, b"hello", mask=True)
    refused: List[int] = []
    errors: List[BaseException] = []
    deadline = time.monotonic() + 2.0

    def feed(data: bytes) -> None:
        count = 0
        while deadline > time.monotonic():
            try:
                server.receive_data(data)
                # events() decodes input held back by the budget: the same rule.
                server.events()
            except RuntimeError as exc:
                assert "Connection is already receiving in another thread" in str(exc), exc
                count += 1
            except BaseException as exc:  # anything else is a bug
                errors.append(exc)
                return
        refused.append(count)

    threads = [threading.Thread(target=feed, args=(big if i % 2 else small,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert len(refused) == 4
    # From one thread afterwards, the connection still works (frames may have
    # been dropped by refused calls, but each call is whole or refused).
    server.events()
    server.receive_data(small)
    # Each events() batch is bounded by the memory budget (1 MiB): whole 1 MiB
    # messages held back from the hammering come first, one batch each.
    seen: List[object] = []
    for _ in range(64):
        batch = server.events()
        if not batch:
            break
        seen += batch
    assert any(isinstance(e, wsframe.TextMessage) for e in seen)

"""A thread-per-connection WebSocket server on the sans-I/O ``wsframe.Connection``.

The README's eleven-line host grown into a complete one: the application
hook for the handshake (``process_request``), the memory budget
(``receiving_paused``), and a protocol error that still answers the
messages received before it (``defer_failure``). It shows that every
protocol decision lives in ``Connection``: this file only moves bytes.

Run ``python examples/thread_server.py 8765`` for an echo server.
"""

from __future__ import annotations

import socket
import sys
import threading
from typing import Any, Callable, List, Optional, Tuple

import wsframe
from wsframe.handshake import Request

#: ``process_request(request)``: None to go on with the handshake, or
#: ``(status, headers, body)`` to answer plain HTTP.
ProcessRequest = Callable[[Request], Optional[Tuple[int, List[Tuple[str, str]], bytes]]]
#: ``handler(connection, message)``: called with each message; may send.
Handler = Callable[[wsframe.Connection, Any], None]


def echo(conn: wsframe.Connection, message: Any) -> None:
    """Each message back as it came."""
    if isinstance(message, str):
        conn.send_text(message)
    else:
        conn.send_binary(message)


def serve_one(
    sock: socket.socket,
    handler: Handler = echo,
    process_request: Optional[ProcessRequest] = None,
    **options: Any,
) -> wsframe.Connection:
    """Run one connection to its end; return the finished Connection."""
    conn = wsframe.Connection("server", auto_accept=False, defer_failure=True, **options)
    while not conn.should_close_transport:
        if not conn.receiving_paused:  # the memory budget: read only when there is room
            data = sock.recv(65536)
            conn.receive_data(data) if data else conn.receive_eof()
        for event in conn.events():
            if isinstance(event, wsframe.HandshakeRequest):
                answer = process_request(event.request) if process_request is not None else None
                if answer is None:
                    conn.accept()
                else:
                    conn.respond(*answer)
            elif isinstance(event, (wsframe.TextMessage, wsframe.BinaryMessage)):
                handler(conn, event.data)
        sock.sendall(conn.data_to_send())
        if conn.state is wsframe.State.CLOSED and not conn.should_close_transport:
            break  # a client-side close handshake: nothing more will come
    sock.close()
    return conn


class ThreadServer:
    """Listen on ``host:port`` and run :func:`serve_one` in a thread per connection.

    Use as a context manager; ``port`` is the bound port (handy with 0).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **serve_options: Any) -> None:
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._options = serve_options
        self._stop = threading.Event()
        self._threads: List[threading.Thread] = []
        self.finished: List[wsframe.Connection] = []
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> "ThreadServer":
        self._accepter.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._accepter.join(5)
        self._listener.close()
        for thread in self._threads:
            thread.join(5)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(10)  # every connection is bounded in time
            thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, sock: socket.socket) -> None:
        try:
            self.finished.append(serve_one(sock, **self._options))
        except OSError:
            sock.close()


if __name__ == "__main__":
    with ThreadServer(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8765) as server:
        print(f"echo server on ws://127.0.0.1:{server.port}/", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass

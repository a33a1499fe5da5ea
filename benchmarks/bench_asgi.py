"""uvicorn's WebSocket protocols against wsframe's: one ASGI echo app, four ``--ws``.

Usage::

    python benchmarks/bench_asgi.py [--seconds 1.0] [--repeat 1] [--sizes 64,1024,65536]
                                    [--servers wsframe,websockets-sansio,websockets,wsproto]
                                    [--client picows|wsframe] [--text] [--loop auto|asyncio|uvloop]

Each server is uvicorn in a process of its own on 127.0.0.1 (port 0), with
the same raw ASGI echo app (``examples/asgi_echo.py``), ``--http httptools``
(uvicorn's default when installed) and the same event loop; only ``ws=`` differs:
``websockets-sansio`` (uvicorn's default), ``websockets`` (the legacy one),
``wsproto``, and ``wsframe`` (``wsframe.asgi:UvicornProtocol``). The
client, the modes (round trip; pipelined batches of up to 256 messages, at
most 1 MiB in flight), the CPU measurement and the tables are those of
bench_echo.py: messages per second, and the server's CPU time per message,
with ratios above 1 when wsframe is better. This is a benchmark, not a
test: numbers vary with the machine and its load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import threading
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))

from asgi_echo import app  # noqa: E402  the echo app Autobahn runs, each message back as it came
from bench_echo import MAX_SIZE, measure, stop_server, table  # noqa: E402

WS = {
    "wsframe": "wsframe.asgi:UvicornProtocol",
    "websockets-sansio": "websockets-sansio",
    "websockets": "websockets",
    "wsproto": "wsproto",
}


def serve(name: str, loop: str) -> None:
    """Run uvicorn with ``ws=WS[name]`` on an ephemeral port; print it."""
    import warnings

    import uvicorn

    warnings.simplefilter("ignore", DeprecationWarning)  # uvicorn's legacy websockets protocol
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn serves
    config = uvicorn.Config(
        app,
        ws=WS[name],
        http="httptools",
        loop=loop,
        lifespan="off",
        log_level="warning",
        access_log=False,
        ws_max_size=MAX_SIZE,
        ws_ping_interval=None,
    )
    server = uvicorn.Server(config)
    print("PORT", sock.getsockname()[1], flush=True)
    server.run(sockets=[sock])


def start_server(name: str, loop: str) -> Tuple[subprocess.Popen, int]:
    args = [sys.executable, os.path.abspath(__file__), "--serve", name, "--loop", loop]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(30, proc.kill)
    watchdog.start()
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
    finally:
        watchdog.cancel()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"uvicorn with ws={name} did not start")
    return proc, int(line.split()[1])


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement (default 1.0)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; each cell keeps its best (default 1)")
    parser.add_argument("--sizes", default="64,1024,65536", help="message sizes in bytes")
    parser.add_argument("--servers", default=",".join(WS), help="ws= settings to measure")
    parser.add_argument("--client", choices=("picows", "wsframe"), default=None, help="client (default picows if installed)")
    parser.add_argument("--text", action="store_true", help="text messages instead of binary")
    parser.add_argument("--loop", default="auto", choices=("auto", "asyncio", "uvloop"), help="uvicorn's --loop")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.loop)
        return 0
    client = args.client
    if client is None:
        try:
            import picows  # noqa: F401

            client = "picows"
        except ImportError:
            client = "wsframe"
    servers = [s for s in args.servers.split(",") if s]
    sizes = [int(s) for s in args.sizes.split(",")]
    rates: Dict[str, Dict[Tuple[str, int], float]] = {}
    cpu: Dict[str, Dict[Tuple[str, int], float]] = {}
    for _ in range(args.repeat):
        for name in servers:
            proc, port = start_server(name, args.loop)
            try:
                got, used = asyncio.run(
                    measure(f"ws://127.0.0.1:{port}/", client, args.text, sizes, args.seconds, proc.pid)
                )
            finally:
                stop_server(proc)
            best = rates.setdefault(name, {})
            for cell, value in got.items():
                best[cell] = max(value, best.get(cell, 0.0))
            best_cpu = cpu.setdefault(name, {})
            for cell, value in used.items():
                best_cpu[cell] = min(value, best_cpu.get(cell, float("inf")))
    print(f"client: {client}, loop: {args.loop}, {'text' if args.text else 'binary'} messages\n")
    print(table(servers, rates, sizes))
    if any(cpu.values()):
        print("\nserver CPU per message (lower is better):\n")
        print(table(servers, cpu, sizes, rate=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

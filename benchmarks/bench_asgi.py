"""uvicorn's WebSocket protocols against wsframe's: one ASGI echo app, four ``--ws``.

Usage::

    python benchmarks/bench_asgi.py [--seconds 1.0] [--repeat 1] [--sizes 64,1024,65536]
                                    [--servers wsframe,websockets-sansio,websockets,wsproto]
                                    [--client picows|wsframe] [--text] [--loop auto|asyncio|uvloop]
    python benchmarks/bench_asgi.py --idle 1000 [--servers ...] [--repeat 1]

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

``--idle N`` measures memory instead (idle_rss.py): each server's RSS
before and after N idle connections, in KiB per connection, with and
without permessage-deflate (uvicorn's ``ws_per_message_deflate`` is on:
the client's offer decides); with ``--repeat`` each cell keeps its smallest.
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
from bench_echo import MAX_SIZE, markdown_table, measure, stop_server, table  # noqa: E402
from idle_rss import idle_rss, raise_nofile  # noqa: E402

WS = {
    "wsframe": "wsframe.asgi:UvicornProtocol",
    "websockets-sansio": "websockets-sansio",
    "websockets": "websockets",
    "wsproto": "wsproto",
}


#: --idle: the client's offers, one row each.
OFFERS = {"no extension": None, "permessage-deflate": "deflate"}


def serve(name: str, loop: str, nofile: int) -> None:
    """Run uvicorn with ``ws=WS[name]`` on an ephemeral port; print it."""
    import warnings

    import uvicorn

    raise_nofile(nofile)
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


def start_server(name: str, loop: str, nofile: int = 1024) -> Tuple[subprocess.Popen, int]:
    args = [sys.executable, os.path.abspath(__file__), "--serve", name, "--loop", loop, "--nofile", str(nofile)]
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


def idle(servers: List[str], loop: str, count: int, repeat: int) -> Dict[str, Dict[str, Tuple[int, int]]]:
    """Server RSS (KiB) before and after ``count`` idle connections, per
    server and offer: a fresh server process for each measurement."""
    nofile = count + 256  # the sockets plus the process's own files
    raise_nofile(nofile)
    found: Dict[str, Dict[str, Tuple[int, int]]] = {}
    for _ in range(repeat):
        for name in servers:
            for offer, compression in OFFERS.items():
                proc, port = start_server(name, loop, nofile)
                try:
                    before, after = asyncio.run(idle_rss(f"ws://127.0.0.1:{port}/", proc.pid, count, compression))
                finally:
                    stop_server(proc)
                cells = found.setdefault(name, {})
                if offer not in cells or after - before < cells[offer][1] - cells[offer][0]:
                    cells[offer] = (before, after)
    return found


def idle_table(servers: List[str], found: Dict[str, Dict[str, Tuple[int, int]]], count: int) -> str:
    """KiB per idle connection, one row per offer, and wsframe against the
    leanest built-in (above 1: wsframe needs less)."""
    builtins = [s for s in servers if s != "wsframe"]
    header = ["client offers"] + [f"{s} KiB/conn" for s in servers]
    if "wsframe" in servers and builtins:
        header.append("best built-in / wsframe")
    rows = [header]
    for offer in OFFERS:
        per = {s: (found[s][offer][1] - found[s][offer][0]) / count for s in servers}
        row = [offer] + [f"{per[s]:.1f}" for s in servers]
        if len(row) < len(header):
            best = min(per[s] for s in builtins)
            row.append(f"{best / per['wsframe']:.2f}x" if per["wsframe"] > 0 else "-")
        rows.append(row)
    baseline = ", ".join(f"{s} {found[s][next(iter(OFFERS))][0] / 1024:.1f} MiB" for s in servers)
    return f"{count} idle connections; server RSS before them: {baseline}\n\n" + markdown_table(rows)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement (default 1.0)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; each cell keeps its best (default 1)")
    parser.add_argument("--sizes", default="64,1024,65536", help="message sizes in bytes")
    parser.add_argument("--servers", default=",".join(WS), help="ws= settings to measure")
    parser.add_argument("--client", choices=("picows", "wsframe"), default=None, help="client (default picows if installed)")
    parser.add_argument("--text", action="store_true", help="text messages instead of binary")
    parser.add_argument("--loop", default="auto", choices=("auto", "asyncio", "uvloop"), help="uvicorn's --loop")
    parser.add_argument("--idle", type=int, metavar="N", help="memory per idle connection, N connections")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--nofile", type=int, default=1024, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.loop, args.nofile)
        return 0
    servers = [s for s in args.servers.split(",") if s]
    if args.idle:
        print(idle_table(servers, idle(servers, args.loop, args.idle, args.repeat), args.idle))
        return 0
    client = args.client
    if client is None:
        try:
            import picows  # noqa: F401

            client = "picows"
        except ImportError:
            client = "wsframe"
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

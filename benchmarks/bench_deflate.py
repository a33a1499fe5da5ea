"""permessage-deflate benchmark: ratio, throughput, memory per idle connection.

Standalone script (no pytest)::

    PYTHONPATH=src python3 benchmarks/bench_deflate.py            # everything, ~20 s
    PYTHONPATH=src python3 benchmarks/bench_deflate.py --zlib     # also compare zlib, zlib-ng, isal
    PYTHONPATH=src python3 benchmarks/bench_deflate.py --json out.json

Workload: a JSON chat stream (rooms, users, short texts, ~150 B per message,
the traffic permessage-deflate is meant for), sent server -> client through
two sans-I/O :class:`wsframe.Connection` objects: ``send_text``, the bytes,
``receive_data``, ``events``. Throughput is messages per second for the whole
path (compress + frame + parse + inflate + decode), in process CPU time
(steadier than wall time on a shared machine), best of 5 rounds; ratio is
payload bytes / wire bytes (frame headers included).

Memory: 1,000 server connections that each exchanged a few messages, then sit
idle; ``tracemalloc`` (which sees zlib's allocations: CPython's zlib module
allocates through PyMem_RawMalloc) gives the bytes held per connection, with
and without compression and with the no-context-takeover options.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import tracemalloc
from typing import Any, Callable, Dict, List, Optional, Tuple

import wsframe
from wsframe import Connection
from wsframe.deflate import ClientPerMessageDeflate, ServerPerMessageDeflate
from wsframe.deflate.zlib_impl import available

WORDS = (
    "hello world the quick brown fox jumps over lazy dog chat room message typing online away "
    "meeting tomorrow lunch deploy release bug fix review merge thanks ok sure lol"
).split()


def chat_messages(count: int, seed: int = 7) -> List[str]:
    """A reproducible JSON chat stream."""
    rng = random.Random(seed)
    rooms = ["general", "random", "dev", "ops"]
    return [
        json.dumps(
            {
                "type": "message",
                "room": rng.choice(rooms),
                "user": f"user{rng.randrange(40)}",
                "id": 100000 + i,
                "ts": 1_763_700_000_000 + i * 137,
                "text": " ".join(rng.choices(WORDS, k=rng.randrange(3, 20))),
            },
            separators=(",", ":"),
        )
        for i in range(count)
    ]


def pair(
    server_factory: Optional[ServerPerMessageDeflate], client_factory: Optional[ClientPerMessageDeflate]
) -> Tuple[Connection, Connection]:
    """An OPEN (server, client) pair after a real handshake."""
    client = Connection("client", host="bench", extension_factories=[client_factory] if client_factory else [])
    server = Connection("server", extension_factories=[server_factory] if server_factory else [])
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    server.events()
    client.events()
    return server, client


CONFIGS: Dict[str, Callable[[], Tuple[Optional[ServerPerMessageDeflate], Optional[ClientPerMessageDeflate]]]] = {
    "no compression": lambda: (None, None),
    "deflate (defaults: window 12, memLevel 5, level 6)": lambda: (
        ServerPerMessageDeflate(),
        ClientPerMessageDeflate(),
    ),
    "deflate level 1": lambda: (ServerPerMessageDeflate(compress_level=1), ClientPerMessageDeflate(compress_level=1)),
    "deflate window 15, memLevel 8": lambda: (
        ServerPerMessageDeflate(server_max_window_bits=None, client_max_window_bits=None, mem_level=8),
        ClientPerMessageDeflate(mem_level=8),
    ),
    "deflate server_no_context_takeover": lambda: (
        ServerPerMessageDeflate(server_no_context_takeover=True),
        ClientPerMessageDeflate(),
    ),
}


def throughput(messages: List[str], make: Callable[[], Tuple[Any, Any]], rounds: int = 5) -> Dict[str, float]:
    """Server -> client over the sans-I/O path; best of ``rounds``."""
    payload = sum(len(m.encode()) for m in messages)
    best = float("inf")
    wire = 0
    for _ in range(rounds):
        server, client = pair(*make())
        wire = 0
        start = time.process_time()
        for message in messages:
            server.send_text(message)
            data = server.data_to_send()
            wire += len(data)
            client.receive_data(data)
            client.events()
        best = min(best, time.process_time() - start)
    return {
        "messages": len(messages),
        "payload_bytes": payload,
        "wire_bytes": wire,
        "ratio": payload / wire,
        "msgs_per_s": len(messages) / best,
        "payload_MB_per_s": payload / best / 1e6,
    }


def idle_memory(make: Callable[[], Tuple[Any, Any]], count: int = 1000, chats: int = 3) -> float:
    """Bytes held per idle server connection after ``chats`` messages each way."""
    messages = chat_messages(chats)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    servers = []
    for _ in range(count):
        server, client = pair(*make())
        for message in messages:
            server.send_text(message)
            client.receive_data(server.data_to_send())
            client.send_text(message)
            server.receive_data(client.data_to_send())
        server.events()
        client.events()
        del client  # only the server side is measured
        servers.append(server)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del servers
    return (after - before) / count


MEMORY_CONFIGS: Dict[str, Callable[[], Tuple[Any, Any]]] = {
    "no compression": lambda: (None, None),
    "deflate defaults (window 12, memLevel 5)": lambda: (ServerPerMessageDeflate(), ClientPerMessageDeflate()),
    "deflate window 15, memLevel 8 (zlib defaults)": CONFIGS["deflate window 15, memLevel 8"],
    "deflate server_no_context_takeover": CONFIGS["deflate server_no_context_takeover"],
    "deflate both no_context_takeover": lambda: (
        ServerPerMessageDeflate(server_no_context_takeover=True, client_no_context_takeover=True),
        ClientPerMessageDeflate(),
    ),
}


def zlib_compare(messages: List[str], rounds: int = 7) -> Dict[str, Dict[str, float]]:
    """Each installed zlib on the chat stream with our settings: raw compress and
    inflate speed, and the whole sans-I/O path. Implementations take turns in
    every round (load on a shared machine hits them alike); best round kept."""
    data = [m.encode() for m in messages]
    total = sum(map(len, data))
    impls = available()
    best: Dict[str, Dict[str, float]] = {name: {"c": float("inf"), "d": float("inf"), "e2e": 0.0} for name in impls}
    wire: Dict[str, int] = {}
    for _ in range(rounds):
        for name, impl in impls.items():
            encoder = impl.compressobj(6, 12, 5)
            start = time.process_time()
            out = [encoder.compress(m) + encoder.flush(impl.sync_flush) for m in data]
            best[name]["c"] = min(best[name]["c"], time.process_time() - start)
            wire[name] = sum(map(len, out))
            decoder = impl.decompressobj(12)
            start = time.process_time()
            for chunk in out:
                decoder.decompress(chunk, 1 << 20)
            best[name]["d"] = min(best[name]["d"], time.process_time() - start)
            r = throughput(
                messages,
                lambda impl=impl: (ServerPerMessageDeflate(zlib_impl=impl), ClientPerMessageDeflate(zlib_impl=impl)),
                rounds=1,
            )
            best[name]["e2e"] = max(best[name]["e2e"], r["msgs_per_s"])
    return {
        f"{name} {impl.version}": {
            "ratio": total / wire[name],
            "compress_MB_per_s": total / best[name]["c"] / 1e6,
            "inflate_MB_per_s": total / best[name]["d"] / 1e6,
            "connection_msgs_per_s": best[name]["e2e"],
            "idle_KiB": idle_memory(
                lambda impl=impl: (ServerPerMessageDeflate(zlib_impl=impl), ClientPerMessageDeflate(zlib_impl=impl)),
                300,
            )
            / 1024,
        }
        for name, impl in impls.items()
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20000, help="chat messages per round (default 20000)")
    parser.add_argument("--connections", type=int, default=1000, help="idle connections for the memory test")
    parser.add_argument("--zlib", action="store_true", help="also compare the installed zlib implementations")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    info = wsframe.backend_info()
    print(
        f"wsframe backend {info['backend']} ({info['mask_kernel']}), deflate zlib: {info['deflate']}, {info['python']}"
    )
    messages = chat_messages(args.messages)
    results: Dict[str, Any] = {"backend": info, "throughput": {}, "idle_memory": {}}

    print(
        f"\nJSON chat stream, {len(messages)} messages, server -> client through two sans-I/O Connections (best of 5)"
    )
    print(f"{'configuration':52} {'ratio':>6} {'wire B/msg':>10} {'msgs/s':>9} {'payload MB/s':>12}")
    for name, make in CONFIGS.items():
        r = throughput(messages, make)
        results["throughput"][name] = r
        print(
            f"{name:52} {r['ratio']:6.2f} {r['wire_bytes'] / r['messages']:10.1f}"
            f" {r['msgs_per_s']:9.0f} {r['payload_MB_per_s']:12.1f}"
        )

    print(
        f"\nMemory held per idle server connection ({args.connections} connections, 3 messages each way, tracemalloc)"
    )
    for name, make in MEMORY_CONFIGS.items():
        per = idle_memory(make, args.connections)
        results["idle_memory"][name] = per
        print(f"{name:52} {per / 1024:8.1f} KiB")

    if args.zlib:
        print("\nzlib implementations on the chat stream (level 6, window 12, memLevel 5, sync flush per message)")
        results["zlib"] = zlib_compare(messages)
        for name, r in results["zlib"].items():
            print(
                f"{name:30} ratio {r['ratio']:5.2f}  compress {r['compress_MB_per_s']:6.1f} MB/s"
                f"  inflate {r['inflate_MB_per_s']:6.1f} MB/s  via Connection {r['connection_msgs_per_s']:7.0f} msgs/s"
                f"  idle {r['idle_KiB']:6.1f} KiB/connection"
            )

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

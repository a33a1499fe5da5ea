"""An Autobahn|Testsuite client on wsframe.aio.connect (the client direction).

Usage: ``python examples/autobahn_client.py [options] ws://127.0.0.1:PORT``

Follows the fuzzing server's protocol (``../shared/autobahn/run-server.sh``):
read the case count from ``/getCaseCount``, run every case on
``/runCase?case=i&agent=A`` echoing each message back unchanged (text as
text, binary as binary) until the server closes, then ask for the report
on ``/updateReports?agent=A``. Every wait is bounded: one case that hangs
is abandoned after ``--case-timeout`` seconds and the run goes on.

Like examples/echo_server.py the limits are generous on purpose (64 MiB
messages, 131,072 fragments: cases 9.x send 16 MiB messages and up to
65,536 fragments) and permessage-deflate is offered (the default
``compression="deflate"``), so sections 12 and 13 run.

Exit status: 0 when every case ran to its end, 1 when a case timed out
or broke with an unexpected error, 2 when the case count or the report
could not be had.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import urllib.parse
from typing import Any, Dict, List, Tuple

import wsframe
from wsframe.aio import ConnectionClosed, connect

MAX_SIZE = 64 * 1024 * 1024


def client_options(close_timeout: float) -> Dict[str, Any]:
    """The connect() options every case connection uses."""
    return {
        "max_size": MAX_SIZE,
        "max_fragments": 1 << 17,
        "compression": "deflate",  # permessage-deflate: sections 12 and 13
        "read_buffer_size": 256 * 1024,
        "ping_interval": None,  # the suite measures us, not the other way round
        "open_timeout": 10.0,
        "close_timeout": close_timeout,
    }


async def get_case_count(base: str, timeout: float, options: Dict[str, Any]) -> int:
    """The number of cases the server will run (one text message)."""

    async def ask() -> int:
        async with connect(base + "/getCaseCount", **options) as ws:
            return int(await ws.recv())

    return await asyncio.wait_for(ask(), timeout)


async def echo_until_closed(uri: str, options: Dict[str, Any]) -> None:
    """Echo every message until the server closes (how it closes is the suite's verdict)."""
    async with connect(uri, **options) as ws:
        try:
            async for message in ws:
                await ws.send(message)
        except ConnectionClosed:
            pass  # closed with an error code or dropped: the suite scores that


async def run_case(base: str, case: int, agent: str, timeout: float, options: Dict[str, Any]) -> str:
    """Run one case; return "" when it ended, else what went wrong."""
    query = urllib.parse.urlencode({"case": case, "agent": agent})
    try:
        # wait_for bounds the case; its cancellation runs close(), itself
        # bounded by about twice close_timeout.
        await asyncio.wait_for(echo_until_closed(f"{base}/runCase?{query}", options), timeout)
    except asyncio.TimeoutError:
        return f"timed out after {timeout:g}s"
    except ConnectionClosed:
        pass  # the connection broke while closing; the suite scores that too
    except Exception as exc:  # the handshake or the TCP connect failed
        return f"{type(exc).__name__}: {exc}"
    return ""


async def update_reports(base: str, agent: str, timeout: float, options: Dict[str, Any]) -> None:
    """Ask the server to write its report; it closes when done."""
    query = urllib.parse.urlencode({"agent": agent})
    await asyncio.wait_for(echo_until_closed(f"{base}/updateReports?{query}", options), timeout)


async def main(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/")
    options = client_options(args.close_timeout)
    started = time.perf_counter()
    try:
        count = await get_case_count(base, args.case_timeout, options)
    except (Exception, asyncio.TimeoutError) as exc:
        print(f"autobahn client: no case count from {base}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(
        f"autobahn client: wsframe {wsframe.__version__} backend {wsframe.BACKEND}, "
        f"{count} cases, agent {args.agent!r}, case timeout {args.case_timeout:g}s",
        flush=True,
    )
    problems: List[Tuple[int, str]] = []
    durations: List[Tuple[float, int]] = []
    for case in range(1, count + 1):
        t0 = time.perf_counter()
        problem = await run_case(base, case, args.agent, args.case_timeout, options)
        durations.append((time.perf_counter() - t0, case))
        if problem:
            problems.append((case, problem))
            print(f"autobahn client: case {case}: {problem}", file=sys.stderr, flush=True)
        elif args.verbose:
            print(f"autobahn client: case {case} done in {durations[-1][0]:.3f}s", flush=True)
    try:
        await update_reports(base, args.agent, args.case_timeout, options)
    except (Exception, asyncio.TimeoutError) as exc:
        print(f"autobahn client: updateReports failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    slowest = ", ".join(f"#{case} {seconds:.1f}s" for seconds, case in sorted(durations, reverse=True)[:5])
    print(f"autobahn client: {count} cases in {elapsed:.1f}s (slowest: {slowest or 'none'})")
    if problems:
        print(f"autobahn client: {len(problems)} case(s) did not end normally", file=sys.stderr)
        return 1
    return 0


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the fuzzing server, ws://127.0.0.1:PORT")
    parser.add_argument("--agent", default="wsframe", help="agent name in the report (default: wsframe)")
    parser.add_argument(
        "--case-timeout", type=float, default=180.0, help="seconds one case may take (default: 180)"
    )
    parser.add_argument(
        "--close-timeout", type=float, default=5.0, help="close_timeout of each connection (default: 5)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case's duration")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    try:
        import uvloop  # optional

        uvloop.install()
    except ImportError:
        pass
    sys.exit(asyncio.run(main(arguments)))

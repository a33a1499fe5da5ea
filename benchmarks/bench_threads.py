"""Throughput of the codec over 1 and 2 threads (free-threaded vs GIL builds).

Workloads, each over the same total bytes whatever the thread count (the
bytes are split between the threads, so perfect scaling doubles GB/s):

* ``parse``: a stream of masked client frames (64 KiB binary and text
  frames, alternating; the text is valid multi-byte UTF-8), parsed by one
  ``wsframe.FrameParser(is_server=True)`` per thread, fed 256 KiB at a time
  as a socket would hand it over: header decoding, unmasking, UTF-8
  validation of the text frames, one ``Frame`` object per frame;
* ``apply_mask``: ``wsframe.apply_mask`` of 1 MiB buffers (a new bytes each);
* ``validate_utf8``: ``wsframe.validate_utf8`` of 1 MiB multi-byte UTF-8 buffers.

Run it with each interpreter (e.g. a free-threaded 3.13t and a regular
build) and compare the tables; ``--json FILE`` saves a run and ``--compare
A.json B.json ...`` prints saved runs side by side.

    python benchmarks/bench_threads.py                 # 64 MiB, 1 and 2 threads
    python benchmarks/bench_threads.py --mib 8 --repeat 1   # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import sysconfig
import threading
import time
from typing import Any, Callable, Dict, List, Sequence

import wsframe

FRAME = 64 * 1024  # payload bytes of each frame
FEED = 256 * 1024  # bytes handed to feed() at once
BUF = 1 << 20  # buffer size of the mask and UTF-8 workloads
TEXT_CHARS = "abcdefghij klmnop éèçà ßöü ЖДЯ 中文字 ✓€ 𝄞😀"


def free_threaded_build() -> bool:
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled() -> bool:
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def utf8_text(rng: random.Random, size: int) -> bytes:
    """Valid UTF-8 of at most ``size`` bytes (1- to 4-byte characters)."""
    data = "".join(rng.choices(TEXT_CHARS, k=size // 2)).encode()
    while len(data) < size:
        data += data
    data = data[:size]
    return data.decode("utf-8", "ignore").encode()  # cut at a character boundary


def frame_stream(rng: random.Random, total: int) -> List[bytes]:
    """Masked client frames of FRAME bytes, binary and text alternating."""
    text = utf8_text(rng, FRAME)
    frames = []
    size = 0
    i = 0
    while size < total:
        key = rng.randbytes(4)
        if i % 2:
            frame = wsframe.encode_frame(wsframe.Opcode.TEXT, text, mask=key)
        else:
            frame = wsframe.encode_frame(wsframe.Opcode.BINARY, rng.randbytes(FRAME), mask=key)
        frames.append(frame)
        size += len(frame)
        i += 1
    return frames


def split(items: Sequence[Any], parts: int) -> List[Sequence[Any]]:
    """``items`` cut into ``parts`` runs of (nearly) equal length."""
    n = len(items)
    return [items[n * k // parts : n * (k + 1) // parts] for k in range(parts)]


def run_threads(jobs: List[Callable[[], int]]) -> tuple[float, int]:
    """Run each job in its own thread, started together; (seconds, bytes).

    Each thread takes its own start and end times (perf_counter is one
    monotonic clock for the whole process): the span is from the first
    start to the last end, whatever moment the main thread gets the CPU.
    """
    results = [0] * len(jobs)
    spans = [(0.0, 0.0)] * len(jobs)
    errors: List[BaseException] = []
    start_line = threading.Barrier(len(jobs))

    def worker(k: int) -> None:
        start_line.wait()
        t0 = time.perf_counter()
        try:
            results[k] = jobs[k]()
        except BaseException as exc:  # reported after the join
            errors.append(exc)
        spans[k] = (t0, time.perf_counter())

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    seconds = max(end for _, end in spans) - min(start for start, _ in spans)
    return seconds, sum(results)


def parse_job(blob: bytes, expect: int) -> Callable[[], int]:
    def job() -> int:
        parser = wsframe.FrameParser(is_server=True)
        view = memoryview(blob)
        got = 0
        frames = 0
        for pos in range(0, len(view), FEED):
            for frame in parser.feed(view[pos : pos + FEED]):
                got += len(frame.payload)
                frames += 1
        if frames != expect or parser.buffered:
            raise AssertionError(f"parsed {frames} frames of {expect}, {parser.buffered} bytes left")
        return len(blob)

    return job


def mask_job(bufs: Sequence[bytes], key: bytes) -> Callable[[], int]:
    def job() -> int:
        done = 0
        for buf in bufs:
            done += len(wsframe.apply_mask(buf, key))
        return done

    return job


def utf8_job(bufs: Sequence[bytes]) -> Callable[[], int]:
    def job() -> int:
        done = 0
        for buf in bufs:
            if not wsframe.validate_utf8(buf):
                raise AssertionError("valid UTF-8 reported invalid")
            done += len(buf)
        return done

    return job


def measure(name: str, make_jobs: Callable[[int], List[Callable[[], int]]], thread_counts: Sequence[int], repeat: int) -> List[Dict[str, Any]]:
    rows = []
    base = None
    for n in thread_counts:
        run_threads(make_jobs(n))  # warm-up: caches, allocator, first-call costs
        best = None
        for _ in range(repeat):
            seconds, nbytes = run_threads(make_jobs(n))
            if best is None or seconds < best[0]:
                best = (seconds, nbytes)
        assert best is not None
        gbps = best[1] / best[0] / 1e9
        if base is None:
            base = gbps
        rows.append({"workload": name, "threads": n, "bytes": best[1], "seconds": round(best[0], 4), "gb_per_s": round(gbps, 3), "ratio": round(gbps / base, 2)})
    return rows


def environment() -> Dict[str, Any]:
    info = wsframe.backend_info()
    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "implementation": platform.python_implementation(),
        "free_threaded_build": free_threaded_build(),
        "gil_enabled": gil_enabled(),
        "backend": info.get("backend"),
        "mask_kernel": info.get("mask_kernel"),
        "utf8_kernel": info.get("utf8_kernel"),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def label(env: Dict[str, Any]) -> str:
    build = "free-threaded" if env["free_threaded_build"] else "GIL build"
    gil = "GIL on" if env["gil_enabled"] else "GIL off"
    return f"{env['implementation']} {env['python']} ({build}, {gil}), backend {env['backend']}, kernels {env['mask_kernel']}/{env['utf8_kernel']}"


def print_table(env: Dict[str, Any], rows: List[Dict[str, Any]]) -> None:
    print(label(env))
    print(f"{'workload':<14} {'threads':>7} {'GB/s':>8} {'x 1 thread':>10}")
    for r in rows:
        print(f"{r['workload']:<14} {r['threads']:>7} {r['gb_per_s']:>8.2f} {r['ratio']:>10.2f}")


def compare(paths: Sequence[str]) -> None:
    runs = []
    for p in paths:
        with open(p) as f:
            runs.append(json.load(f))
    for k, run in enumerate(runs):
        print(f"[{k}] {label(run['environment'])}")
    keys = [(r["workload"], r["threads"]) for r in runs[0]["results"]]
    head = f"{'workload':<14} {'threads':>7}" + "".join(f" {'GB/s [' + str(k) + ']':>10} {'x1 [' + str(k) + ']':>7}" for k in range(len(runs)))
    if len(runs) > 1:
        head += f" {'[0]/[1]':>8}"
    print(head)
    for key in keys:
        cells = []
        vals = []
        for run in runs:
            row = next((r for r in run["results"] if (r["workload"], r["threads"]) == key), None)
            if row is None:
                cells.append(f" {'-':>10} {'-':>7}")
                vals.append(None)
            else:
                cells.append(f" {row['gb_per_s']:>10.2f} {row['ratio']:>7.2f}")
                vals.append(row["gb_per_s"])
        line = f"{key[0]:<14} {key[1]:>7}" + "".join(cells)
        if len(runs) > 1 and vals[0] and vals[1]:
            line += f" {vals[0] / vals[1]:>8.2f}"
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mib", type=int, default=64, help="bytes per workload, in MiB (default 64)")
    ap.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default 1,2)")
    ap.add_argument("--repeat", type=int, default=30, help="timed runs per cell; the best counts (default 30)")
    ap.add_argument("--workloads", default="parse,apply_mask,validate_utf8")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-': stdout, no table)")
    ap.add_argument("--compare", nargs="+", metavar="JSON", help="print saved runs side by side and exit")
    args = ap.parse_args(argv)
    if args.compare:
        compare(args.compare)
        return 0

    total = args.mib << 20
    counts = [int(x) for x in args.threads.split(",")]
    rng = random.Random(6455)
    rows: List[Dict[str, Any]] = []
    wanted = args.workloads.split(",")
    if "parse" in wanted:
        frames = frame_stream(rng, total)

        def parse_jobs(n: int) -> List[Callable[[], int]]:
            return [parse_job(b"".join(part), len(part)) for part in split(frames, n)]

        # The joins are done once per thread count, outside the timed region.
        prepared = {n: parse_jobs(n) for n in counts}
        rows += measure("parse", lambda n: prepared[n], counts, args.repeat)
        del prepared, frames
    if "apply_mask" in wanted:
        bufs = [rng.randbytes(BUF) for _ in range(max(1, total // BUF))]
        key = rng.randbytes(4)
        rows += measure("apply_mask", lambda n: [mask_job(p, key) for p in split(bufs, n)], counts, args.repeat)
        del bufs
    if "validate_utf8" in wanted:
        text = utf8_text(rng, BUF)
        bufs = [bytes(text) for _ in range(max(1, total // BUF))]
        rows += measure("validate_utf8", lambda n: [utf8_job(p) for p in split(bufs, n)], counts, args.repeat)
        del bufs

    env = environment()
    result = {"environment": env, "mib": args.mib, "repeat": args.repeat, "results": rows}
    if args.json == "-":
        json.dump(result, sys.stdout, indent=2)
        print()
        return 0
    print_table(env, rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

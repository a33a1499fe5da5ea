"""``python -m wsframe chat --workers N``: N processes on one port, one Redis.

Each worker is ``python -m wsframe chat`` with its own event loop, listening
with ``SO_REUSEPORT`` so the kernel spreads new connections over them; Redis
(the hub) makes them one chat. This supervisor starts them, prints the
address once all listen, restarts a worker that dies (after a second), and
on SIGTERM or SIGINT stops them all: each closes its connections with 1001.
The push token reaches the workers in their environment, not their argv.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import List, Optional

__all__ = ["supervise", "worker_argv"]

START_TIMEOUT = 60.0  # seconds for a worker to listen
STOP_TIMEOUT = 15.0  # seconds for a worker to close its connections and exit


def worker_argv(args: argparse.Namespace, port: int) -> List[str]:
    """The command line of one worker: the same options, one process, ``port``."""
    argv = [sys.executable, "-m", "wsframe", "chat", "--reuse-port", "--host", args.host, "--port", str(port)]
    argv += ["--max-rooms", str(args.max_rooms), "--history", str(args.history), "--empty-ttl", repr(args.empty_ttl)]
    argv += ["--rate", repr(args.rate), "--burst", str(args.burst), "--redis", args.redis]
    argv += ["--presence-ttl", repr(args.presence_ttl)]
    return argv


def _reserve(host: str, port: int) -> socket.socket:
    """A bound (not listening) SO_REUSEPORT socket: picks the port for ``port=0``
    and holds it until the workers listen on it too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class _Workers:
    def __init__(self, argv: List[str], env: "dict[str, str]", count: int) -> None:
        self.argv = argv
        self.env = env
        self.procs: List[Optional["subprocess.Popen[str]"]] = [None] * count
        self.stopping = threading.Event()

    def start(self, index: int) -> "subprocess.Popen[str]":
        proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, text=True, env=self.env)
        self.procs[index] = proc
        return proc

    def wait_listening(self, proc: "subprocess.Popen[str]") -> bool:
        assert proc.stdout is not None
        watchdog = threading.Timer(START_TIMEOUT, proc.kill)
        watchdog.start()
        try:
            line = proc.stdout.readline()
        finally:
            watchdog.cancel()
        # Drain the rest so a worker never blocks on a full pipe.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        return "listening" in line

    def stop(self) -> None:
        self.stopping.set()
        live = [p for p in self.procs if p is not None and p.poll() is None]
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in live:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def supervise(args: argparse.Namespace, token: Optional[str]) -> int:
    """Run ``args.workers`` workers until SIGTERM or SIGINT; the exit code."""
    try:
        reserved = _reserve(args.host, args.port)
    except OSError as exc:
        print(f"wsframe chat: {exc}", file=sys.stderr)
        return 1
    port = reserved.getsockname()[1]
    env = dict(os.environ)
    if token:
        env["WSFRAME_PUSH_TOKEN"] = token
    workers = _Workers(worker_argv(args, port), env, args.workers)
    stop_signals = (signal.SIGTERM, signal.SIGINT)
    previous = {signum: signal.signal(signum, lambda *_: workers.stopping.set()) for signum in stop_signals}
    try:
        for index in range(args.workers):
            if not workers.wait_listening(workers.start(index)):
                print(f"wsframe chat: worker {index} did not start", file=sys.stderr)
                return 1
        reserved.close()
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(
            f"wsframe chat: open http://{shown}:{port}/ in a browser ({args.workers} workers, hub {args.redis}; Ctrl+C stops)",
            flush=True,
        )
        while not workers.stopping.wait(0.5):
            for index, proc in enumerate(workers.procs):
                if proc is not None and proc.poll() is not None and not workers.stopping.is_set():
                    print(f"wsframe chat: worker {proc.pid} exited ({proc.returncode}); restarting", file=sys.stderr)
                    time.sleep(1.0)
                    workers.wait_listening(workers.start(index))
        return 0
    finally:
        reserved.close()
        workers.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)

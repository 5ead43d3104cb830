"""Shared helpers: timing statistics, loopback ports, child processes we start and stop ourselves."""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
HOST = "127.0.0.1"


@dataclass
class Stats:
    """Latencies of one measured series, in seconds."""

    samples: list[float] = field(default_factory=list)
    note: str = ""

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)

    @property
    def n(self) -> int:
        return len(self.samples)

    def pct(self, p: float) -> float:
        if not self.samples:
            return float("nan")
        ordered = sorted(self.samples)
        rank = p / 100 * (len(ordered) - 1)
        low = int(rank)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)

    @property
    def min(self) -> float:
        return min(self.samples) if self.samples else float("nan")

    @property
    def median(self) -> float:
        return self.pct(50)

    @property
    def p95(self) -> float:
        return self.pct(95)

    @property
    def rate(self) -> float:
        """Operations per second over the whole series (sequential)."""
        total = sum(self.samples)
        return len(self.samples) / total if total else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "min_ms": self.min * 1000,
            "p50_ms": self.median * 1000,
            "p95_ms": self.p95 * 1000,
            "per_s": self.rate,
            "note": self.note,
        }


def timed(fn: Callable[[], Any], count: int, budget: float, warmup: int = 3) -> Stats:
    """Call ``fn`` sequentially ``count`` times (after a warm-up), stopping early when ``budget`` seconds pass."""
    for _ in range(warmup):
        fn()
    stats = Stats()
    deadline = time.perf_counter() + budget
    for _ in range(count):
        start = time.perf_counter()
        fn()
        stats.add(time.perf_counter() - start)
        if start > deadline:
            stats.note = f"stopped after {stats.n} of {count} (time budget {budget:.0f} s)"
            break
    return stats


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {HOST}:{port} after {timeout:.0f} s")


class Child:
    """A server process we started: its own process group, stopped by its pid only."""

    def __init__(self, args: Sequence[str], *, env: dict[str, str] | None = None, name: str = "") -> None:
        self.name = name or Path(args[0]).name
        self.log = open(os.devnull, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mb(self) -> float:
        import psutil

        try:
            return psutil.Process(self.pid).memory_info().rss / 2**20
        except psutil.Error:
            return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group we created for this child only
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def machine() -> dict[str, str]:
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        node = "not available"
    import sqlite3

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "os": f"{platform.system()} {platform.release()}",
        "cpu": f"{cpu} ({psutil.cpu_count()} logical cores)",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "node": node,
        "load average at start (1/5/15 min)": load,
    }


def python() -> str:
    return sys.executable


def run_timed(main: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run a workload's coroutine on uvloop when installed (its clients then cost less CPU), else on asyncio, and
    note its wall-clock ``seconds`` in the result."""
    import asyncio

    started = time.perf_counter()
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(main)
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(main)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result

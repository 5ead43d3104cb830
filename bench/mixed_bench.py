"""Workload 5: a mixed read/write load, ours against the previous release of ours (a regression guard).

Two servers, each ``commercetools-customers-mcp serve --transport http --json-response`` on the embedded emulator
with its demo data (``--data`` a fresh temporary SQLite file, no ``CTP_*`` variables), each installed with
``pip install`` into its own venv (bench/builds.py): ``current`` is the working tree, ``baseline`` a git ref
(``--baseline REF``; by default the newest commit of ``main`` whose code differs from the working tree's).

Requests are 2025-11-25 stateless ``tools/call`` POSTs, as workload 4 sends ours by default; answers are plain
JSON (``--json-response``), so the clients read the version of an update without parsing an SSE stream. The
clients are workload 4's (bench/loadgen.py: raw HTTP/1.1 keep-alive, one connection each): ``CLIENTS``
concurrent clients take their calls in turn from one fixed sequence, shuffled with a fixed seed, so every server
and every window starts from the same calls in the same order:

- 70 % reads: a customer by id (35 %), ``list_customers`` with ``where lastName = "…"`` and ``limit 3`` (15 %),
  a business unit by key (20 %), over the 60 demo customers, their 10 last names and the 4 demo units;
- 30 % versioned updates: ``update_customers_by_id`` with ``setFirstName`` on one of the first ``HOT``
  customers. The version comes from a cache the clients share (filled by a listing before the first window,
  then by every answer); a 409 ConcurrentModification (two clients updated one customer with the same version)
  gives the current version, and the update is sent again with it. Such a retried 409 is a normal outcome,
  counted apart ("409s"), not an error; its cost is part of the call's latency and CPU.

A call is a read answered, or an update applied (after its retries); an error is anything else (HTTP status,
no result, a tool error other than a 409, more than ``MAX_RETRIES`` retries). Method: each server first takes
``prewarm`` seconds of the mix; then ``rounds`` rounds, each a window of ``warmup`` + ``seconds`` per server,
in an order that flips every round (current, baseline; then baseline, current; ...), so drift in the machine's
load falls on both alike. Per window: calls/s, p50 and p99 latency (all calls; also updates alone), errors,
409s, and the server process's CPU (user + system, psutil) per call over warm-up and window. Reported: the
median over rounds of the per-round ratios current / baseline (calls/s, and CPU per call), each round's ratios,
and per-server totals.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools
import orjson

from . import builds, loadgen
from .load_bench import LEGACY, _cpu_seconds, _own_cpu, _percentile, _request, _start
from .mcp_bench import _base_env
from .util import HOST, run_timed

CLIENTS = 16
SEED = 23
SEQUENCE = 4000  # calls in the fixed sequence (a window longer than that starts it again)
HOT = 20  # updates go to the first HOT demo customers: with 16 clients some of them collide (409s)
MAX_RETRIES = 20
MIX = (  # (kind, share of calls)
    ("get_customer_by_id", 0.35),
    ("list_customers_where", 0.15),
    ("get_business_unit_by_key", 0.20),
    ("update_customer_first_name", 0.30),
)
LAST_NAMES = ("Schmidt", "Miller", "Dubois", "Jansen", "Rossi", "Garcia", "Huber", "Smith", "Weber", "Brown")
BUSINESS_UNITS = ("acme", "acme-eu", "acme-us", "acme-eu-berlin")
FIRST_NAMES = ("Alex", "Sam", "Robin", "Kim", "Noa", "Jules", "Maxi", "Sascha")
DEMO_CUSTOMERS = 60
TOOL = "commercetools_customers_"
UPDATE = "update_customer_first_name"


@dataclass
class Plan:
    seconds: float = 10.0  # measured per window
    warmup: float = 1.0  # before each window
    rounds: int = 6
    prewarm: float = 3.0  # each server once before round 1


@dataclass(frozen=True)
class Op:
    kind: str
    target: int  # customer index, last-name index or business-unit index
    name: int = 0  # first-name index of an update


def sequence(seed: int = SEED, length: int = SEQUENCE) -> list[Op]:
    """The calls every server gets, in order: exact shares of MIX, shuffled with ``seed``."""
    rng = random.Random(seed)
    kinds = [kind for kind, share in MIX for _ in range(round(share * length))]
    rng.shuffle(kinds)
    ops = []
    for kind in kinds:
        if kind == "get_customer_by_id":
            ops.append(Op(kind, rng.randrange(DEMO_CUSTOMERS)))
        elif kind == "list_customers_where":
            ops.append(Op(kind, rng.randrange(len(LAST_NAMES))))
        elif kind == "get_business_unit_by_key":
            ops.append(Op(kind, rng.randrange(len(BUSINESS_UNITS))))
        else:
            ops.append(Op(kind, rng.randrange(HOT), rng.randrange(len(FIRST_NAMES))))
    return ops


def _body(body: bytes) -> dict[str, Any]:
    """The tool result's JSON (structuredContent, else the text content) of a 2025-11-25 JSON answer."""
    result = orjson.loads(body)["result"]
    if isinstance(result.get("structuredContent"), dict):
        return result["structuredContent"]
    return orjson.loads(result["content"][0]["text"])


def _current_version(body: bytes) -> int | None:
    """The currentVersion of a ConcurrentModification tool error, or None when the answer is something else."""
    if b"ConcurrentModification" not in body:
        return None
    try:
        errors = _body(body).get("errors") or []
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return None
    for error in errors:
        if error.get("code") == "ConcurrentModification" and isinstance(error.get("currentVersion"), int):
            return error["currentVersion"]
    return None


@dataclass
class Window:
    """What one window of one server produced."""

    latencies: list[float] = field(default_factory=list)  # seconds, every call that succeeded
    update_latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    conflicts: int = 0  # 409s retried (in the measured window)
    seconds: float = 0.0
    done: int = 0  # calls completed, warm-up included (what the server's CPU was spent on)
    cpu: float = 0.0
    client_cpu: float = 0.0

    def note(self, text: str) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = text[:300]

    def summary(self) -> dict[str, Any]:
        ordered, updates = sorted(self.latencies), sorted(self.update_latencies)
        done = self.done or float("nan")
        return {
            "calls": len(self.latencies),
            "per_s": len(self.latencies) / self.seconds if self.seconds else float("nan"),
            "p50_ms": _percentile(ordered, 50) * 1000,
            "p99_ms": _percentile(ordered, 99) * 1000,
            "update_p50_ms": _percentile(updates, 50) * 1000,
            "update_p99_ms": _percentile(updates, 99) * 1000,
            "updates": len(self.update_latencies),
            "errors": self.errors,
            "first_error": self.first_error,
            "conflicts_409": self.conflicts,
            "cpu_ms_per_call": self.cpu / done * 1000,
            "client_cpu_ms_per_call": self.client_cpu / done * 1000,
        }


class Server:
    """One server under test: its process, its demo data's ids and the versions the clients last saw."""

    def __init__(self, build: builds.Build, workdir: Path) -> None:
        self.build = build
        self.name = build.name
        args = [build.cli, "serve", "--transport", "http", "--host", HOST, "--port", "{port}"]
        args += ["--log-level", "WARNING", "--json-response", "--data", str(workdir / f"{self.name}.sqlite3")]
        env = {k: v for k, v in _base_env().items() if k != "VIRTUAL_ENV"}
        self.child, self.port = _start(args, env, self.name)
        self.ids: list[str] = []
        self.versions: dict[str, int] = {}
        self.reads: dict[Op, loadgen.Call] = {}
        self.rounds: list[Window] = []
        self.total = Window()

    def call(self, tool: str, arguments: dict[str, Any]) -> loadgen.Call:
        return _request(self.port, TOOL + tool, arguments, LEGACY, {})

    async def discover(self, ops: list[Op]) -> None:
        """The demo customers' ids and versions (by key, so index i is demo-customer-(i+1) on every server) and
        the prebuilt requests of the reads."""
        listing = self.call("list_customers", {"sort": ["key asc"], "limit": 100})
        connection = loadgen.Connection(listing)
        try:
            status, body = await connection.send(listing.request(1))
        finally:
            connection.close()
        problem = loadgen.judge(status, body)
        if problem:
            raise RuntimeError(f"{self.name}: listing the demo customers: {problem}")
        by_key = {c["key"]: c for c in _body(body)["results"]}
        wanted = [f"demo-customer-{i + 1:02d}" for i in range(DEMO_CUSTOMERS)]
        missing = [k for k in wanted if k not in by_key]
        if missing:
            raise RuntimeError(f"{self.name}: demo customers missing: {', '.join(missing[:5])}")
        self.ids = [by_key[k]["id"] for k in wanted]
        self.versions = {by_key[k]["id"]: by_key[k]["version"] for k in wanted}
        for op in set(ops):
            if op.kind == "get_customer_by_id":
                self.reads[op] = self.call("get_by_id", {"ID": self.ids[op.target]})
            elif op.kind == "list_customers_where":
                where = {"where": [f'lastName = "{LAST_NAMES[op.target]}"'], "limit": 3}
                self.reads[op] = self.call("list_customers", where)
            elif op.kind == "get_business_unit_by_key":
                self.reads[op] = self.call("get_business_units_by_key", {"key": BUSINESS_UNITS[op.target]})

    def stop(self) -> None:
        self.child.stop()


async def _drive(server: Server, ops: list[Op], seconds: float, warmup: float) -> Window:
    """CLIENTS clients take the next call of ``ops`` (from its start) until the deadline; the last ``seconds``
    count. Every client finishes its call in flight (an update with its retries) and stops."""
    window = Window()
    start = time.perf_counter()
    measure_from = start + warmup
    deadline = measure_from + seconds
    turn = itertools.count()
    ids = itertools.count(1)
    anchor = server.reads[next(iter(server.reads))]

    async def send(connection: loadgen.Connection, call: loadgen.Call) -> tuple[int, bytes]:
        try:
            return await asyncio.wait_for(connection.send(call.request(next(ids))), 30)
        except (TimeoutError, OSError, httptools.HttpParserError) as exc:
            connection.close()
            raise _Failed(f"{type(exc).__name__}: {exc}") from exc

    async def update(connection: loadgen.Connection, op: Op, counted: bool) -> None:
        customer = server.ids[op.target]
        arguments: dict[str, Any] = {"ID": customer, "version": 0}
        arguments["actions"] = [{"action": "setFirstName", "firstName": FIRST_NAMES[op.name]}]
        for _ in range(MAX_RETRIES + 1):
            arguments["version"] = server.versions[customer]
            status, body = await send(connection, server.call("update_customers_by_id", arguments))
            problem = loadgen.judge(status, body)
            if problem is None:
                version = _body(body).get("version")
                if isinstance(version, int) and version > server.versions[customer]:
                    server.versions[customer] = version
                return
            current = _current_version(body) if status == 200 else None
            if current is None:
                raise _Failed(problem)
            if counted:
                window.conflicts += 1
            server.versions[customer] = max(server.versions[customer], current)
        raise _Failed(f"409 ConcurrentModification {MAX_RETRIES + 1} times in a row on {customer}")

    async def client() -> None:
        connection = loadgen.Connection(anchor)
        try:
            while True:
                sent = time.perf_counter()
                if sent >= deadline:
                    return
                op = ops[next(turn) % len(ops)]
                counted = sent >= measure_from
                try:
                    if op.kind == UPDATE:
                        await update(connection, op, counted)
                    else:
                        status, body = await send(connection, server.reads[op])
                        problem = loadgen.judge(status, body)
                        if problem:
                            raise _Failed(problem)
                except _Failed as failed:
                    if counted:
                        window.note(str(failed))
                    await asyncio.sleep(0.01)
                    continue
                took = time.perf_counter() - sent
                window.done += 1
                if counted:
                    window.latencies.append(took)
                    if op.kind == UPDATE:
                        window.update_latencies.append(took)
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    window.seconds = max(time.perf_counter(), deadline) - measure_from
    return window


class _Failed(Exception):
    pass


async def _measure(server: Server, ops: list[Op], plan: Plan) -> Window:
    cpu, own = _cpu_seconds(server.child.pid), _own_cpu()
    window = await _drive(server, ops, plan.seconds, plan.warmup)
    window.cpu = _cpu_seconds(server.child.pid) - cpu
    window.client_cpu = _own_cpu() - own
    total = server.total
    total.latencies += window.latencies
    total.update_latencies += window.update_latencies
    total.errors += window.errors
    total.first_error = total.first_error or window.first_error
    total.conflicts += window.conflicts
    total.seconds += window.seconds
    total.done += window.done
    total.cpu += window.cpu
    total.client_cpu += window.client_cpu
    server.rounds.append(window)
    s = window.summary()
    print(
        f"    {server.name:<9} {s['per_s']:6.0f} calls/s  p50 {s['p50_ms']:6.1f} ms  p99 {s['p99_ms']:6.1f} ms  "
        f"cpu {s['cpu_ms_per_call']:5.2f} ms/call  409s {s['conflicts_409']:<4} errors {s['errors']}"
        + (f"  ({window.first_error[:80]})" if window.errors else ""),
        flush=True,
    )
    return window


def _ratio(a: float, b: float) -> float:
    return a / b if a and b and a == a and b == b else float("nan")


async def _run(plan: Plan, baseline_ref: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "plan": plan.__dict__,
        "cores": os.cpu_count(),
        "clients": CLIENTS,
        "seed": SEED,
        "mix": dict(MIX),
        "requests": f"{LEGACY} stateless tools/call, --json-response",
        "notes": [],
        "load_average": {"start": _load_average()},
    }
    current, baseline = builds.current(), builds.baseline(baseline_ref)
    differ = sorted(
        f"{name} {baseline.versions.get(name, '-')} vs {current.versions.get(name, '-')}"
        for name in set(current.versions) | set(baseline.versions)
        if name != builds.PACKAGE and current.versions.get(name) != baseline.versions.get(name)
    )
    if differ:
        out["notes"].append("dependencies differ (baseline vs current): " + "; ".join(differ))
    out["notes"] += [b.note for b in (current, baseline) if b.note]
    out["builds"] = {b.name: b.describe() for b in (current, baseline)}
    print(f"  current:  {current.source}\n  baseline: {baseline.source}", flush=True)
    ops = sequence()
    workdir = Path(tempfile.mkdtemp(prefix="ct-bench-mixed-"))
    servers: list[Server] = []
    try:
        for build in (current, baseline):
            servers.append(Server(build, workdir))
            await servers[-1].discover(ops)
        for server in servers:
            await _drive(server, ops, plan.prewarm, 0)
        out["rounds"] = []
        for number in range(plan.rounds):
            order = servers if number % 2 == 0 else servers[::-1]
            print(f"  round {number + 1} of {plan.rounds}", flush=True)
            windows = {server.name: await _measure(server, ops, plan) for server in order}
            a, b = windows["current"].summary(), windows["baseline"].summary()
            row = {
                "order": [s.name for s in order],
                "current": a,
                "baseline": b,
                "calls_ratio": _ratio(a["per_s"], b["per_s"]),
                "cpu_ratio": _ratio(a["cpu_ms_per_call"], b["cpu_ms_per_call"]),
            }
            out["rounds"].append(row)
            print(
                f"    current / baseline: calls/s {row['calls_ratio']:.3f}x, CPU per call {row['cpu_ratio']:.3f}x",
                flush=True,
            )
        out["series"] = {server.name: server.total.summary() for server in servers}
        for key in ("calls_ratio", "cpu_ratio"):
            values = [r[key] for r in out["rounds"] if r[key] == r[key]]
            out[f"median_{key}"] = statistics.median(values) if values else float("nan")
        for name, series in out["series"].items():
            if series["errors"]:
                out["notes"].append(f"{name}: {series['errors']} errors, first: {series['first_error']}")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    out["load_average"]["end"] = _load_average()
    return out


def _load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run(plan: Plan, baseline_ref: str | None = None) -> dict[str, Any]:
    """The whole workload on uvloop when installed (as workload 4), else on asyncio."""
    return run_timed(_run(plan, baseline_ref))

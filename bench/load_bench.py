"""Workload 4: serving under load. N concurrent clients call one tool over stateless HTTP, as fast as answers come.

The call is the customer fetched by id (``commercetools_customers_get_by_id``; the official server's
``read_customers`` with ``{"id": …}``) on a 1,000-customer project. Servers, each its own process, started once:

- ``ours_http`` and ``official_http``: the deployment path, both reaching one emulator process over HTTP;
- ``ours_http_modern``: ours again with 2026-07-28 requests (what ``mcp.Client`` sends to an SDK server); every
  other series uses 2025-11-25 requests, the one wire version the official server speaks;
- ``ours_http_json``: ours with ``--json-response`` (plain JSON answers instead of an SSE stream per POST);
- ``ours_embedded``: ``serve --data FILE`` (the emulator in the server process);
- ``ours_http_w2`` and ``ours_embedded_w2``: the same with ``--workers 2``;
- ``floor_echo`` and ``floor_echo_modern``: a bare ``mcp`` SDK server with one echo tool (bench/echo_server.py),
  the SDK's own cost of a stateless call with no work in it.

Every server first takes ``prewarm`` seconds of calls from 16 clients (the official server's JIT warms up; ours
fills its pools). Each (concurrency, server) window runs ``seconds`` after a short warm-up; concurrencies 1, 4
and 16; all servers
take their turn at one concurrency before the next, and whole rounds repeat, so the machine's noise falls on
every series alike. The clients are ``bench/loadgen.py`` (raw HTTP/1.1 keep-alive, one connection per client, in
this process). Measured per window: calls/s, p50 and p99 latency, errors (anything but an HTTP 200 with a
non-error tool result), and the CPU time of the server's processes per call (psutil, user + system, the
server's workers included), which holds up better than wall-clock rates on a shared machine; also the CPU
the emulator process spent per call of the HTTP series, and this client's own.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import psutil

from . import loadgen
from .emulator_bench import CLI
from .mcp_bench import TOOL, _base_env, _official_args, _ours_env, start_loaded
from .util import HOST, Child, free_port, run_timed, wait_port

LEGACY, MODERN = "2025-11-25", "2026-07-28"
CONCURRENCY = (1, 4, 16)


@dataclass
class Plan:
    seconds: float = 3.0  # measured per window
    warmup: float = 0.5  # before each window
    rounds: int = 2
    prewarm: float = 1.5  # each server once at the highest concurrency before round 1 (the official's JIT warms)


@dataclass
class Series:
    """A server under test and what it answered, summed over rounds."""

    name: str
    label: str
    child: Child
    call: loadgen.Call
    emulator_pid: int | None = None  # the emulator this server calls over HTTP, if any
    results: dict[int, dict[str, Any]] = field(default_factory=dict)


def _request(port: int, tool: str, arguments: dict[str, Any], era: str, headers: dict[str, str]) -> loadgen.Call:
    """The POST an MCP client sends for one stateless ``tools/call`` (after ``initialize``, for 2025-11-25)."""
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    sent = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    sent["Mcp-Protocol-Version"] = era
    if era == MODERN:
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        sent.update({"Mcp-Method": "tools/call", "Mcp-Name": tool})
    body = '{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":' + orjson.dumps(params).decode() + "}"
    return loadgen.Call(HOST, port, "/mcp", tuple({**sent, **headers}.items()), body)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants (the workers of ``--workers``)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return float("nan")
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _own_cpu() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


def _percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    rank = p / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _start(args: list[str], env: dict[str, str], name: str) -> tuple[Child, int]:
    port = free_port()
    child = Child([a.replace("{port}", str(port)) for a in args], env=env, name=name)
    wait_port(port, 60, child.proc)
    return child, port


async def _check(series: Series) -> None:
    """One call before measuring: a server that cannot answer is reported, not measured."""
    outcome = await loadgen.drive(series.call, 1, 0.2, warmup=0)
    if outcome.errors or not outcome.calls:
        raise RuntimeError(f"{series.name}: {outcome.first_error or 'no answer'}")


async def _window(series: Series, concurrency: int, plan: Plan) -> None:
    cpu = _cpu_seconds(series.child.pid)
    emulator_cpu = _cpu_seconds(series.emulator_pid) if series.emulator_pid else float("nan")
    own = _own_cpu()
    outcome = await loadgen.drive(series.call, concurrency, plan.seconds, warmup=plan.warmup)
    spent = _cpu_seconds(series.child.pid) - cpu
    emulator_spent = _cpu_seconds(series.emulator_pid) - emulator_cpu if series.emulator_pid else float("nan")
    client_spent = _own_cpu() - own
    counted = outcome.answered  # CPU was read over warm-up and window, so it is divided by all their answers
    total = series.results.setdefault(
        concurrency,
        {
            "latencies": [],
            "calls": 0,
            "seconds": 0.0,
            "errors": 0,
            "cpu": 0.0,
            "emu_cpu": 0.0,
            "client_cpu": 0.0,
            "cpu_calls": 0.0,
            "first_error": "",
        },
    )
    total["latencies"] += outcome.latencies
    total["calls"] += outcome.calls
    total["seconds"] += outcome.seconds
    total["errors"] += outcome.errors
    total["first_error"] = total["first_error"] or outcome.first_error
    total["cpu"] += spent
    total["emu_cpu"] += emulator_spent
    total["client_cpu"] += client_spent
    total["cpu_calls"] += counted
    ordered = sorted(outcome.latencies)
    print(
        f"    c={concurrency:<3} {series.name:<20} {outcome.calls / outcome.seconds:7.0f} calls/s  "
        f"p50 {_percentile(ordered, 50) * 1000:6.1f} ms  p99 {_percentile(ordered, 99) * 1000:6.1f} ms  "
        f"cpu {spent / max(counted, 1) * 1000:5.2f} ms/call  errors {outcome.errors}"
        + (f"  ({outcome.first_error[:80]})" if outcome.errors else ""),
        flush=True,
    )


def _summary(total: dict[str, Any]) -> dict[str, Any]:
    ordered = sorted(total["latencies"])
    calls = total["cpu_calls"] or float("nan")
    return {
        "calls": total["calls"],
        "per_s": total["calls"] / total["seconds"] if total["seconds"] else float("nan"),
        "p50_ms": _percentile(ordered, 50) * 1000,
        "p99_ms": _percentile(ordered, 99) * 1000,
        "errors": total["errors"],
        "first_error": total["first_error"],
        "cpu_ms_per_call": total["cpu"] / calls * 1000,
        "emulator_cpu_ms_per_call": total["emu_cpu"] / calls * 1000,
        "client_cpu_ms_per_call": total["client_cpu"] / calls * 1000,
    }


async def _run(plan: Plan, with_official: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"series": {}, "labels": {}, "notes": [], "plan": plan.__dict__, "cores": os.cpu_count()}
    loaded = start_loaded("ct-bench-load-")
    workdir, db, emulator, url = loaded.workdir, loaded.db, loaded.emulator, loaded.url
    customer_id, token = loaded.customer_id, loaded.token
    py, node = sys.executable, shutil.which("node") or "node"
    serve = [CLI, "serve", "--transport", "http", "--host", HOST, "--port", "{port}", "--log-level", "WARNING"]
    embedded = [*serve, "--data", db, "--no-demo"]
    ours_args = {"ID": customer_id}
    plans: list[tuple[str, Callable[[], Series]]] = []

    def ours(name: str, label: str, args: list[str], remote: bool, era: str = LEGACY) -> None:
        def make() -> Series:
            child, port = _start(args, _ours_env(url if remote else None), name)
            call = _request(port, TOOL, ours_args, era, {})
            return Series(name, label, child, call, emulator.child.pid if remote else None)

        plans.append((name, make))

    ours("ours_http", "ours, API over HTTP", serve, True)
    ours("ours_http_modern", "ours, API over HTTP, 2026-07-28 requests", serve, True, MODERN)
    if with_official:

        def official() -> Series:
            args = [node, *_official_args(url), "--remote=true", "--stateless=true", f"--host={HOST}", "--port={port}"]
            child, port = _start(args, _base_env(), "commerce-mcp")
            call = _request(port, "read_customers", {"id": customer_id}, LEGACY, {"Authorization": token})
            return Series("official_http", "official commerce-mcp, API over HTTP", child, call, emulator.child.pid)

        plans.append(("official_http", official))
    else:
        out["notes"].append("@commercetools/commerce-mcp not available: its rows are skipped")
    ours("ours_http_json", "ours --json-response, API over HTTP", [*serve, "--json-response"], True)
    ours("ours_http_w2", "ours --workers 2, API over HTTP", [*serve, "--workers", "2"], True)
    ours("ours_embedded", "ours, emulator embedded", embedded, False)
    ours(
        "ours_embedded_w2",
        "ours --workers 2, emulator embedded (one SQLite file)",
        [*embedded, "--workers", "2"],
        False,
    )

    def floor(name: str, label: str, era: str) -> None:
        def make() -> Series:
            child, port = _start([py, "-m", "bench.echo_server", "http", "{port}"], _base_env(), name)
            return Series(name, label, child, _request(port, "echo", {"msg": "hello"}, era, {}))

        plans.append((name, make))

    floor("floor_echo", "floor: bare mcp SDK echo tool", LEGACY)
    floor("floor_echo_modern", "floor: bare mcp SDK echo tool, 2026-07-28 requests", MODERN)

    started: list[Series] = []
    try:
        for name, make in plans:
            try:
                series = make()
                started.append(series)
                await _check(series)
            except Exception as exc:  # one server that cannot start must not lose the others
                out["notes"].append(f"{name}: not measured: {str(exc)[:300]}")
                print(f"    {name}: not measured: {str(exc)[:300]}", flush=True)
                if started and started[-1].name == name:
                    started.pop().child.stop()
        for series in started:
            await loadgen.drive(series.call, max(CONCURRENCY), plan.prewarm, warmup=0)
        for number in range(1, plan.rounds + 1):
            print(f"  round {number} of {plan.rounds}", flush=True)
            for concurrency in CONCURRENCY:
                for series in started:
                    await _window(series, concurrency, plan)
        for series in started:
            out["labels"][series.name] = series.label
            out["series"][series.name] = {str(c): _summary(t) for c, t in sorted(series.results.items())}
            for c, t in series.results.items():
                if t["errors"]:
                    out["notes"].append(
                        f"{series.name} at {c} clients: {t['errors']} errors, first: {t['first_error']}"
                    )
    finally:
        for series in started:
            series.child.stop()
        emulator.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def run(plan: Plan, with_official: bool) -> dict[str, Any]:
    """The whole workload on uvloop when installed (the clients then cost less CPU), else on asyncio."""
    return run_timed(_run(plan, with_official))

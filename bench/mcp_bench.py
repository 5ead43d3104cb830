"""Workloads 2 and 3: the cost of one MCP tool call, and cold start.

Calls: ``commercetools_customers_get_by_id`` through our server (stdio and stateless HTTP; with the emulator
embedded in process, as ``serve --data`` runs it, and with the emulator over HTTP, as the official server must
use it), against

- the floor: a bare ``mcp`` low-level Server with one echo tool (bench/echo_server.py), same transport;
- a direct ``GET /{projectKey}/customers/{id}`` to the emulator with ``httpx2`` (no MCP at all);
- ``@commercetools/commerce-mcp`` calling ``read_customers`` with that id, against the same emulator.

Every series is one connected ``mcp.Client`` making sequential calls (after a warm-up).

Cold start: wall time from spawning the server process to the ``tools/list`` answer (``initialize`` handshake,
``mode="legacy"``, so the bare SDK, ours and the Node server do the same steps), and the size of that
``tools/list`` result in bytes (compact JSON).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import orjson
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from . import data, peers
from .emulator_bench import CLI, start_ours
from .util import HOST, ROOT, Child, Stats, free_port, wait_port

PROJECT = "demo"  # the embedded emulator of `serve` always uses project key "demo"
TOOL = "commercetools_customers_get_by_id"
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"


@dataclass
class Plan:
    calls: int = 300  # per series and round
    budget: float = 15.0
    cold_runs: int = 5
    rounds: int = 1


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")
    return {k: os.environ[k] for k in keep if k in os.environ}


def _ours_env(emulator_url: str | None) -> dict[str, str]:
    env = _base_env()
    if emulator_url:
        env.update(
            CTP_PROJECT_KEY=PROJECT,
            CTP_CLIENT_ID=CLIENT_ID,
            CTP_CLIENT_SECRET=CLIENT_SECRET,
            CTP_AUTH_URL=emulator_url,
            CTP_API_URL=emulator_url,
            CTP_SCOPES=f"manage_project:{PROJECT}",
        )
    return env


def _official_args(emulator_url: str, tools: str = "read_customers") -> list[str]:
    return [
        str(peers.COMMERCE_MCP),
        f"--tools={tools}",
        "--isAdmin=true",
        "--authType=client_credentials",
        f"--clientId={CLIENT_ID}",
        f"--clientSecret={CLIENT_SECRET}",
        f"--authUrl={emulator_url}",
        f"--apiUrl={emulator_url}",
        f"--projectKey={PROJECT}",
    ]


@contextlib.asynccontextmanager
async def _stdio(command: str, args: list[str], env: dict[str, str], mode: str = "auto") -> AsyncIterator[Client]:
    with open(os.devnull, "w") as errlog:
        params = StdioServerParameters(command=command, args=args, env=env, cwd=str(ROOT))
        async with Client(stdio_client(params, errlog=errlog), mode=mode, cache=None) as client:  # type: ignore[arg-type]
            yield client


@contextlib.asynccontextmanager
async def _http(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers=headers or {}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), cache=None) as client,  # type: ignore[arg-type]
    ):
        yield client


async def _series(call: Callable[[], Awaitable[Any]], plan: Plan, warmup: int = 5) -> Stats:
    for _ in range(warmup):
        await call()
    stats = Stats()
    deadline = time.perf_counter() + plan.budget
    for _ in range(plan.calls):
        start = time.perf_counter()
        await call()
        stats.add(time.perf_counter() - start)
        if start > deadline:
            stats.note = f"stopped after {stats.n} of {plan.calls} (time budget)"
            break
    return stats


def _describe(exc: BaseException) -> str:
    """The innermost exception of a task-group failure, in one line."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _checked(result: Any) -> Any:
    if getattr(result, "is_error", False):
        text = " ".join(getattr(c, "text", "") for c in result.content)[:200]
        raise RuntimeError(f"tool call failed: {text}")
    return result


async def _calls(client: Client, tool: str, args: dict[str, Any], plan: Plan) -> Stats:
    return await _series(lambda: _checked_call(client, tool, args), plan)


async def _checked_call(client: Client, tool: str, args: dict[str, Any]) -> Any:
    return _checked(await client.call_tool(tool, args))


def _http_server(args: list[str], env: dict[str, str], port: int, name: str) -> Child:
    child = Child(args, env=env, name=name)
    wait_port(port, 60, child.proc)
    return child


@dataclass
class Loaded:
    """An emulator process on a fresh 1,000-customer file: what the MCP workloads call through."""

    workdir: Path
    db: str
    emulator: Any  # emulator_bench.Server
    url: str
    customer_id: str  # of cust-000042
    token: str  # an Authorization header value for the emulator


def start_loaded(prefix: str) -> Loaded:
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    db = str(workdir / "data.sqlite3")
    data.load_ours(db, 0, 1000, project=PROJECT)
    emulator = start_ours(db, project=PROJECT)
    customer_id = emulator.get("/customers/key=cust-000042").json()["id"]
    url = f"http://{HOST}:{emulator.port}"
    return Loaded(workdir, db, emulator, url, customer_id, emulator.client.headers["Authorization"])


async def run_calls(plan: Plan, with_official: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"series": {}, "notes": []}
    loaded = start_loaded("ct-bench-mcp-")
    workdir, db, emulator, emulator_url = loaded.workdir, loaded.db, loaded.emulator, loaded.url
    customer_id, token = loaded.customer_id, loaded.token
    py, node = sys.executable, shutil.which("node") or "node"

    merged: dict[str, Stats] = {}
    entries: list[tuple[str, Callable[[], Awaitable[Stats]]]] = []

    def guarded(name: str, body: Callable[[], Awaitable[Stats]]) -> None:
        entries.append((name, body))

    async def run_round(number: int) -> None:
        for name, body in entries:
            try:
                stats = await body()
            except Exception as exc:  # one failing series must not lose the others
                out["notes"].append(f"{name} (round {number}): failed: {_describe(exc)}")
                print(f"    {name:<34} FAILED {_describe(exc)}", flush=True)
                continue
            total = merged.setdefault(name, Stats())
            total.samples += stats.samples
            total.note = total.note or stats.note
            print(
                f"    r{number} {name:<31} {stats.rate:8.0f} calls/s  p50 {stats.median * 1000:7.2f} ms  "
                f"p95 {stats.p95 * 1000:7.2f} ms  n={stats.n} {stats.note}",
                flush=True,
            )

    try:
        # direct HTTP GET, the same async client stack the MCP server uses
        async def direct() -> Stats:
            async with httpx2.AsyncClient(base_url=emulator_url, headers={"Authorization": token}) as http:

                async def get() -> None:
                    (await http.get(f"/{PROJECT}/customers/{customer_id}")).raise_for_status()

                return await _series(get, plan)

        guarded("direct_http_get", direct)

        echo = {"msg": "hello"}
        get_args = {"ID": customer_id}

        async def floor_stdio() -> Stats:
            async with _stdio(py, ["-m", "bench.echo_server"], _base_env()) as c:
                return await _calls(c, "echo", echo, plan)

        async def ours_stdio(remote: bool) -> Stats:
            args = ["serve", "--transport", "stdio", "--log-level", "WARNING"]
            if not remote:
                args += ["--data", db, "--no-demo"]
            async with _stdio(CLI, args, _ours_env(emulator_url if remote else None)) as c:
                return await _calls(c, TOOL, get_args, plan)

        guarded("floor_echo_stdio", floor_stdio)
        guarded("ours_stdio_embedded", lambda: ours_stdio(False))
        guarded("ours_stdio_emulator_http", lambda: ours_stdio(True))

        async def over_http(
            args: list[str],
            env: dict[str, str],
            name: str,
            tool: str,
            targs: dict[str, Any],
            path: str = "/mcp",
            headers: dict[str, str] | None = None,
        ) -> Stats:
            port = free_port()
            child = _http_server([a.replace("{port}", str(port)) for a in args], env, port, name)
            try:
                async with _http(f"http://{HOST}:{port}{path}", headers) as c:
                    return await _calls(c, tool, targs, plan)
            finally:
                child.stop()

        guarded(
            "floor_echo_http",
            lambda: over_http([py, "-m", "bench.echo_server", "http", "{port}"], _base_env(), "echo", "echo", echo),
        )
        serve_http = [CLI, "serve", "--transport", "http", "--host", HOST, "--port", "{port}", "--log-level", "WARNING"]
        guarded(
            "ours_http_embedded",
            lambda: over_http([*serve_http, "--data", db, "--no-demo"], _ours_env(None), "ours", TOOL, get_args),
        )
        guarded(
            "ours_http_emulator_http", lambda: over_http(serve_http, _ours_env(emulator_url), "ours", TOOL, get_args)
        )

        if with_official:
            official_args = {"id": customer_id}

            async def official_stdio() -> Stats:
                async with _stdio(node, _official_args(emulator_url), _base_env()) as c:
                    return await _calls(c, "read_customers", official_args, plan)

            guarded("official_stdio", official_stdio)
            guarded(
                "official_http",
                lambda: over_http(
                    [
                        node,
                        *_official_args(emulator_url),
                        "--remote=true",
                        "--stateless=true",
                        f"--host={HOST}",
                        "--port={port}",
                    ],
                    _base_env(),
                    "commerce-mcp",
                    "read_customers",
                    official_args,
                    headers={"Authorization": token},
                ),
            )
        else:
            out["notes"].append("@commercetools/commerce-mcp not available: its rows are skipped")
        for number in range(1, plan.rounds + 1):  # rounds spread the machine's noise over every series
            await run_round(number)
        out["series"] = {name: stats.summary() for name, stats in merged.items()}
        out["rounds"] = plan.rounds
    finally:
        emulator.close()
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
    return out


async def _cold(command: str, args: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    start = time.perf_counter()
    async with _stdio(command, args, env, mode="legacy") as client:
        result = await client.list_tools()
        elapsed = time.perf_counter() - start
    payload = orjson.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True))
    return elapsed, len(payload), len(result.tools)


async def run_cold(plan: Plan, with_official: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"series": {}, "notes": []}
    workdir = Path(tempfile.mkdtemp(prefix="ct-bench-cold-"))
    db = str(workdir / "cold.sqlite3")
    data.load_ours(db, 0, 10, project=PROJECT)
    py, node = sys.executable, shutil.which("node") or "node"
    # The official server does not start without a reachable API (it contacts it while starting), so it gets a
    # live emulator; ours contacts nothing until a tool is called.
    emulator = start_ours(db, project=PROJECT) if with_official else None
    url = f"http://{HOST}:{emulator.port}" if emulator else ""
    targets: list[tuple[str, str, list[str], dict[str, str]]] = [
        ("python -c pass (interpreter only)", py, ["-c", "pass"], _base_env()),
        ("floor: bare mcp echo server", py, ["-m", "bench.echo_server"], _base_env()),
        ("ours (45 tools)", CLI, ["serve", "--data", db, "--no-demo", "--log-level", "WARNING"], _base_env()),
        (
            "ours --compact-schemas",
            CLI,
            ["serve", "--data", db, "--no-demo", "--log-level", "WARNING", "--compact-schemas"],
            _base_env(),
        ),
    ]
    if with_official:
        targets += [
            ("official: --tools=read_customers", node, _official_args(url), _base_env()),
            ("official: --tools=all --isAdmin", node, _official_args(url, "all"), _base_env()),
        ]
    else:
        out["notes"].append("@commercetools/commerce-mcp not available: its rows are skipped")
    try:
        # Interleaved: one start of every server per pass, so the machine's noise hits all of them alike.
        stats = {name: Stats() for name, *_ in targets}
        shape: dict[str, tuple[int | None, int | None]] = {}
        failures: dict[str, list[str]] = {}
        for _ in range(plan.cold_runs):
            for name, command, args, env in targets:
                for _attempt in range(2):  # one failed spawn is retried, and reported
                    try:
                        if name.startswith("python -c"):
                            start = time.perf_counter()
                            await anyio.run_process([command, *args])
                            stats[name].add(time.perf_counter() - start)
                            shape[name] = (None, None)
                        else:
                            elapsed, size, count = await _cold(command, args, env)
                            stats[name].add(elapsed)
                            shape[name] = (size, count)
                        break
                    except Exception as exc:
                        failures.setdefault(name, []).append(_describe(exc))
        for name, *_ in targets:
            if failures.get(name):
                out["notes"].append(f"{name}: {len(failures[name])} failed start(s): {failures[name][0]}")
            if not stats[name].n:
                continue
            size, count = shape[name]
            out["series"][name] = {**stats[name].summary(), "bytes": size, "tools": count}
            listed = f"tools/list {size:>8,} bytes ({count} tools)" if size else ""
            took = stats[name]
            print(f"    {name:<36} p50 {took.median * 1000:7.0f} ms  min {took.min * 1000:7.0f} ms  {listed}")
    finally:
        if emulator is not None:
            emulator.close()
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
    return out

"""Workload 1: the emulator over HTTP on loopback, against @labdigital/commercetools-mock.

The same client (one ``httpx2.Client``, keep-alive, sequential requests) drives both servers.

Phase A, creates: a fresh, empty server of each kind takes ``creates`` sequential ``POST /customers``; the
query workloads then run at that size (the "2k" column). Then another fresh server of each kind takes the same
``creates`` with a password, as every sign-up carries one.
Phase B, scaling: for each size (1k, 10k, 100k) the data is loaded without HTTP (ours through its own service
layer into the SQLite file, before the server starts; the mock through its seeding API at start-up), the
server is started, and every query workload runs against it; then its RSS is read.
"""

from __future__ import annotations

import base64
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from . import data, peers
from .util import HOST, Child, Stats, free_port, timed, wait_port

CLI = str(Path(sys.executable).with_name("commercetools-customers-mcp"))
OURS, MOCK = "ours", "mock"
REQUEST_TIMEOUT = 30.0
MOCK_NO_SEARCH = "not supported: the mock has no Customer Search endpoint (POST /customers/search)"


@dataclass
class Server:
    kind: str
    child: Child
    port: int
    client: httpx2.Client
    project: str = data.PROJECT

    def url(self, path: str) -> str:
        return f"/{self.project}{path}"

    def get(self, path: str, **params: Any) -> httpx2.Response:
        return self.client.get(self.url(path), params=params or None)

    def post(self, path: str, body: Any) -> httpx2.Response:
        return self.client.post(self.url(path), json=body)

    def close(self) -> None:
        self.client.close()
        self.child.stop()


def _token(client: httpx2.Client, project: str) -> str:
    basic = base64.b64encode(b"bench-client:bench-secret").decode()
    r = client.post(
        "/oauth/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "client_credentials", "scope": f"manage_project:{project}"},
    )
    r.raise_for_status()
    return r.json()["access_token"]


def start_ours(path: str, project: str = data.PROJECT) -> Server:
    port = free_port()
    child = Child(
        [
            *(CLI, "emulator", "--host", HOST, "--port", str(port), "--data", path, "--no-demo"),
            *("--log-level", "warning", "--client", f"bench-client:bench-secret:manage_project:{project}"),
        ],
        name="emulator",
    )
    wait_port(port, 60, child.proc)
    return _connect(OURS, child, port, project)


def start_mock(preload: Path | None = None) -> Server:
    port = free_port()
    args = [shutil.which("node") or "node", str(peers.MOCK_LAUNCHER), str(port), data.PROJECT]
    if preload is not None:
        args.append(str(preload))
    child = Child(args, name="commercetools-mock")
    wait_port(port, 300, child.proc)
    return _connect(MOCK, child, port)


def _connect(kind: str, child: Child, port: int, project: str = data.PROJECT) -> Server:
    client = httpx2.Client(base_url=f"http://{HOST}:{port}", timeout=REQUEST_TIMEOUT)
    token = _token(client, project)
    client.headers["Authorization"] = f"Bearer {token}"
    return Server(kind, child, port, client, project)


def activate_search(server: Server) -> None:
    """Customer Search needs the project's index Activated (ours; the mock has no Customer Search)."""
    if server.kind != OURS:
        return
    project = server.get("").json()
    if project["searchIndexing"]["customers"]["status"] == "Activated":
        return
    body = {"version": project["version"], "actions": [{"action": "changeCustomerSearchStatus", "status": "Activated"}]}
    server.post("", body).raise_for_status()


def _ok(response: httpx2.Response) -> httpx2.Response:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text[:300]}"
        )
    return response


@dataclass
class Plan:
    reads: int = 300  # GET by id / by key, where by email
    scans: int = 60  # where on nested / non-indexed fields, searches
    budget: float = 8.0  # seconds per series at most (the slow peer stops early and says so)
    seed: int = 7


@dataclass
class SizeResult:
    size: int
    series: dict[str, dict[str, Any]] = field(default_factory=dict)
    rss_mb: float = float("nan")
    notes: list[str] = field(default_factory=list)


def _measure(server: Server, size: int, plan: Plan, label: str) -> SizeResult:
    rng = random.Random(plan.seed)
    result = SizeResult(size)
    picks = [rng.randrange(size) for _ in range(plan.reads)]
    sample = picks[: min(len(picks), 100)]
    ids = [_ok(server.get(f"/customers/key=cust-{i:06d}")).json()["id"] for i in sample]

    def series(name: str, make: Callable[[int], Callable[[], httpx2.Response]], count: int) -> None:
        if name.startswith("search") and server.kind == MOCK:
            result.series[name] = Stats(note=MOCK_NO_SEARCH).summary()
            return
        calls = [make(k) for k in range(count)]
        position = iter(range(10**9))

        def one() -> None:
            _ok(calls[next(position) % count]())

        try:
            stats = timed(one, count, plan.budget, warmup=3 if count == plan.reads else 1)
        except httpx2.TimeoutException:
            stats = Stats(note=f"a request took longer than {REQUEST_TIMEOUT:.0f} s: did not finish")
        except RuntimeError as exc:
            stats = Stats(note=f"not supported: {str(exc)[:160]}")
        result.series[name] = stats.summary()
        print(
            f"    {label:>5} {size:>7,}  {name:<22} p50 {stats.median * 1000:8.2f} ms  "
            f"p95 {stats.p95 * 1000:8.2f} ms  n={stats.n} {stats.note}",
            flush=True,
        )

    series("get_by_id", lambda k: lambda: server.get(f"/customers/{ids[k % len(ids)]}"), plan.reads)
    series("get_by_key", lambda k: lambda: server.get(f"/customers/key=cust-{picks[k]:06d}"), plan.reads)

    def where(predicate: Callable[[int], str]) -> Callable[[int], Callable[[], httpx2.Response]]:
        return lambda k: lambda: server.get("/customers", where=predicate(k))

    def email(k: int) -> str:
        return data.draft(picks[k])["email"].lower()

    series("where_email_indexed", where(lambda k: f'lowercaseEmail = "{email(k)}"'), plan.reads)
    series("where_nested_address", where(lambda k: f'addresses(country = "{data.RARE_COUNTRY}")'), plan.scans)
    series("where_nonindexed", where(lambda k: 'companyName = "Company 0042"'), plan.scans)

    def search(query: dict[str, Any]) -> Callable[[int], Callable[[], httpx2.Response]]:
        return lambda k: lambda: server.post("/customers/search", {"query": query, "limit": 20})

    series("search_fulltext", search({"fullText": {"field": "all", "value": data.RARE_LAST_NAME}}), plan.scans)
    series("search_prefix", search({"prefix": {"field": "email", "value": "Ada.Schmidt.1"}}), plan.scans)
    result.rss_mb = server.child.rss_mb()
    return result


def _creates(server: Server, creates: int, password: bool) -> dict[str, Any]:
    """``creates`` sequential sign-ups: the summary plus the rate in each quarter of the run."""
    chunks: list[float] = []
    stats = Stats()
    chunk = max(creates // 4, 1)
    for i, d in enumerate(data.drafts(0, creates, password)):
        start = time.perf_counter()
        _ok(server.post("/customers", d))
        stats.add(time.perf_counter() - start)
        if (i + 1) % chunk == 0:
            chunks.append(chunk / sum(stats.samples[-chunk:]))
    summary = stats.summary()
    summary["per_s_by_quarter"] = chunks
    return summary


def run(sizes: list[int], creates: int, plan: Plan, with_mock: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sizes": sizes,
        "creates": creates,
        "ours": {},
        "mock": {},
        "creates_result": {},
        "creates_password_result": {},
        "notes": [],
    }
    workdir = Path(tempfile.mkdtemp(prefix="ct-bench-"))
    kinds = [OURS, MOCK] if with_mock else [OURS]

    # Phase A: sequential creates on fresh servers, then queries at that size; then creates with a password.
    # A new project has Customer Search off (as in commercetools), so creates carry no index work; the search
    # workloads activate it, which indexes the customers in one go.
    for password in (False, True):
        what = "with a password" if password else "without a password (ExternalAuth)"
        print(f"  creates: {creates} sequential POST /customers on an empty server, {what}", flush=True)
        for kind in kinds:
            path = workdir / ("creates-password.sqlite3" if password else "creates.sqlite3")
            server = start_ours(str(path)) if kind == OURS else start_mock()
            try:
                result = _creates(server, creates, password)
                out["creates_password_result" if password else "creates_result"][kind] = result
                print(
                    f"    {kind:>5} creates/s {result['per_s']:8.0f}  p50 {result['p50_ms']:.2f} ms  "
                    f"by quarter {[round(c) for c in result['per_s_by_quarter']]}",
                    flush=True,
                )
                if not password:
                    activate_search(server)
                    out[kind][creates] = _measure(server, creates, plan, kind).__dict__
            finally:
                server.close()

    # Phase B: bulk-loaded sizes.
    ours_path = str(workdir / "scaling.sqlite3")
    loaded = 0
    for size in sizes:
        start = time.perf_counter()
        data.load_ours(ours_path, loaded, size)
        loaded = size
        print(f"  size {size:,}: loaded ours in {time.perf_counter() - start:.1f} s", flush=True)
        server = start_ours(ours_path)
        try:
            activate_search(server)
            out[OURS][size] = _measure(server, size, plan, OURS).__dict__
        finally:
            server.close()
        if MOCK in kinds:
            preload = data.write_jsonl(workdir / f"mock-{size}.jsonl", size)
            start = time.perf_counter()
            try:
                server = start_mock(preload)
            except (TimeoutError, RuntimeError) as exc:
                out["notes"].append(f"mock at {size:,}: did not start ({exc})")
                continue
            print(f"  size {size:,}: mock preloaded and listening in {time.perf_counter() - start:.1f} s", flush=True)
            try:
                out[MOCK][size] = _measure(server, size, plan, MOCK).__dict__
            finally:
                server.close()
            preload.unlink()
    for path in workdir.iterdir():
        path.unlink()
    workdir.rmdir()
    return out

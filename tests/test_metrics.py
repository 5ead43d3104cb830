"""GET /metrics: Prometheus counters for tool calls, upstream requests, retries and tokens, scraped from the real HTTP
app (in process and as `serve --transport http`), behind the API keys; and the multiprocess mode for --workers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from commercetools_customers_mcp.core.calls import CallRecord, Outcome
from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.emulator.faults import Faults
from commercetools_customers_mcp.serving.metrics import Metrics
from commercetools_customers_mcp.serving.transports import http_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import P, emulator_clients, free_port, project_connection, serving
from test_security import ALICE, ROOT, keyring, with_key

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def no_sleep(seconds: float) -> None:
    pass


async def test_metrics_count_calls_upstream_statuses_retries_and_tokens() -> None:
    faults = Faults.parse("503:1@GET /customer-groups$,latency:600ms@POST key=slow")
    emulator = httpx2.ASGITransport(app=create_app(":memory:", clients=emulator_clients("alpha"), faults=faults))
    metrics = Metrics()
    clients = {
        "eu": CommercetoolsClient(
            project_connection("eu", "alpha"), transport=emulator, sleep=no_sleep, events=metrics.event
        ),
        "bad": CommercetoolsClient(
            project_connection("bad", "alpha", client_secret="wrong"), transport=emulator, events=metrics.event
        ),
    }
    server = build_server(clients, observers=[metrics])
    app = http_app(server, connection_ids=list(clients), keys=keyring(), metrics=metrics)
    root_header = {"Authorization": f"Bearer {ROOT}"}
    async with asyncio.timeout(60), serving(app) as base, httpx2.AsyncClient(base_url=base) as http:
        empty = parse((await http.get("/metrics", headers=root_header)).text)
        assert value(empty, "ctmcp_calls_in_flight") == 0
        async with with_key(base + "/mcp", ROOT) as root:
            created = await root.call_tool(
                P + "create_customer_groups", {"PCID": "eu", "groupName": "G", "key": "slow"}
            )
            assert not created.is_error
            listed = await root.call_tool(P + "list_customer_groups", {"PCID": "eu"})
            assert listed.structured_content["statusCode"] == 503
            missing = await root.call_tool(P + "get_customer_groups_by_key", {"PCID": "eu", "key": "none"})
            assert missing.structured_content["statusCode"] == 404
            await root.call_tool(P + "get_customer_groups_by_key", {"PCID": "eu"})
            await root.call_tool(P + "list_customers", {"PCID": "bad"})
            await root.call_tool(P + "no_such_tool", {})
            slow = asyncio.create_task(
                root.call_tool(
                    P + "update_customer_groups_by_key",
                    {"PCID": "eu", "key": "slow", "version": 1, "actions": [{"action": "changeName", "name": "H"}]},
                )
            )
            await asyncio.sleep(0.3)
            during = parse((await http.get("/metrics", headers=root_header)).text)
            assert not (await slow).is_error
        async with with_key(base + "/mcp", ALICE) as alice:
            await alice.call_tool(P + "list_customers", {"PCID": "bad"})
        answer = await http.get("/metrics", headers=root_header)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=")
        samples = parse(answer.text)
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers={"Authorization": "Bearer nope"})).status_code == 401
        assert (await http.get("/metrics", headers={**root_header, "Host": "evil.example"})).status_code == 421
        open_metrics = await http.get("/metrics", headers={**root_header, "Accept": "application/openmetrics-text"})
        assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
        assert open_metrics.text.rstrip().endswith("# EOF")
    for client in clients.values():
        await client.aclose()

    assert value(during, "ctmcp_calls_in_flight") == 1
    assert value(samples, "ctmcp_calls_in_flight") == 0
    calls = {
        (dict(labels)["tool"].removeprefix(P), dict(labels)["outcome"]): count
        for (name, labels), count in samples.items()
        if name == "ctmcp_tool_calls_total"
    }
    assert calls == {
        ("create_customer_groups", "201"): 1,
        ("list_customer_groups", "503"): 1,
        ("get_customer_groups_by_key", "404"): 1,
        ("get_customer_groups_by_key", "invalid"): 1,
        ("list_customers", "auth"): 1,
        ("unknown", "unknown"): 1,
        ("update_customer_groups_by_key", "200"): 1,
        ("list_customers", "forbidden"): 1,
    }
    assert value(samples, "ctmcp_tool_duration_seconds_count", tool=P + "list_customers") == 2
    slow_bucket = value(
        samples, "ctmcp_tool_duration_seconds_bucket", tool=P + "update_customer_groups_by_key", le="0.5"
    )
    assert slow_bucket == 0  # the 600 ms call is not in the 0.5 s bucket
    upstream = {
        dict(labels)["status"]: n for (name, labels), n in samples.items() if name == "ctmcp_upstream_requests_total"
    }
    assert upstream == {"201": 1, "503": 4, "404": 1, "200": 1}  # the 503 was tried 1 + max_retries (3) times
    assert value(samples, "ctmcp_upstream_retries_total", reason="503") == 3
    assert value(samples, "ctmcp_token_fetches_total", outcome="ok") == 1
    assert value(samples, "ctmcp_token_fetches_total", outcome="refused") == 1
    assert not any(key[0].startswith("ctmcp_audit") and key[0].endswith("_total") for key in samples)


def test_label_values_are_bounded() -> None:
    metrics = Metrics()
    for weird in ("x" * 100, "Has Spaces", 7, 1000, True, None):
        metrics.event("request", weird)  # type: ignore[arg-type]
    samples = parse(metrics.exposition()[0].decode())
    assert value(samples, "ctmcp_upstream_requests_total", status="other") == 6
    assert value(samples, "ctmcp_upstream_requests_total", status="1000") == 0


def test_a_prometheus_client_without_the_internals_multiprocess_mode_needs_is_refused(monkeypatch: Any) -> None:
    """The multiprocess switch goes through prometheus-client internals that pyproject.toml bounds; without
    them, making metrics fails at once, saying which, rather than in a metric's first update."""
    from prometheus_client import values

    monkeypatch.delattr(values, "MultiProcessValue")
    with pytest.raises(RuntimeError, match=r"prometheus-client .* values.MultiProcessValue"):
        Metrics()


def test_every_call_outcome_is_a_label_as_it_is() -> None:
    metrics = Metrics()
    for outcome in Outcome:
        metrics.call_finished(CallRecord("x", "cid", None, outcome=outcome))
    samples = parse(metrics.exposition()[0].decode())
    for outcome in Outcome:
        assert value(samples, "ctmcp_tool_calls_total", tool="unknown", outcome=str(outcome)) == 1, outcome


# --- the command line: `serve --transport http`, alone and as several processes ----------------------------


@contextlib.asynccontextmanager
async def served(*extra: str, env: dict[str, str]) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    argv = [sys.executable, "-m", "commercetools_customers_mcp", "serve", "--transport", "http", "--port", str(port)]
    proc = subprocess.Popen([*argv, "--data", ":memory:", "--no-demo", *extra], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx2.AsyncClient() as http:
            for _ in range(300):
                with contextlib.suppress(httpx2.TransportError):
                    if (await http.get(base + "/healthz")).status_code == 200:
                        break
                assert proc.poll() is None, "the server exited"
                await asyncio.sleep(0.05)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def scrape(base: str, key: str) -> Samples:
    async with httpx2.AsyncClient() as http:
        answer = await http.get(base + "/metrics", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    return parse(answer.text)


async def test_serve_http_with_metrics_audit_and_shared_multiprocess_dir(tmp_path: Path) -> None:
    """Two `serve` processes sharing one PROMETHEUS_MULTIPROC_DIR (as --workers processes do): a scrape of either
    shows the calls of both; both append whole lines to one audit file; /metrics needs the key."""
    key = "metrics-key-Y2u4i6"
    shared = tmp_path / "prometheus"
    shared.mkdir()
    audit = tmp_path / "audit.jsonl"
    env = {**os.environ, "MCP_API_KEY": key, "MCP_AUDIT_LOG": str(audit), "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    for name in ("CTP_PROJECT_KEY", "CTP_CONNECTIONS_FILE", "MCP_API_KEYS_FILE"):
        env.pop(name, None)
    async with asyncio.timeout(90), served(env=env) as (one, first), served(env=env) as (two, _):
        async with httpx2.AsyncClient() as http:
            assert (await http.get(one + "/metrics")).status_code == 401
            assert (await http.get(two + "/healthz")).status_code == 200
        for base, group in ((one, "first"), (two, "second"), (two, "third")):
            async with with_key(base + "/mcp", key) as client:
                assert not (await client.call_tool(P + "create_customer_groups", {"groupName": group})).is_error
        samples = await scrape(one, key)
        assert value(samples, "ctmcp_tool_calls_total", tool=P + "create_customer_groups", outcome="201") == 3
        assert value(samples, "ctmcp_upstream_requests_total", status="201") == 3
        assert value(samples, "ctmcp_token_fetches_total", outcome="ok") == 2  # one per process
        assert value(samples, "ctmcp_audit_writes_total", outcome="ok") == 3
        assert value(samples, "ctmcp_calls_in_flight") == 0
        first_pid = first.pid
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(line["who"], line["status"]) for line in lines] == [("env", 201)] * 3
    assert {f.name.split("_")[-1] for f in shared.iterdir()} >= {f"{first_pid}.db"}


MULTIPROCESS = textwrap.dedent(
    """
    import json, os, sys
    import prometheus_client  # imported first on purpose: prepare_multiprocess must still switch the mode
    from commercetools_customers_mcp.serving import metrics
    from commercetools_customers_mcp.core.catalog.tools import BY_NAME
    from commercetools_customers_mcp.core.calls import CallRecord
    from prometheus_client.parser import text_string_to_metric_families

    def scrape():
        text = metrics.Metrics().exposition()[0].decode()
        return {s.name + json.dumps(s.labels, sort_keys=True): s.value
                for f in text_string_to_metric_families(text) for s in f.samples}

    tool = BY_NAME["commercetools_customers_list_customers"]
    with metrics.multiprocess_mode() as folder:
        workers = []
        for n in (1, 2):
            pid = os.fork()
            if pid == 0:  # a worker: its own Metrics, as each --workers process builds its own server
                m = metrics.Metrics()
                for _ in range(n):
                    m.call_started(tool.name)
                    m.call_finished(CallRecord(tool.name, "c", None, tool, "eu", 200, 1.0))
                    m.event("request", 200)
                m.call_started(tool.name)  # still in flight when the worker dies
                os._exit(0)
            workers.append(pid)
        for pid in workers:
            os.waitpid(pid, 0)
        before = scrape()
        for pid in workers:
            metrics.mark_process_dead(pid, folder)
        after = scrape()
    print(json.dumps({"before": before, "after": after, "folder": folder, "left": os.path.exists(folder)}))
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_multiprocess_hooks_sum_workers_and_forget_dead_ones(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    done = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    calls = 'ctmcp_tool_calls_total{"outcome": "200", "tool": "commercetools_customers_list_customers"}'
    for scrape in (result["before"], result["after"]):
        assert scrape[calls] == 3  # 1 + 2 calls, from two processes
        assert scrape['ctmcp_upstream_requests_total{"status": "200"}'] == 3
    assert result["before"]["ctmcp_calls_in_flight{}"] == 2  # one left in flight by each worker
    assert result["after"]["ctmcp_calls_in_flight{}"] == 0  # dead workers no longer count
    assert not result["left"]  # the temporary directory is removed


async def test_discovery_tools_are_labelled_and_call_tool_counts_as_the_tool_it_runs(tmp_path: Path) -> None:
    from mcp import Client

    from commercetools_customers_mcp.serving.audit import AuditLog

    metrics = Metrics()
    audit = AuditLog(tmp_path / "audit.jsonl")
    client = CommercetoolsClient(
        project_connection("emulator", "demo"),
        transport=httpx2.ASGITransport(app=create_app(":memory:", demo=False)),
        events=metrics.event,
    )
    server = build_server({"emulator": client}, discovery=True, observers=[metrics, audit])
    async with asyncio.timeout(30), Client(server) as mcp:
        await mcp.call_tool(P + "find_tools", {"query": "customer group"})
        await mcp.call_tool(P + "describe_tool", {"name": P + "create_customer_groups"})
        ran = await mcp.call_tool(
            P + "call_tool", {"name": P + "create_customer_groups", "arguments": {"groupName": "D", "key": "dd"}}
        )
        assert not ran.is_error
    await client.aclose()
    audit.close()
    samples = parse(metrics.exposition()[0].decode())
    calls = {dict(labels)["tool"]: n for (name, labels), n in samples.items() if name == "ctmcp_tool_calls_total"}
    assert calls == {P + "find_tools": 1, P + "describe_tool": 1, P + "create_customer_groups": 1}
    [line] = [json.loads(text) for text in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert (line["tool"], line["key"], line["status"]) == (P + "create_customer_groups", "dd", 201)


async def test_who_may_read_metrics_is_a_setting() -> None:
    """/metrics counts every tenant's calls: a key limited to some connections may not read it unless named
    (issue #18 item 5); a key for every connection may, unless readers are named and it is not one of them."""
    emulator = httpx2.ASGITransport(app=create_app(":memory:", clients=emulator_clients("alpha")))
    clients = {"eu": CommercetoolsClient(project_connection("eu", "alpha"), transport=emulator)}
    server = build_server(clients)
    statuses = {}
    for readers in (frozenset(), frozenset({"alice"})):
        metrics = Metrics()
        app = http_app(server, connection_ids=["eu"], keys=keyring(), metrics=metrics, metrics_readers=readers)
        async with asyncio.timeout(30), serving(app) as base, httpx2.AsyncClient(base_url=base) as http:
            for name, key in (("alice", ALICE), ("root", ROOT)):
                statuses[(readers, name)] = (await http.get("/metrics", headers={"Authorization": f"Bearer {key}"}))
    await clients["eu"].aclose()
    assert statuses[(frozenset(), "alice")].status_code == 403
    assert "may not read /metrics" in statuses[(frozenset(), "alice")].json()["message"]
    assert statuses[(frozenset(), "root")].status_code == 200
    assert statuses[(frozenset({"alice"}), "alice")].status_code == 200
    assert statuses[(frozenset({"alice"}), "root")].status_code == 403

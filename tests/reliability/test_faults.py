"""A faulty network and API between the real client and the real emulator: nothing lost, nothing doubled.

The emulator runs in process behind its fault injector (``create_app(faults=...)``); the real
``CommercetoolsClient`` talks to it through ``httpx2.ASGITransport`` with its real retry policy and a no-op
sleep. A seeded workload of creates, gets, queries, versioned updates and deletes on customers and customer
groups runs with 20 % of API requests faulted (errors before the handler, dropped connections, lost
responses after the write committed). After the run the stored data is compared with what the client was told.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

from commercetools_customers_mcp.emulator import Faults, create_app
from commercetools_customers_mcp.emulator.faults import AFTER_KINDS, BEFORE_KINDS, ConnectionDropped, FaultSpecError
from commercetools_customers_mcp.upstream.client import ApiConnectionError, ApiResponse, CommercetoolsClient
from commercetools_customers_mcp.upstream.connections import Connection
from mcp_helpers import project_connection

PROJECT = "rel"
# 20 % of API requests: 11 % answered with an error before the handler, 4 % dropped before it,
# 5 % whose write is applied but whose response is lost (502 or a dropped connection).
SPEC = "503:0.05,502:0.02,429:0.03,504:0.01,drop:0.04,after:0.03,after-drop:0.02,latency:0-1ms"
RETRY_STATUSES = {429, 502, 503, 504}


def connection(max_retries: int = 10) -> Connection:
    return project_connection("reliability", PROJECT, max_retries=max_retries, max_retry_time=3600.0)


class NoSleep:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, seconds: float) -> None:
        self.calls += 1


# ---------------------------------------------------------------- the fault spec and each fault kind


def test_spec_round_trips_and_rejects_nonsense() -> None:
    for text in (SPEC, "503:0.2@POST|DELETE /customer-groups,seed:3,retry-after:0.5", "drop:0.1@/oauth/"):
        assert str(Faults.parse(str(Faults.parse(text)))) == str(Faults.parse(text))
    assert Faults.parse("off").rules == [] and str(Faults.parse("")) == "off"
    bad_specs = (
        "x:1",
        "503",
        "503:2",
        "503:0.6,502:0.6",
        "latency:5",
        "latency:9-1ms",
        "503:0.1@",
        "503:0.1@(",
        "seed:x",
    )
    for bad in bad_specs:
        with pytest.raises(FaultSpecError):
            Faults.parse(bad)


def test_scopes_pick_methods_and_paths_and_spare_oauth_by_default() -> None:
    faults = Faults.parse("503:1@POST /customer-groups$")
    assert faults.choose("POST", f"/{PROJECT}/customer-groups") == (0.0, "503")
    assert faults.choose("GET", f"/{PROJECT}/customer-groups") == (0.0, None)
    assert faults.choose("POST", f"/{PROJECT}/customer-groups/x") == (0.0, None)
    everywhere = Faults.parse("drop:1")
    assert everywhere.choose("GET", "/x/customers")[1] == "drop"
    assert everywhere.choose("POST", "/oauth/token")[1] is None
    assert Faults.parse("drop:1@/oauth/").choose("POST", "/oauth/token")[1] == "drop"


def test_same_seed_same_faults() -> None:
    def draws(seed: int) -> list[str | None]:
        faults = Faults.parse(f"{SPEC},seed:{seed}")
        return [faults.choose("GET", "/p/customers")[1] for _ in range(500)]

    assert draws(1) == draws(1) != draws(2)
    share = sum(kind is not None for kind in draws(1)) / 500
    assert 0.14 < share < 0.26


async def _token(http: httpx2.AsyncClient) -> dict[str, str]:
    r = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("a", "b"))
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.mark.parametrize(
    ("spec", "status", "applied"),
    [("503:1", 503, False), ("429:1", 429, False), ("504:1", 504, False), ("after:1", 502, True)],
)
async def test_each_status_fault_in_process(spec: str, status: int, applied: bool) -> None:
    faults = Faults.parse(spec + ",retry-after:2")
    app = create_app(":memory:", demo=False, project=PROJECT, faults=faults)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://e") as http:
        headers = await _token(http)
        r = await http.post(f"/{PROJECT}/customer-groups", json={"groupName": "G"}, headers=headers)
    body = r.json()
    assert r.status_code == status and body["statusCode"] == status and body["errors"][0]["code"]
    assert r.headers["x-fault-injected"] == spec.split(":")[0]
    assert (r.headers.get("retry-after") == "2") is (status == 429)
    assert app.state.emulator.store.count(PROJECT, "customer-group") == int(applied)
    assert faults.injected == 1 and faults.log[-1].kind == spec.split(":")[0]


@pytest.mark.parametrize(("spec", "applied"), [("drop:1", False), ("after-drop:1", True)])
async def test_dropped_connection_in_process_is_a_transport_error(spec: str, applied: bool) -> None:
    app = create_app(":memory:", demo=False, project=PROJECT, faults=Faults.parse(spec))
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://e") as http:
        headers = await _token(http)
        with pytest.raises(httpx2.RemoteProtocolError) as caught:
            await http.post(f"/{PROJECT}/customer-groups", json={"groupName": "G"}, headers=headers)
    assert isinstance(caught.value, ConnectionDropped)
    assert app.state.emulator.store.count(PROJECT, "customer-group") == int(applied)


async def test_no_faults_means_no_middleware() -> None:
    app = create_app(":memory:", demo=False, project=PROJECT, faults=Faults.parse("off"))
    assert app.state.faults is not None and app.middleware == ()
    assert create_app(":memory:", demo=False, project=PROJECT).state.faults is None


# ---------------------------------------------------------------- the workload


@dataclass
class Entity:
    kind: str  # "customer-groups" | "customers"
    key: str
    id: str = ""
    version: int = 0
    value: str = ""  # the group's name / the customer's firstName
    alive: bool = True
    acknowledged: bool = False  # the client was told 201


@dataclass
class Figures:
    calls: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"calls": dict(self.calls), "outcomes": dict(self.outcomes)}


class Workload:
    """Random operations through the real client; a model of what the client was told; checks on the way."""

    def __init__(self, client: CommercetoolsClient, faults: Faults, rng: random.Random, prefix: str) -> None:
        self.client = client
        self.faults = faults
        self.rng = rng
        self.prefix = prefix
        self.entities: list[Entity] = []
        self.figures = Figures()
        self.serial = 0

    async def call(self, op: str, method: str, path: str, **kwargs: Any) -> ApiResponse:
        self.figures.calls[op] += 1
        self.figures.calls["total"] += 1
        return await self.client.request(method, path, **kwargs)

    def injected(self, correlation_id: str) -> list[str]:
        return [i.kind for i in self.faults.log if i.correlation_id == correlation_id]

    def last_attempt(self, correlation_id: str, attempts: int) -> list[str]:
        """The faults of a create's last attempt; every earlier attempt must have met a 429 (nothing applied,
        so the only fault after which a create is sent again)."""
        faults = self.injected(correlation_id)
        assert faults[: attempts - 1] == ["429"] * (attempts - 1), f"a create was sent again after {faults}"
        return faults[attempts - 1 :]

    async def read(self, entity: Entity, *, by_key: bool = False) -> dict[str, Any] | None:
        """GET the entity (retried by the client); None for 404. Reads must always be answered."""
        ident = {"key": entity.key} if by_key or not entity.id else {"id": entity.id}
        template = f"/{{projectKey}}/{entity.kind}/" + ("key={key}" if "key" in ident else "{id}")
        r = await self.call("get", "GET", template, path_params=ident)
        assert r.status in (200, 404), (r.status, r.body)
        return r.body if r.status == 200 else None

    async def create(self, kind: str) -> None:
        self.serial += 1
        key = f"{self.prefix}-{kind[:5]}-{self.serial}"
        value = "v1"
        if kind == "customer-groups":
            draft = {"groupName": f"{key} {value}", "key": key}
        else:
            draft = {"email": f"{key}@example.com", "key": key, "firstName": value}
            draft |= {"password": "pw"} if self.serial % 2 else {"authenticationMode": "ExternalAuth"}
        entity = Entity(kind, key, value=value)
        self.entities.append(entity)
        try:
            r = await self.call("create", "POST", f"/{{projectKey}}/{kind}", json=draft)
        except ApiConnectionError as exc:  # a dropped connection: never retried, and the client says why
            assert exc.may_have_applied and "may have been applied" in str(exc), str(exc)
            faults, failed = self.last_attempt(exc.correlation_id, exc.attempts), "create-transport-error"
        else:
            faults = self.last_attempt(r.correlation_id, r.attempts)
            if r.status == 201:
                doc = r.body["customer"] if kind == "customers" else r.body
                entity.id, entity.version, entity.acknowledged = doc["id"], doc["version"], True
                assert faults == [] and doc["key"] == key and doc["version"] == 1
                self.figures.outcomes["create-acknowledged"] += 1
                return
            assert r.status in RETRY_STATUSES, (r.status, r.body)  # 400 DuplicateField would mean a double write
            failed = f"create-{r.status}"
        # Failed as far as the client knows: exactly the faults that hit *after* the handler applied it.
        assert len(faults) == 1, faults
        self.figures.outcomes[failed] += 1
        found = await self.read(entity, by_key=True)
        if faults[0] in AFTER_KINDS:
            assert found is not None and found["version"] == 1, f"lost-response create {key} not applied"
            entity.id, entity.version = found["id"], 1
            self.figures.outcomes["create-failed-but-applied"] += 1
        else:
            assert faults[0] in BEFORE_KINDS and found is None, f"rejected create {key} was applied"
            entity.alive = False
            self.figures.outcomes["create-failed-not-applied"] += 1

    def pick(self) -> Entity | None:
        alive = [e for e in self.entities if e.alive]
        return self.rng.choice(alive) if alive else None

    def check_doc(self, entity: Entity, doc: dict[str, Any]) -> None:
        assert (doc["id"], doc["key"], doc["version"]) == (entity.id, entity.key, entity.version), (doc, entity)
        if entity.kind == "customer-groups":
            assert doc["name"] == f"{entity.key} {entity.value}"
        else:
            assert doc["firstName"] == entity.value

    async def get(self) -> None:
        entity = self.rng.choice(self.entities) if self.entities else None
        if entity is None:
            return
        doc = await self.read(entity, by_key=self.rng.random() < 0.5)
        if entity.alive:
            assert doc is not None, f"{entity.key} is missing"
            self.check_doc(entity, doc)
        else:
            assert doc is None, f"{entity.key} should not exist"

    async def query(self) -> None:
        sample = self.rng.sample(self.entities, min(len(self.entities), 6))
        kind = self.rng.choice(["customer-groups", "customers"])
        sample = [e for e in sample if e.kind == kind]
        if not sample:
            return
        keys = ", ".join(f'"{e.key}"' for e in sample)
        r = await self.call("query", "GET", f"/{{projectKey}}/{kind}", params=[("where", f"key in ({keys})")])
        assert r.status == 200, (r.status, r.body)
        got = {doc["key"]: doc for doc in r.body["results"]}
        assert set(got) == {e.key for e in sample if e.alive}
        for entity in sample:
            if entity.alive:
                self.check_doc(entity, got[entity.key])

    async def update(self) -> None:
        entity = self.pick()
        if entity is None:
            return
        value = f"v{entity.version + 1}"
        if entity.kind == "customer-groups":
            action = {"action": "changeName", "name": f"{entity.key} {value}"}
        else:
            action = {"action": "setFirstName", "firstName": value}
        body = {"version": entity.version, "actions": [action]}
        path = f"/{{projectKey}}/{entity.kind}/{{id}}"
        # idempotent=True: what the MCP layer passes for a version-carrying update (a repeat comes back as 409).
        r = await self.call("update", "POST", path, path_params={"id": entity.id}, json=body, idempotent=True)
        faults = self.injected(r.correlation_id)
        if r.status == 200:
            entity.version, entity.value = entity.version + 1, value
            self.check_doc(entity, r.body)
            self.figures.outcomes["update-acknowledged"] += 1
            return
        # A retry after a lost response meets its own earlier write: 409 with the version it produced.
        assert r.status == 409 and r.attempts > 1 and any(f in AFTER_KINDS for f in faults), (r.status, faults)
        assert r.body["errors"][0]["currentVersion"] == entity.version + 1
        entity.version, entity.value = entity.version + 1, value
        self.check_doc(entity, await self.read(entity))
        self.figures.outcomes["update-409-after-lost-response"] += 1

    async def delete(self) -> None:
        entity = self.pick()
        if entity is None:
            return
        path = f"/{{projectKey}}/{entity.kind}/{{id}}"
        r = await self.call(
            "delete", "DELETE", path, path_params={"id": entity.id}, params=[("version", str(entity.version))]
        )
        faults = self.injected(r.correlation_id)
        entity.alive = False
        if r.status == 200:
            self.figures.outcomes["delete-acknowledged"] += 1
            return
        # The retry of a delete whose response was lost finds nothing to delete.
        assert r.status == 404 and r.attempts > 1 and any(f in AFTER_KINDS for f in faults), (r.status, faults)
        assert await self.read(entity) is None
        self.figures.outcomes["delete-404-after-lost-response"] += 1

    async def run(self, operations: int) -> None:
        ops = [self.create, self.get, self.query, self.update, self.delete]
        weights = [28, 24, 12, 26, 10]
        for _ in range(operations):
            op = self.rng.choices(ops, weights)[0]
            if op == self.create:
                await self.create(self.rng.choice(["customer-groups", "customers"]))
            else:
                await op()


def verify_final_state(app: Any, entities: list[Entity]) -> dict[str, int]:
    """The stored data against what the clients were told: every acknowledged write there, nothing extra."""
    store = app.state.emulator.store
    stored = {
        kind: store.find(PROJECT, type_id)
        for kind, type_id in (("customer-groups", "customer-group"), ("customers", "customer"))
    }
    by_key = {kind: Counter(d["key"] for d in docs) for kind, docs in stored.items()}
    for kind, counts in by_key.items():
        assert all(n == 1 for n in counts.values()), f"{kind} stored twice: {counts.most_common(3)}"
    emails = Counter(d["lowercaseEmail"] for d in stored["customers"])
    assert all(n == 1 for n in emails.values())
    names = Counter(d["name"] for d in stored["customer-groups"])
    assert all(n == 1 for n in names.values())
    docs = {(kind, d["key"]): d for kind, ds in stored.items() for d in ds}
    found = 0
    for e in entities:
        doc = docs.pop((e.kind, e.key), None)
        if not e.alive:
            assert doc is None, f"{e.key} was deleted or never applied, but is stored"
            continue
        assert doc is not None, f"{e.key} was written but is not stored"
        assert (doc["id"], doc["version"]) == (e.id, e.version)
        assert doc["name"] == f"{e.key} {e.value}" if e.kind == "customer-groups" else doc["firstName"] == e.value
        found += e.acknowledged
    assert docs == {}, f"stored but never written by the workload: {list(docs)[:5]}"
    return {
        "acknowledged_creates": sum(e.acknowledged for e in entities),
        "acknowledged_creates_still_alive_and_found": found,
        "stored_at_end": sum(len(d) for d in stored.values()),
    }


async def run_workload(operations: int, workers: int, seed: int) -> dict[str, Any]:
    faults = Faults.parse(f"{SPEC},seed:{seed}")
    app = create_app(":memory:", demo=False, project=PROJECT, faults=faults)
    sleep = NoSleep()
    client = CommercetoolsClient(connection(), transport=httpx2.ASGITransport(app=app), sleep=sleep)
    rng = random.Random(seed)
    loads = [Workload(client, faults, random.Random(rng.random()), f"w{i}") for i in range(workers)]
    try:
        await asyncio.wait_for(asyncio.gather(*(w.run(operations // workers) for w in loads)), timeout=60)
    finally:
        await client.aclose()
    final = verify_final_state(app, [e for w in loads for e in w.entities])
    calls: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for w in loads:
        calls.update(w.figures.calls)
        outcomes.update(w.figures.outcomes)
    api_requests = faults.stats["requests"] - 1  # minus the one token request
    injected = {k: v for k, v in faults.stats.items() if k not in ("requests", "latency")}
    figures = {
        "spec": str(faults),
        "client_calls": dict(calls),
        "api_requests": api_requests,
        "faults_injected": injected,
        "faults_total": faults.injected,
        "fault_rate": round(faults.injected / api_requests, 3),
        "retry_sleeps": sleep.calls,
        "outcomes": dict(outcomes),
        **final,
    }
    print(f"\nFIGURES workers={workers} seed={seed}: {figures}")
    return figures


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 2024])
async def test_sequential_workload_loses_and_doubles_nothing(seed: int) -> None:
    figures = await run_workload(operations=700, workers=1, seed=seed)
    assert figures["client_calls"]["total"] >= 500
    assert 0.15 < figures["fault_rate"] < 0.25
    assert set(figures["faults_injected"]) == {"503", "502", "429", "504", "drop", "after", "after-drop"}
    assert figures["outcomes"].get("create-failed-but-applied", 0) > 0
    assert figures["outcomes"].get("update-409-after-lost-response", 0) > 0


@pytest.mark.slow
async def test_concurrent_workload_loses_and_doubles_nothing() -> None:
    figures = await run_workload(operations=800, workers=8, seed=11)
    assert figures["client_calls"]["total"] >= 500
    assert 0.15 < figures["fault_rate"] < 0.25

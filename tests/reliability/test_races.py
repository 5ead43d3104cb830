"""Races: many writers at the same version or with the same unique value, exactly one wins.

Three ways to race: in process through ``httpx2.ASGITransport`` with the real client (``asyncio.gather``);
against a real uvicorn server on loopback with 32 concurrent httpx2 requests; and against two emulator
processes sharing one SQLite file (the store's ``BEGIN IMMEDIATE`` transactions serialise them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn

from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import free_port, project_connection

from .test_crash import EmulatorProcess

PROJECT = "race"
N = 32


async def token(http: httpx2.AsyncClient, base: str) -> dict[str, str]:
    r = await http.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=("race", "race"))
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


class Target:
    """Where the racing requests go: one or more base URLs (requests alternate between them)."""

    def __init__(self, http: httpx2.AsyncClient, bases: list[str], headers: dict[str, str]) -> None:
        self.http = http
        self.bases = bases
        self.headers = headers

    async def request(self, i: int, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        url = f"{self.bases[i % len(self.bases)]}/{PROJECT}{path}"
        return await self.http.request(method, url, headers=self.headers, **kwargs)


def codes(responses: list[httpx2.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


async def race_update(target: Target, kind: str) -> dict[str, int]:
    draft = (
        {"groupName": "Racers", "key": "racers"}
        if kind == "customer-groups"
        else {"email": "racer@example.com", "key": "racer", "authenticationMode": "ExternalAuth"}
    )
    created = await target.request(0, "POST", f"/{kind}", json=draft)
    assert created.status_code == 201, created.text
    doc = created.json().get("customer", created.json())

    def action(i: int) -> dict[str, Any]:
        if kind == "customer-groups":
            return {"action": "changeName", "name": f"Racers {i}"}
        return {"action": "setFirstName", "firstName": f"racer {i}"}

    responses = await asyncio.gather(
        *(
            target.request(i, "POST", f"/{kind}/{doc['id']}", json={"version": 1, "actions": [action(i)]})
            for i in range(N)
        )
    )
    assert codes(responses) == {200: 1, 409: N - 1}, codes(responses)
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert winner["version"] == 2
    for r in responses:
        if r.status_code == 409:
            error = r.json()["errors"][0]
            assert (error["code"], error["currentVersion"]) == ("ConcurrentModification", 2)
    stored = (await target.request(0, "GET", f"/{kind}/{doc['id']}")).json()
    assert stored["version"] == 2 and stored == winner
    return dict(codes(responses))


async def race_delete(target: Target) -> dict[str, int]:
    created = await target.request(0, "POST", "/customer-groups", json={"groupName": "Doomed"})
    doc = created.json()
    responses = await asyncio.gather(
        *(target.request(i, "DELETE", f"/customer-groups/{doc['id']}", params={"version": 1}) for i in range(N))
    )
    # One delete wins; the others find it gone (404) — never a second 200.
    assert codes(responses)[200] == 1 and set(codes(responses)) <= {200, 404}, codes(responses)
    assert (await target.request(0, "GET", f"/customer-groups/{doc['id']}")).status_code == 404
    return dict(codes(responses))


async def race_create(target: Target, kind: str) -> dict[str, int]:
    def draft(i: int) -> dict[str, Any]:
        if kind == "customer-groups":
            return {"groupName": "Same Name", "key": f"same-name-{i}"}
        # One email, spelled in different cases: emails are unique case-insensitively.
        email = "Same@Example.com" if i % 2 else "same@example.COM"
        return {"email": email, "key": f"same-email-{i}", "authenticationMode": "ExternalAuth"}

    responses = await asyncio.gather(*(target.request(i, "POST", f"/{kind}", json=draft(i)) for i in range(N)))
    assert codes(responses) == {201: 1, 400: N - 1}, codes(responses)
    for r in responses:
        if r.status_code == 400:
            assert r.json()["errors"][0]["code"] == "DuplicateField", r.text
    keys = ", ".join(f'"{draft(i)["key"]}"' for i in range(N))
    listed = await target.request(0, "GET", f"/{kind}", params={"where": f"key in ({keys})", "limit": 500})
    assert listed.status_code == 200 and listed.json()["count"] == 1, listed.text
    return dict(codes(responses))


async def run_all(target: Target) -> dict[str, dict[str, int]]:
    return {
        "update customer-group": await race_update(target, "customer-groups"),
        "update customer": await race_update(target, "customers"),
        "delete customer-group": await race_delete(target),
        "create same group name": await race_create(target, "customer-groups"),
        "create same email": await race_create(target, "customers"),
    }


# ---------------------------------------------------------------- in process, through the real client


async def test_in_process_through_the_real_client() -> None:
    app = create_app(":memory:", demo=False, project=PROJECT)
    client = CommercetoolsClient(project_connection("race", PROJECT), transport=httpx2.ASGITransport(app=app))
    try:
        r = await client.request("POST", "/{projectKey}/customer-groups", json={"groupName": "G", "key": "g-1"})
        assert r.status == 201, r.body
        group = r.body
        responses = await asyncio.gather(
            *(
                client.request(
                    "POST",
                    "/{projectKey}/customer-groups/{id}",
                    path_params={"id": group["id"]},
                    json={"version": 1, "actions": [{"action": "changeName", "name": f"G{i}"}]},
                    idempotent=True,
                )
                for i in range(N)
            )
        )
        statuses = Counter(r.status for r in responses)
        assert statuses == {200: 1, 409: N - 1}, statuses
        assert all(r.attempts == 1 for r in responses)  # a 409 is an answer, never retried
        assert {r.body["errors"][0]["currentVersion"] for r in responses if r.status == 409} == {2}

        creates = await asyncio.gather(
            *(
                client.request(
                    "POST",
                    "/{projectKey}/customers",
                    json={"email": "Dup@example.com", "key": f"dup-{i}", "authenticationMode": "ExternalAuth"},
                )
                for i in range(N)
            )
        )
        assert Counter(r.status for r in creates) == {201: 1, 400: N - 1}
        assert (
            app.state.emulator.store.count(
                PROJECT, "customer", "json_extract(doc, '$.lowercaseEmail') = ?", ["dup@example.com"]
            )
            == 1
        )
    finally:
        await client.aclose()


async def test_in_process_all_races() -> None:
    app = create_app(":memory:", demo=False, project=PROJECT)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app)) as http:
        base = "http://emulator"
        results = await run_all(Target(http, [base], await token(http, base)))
    print(f"\nFIGURES races in-process: {results}")


# ---------------------------------------------------------------- a real server on loopback


@contextlib.asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def test_uvicorn_on_loopback_32_concurrent_requests() -> None:
    app = create_app(":memory:", demo=False, project=PROJECT)
    limits = httpx2.Limits(max_connections=N, max_keepalive_connections=N)
    async with served(app) as base, httpx2.AsyncClient(limits=limits, timeout=30) as http:
        results = await run_all(Target(http, [base], await token(http, base)))
    print(f"\nFIGURES races uvicorn: {results}")


# ---------------------------------------------------------------- two processes, one SQLite file


@pytest.fixture
def two_emulators(tmp_path: Path) -> Iterator[list[EmulatorProcess]]:
    client = f"race:race:manage_project:{PROJECT}"
    procs = [EmulatorProcess(tmp_path / "shared.sqlite3", tmp_path / f"emulator{i}.log", client) for i in range(2)]
    try:
        for proc in procs:
            proc.start()
        yield procs
    finally:
        for proc in procs:
            proc.stop()


@pytest.mark.slow
async def test_two_processes_sharing_one_file(two_emulators: list[EmulatorProcess]) -> None:
    bases = [f"http://127.0.0.1:{p.port}" for p in two_emulators]
    limits = httpx2.Limits(max_connections=N, max_keepalive_connections=N)
    async with httpx2.AsyncClient(limits=limits, timeout=30) as http:
        # A token issued by one process is stored in the shared file, so the other accepts it too.
        results = await run_all(Target(http, bases, await token(http, bases[0])))
    print(f"\nFIGURES races two processes: {results}")

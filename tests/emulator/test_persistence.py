"""The emulator on a data file: everything survives a restart, and demo data is seeded exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2

from commercetools_customers_mcp.emulator import create_app

DEMO = "demo"
MODIFIED = ("lastModifiedAt", "versionModifiedAt")  # the fields an update changes besides its own


@asynccontextmanager
async def running(path: Path, *, demo: bool, bearer: str | None = None) -> AsyncIterator[httpx2.AsyncClient]:
    """An app on ``path`` and a client for it; the store is closed afterwards, as on shutdown."""
    app = create_app(str(path), demo=demo)
    try:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://emulator") as client:
            if bearer is None:
                form = {"grant_type": "client_credentials", "scope": f"manage_project:{DEMO}"}
                bearer = (await client.post("/oauth/token", data=form, auth=("c", "s"))).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {bearer}"
            yield client
    finally:
        app.state.emulator.store.close()


async def total(client: httpx2.AsyncClient, endpoint: str, where: str | None = None) -> int:
    r = await client.get(f"/{DEMO}/{endpoint}", params={"where": where} if where else {})
    assert r.status_code == 200, r.text
    return r.json()["total"]


async def test_data_and_tokens_survive_a_restart_without_reseeding(tmp_path: Path):
    path = tmp_path / "data.sqlite"
    async with running(path, demo=False) as client:
        bearer = client.headers["Authorization"][7:]
        group = (await client.post(f"/{DEMO}/customer-groups", json={"groupName": "VIP", "key": "vip"})).json()
        draft = {"email": "Keep@Me.com", "password": "pw", "key": "keep", "customerGroup": {"key": "vip"}}
        customer = (await client.post(f"/{DEMO}/customers", json=draft)).json()["customer"]
        body = {"version": 1, "actions": [{"action": "setFirstName", "firstName": "Kim"}]}
        assert (await client.post(f"/{DEMO}/customers/key=keep", json=body)).status_code == 200

    async with running(path, demo=True, bearer=bearer) as client:  # the old token still works
        again = (await client.get(f"/{DEMO}/customers/key=keep")).json()
        assert again == {**customer, "version": 2, "firstName": "Kim", **{k: again[k] for k in MODIFIED}}
        assert again["customerGroup"]["id"] == group["id"]
        assert await total(client, "customers") == 1 and await total(client, "customer-groups") == 1
        # uniqueness is still enforced against what was stored before the restart
        r = await client.post(f"/{DEMO}/customers", json={"email": "keep@me.com", "password": "x"})
        assert r.json()["errors"][0]["code"] == "DuplicateField"


async def test_demo_seed_is_rich_and_happens_once(tmp_path: Path):
    path = tmp_path / "demo.sqlite"
    async with running(path, demo=True) as client:
        customers = await total(client, "customers")
        assert customers >= 50
        countries = {c: await total(client, "customers", f'addresses(country = "{c}")') for c in ("DE", "US", "GB")}
        assert all(n > 0 for n in countries.values()), countries
        assert await total(client, "customer-groups") >= 3
        assert await total(client, "customers", "customerGroupAssignments is not empty") > 0
        assert await total(client, "customers", "customerGroup is defined") > 0
        assert await total(client, "customers", 'stores(key = "de-store")') > 0
        assert await total(client, "customers", 'custom(fields(loyaltyTier = "gold"))') > 0
        first: Any = (await client.get(f"/{DEMO}/customers", params={"sort": "createdAt asc", "limit": 1})).json()
        r = await client.get(f"/{DEMO}/customers/{first['results'][0]['id']}", params={"expand": "customerGroup"})
        assert r.json()["customerGroup"]["obj"]["key"] == "vip"

    async with running(path, demo=True) as client:
        assert await total(client, "customers") == customers
        assert await total(client, "customer-groups") == 4 and await total(client, "stores") == 3
        again = (await client.get(f"/{DEMO}/customers", params={"sort": "createdAt asc", "limit": 1})).json()
        assert again["results"][0]["id"] == first["results"][0]["id"]

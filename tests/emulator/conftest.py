"""Fixtures for driving the real emulator over HTTP, in process (httpx2.ASGITransport, no socket)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from commercetools_customers_mcp.emulator import Clock, create_app, passwords

PROJECT = "test"

passwords.set_cost(2**4)  # hashing cost is not what these tests are about


class Api:
    """A thin test client: ``await api.post("/customers", json=...)`` against ``/{PROJECT}``."""

    def __init__(self, client: httpx2.AsyncClient, app: object, clock: Clock) -> None:
        self.http = client
        self.app = app
        self.clock = clock
        self.emulator = app.state.emulator  # type: ignore[attr-defined]
        self.project = PROJECT

    async def request(self, method: str, path: str, **kwargs: object) -> httpx2.Response:
        return await self.http.request(method, f"/{self.project}{path}", **kwargs)

    async def get(self, path: str, **kwargs: object) -> httpx2.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: object) -> httpx2.Response:
        return await self.request("POST", path, **kwargs)

    async def delete(self, path: str, **kwargs: object) -> httpx2.Response:
        return await self.request("DELETE", path, **kwargs)

    async def head(self, path: str, **kwargs: object) -> httpx2.Response:
        return await self.request("HEAD", path, **kwargs)

    async def create(self, endpoint: str, draft: dict) -> dict:
        """Create and return the resource (unwrapping the customer sign-in result)."""
        r = await self.post(f"/{endpoint}", json=draft)
        assert r.status_code == 201, r.text
        body = r.json()
        return body["customer"] if endpoint == "customers" else body


async def token(client: httpx2.AsyncClient, scope: str = f"manage_project:{PROJECT}") -> str:
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": scope}, auth=("c", "s"))
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    clock = Clock()
    app = create_app(":memory:", demo=False, clock=clock)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://emulator") as client:
        client.headers["Authorization"] = f"Bearer {await token(client)}"
        yield Api(client, app, clock)

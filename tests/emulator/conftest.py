"""Fixtures for driving the real emulator over HTTP, in process (httpx2.ASGITransport, no socket)."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
import uvicorn
from commercetools.platform import Client

from commercetools_customers_mcp.emulator import Clock, Emulator, create_app
from mcp_helpers import free_port

PROJECT = "test"
SDK_PROJECT = "sdk-test"


class Api:
    """A thin test client: ``await api.post("/customers", json=...)`` against ``/{PROJECT}``."""

    def __init__(self, client: httpx2.AsyncClient, emulator: Emulator, clock: Clock) -> None:
        self.http = client
        self.clock = clock
        self.emulator = emulator
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
    app = create_app(":memory:", demo=False, clock=clock, project=PROJECT)  # any client: manage_project:test
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://emulator") as client:
        client.headers["Authorization"] = f"Bearer {await token(client)}"
        yield Api(client, app.state.emulator, clock)


# ---------------------------------------------------------------- the official SDK over a real socket


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """One server for every SDK test module: the SDK caches its token per thread, not per server."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(":memory:", demo=False, project=SDK_PROJECT), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the emulator did not start"
        time.sleep(0.02)
    yield url
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def project(base_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    client = Client(
        client_id="sdk",
        client_secret="sdk-secret",
        scope=[f"manage_project:{SDK_PROJECT}"],
        url=base_url,
        token_url=f"{base_url}/oauth/token",
    )
    return client.with_project_key(SDK_PROJECT)

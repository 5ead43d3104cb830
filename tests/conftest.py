"""Shared fixtures: the real emulator in process, reached by the real client, behind the MCP server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import pytest
import uvicorn
from mcp.server import Server

from commercetools_customers_mcp.client import CommercetoolsClient
from commercetools_customers_mcp.config import Connection
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.server import build_server


def emulator_connection(pcid: str = "emulator") -> Connection:
    return Connection(
        id=pcid,
        project_key="demo",
        client_id="emulator",
        client_secret="emulator",
        auth_url="http://emulator",
        api_url="http://emulator",
        scopes=["manage_project:demo"],
    )


@pytest.fixture
def make_connection() -> Callable[[str], Connection]:
    return emulator_connection


@pytest.fixture
def emulator_app() -> Any:
    return create_app(":memory:", demo=False)


@pytest.fixture
async def ct_client(emulator_app: Any) -> AsyncIterator[CommercetoolsClient]:
    client = CommercetoolsClient(emulator_connection(), transport=httpx2.ASGITransport(app=emulator_app))
    yield client
    await client.aclose()


@pytest.fixture
def server(ct_client: CommercetoolsClient) -> Server[Any]:
    return build_server({"emulator": ct_client})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(app: Any, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        uv.should_exit = True
        await task


def project_connection(pcid: str, project: str, url: str = "http://emulator", **extra: Any) -> Connection:
    """A connection to one project of an emulator, with a token scoped to that project only."""
    fields: dict[str, Any] = {
        "id": pcid,
        "project_key": project,
        "client_id": "emulator",
        "client_secret": "emulator",
        "auth_url": url,
        "api_url": url,
        "scopes": [f"manage_project:{project}"],
        **extra,
    }
    return Connection.model_validate(fields)

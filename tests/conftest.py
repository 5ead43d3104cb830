"""Shared fixtures: the real emulator in process, reached by the real client, behind the MCP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import pytest
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

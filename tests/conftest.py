"""Shared fixtures: the real emulator in process, reached by the real client, behind the MCP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import pytest
from mcp.server import Server

from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from commercetools_customers_mcp.upstream.connections import Connection
from mcp_helpers import project_connection

DEMO = "demo"


@pytest.fixture
def make_connection() -> Callable[..., Connection]:
    """``make_connection(pcid="emulator", project="demo", url="http://emulator", **fields)``: a connection to an
    in-process emulator (``mcp_helpers.project_connection``, the one builder the tests use)."""

    def make(pcid: str = "emulator", project: str = DEMO, url: str = "http://emulator", **extra: Any) -> Connection:
        return project_connection(pcid, project, url, **extra)

    return make


@pytest.fixture
def emulator_app() -> Any:
    return create_app(":memory:", demo=False)


@pytest.fixture
async def api_client(emulator_app: Any) -> AsyncIterator[CommercetoolsClient]:
    client = CommercetoolsClient(project_connection("emulator", DEMO), transport=httpx2.ASGITransport(app=emulator_app))
    yield client
    await client.aclose()


@pytest.fixture
def server(api_client: CommercetoolsClient) -> Server[Any]:
    return build_server({"emulator": api_client})

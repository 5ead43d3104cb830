"""stdio as a subprocess, and streamable HTTP served by uvicorn on a free port."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import orjson
import pytest
import uvicorn
from mcp import Client, StdioServerParameters
from mcp.server import Server

from commercetools_customers_mcp.serving.transports import http_app
from mcp_helpers import SEED_COUNT, P

LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def base_url(server: Server[Any]) -> AsyncIterator[str]:
    port = _free_port()
    app = http_app(server, connection_ids=["emulator"])
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    await task


async def test_stdio_subprocess() -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "commercetools_customers_mcp", "serve", "--data", ":memory:", "--no-demo"]
    )
    async with Client(params, mode="legacy") as client:
        assert len((await client.list_tools()).tools) == SEED_COUNT
        created = await client.call_tool(P + "create_customer_groups", {"groupName": "Stdio"})
        assert not created.is_error and created.structured_content["name"] == "Stdio"


async def test_http_tools_list_without_initialize_json_and_sse(base_url: str) -> None:
    async with httpx2.AsyncClient() as http:
        plain = await http.post(base_url + "/mcp", json=LIST, headers={"Accept": "application/json"})
        assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/json")
        assert len(plain.json()["result"]["tools"]) == SEED_COUNT
        sse = await http.post(
            base_url + "/commercetools-customers",
            json=LIST,
            headers={"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"},
        )
        assert sse.status_code == 200 and sse.headers["content-type"].startswith("text/event-stream")
        data = next(line[5:] for line in sse.text.splitlines() if line.startswith("data:"))
        assert len(orjson.loads(data)["result"]["tools"]) == SEED_COUNT
        assert "mcp-session-id" not in sse.headers
        health = await http.get(base_url + "/healthz")
        assert health.json() == {"status": "ok", "version": "0.1.0", "connections": ["emulator"]}
        rebinding = await http.post(
            base_url + "/mcp", json=LIST, headers={"Accept": "application/json", "Host": "evil.example.com"}
        )
        assert rebinding.status_code == 421


@pytest.mark.parametrize("path", ["/commercetools-customers", "/mcp"])
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_http_client_on_both_paths(base_url: str, path: str, mode: str) -> None:
    async with Client(base_url + path, mode=mode) as client:
        assert len((await client.list_tools()).tools) == SEED_COUNT
        missing = await client.call_tool(P + "get_customer_groups_by_key", {"key": "missing"})
        assert missing.is_error and missing.structured_content["statusCode"] == 404


def test_a_uvicorn_without_the_internal_serve_relies_on_stops_the_start(monkeypatch: Any, capsys: Any) -> None:
    """serve empties uvicorn's internal Server._captured_signals; pyproject.toml bounds uvicorn, and a release
    without that list is refused at start-up with a message, not met at the first SIGTERM."""
    from commercetools_customers_mcp.cli import main
    from commercetools_customers_mcp.serving.transports import check_uvicorn

    check_uvicorn()  # the uvicorn installed has it
    original = uvicorn.Server.__init__

    def without_internal(self: uvicorn.Server, config: uvicorn.Config) -> None:
        original(self, config)
        del self._captured_signals

    monkeypatch.setattr(uvicorn.Server, "__init__", without_internal)
    with pytest.raises(SystemExit) as info:
        main(["serve", "--transport", "http", "--data", ":memory:", "--port", str(_free_port())])
    assert info.value.code == 2
    assert f"uvicorn {uvicorn.__version__} keeps no Server._captured_signals" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_delete_asks_its_user_over_http(base_url: str, api_client: Any, mode: str) -> None:
    """Issue #20 over streamable HTTP: the sealed round trip (2026-07-28); a 2025-11-25 client cannot be asked here."""
    from mcp import types

    created = await api_client.request("POST", "/{projectKey}/customer-groups", json={"groupName": "VIP", "key": "vip"})
    assert created.status == 201
    seen: list[str] = []

    async def decline_then_accept(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        seen.append(params.message)
        if len(seen) == 1:
            return types.ElicitResult(action="decline")
        return types.ElicitResult(action="accept", content={"confirm": True})

    async with Client(base_url + "/mcp", mode=mode, elicitation_callback=decline_then_accept) as client:
        first = await client.call_tool(P + "delete_customer_groups_by_key", {"key": "vip", "version": 1})
        if mode == "legacy":  # stateless HTTP keeps no 2025-11-25 session: no capabilities, no way back
            assert not first.is_error and seen == []  # so under if-supported it runs unasked (docs/security.md)
            return
        accepted = await client.call_tool(P + "delete_customer_groups_by_key", {"key": "vip", "version": 1})
    assert first.is_error and "Nothing was deleted" in first.structured_content["message"]
    assert not accepted.is_error and accepted.structured_content["key"] == "vip"
    assert len(seen) == 2 and "'vip'" in seen[0]

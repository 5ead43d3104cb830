"""Interoperability: an independent client (the MCP Inspector CLI, Node) over stdio and HTTP, and what every
client relies on (descriptions, serverInfo with the real version). Node tests skip when node/npx is missing."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server import Server

from commercetools_customers_mcp import __version__
from commercetools_customers_mcp.core.server import SERVER_NAME
from commercetools_customers_mcp.serving.api_keys import ApiKey, KeyRing, digest
from commercetools_customers_mcp.serving.transports import http_app
from mcp_helpers import SEED_COUNT, P, serving

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
KEY = "interop-key-31337"
SERVE = [sys.executable, "-m", "commercetools_customers_mcp", "serve", "--data", ":memory:", "--no-demo"]

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npx") is None,
    reason="node/npx not installed: the MCP Inspector CLI interop tests need Node.js 20+ and npm",
)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_every_tool_has_a_description_and_server_info_has_the_version(server: Server[Any], mode: str) -> None:
    async with Client(server, mode=mode) as client:
        tools = (await client.list_tools()).tools
        info = client.server_info
    assert all(t.description and len(t.description) > 20 and t.title for t in tools)
    assert info is not None and info.name == SERVER_NAME and info.version == __version__


async def inspector(tmp_path: Path, *args: str) -> tuple[int, Any, str]:
    env = {**os.environ, "MCP_CATALOG_PATH": str(tmp_path / "mcp-catalog.json"), "HOME": str(tmp_path)}
    env.setdefault("npm_config_cache", str(Path.home() / ".npm"))
    process = await asyncio.create_subprocess_exec(
        "npx",
        "-y",
        INSPECTOR,
        "--cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    text = out.decode()
    start = text.find("{")
    payload = json.loads(text[start : text.rfind("}") + 1]) if start >= 0 else None
    return process.returncode or 0, payload, err.decode()


@pytest.mark.node
@pytest.mark.slow
@needs_node
async def test_inspector_over_stdio(tmp_path: Path) -> None:
    code, listed, err = await inspector(tmp_path, *SERVE, "--method", "tools/list")
    assert code == 0, err
    tools = listed["tools"]
    assert len(tools) == SEED_COUNT and all(t["description"] for t in tools)
    assert all(t["inputSchema"]["type"] == "object" for t in tools)
    code, init, err = await inspector(tmp_path, *SERVE, "--method", "initialize")
    assert code == 0, err
    assert init["serverInfo"] == {"name": SERVER_NAME, "version": __version__}
    call = ["--method", "tools/call", "--tool-name", P + "create_customer_groups"]
    code, created, err = await inspector(
        tmp_path, *SERVE, *call, "--tool-arg", "groupName=Interop", "--tool-arg", "key=io"
    )
    assert code == 0, err
    assert created["structuredContent"]["name"] == "Interop" and not created.get("isError")
    short = [*SERVE, "--tool-names", "short", "--read-only", "--method", "tools/list"]
    code, listed, err = await inspector(tmp_path, *short)
    assert code == 0 and max(len(t["name"]) for t in listed["tools"]) <= 64


@pytest.mark.node
@pytest.mark.slow
@needs_node
async def test_inspector_over_http_with_an_api_key(server: Server[Any], tmp_path: Path) -> None:
    keys = KeyRing([ApiKey("interop", digest(KEY), frozenset({"*"}))])
    async with serving(http_app(server, connection_ids=["emulator"], keys=keys)) as base:
        url = base + "/commercetools-customers"
        auth = ["--transport", "http", "--header", f"Authorization: Bearer {KEY}"]
        code, listed, err = await inspector(tmp_path, url, *auth, "--method", "tools/list")
        assert code == 0, err
        assert len(listed["tools"]) == SEED_COUNT
        call = ["--method", "tools/call", "--tool-name", P + "create_customer_groups", "--tool-arg", "groupName=Http"]
        code, created, err = await inspector(tmp_path, url, *auth, *call)
        assert code == 0 and created["structuredContent"]["name"] == "Http", err
        missing = ["--method", "tools/call", "--tool-name", P + "get_customer_groups_by_key", "--tool-arg", 'key="42"']
        code, result, err = await inspector(tmp_path, base + "/mcp", *auth, *missing)
        assert code == 5 and result["isError"] and result["structuredContent"]["statusCode"] == 404
        denied = ["--transport", "http", "--header", "Authorization: Bearer wrong", "--method", "tools/list"]
        code, _, err = await inspector(tmp_path, url, *denied)
        assert code != 0

"""The README's client configurations work as written: each stdio entry (Claude Desktop / Cursor, VS Code,
Claude Code's `claude mcp add … -- COMMAND`) is started with the MCP SDK's stdio client, the path replaced by
the installed console script and the placeholder credentials left out (the server then runs on its embedded
emulator), and the remote entry is reached over streamable HTTP with its bearer header. The clients themselves
(Claude Desktop, Cursor, VS Code, Claude Code) cannot run on the test machines: their documented config shapes
are what is checked."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from commercetools_customers_mcp.serving.api_keys import hash_line
from mcp_helpers import SEED_COUNT, free_port
from test_remote_auth import serve_process

README = Path(__file__).resolve().parent.parent / "README.md"
SCRIPT = str(Path(sys.executable).parent / "commercetools-customers-mcp")
PLACEHOLDER = "/path/to/.venv/bin/commercetools-customers-mcp"


def section() -> str:
    text = README.read_text()
    start = text.index("## Client configuration\n")
    return text[start : text.index("\n## ", start + 3)]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section(), flags=re.S)


def stdio_entries() -> list[tuple[str, dict[str, Any]]]:
    entries = []
    for block in blocks("json"):
        config = json.loads(block)
        for key in ("mcpServers", "servers"):
            for name, entry in config.get(key, {}).items():
                if "command" in entry:
                    entries.append((f"{key}.{name}", entry))
    for block in blocks("bash"):
        words = shlex.split(block.replace("\\\n", " "))
        if words[:3] == ["claude", "mcp", "add"] and "--" in words:
            command, *args = words[words.index("--") + 1 :]
            env = dict(w.split("=", 1) for w, flag in zip(words[1:], words[:-1], strict=True) if flag == "--env")
            entries.append(("claude mcp add", {"command": command, "args": args, "env": env}))
    return entries


def test_the_readme_has_every_client() -> None:
    names = [name for name, _ in stdio_entries()]
    assert names == ["mcpServers.commercetools-customers", "servers.commercetools-customers", "claude mcp add"]
    vs_code = json.loads(blocks("json")[1])["servers"]["commercetools-customers"]
    assert vs_code["type"] == "stdio"


@pytest.mark.parametrize(("name", "entry"), stdio_entries(), ids=lambda v: v if isinstance(v, str) else "")
async def test_each_stdio_entry_starts_the_server(name: str, entry: dict[str, Any]) -> None:
    assert entry["command"] == PLACEHOLDER and entry["args"] == ["serve"]
    assert all(key.startswith("CTP_") for key in entry.get("env", {}))  # variables the server reads
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTP_")}
    params = StdioServerParameters(command=SCRIPT, args=[*entry["args"], "--data", ":memory:"], env=env)
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
    assert len(tools) == SEED_COUNT


async def test_the_remote_entry_connects_with_its_header(tmp_path: Path) -> None:
    [remote] = [json.loads(b) for b in blocks("json") if '"type": "http"' in b]
    entry = remote["servers"]["commercetools-customers"]
    port = free_port()
    url = entry["url"].replace("8000", str(port))
    keys = tmp_path / "keys.toml"
    keys.write_text(f'[keys.assistant]\n{hash_line("s3cret-key")}\npcids = ["*"]\n')
    argv = [SCRIPT, "serve", "--transport", "http", "--port", str(port), "--data", ":memory:", "--no-demo"]
    async with serve_process([*argv, "--api-keys", str(keys)]):
        headers = {k: v.replace("<key>", "s3cret-key") for k, v in entry["headers"].items()}
        async with Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers))) as client:
            tools = (await client.list_tools()).tools
        async with httpx2.AsyncClient() as http:
            without = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert len(tools) == SEED_COUNT and without.status_code == 401

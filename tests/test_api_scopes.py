"""The commercetools API client scopes the README promises: its table of scopes by toolset, and the client
example, are checked tool by tool against the emulator, whose route scopes mirror the API reference's
``securedBy`` (``/work/shared/reference/raml``). Each tool's method and path go to the real emulator with a
token holding exactly the documented scopes: any answer but 403 means the scopes were enough (the scope check
comes before the body and the resource are looked at)."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import httpx2
import pytest

from commercetools_customers_mcp.core.catalog.tools import DEFAULT_TOOLS, TOOLSETS, Tool
from commercetools_customers_mcp.emulator import create_app

README = (Path(__file__).parent.parent / "README.md").read_text()
PROJECT = "my-project"


def section(title: str) -> str:
    start = README.index(title)
    return README[start : README.index("\n#", start + len(title))]


def table_rows() -> dict[str, tuple[str, str]]:
    """Toolset → (read-only cell, all-tools cell) of the README's scopes table."""
    rows = {}
    for line in section("### Scopes by toolset").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`") and cells[0].strip("`") in TOOLSETS:
            rows[cells[0].strip("`")] = (cells[3], cells[4])
    return rows


def grants(cell: str) -> list[set[str]]:
    """Every scope set a cell allows: items are comma-separated, ``a` (or `b`)`` offers alternatives."""
    items = [re.findall(r"`(\w+)`", item) for item in re.split(r",\s*(?![^(]*\))", cell)]
    return [set(choice) for choice in itertools.product(*items)]


async def status_with(tool: Tool, scopes: set[str], api: httpx2.AsyncClient) -> int:
    form = {"grant_type": "client_credentials", "scope": " ".join(f"{s}:{PROJECT}" for s in sorted(scopes))}
    token = (await api.post("/oauth/token", data=form, auth=("client", "secret"))).json()["access_token"]
    path = re.sub(r"\{(\w+)\}", lambda m: PROJECT if m.group(1) == "projectKey" else "x", tool.path)
    body = {} if tool.method == "POST" else None
    answer = await api.request(tool.method, path, json=body, headers={"Authorization": f"Bearer {token}"})
    return answer.status_code


@pytest.fixture
async def api() -> httpx2.AsyncClient:
    app = create_app(":memory:", demo=False, project=PROJECT)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://emulator") as client:
        yield client


async def test_the_scopes_table_is_enough_for_every_tool_of_its_toolset(api: httpx2.AsyncClient) -> None:
    rows = table_rows()
    assert set(rows) == set(TOOLSETS)
    for toolset, (read_cell, all_cell) in rows.items():
        for tool in TOOLSETS[toolset]:
            for cell in (read_cell, all_cell) if tool.read_only else (all_cell,):
                for scopes in grants(cell):
                    assert await status_with(tool, scopes, api) != 403, (tool.name, scopes)
            assert await status_with(tool, {"view_stores"}, api) == 403, tool.name  # the check is on
        for tool in TOOLSETS[toolset]:
            if not tool.read_only:
                for scopes in grants(read_cell):
                    assert await status_with(tool, scopes, api) == 403, (tool.name, scopes)  # reads do not write


async def test_the_readme_client_examples_cover_every_tool(api: httpx2.AsyncClient) -> None:
    example = json.loads(section("## Client configuration").split("```json")[1].split("```")[0])
    env = example["mcpServers"]["commercetools-customers"]["env"]
    from_env = {scope.split(":")[0] for scope in env["CTP_SCOPES"].split(",")}
    toml = section("### Connections and PCID")
    from_file = set(re.findall(r'"(\w+):shop-eu"', toml.split("scopes = [")[1].split("]")[0]))
    assert from_env == from_file
    for tool in DEFAULT_TOOLS:  # the opt-in toolsets say their own scopes (the table above)
        assert await status_with(tool, from_env, api) != 403, tool.name

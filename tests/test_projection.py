"""``fields`` (issue #21 item 2): a read's answer trimmed to what was asked, in both the text and
``structuredContent``, with id and version; the output policy still applies to what is left."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client

from commercetools_customers_mcp.core.catalog.schemas import input_schema
from commercetools_customers_mcp.core.catalog.tools import DEFAULT_TOOLS, PROJECTED_KINDS, build_request
from commercetools_customers_mcp.core.policy import parse_policy
from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import P, project_connection


def _client() -> CommercetoolsClient:
    app = create_app(":memory:", project="demo")  # the demo's 60 customers
    return CommercetoolsClient(project_connection("demo", "demo"), transport=httpx2.ASGITransport(app=app))


async def test_twenty_emails_cost_under_a_tenth_and_paths_follow_arrays() -> None:
    client = _client()
    async with Client(build_server({"demo": client})) as session:
        whole = await session.call_tool(P + "list_customers", {"limit": 20})
        emails = await session.call_tool(P + "list_customers", {"limit": 20, "fields": ["email"]})
        one = whole.structured_content["results"][0]
        got = await session.call_tool(P + "get_by_id", {"ID": one["id"], "fields": ["email", "addresses.country"]})
        found = await session.call_tool(P + "list_customers", {"where": ['email = "none"'], "fields": ["email"]})
    await client.aclose()
    full, trimmed = len(whole.content[0].text), len(emails.content[0].text)
    assert trimmed <= full * 0.10, (full, trimmed)
    assert json.loads(emails.content[0].text) == emails.structured_content
    page = emails.structured_content
    assert page["count"] == 20 and page["total"] == 62  # the demo: 60 global customers and 2 in Stores
    assert all(set(r) == {"id", "version", "email"} for r in page["results"])
    assert got.structured_content == {
        "id": one["id"],
        "version": one["version"],
        "email": one["email"],
        "addresses": [{"country": a["country"]} for a in one["addresses"]],
    }
    assert found.structured_content["results"] == []


async def test_a_projection_never_shows_what_the_policy_hides() -> None:
    client = _client()
    rules = parse_policy({"output": {"drop": {"field_names": ["email"]}, "redact": {"field_names": ["lastName"]}}})
    async with Client(build_server({"demo": client}, rules=rules)) as session:
        page = await session.call_tool(P + "list_customers", {"limit": 3, "fields": ["email", "lastName", "key"]})
    await client.aclose()
    for result in page.structured_content["results"]:
        assert (
            "email" not in result and result["lastName"] != "" and set(result) <= {"id", "version", "lastName", "key"}
        )
    assert "@example.com" not in page.content[0].text


def test_fields_is_offered_on_every_read_and_never_sent(tmp_path: Path) -> None:
    for tool in DEFAULT_TOOLS:
        props: dict[str, Any] = input_schema(tool)["properties"]
        assert ("fields" in props) == (tool.kind in PROJECTED_KINDS), tool.name
    listing = next(t for t in DEFAULT_TOOLS if t.kind == "list")
    request = build_request(listing, {"limit": 2, "fields": ["email"]})
    assert [name for name, _ in request.params] == ["limit"]

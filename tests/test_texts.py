"""Texts that are true (issue #21 item 5): each tool's examples name fields of its own resource (or search
index), siblings say the same, the search descriptions do not contradict themselves, and the opt-in
``project-settings`` toolset makes search ready."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
from mcp import Client

from commercetools_customers_mcp import spec
from commercetools_customers_mcp.core.catalog.descriptions import param_description, tool_description
from commercetools_customers_mcp.core.catalog.field_notes import unknown_field_notes
from commercetools_customers_mcp.core.catalog.schemas import input_schema
from commercetools_customers_mcp.core.catalog.tools import BY_NAME, DEFAULT_TOOLS, FIELDS, TOOLS, Tool
from commercetools_customers_mcp.core.selection import ToolPolicy, parse_toolsets
from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import SEED_COUNT, P, project_connection


def _examples(tool: Tool) -> dict[str, list[Any]]:
    """The where / sort / query examples a tool's parameter descriptions give, as arguments."""
    found: dict[str, list[Any]] = {}
    where = param_description(tool, "where") or ""
    found["where"] = [w.replace("<customer id>", "c1") for w in re.findall(r"`([^`]+)`", where)]
    sort = param_description(tool, "sort") or ""
    if tool.kind == "search":
        found["sort"] = [json.loads(s) for s in re.findall(r"\[\{.*?\}\]", sort)]
        query = param_description(tool, "query") or ""
        found["query"] = [json.loads(q) for q in re.findall(r'\{"\w+": \{[^{}]*\}\}', query)]
    else:
        found["sort"] = re.findall(r'"([^"]+ (?:asc|desc))"', sort)
    return found


def test_every_example_names_fields_of_its_own_resource() -> None:
    checked = 0
    for tool in (t for t in TOOLS if t.kind in ("list", "search")):
        examples = _examples(tool)
        for where in examples["where"]:
            assert unknown_field_notes(tool, {"where": [where]}) == [], (tool.name, where)
            checked += 1
        for sort in examples["sort"]:
            assert unknown_field_notes(tool, {"sort": sort if isinstance(sort, list) else [sort]}) == [], (tool, sort)
            checked += 1
        for query in examples.get("query", []):
            assert unknown_field_notes(tool, {"query": query}) == [], (tool.name, query)
            checked += 1
    for tool in (t for t in TOOLS if "expand" in t.query):  # expansion paths start at a field of the answer
        note = param_description(tool, "expand") or ""
        for path in re.findall(r'"([\w.\[\]*]+)"', note):
            steps = path.replace("[*]", "").split(".")
            steps = steps[1:] if tool.kind == "create" and tool.family.segment == "customers" else steps
            assert steps[0] in spec.schema(tool.family.schema)["properties"], (tool.name, path)
            checked += 1
    for tool in (t for t in TOOLS if FIELDS in input_schema(t)["properties"]):  # paths of the answer's resource
        answer = "BusinessUnitAssociateResponse" if "associate_id" in tool.name else tool.family.schema
        for path in re.findall(r'"([\w.]+)"', param_description(tool, FIELDS) or ""):
            assert path.split(".")[0] in spec.schema(answer)["properties"], (tool.name, path)
            checked += 1
    assert checked >= 60
    groups = param_description(BY_NAME[P + "list_customer_groups"], "where") or ""
    assert "firstName" not in groups and "addresses" not in groups  # customer fields, not a group's


def test_siblings_say_the_same_and_search_texts_agree() -> None:
    by_id, by_key = BY_NAME[P + "delete_associate_roles_by_id"], BY_NAME[P + "delete_associate_roles_by_key"]
    assert "only be deleted if it is not assigned" in tool_description(by_id)
    assert (
        tool_description(by_id).replace("(by id)", "").split("(DELETE")[0]
        == (tool_description(by_key).replace("(by key)", "").split("(DELETE")[0])
    )
    for name, status in (
        ("create_customers_search", "list_customers_search_indexing_status"),
        ("create_business_units_search", "list_business_units_search_indexing_status"),
    ):  # the search points at its status tool, which says how to activate (said once)
        text, how = tool_description(BY_NAME[P + name]), tool_description(BY_NAME[P + status])
        assert "outside these tools" not in text and P + status in text, text
        assert P + "update_project_search_status" in how and "poll this tool" in how, how


async def test_the_project_settings_toolset_makes_search_ready() -> None:
    assert len(DEFAULT_TOOLS) == SEED_COUNT and all(t.toolset != "project-settings" for t in DEFAULT_TOOLS)
    app = create_app(":memory:", demo=False, project="shop")
    client = CommercetoolsClient(project_connection("p", "shop"), transport=httpx2.ASGITransport(app=app))
    policy = ToolPolicy(toolsets=parse_toolsets(["all,project-settings"]))
    async with Client(build_server({"p": client}, policy=policy)) as session:
        off = await session.call_tool(P + "create_customers_search", {})
        assert off.is_error and P + "update_project_search_status" in off.structured_content["hint"]
        project = (await session.call_tool(P + "get_project_settings", {})).structured_content
        change = {"action": "changeCustomerSearchStatus", "status": "Activated"}
        other = await session.call_tool(
            P + "update_project_search_status", {"version": project["version"], "actions": [{"action": "changeName",
                                                                                             "name": "x"}]}
        )  # fmt: skip
        assert other.is_error and "unknown action 'changeName'" in other.structured_content["message"]
        done = await session.call_tool(
            P + "update_project_search_status", {"version": project["version"], "actions": [change]}
        )
        assert not done.is_error and done.structured_content["searchIndexing"]["customers"]["status"] == "Activated"
        status = await session.call_tool(P + "list_customers_search_indexing_status", {})
        assert status.structured_content["status"] == "Ready", status
        assert not (await session.call_tool(P + "create_customers_search", {})).is_error
    await client.aclose()

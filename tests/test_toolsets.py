"""Toolsets and the discovery mode: what is listed changes, what is allowed never does. Real server, real client,
real emulator; in memory, over stateless HTTP and over stdio."""

from __future__ import annotations

import logging
import sys
from typing import Any

import httpx2
import orjson
import pytest
from mcp import Client, StdioServerParameters

from commercetools_customers_mcp.cli import main
from commercetools_customers_mcp.core.calls import CURRENT_PRINCIPAL, Principal
from commercetools_customers_mcp.core.catalog.tools import TOOLS
from commercetools_customers_mcp.core.selection import SelectionError, ToolPolicy, parse_toolsets
from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.serving.transports import http_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import SEED_COUNT, P, emulator_clients, project_connection, serving
from test_security import Counting, keyring, with_key

MODES = ["legacy", "auto"]
FIND, DESCRIBE, CALL = P + "find_tools", P + "describe_tool", P + "call_tool"
SIZES = {
    "customers": 8,
    "customer-search": 2,
    "account": 7,
    "customer-groups": 8,
    "business-units": 10,
    "business-unit-search": 2,
    "associate-roles": 8,
}


def clients(*pcids: str) -> tuple[dict[str, CommercetoolsClient], Counting]:
    transport = Counting(httpx2.ASGITransport(app=create_app(":memory:", demo=False, clients=emulator_clients(*pcids))))
    return {p: CommercetoolsClient(project_connection(p, p), transport=transport) for p in pcids}, transport


# --- toolsets ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("toolset", "size"), SIZES.items())
def test_each_toolset_publishes_its_tools(toolset: str, size: int) -> None:
    published = ToolPolicy(toolsets=parse_toolsets([toolset])).published()
    assert len(published) == size and {t.toolset for t in published} == {toolset}


def test_all_is_the_seed_and_lists_combine() -> None:
    assert len(ToolPolicy(toolsets=parse_toolsets(["all"])).published()) == SEED_COUNT == sum(SIZES.values())
    both = ToolPolicy(toolsets=parse_toolsets(["customers,account", "customer-groups"])).published()
    assert len(both) == 8 + 7 + 8
    with pytest.raises(SelectionError, match=r"unknown toolset.*nope"):
        parse_toolsets(["customers,nope"])
    with pytest.raises(SelectionError, match="publishes no tool"):
        ToolPolicy(toolsets=parse_toolsets(["customer-search"]), deny=("*search*",)).published()


def test_patterns_match_without_the_prefix() -> None:
    policy = ToolPolicy(allow=("get_by_id", "*_associate_roles"))
    assert [t.name for t in policy.published()] == [
        P + s for s in ("get_by_id", "list_associate_roles", "create_associate_roles")
    ]
    assert not ToolPolicy(deny=("get_by_id",)).visible(next(t for t in TOOLS if t.name == P + "get_by_id"))


def test_patterns_never_match_through_the_prefix() -> None:
    """`*customer*` used to match all 45 tools through `commercetools_customers_` (a silent widening of an allow
    list), and `--deny-tools '*customers*'` hid everything (issue #18 item 7)."""
    allowed = {t.name.removeprefix(P) for t in ToolPolicy(allow=("*customer*",)).published()}
    assert "get_by_id" not in allowed and "list_business_units" not in allowed
    assert {"list_customers", "create_customer_groups", "create_customers_search"} <= allowed
    assert len(ToolPolicy(deny=("*customers*",)).published()) == SEED_COUNT - sum("customers" in n for n in allowed)
    full = ToolPolicy(allow=(P + "*_by_key",)).published()  # a pattern naming the prefix matches full names
    assert full and all(t.name.startswith(P) and t.name.endswith("_by_key") for t in full)


def test_the_flags_in_tools_and_call(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("CTP_PROJECT_KEY", raising=False)
    monkeypatch.delenv("CTP_CONNECTIONS_FILE", raising=False)
    assert main(["tools", "--toolsets", "customer-groups", "--toolsets", "account"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 8 + 7
    with pytest.raises(SystemExit) as exit_info:
        main(["tools", "--toolsets", "orders"])
    assert exit_info.value.code == 2 and "unknown toolset(s) orders" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--data", ":memory:", "--toolsets", "account", "--read-only", "--deny-tools", "*token*"])
    assert exit_info.value.code == 2 and "publishes no tool at all" in capsys.readouterr().err
    hidden = ["call", P + "list_customers", "--data", ":memory:", "--toolsets", "customer-groups"]
    assert main(hidden) == 1 and "disabled" in orjson.loads(capsys.readouterr().out)["message"]
    through = ["call", CALL, "--data", ":memory:", "--tool-discovery", "--toolsets", "customer-groups"]
    assert main([*through, "--json", '{"name": "' + P + 'list_customer_groups", "arguments": {"limit": 1}}']) == 0
    assert orjson.loads(capsys.readouterr().out)["limit"] == 1


# --- discovery -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_discovery_lists_three_small_tools_and_reaches_every_tool(mode: str) -> None:
    cs, _ = clients("eu")
    server = build_server(cs, discovery=True)
    async with Client(server, mode=mode) as client:
        listed = (await client.list_tools()).tools
        found = await client.call_tool(FIND, {"query": "update customer address"})
        described = await client.call_tool(DESCRIBE, {"name": P + "update_customers_by_id"})
        created = await client.call_tool(CALL, {"name": P + "create_customer_groups", "arguments": {"groupName": "V"}})
        listed_groups = await client.call_tool(CALL, {"name": P + "list_customer_groups", "arguments": {}})
        everything = await client.call_tool(FIND, {"query": "", "limit": 50})
    assert [t.name for t in listed] == [FIND, DESCRIBE, CALL]
    size = len(orjson.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed]))
    assert size <= 8_000
    names = [t["name"] for t in found.structured_content["tools"]]
    assert P + "update_customers_by_id" in names[:3] and all(t["purpose"] for t in found.structured_content["tools"])
    schema = described.structured_content["inputSchema"]
    assert "actions" in schema["properties"] and described.structured_content["annotations"]["destructiveHint"] is False
    assert not created.is_error and created.structured_content["name"] == "V"
    assert listed_groups.structured_content["total"] == 1
    assert everything.structured_content["total"] == SEED_COUNT


BAD_DISCOVERY_ARGUMENTS = [
    (FIND, {}, "query must be a string of at most 200 characters"),
    (FIND, {"query": "x" * 201}, "query must be a string of at most 200 characters"),
    (FIND, {"query": "x", "limit": 0}, "limit must be an integer from 1 to 50"),
    (FIND, {"query": "x", "limit": True}, "limit must be an integer from 1 to 50"),
    (FIND, {"query": "x", "limit": 3, "name": "y"}, "unknown argument(s) name; allowed: limit, query"),
    (DESCRIBE, {"name": ""}, "name must be a non-empty string of at most 128 characters"),
    (DESCRIBE, {"name": "x" * 129}, "name must be a non-empty string of at most 128 characters"),
    (CALL, {"name": 7}, "name must be a non-empty string of at most 128 characters"),
]


@pytest.mark.parametrize(("tool", "arguments", "expected"), BAD_DISCOVERY_ARGUMENTS)
async def test_discovery_tools_check_their_arguments_against_their_schemas(
    tool: str, arguments: dict[str, Any], expected: str
) -> None:
    cs, transport = clients("eu")
    async with Client(build_server(cs, discovery=True)) as client:
        result = await client.call_tool(tool, arguments)
        two = await client.call_tool(FIND, {"query": "customer", "limit": 2.0})  # an integer, as JSON Schema says
    assert result.is_error and result.structured_content["message"] == f"Invalid arguments for {tool}: {expected}."
    assert len(two.structured_content["tools"]) == 2
    assert transport.api_calls() == []


async def test_discovery_never_widens_the_policy() -> None:
    """The official server's dynamic mode let a read-only configuration update customers through execute_tool."""
    cs, transport = clients("eu")
    policy = ToolPolicy(read_only=True, toolsets=parse_toolsets(["customers", "customer-groups"]))
    server = build_server(cs, discovery=True, policy=policy)
    async with Client(server) as client:
        found = await client.call_tool(FIND, {"query": "update delete create customer group", "limit": 50})
        described = await client.call_tool(DESCRIBE, {"name": P + "update_customers_by_id"})
        outside = await client.call_tool(DESCRIBE, {"name": P + "list_associate_roles"})
        update = await client.call_tool(
            CALL, {"name": P + "update_customers_by_key", "arguments": {"key": "k", "version": 1, "actions": []}}
        )
        create = await client.call_tool(CALL, {"name": P + "create_customer_groups", "arguments": {"groupName": "x"}})
        search = await client.call_tool(CALL, {"name": P + "create_customers_search", "arguments": {}})
        read = await client.call_tool(CALL, {"name": P + "list_customers", "arguments": {}})
    found_names = {t["name"] for t in found.structured_content["tools"]}
    assert found_names and all(n.startswith((P + "list_", P + "get_")) for n in found_names)
    assert described.is_error and outside.is_error and "find_tools" in outside.structured_content["hint"]
    for refused in (update, create, search):
        assert refused.is_error and "disabled" in refused.structured_content["message"]
    assert not read.is_error
    assert transport.api_calls() == [("GET", "/eu/customers")]


async def test_discovery_keeps_api_key_connection_limits_over_http() -> None:
    cs, transport = clients("eu", "us")
    server = build_server(cs, discovery=True)
    async with serving(http_app(server, keys=keyring())) as base:
        for mode in MODES:
            async with with_key(base + "/mcp", "alice-secret-key-1", mode=mode) as client:
                listed = (await client.list_tools()).tools
                mine = await client.call_tool(CALL, {"name": P + "list_customers", "arguments": {"PCID": "eu"}})
                theirs = await client.call_tool(CALL, {"name": P + "list_customers", "arguments": {"PCID": "us"}})
            assert len(listed) == 3 and not mine.is_error
            assert theirs.is_error and "may not use connection 'us'" in theirs.structured_content["message"]
    assert ("GET", "/us/customers") not in transport.api_calls()


async def test_discovery_over_stdio() -> None:
    args = ["-m", "commercetools_customers_mcp", "serve", "--data", ":memory:", "--no-demo", "--tool-discovery"]
    params = StdioServerParameters(command=sys.executable, args=[*args, "--toolsets", "customer-groups"])
    async with Client(params, mode="legacy") as client:
        listed = (await client.list_tools()).tools
        found = await client.call_tool(FIND, {"query": "customer"})
        hidden = await client.call_tool(CALL, {"name": P + "list_customers", "arguments": {}})
        bad = await client.call_tool(CALL, {"name": P + "list_customer_groups", "arguments": "limit=1"})
    assert len(listed) == 3
    assert {t["name"] for t in found.structured_content["tools"]} <= {t.name for t in TOOLS if "groups" in t.name}
    assert hidden.is_error and bad.is_error and "must be an object" in bad.structured_content["message"]


async def test_observers_see_the_tool_call_tool_runs(caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="commercetools_customers_mcp")
    cs, _ = clients("eu")
    async with Client(build_server(cs, discovery=True)) as client:
        await client.call_tool(CALL, {"name": P + "create_customer_groups", "arguments": {"groupName": "G"}})
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("tool=")]
    assert lines and lines[-1].startswith(f"tool={P}create_customer_groups ") and "status=201" in lines[-1]


async def test_a_read_only_caller_lists_and_finds_only_read_only_tools() -> None:
    cs, _ = clients("eu")
    server = build_server(cs)
    token = CURRENT_PRINCIPAL.set(Principal("reader", frozenset({"*"}), read_only=True))
    try:
        async with Client(server) as client:
            listed = (await client.list_tools()).tools
            write = await client.call_tool(P + "create_customer_groups", {"groupName": "x"})
    finally:
        CURRENT_PRINCIPAL.reset(token)
    assert listed and all(t.annotations.read_only_hint for t in listed)
    assert write.is_error and "disabled" in write.structured_content["message"]


def test_an_opt_in_toolset_is_published_only_when_named() -> None:
    assert "messages" not in parse_toolsets(["all"])
    assert parse_toolsets(["all,messages"]) == parse_toolsets(["all"]) | {"messages"}
    assert [t.name for t in ToolPolicy(toolsets=parse_toolsets(["messages"])).published()] == [
        P + "list_messages",
        P + "get_messages_by_id",
    ]

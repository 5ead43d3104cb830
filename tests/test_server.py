"""The MCP server in memory, both protocol eras, against the real emulator through the real client."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.server import Server

from commercetools_customers_mcp.core.calls import CURRENT_PRINCIPAL, Principal
from commercetools_customers_mcp.core.catalog.schemas import input_schema
from commercetools_customers_mcp.core.catalog.tools import DEFAULT_TOOLS
from commercetools_customers_mcp.core.server import ToolServer, build_server, has_header_annotations, strip_passwords
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.emulator.faults import Faults
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import SEED_COUNT, P

MODES = ["legacy", "auto"]


@pytest.mark.parametrize("mode", MODES)
async def test_list_and_round_trip(server: Server[Any], mode: str) -> None:
    async with Client(server, mode=mode) as client:
        tools = (await client.list_tools()).tools
        assert len(tools) == SEED_COUNT
        get = next(t for t in tools if t.name == P + "get_customer_groups_by_id")
        assert get.annotations.read_only_hint and get.annotations.open_world_hint is None  # default: true
        assert not get.annotations.destructive_hint
        hints = {t.name.removeprefix(P): t.annotations for t in tools}
        assert hints["delete_by_id"].destructive_hint is True and hints["delete_by_id"].idempotent_hint is True
        assert hints["create_customers"].destructive_hint is False and not hints["create_customers"].idempotent_hint
        update = hints["update_customers_by_key"]
        assert update.destructive_hint is False and update.idempotent_hint
        created = await client.call_tool(P + "create_customer_groups", {"groupName": "VIP", "key": "vip"})
        assert not created.is_error, created
        group = created.structured_content
        assert group["name"] == "VIP" and group["version"] == 1
        assert created.content[0].text.startswith("{") and '"key":"vip"' in created.content[0].text
        updated = await client.call_tool(
            P + "update_customer_groups_by_key",
            {"key": "vip", "version": 1, "actions": [{"action": "changeName", "name": "Gold"}]},
        )
        assert updated.structured_content["name"] == "Gold" and updated.structured_content["version"] == 2
        stale = await client.call_tool(P + "delete_customer_groups_by_id", {"ID": group["id"], "version": 1})
        assert stale.is_error
        assert stale.structured_content["statusCode"] == 409
        assert stale.structured_content["errors"][0]["code"] == "ConcurrentModification"
        assert "current version is 2" in stale.structured_content["hint"]
        assert stale.structured_content["correlationId"]
        deleted = await client.call_tool(P + "delete_customer_groups_by_id", {"ID": group["id"], "version": 2})
        assert not deleted.is_error


async def test_not_found_hint_names_the_list_tool(server: Server[Any]) -> None:
    async with Client(server) as client:
        result = await client.call_tool(P + "get_customer_groups_by_key", {"key": "missing"})
    assert result.is_error and result.structured_content["statusCode"] == 404
    assert P + "list_customer_groups" in result.structured_content["hint"]


async def test_invalid_arguments_never_reach_the_api(server: Server[Any]) -> None:
    async with Client(server, mode="legacy") as client:
        result = await client.call_tool(
            P + "update_customer_groups_by_id",
            {"ID": "x", "version": "1", "actions": [{"action": "changeNam", "name": "y"}], "nope": True},
        )
    assert result.is_error
    problems = result.structured_content["problems"]
    assert any("'nope'" in p for p in problems)
    assert any(p.startswith("arguments.version:") and '"integer"' in p for p in problems)
    assert any("changeName" in p for p in problems)


async def test_unknown_pcid_and_required_pcid(emulator_app: Any, make_connection: Any) -> None:
    transport = httpx2.ASGITransport(app=emulator_app)
    clients = {pcid: CommercetoolsClient(make_connection(pcid), transport=transport) for pcid in ("eu", "us")}
    server = build_server(clients)
    async with Client(server) as client:
        unknown = await client.call_tool(P + "list_customer_groups", {"PCID": "asia"})
        missing = await client.call_tool(P + "list_customer_groups", {})
        tools = (await client.list_tools()).tools
    assert unknown.is_error and unknown.structured_content["knownConnections"] == ["eu", "us"]
    assert "eu, us" in unknown.structured_content["hint"]
    assert missing.is_error and missing.structured_content["knownConnections"] == ["eu", "us"]
    assert (
        "PCID is required" in missing.structured_content["message"] and "eu, us" in missing.structured_content["hint"]
    )
    assert all("PCID" in t.input_schema["required"] for t in tools)
    for client in clients.values():
        await client.aclose()


async def test_a_call_without_pcid_names_the_connections_this_caller_may_use(
    emulator_app: Any, make_connection: Any
) -> None:
    """Issue #21 item 3: several connections, no PCID: the answer lists the connections this caller may use (an
    API key's or an OAuth claim's limits respected), with any other problem of the arguments; every tool's PCID
    says what it is, with one connection too, in both schema forms."""
    transport = httpx2.ASGITransport(app=emulator_app)
    clients = {pcid: CommercetoolsClient(make_connection(pcid), transport=transport) for pcid in ("eu", "us", "asia")}
    server = build_server(clients)
    token = CURRENT_PRINCIPAL.set(Principal("tenant-eu", frozenset({"eu", "asia"})))
    try:
        async with Client(server) as client:
            missing = await client.call_tool(P + "list_customer_groups", {"limit": 999})
    finally:
        CURRENT_PRINCIPAL.reset(token)
    content = missing.structured_content
    assert missing.is_error and content["knownConnections"] == ["asia", "eu"], content
    assert content["hint"] == "Pass PCID as one of: asia, eu." and any("limit" in p for p in content["problems"])
    for client in clients.values():
        await client.aclose()
    for compact in (False, True):
        for tool in DEFAULT_TOOLS:
            pcid = input_schema(tool, compact=compact)["properties"]["PCID"]
            assert pcid.get("description") == "Project connection id.", (tool.name, pcid)


async def test_without_connections_tools_are_listed_and_calls_explain_setup() -> None:
    server = build_server({})
    async with Client(server) as client:
        assert len((await client.list_tools()).tools) == SEED_COUNT
        result = await client.call_tool(P + "list_customers", {})
    assert result.is_error
    assert "CTP_PROJECT_KEY" in result.structured_content["message"]
    assert "--connections" in result.structured_content["message"]


async def test_unreachable_api_is_an_error_result(make_connection: Any) -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    connection = make_connection("emulator").model_copy(update={"max_retries": 0})
    client = CommercetoolsClient(connection, transport=httpx2.MockTransport(refuse))
    async with Client(build_server({"emulator": client})) as mcp_client:
        result = await mcp_client.call_tool(P + "list_customers", {})
    await client.aclose()
    assert result.is_error and "emulator" in result.structured_content["message"]
    assert result.structured_content["correlationId"]


async def test_unexpected_exception_becomes_an_error_result(server: Server[Any], monkeypatch: Any) -> None:
    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    async with Client(server, mode="legacy") as client:
        monkeypatch.setattr(CommercetoolsClient, "request", boom)
        result = await client.call_tool(P + "list_customer_groups", {})
    assert result.is_error and "secret detail" not in result.content[0].text
    assert result.structured_content["correlationId"]


async def test_customer_password_hash_never_returned(server: Server[Any]) -> None:
    async with Client(server) as client:
        created = await client.call_tool(P + "create_customers", {"email": "ann@example.com", "password": "s3cret!"})
        assert not created.is_error, created
        customer = created.structured_content["customer"]
        assert "password" not in customer
        fetched = await client.call_tool(P + "get_by_id", {"ID": customer["id"]})
        listed = await client.call_tool(P + "list_customers", {"where": ['lowercaseEmail = "ann@example.com"']})
    assert "password" not in fetched.structured_content
    assert listed.structured_content["results"] and "password" not in listed.structured_content["results"][0]
    assert "s3cret" not in created.content[0].text


def test_strip_passwords_everywhere() -> None:
    customer = {"id": "c", "email": "a", "password": "****", "authenticationMode": "Password"}
    body = {"customer": customer, "results": [customer], "associates": [{"customer": {"obj": customer}}]}
    assert "password" not in str(strip_passwords(body))
    assert strip_passwords({"password": "plain field of a non-customer"}) == {
        "password": "plain field of a non-customer"
    }


@pytest.mark.parametrize(
    "body",
    [
        b'{"id":"c","authenticationMode":"Password","password":"HASH"}',
        b'{"id":"c","authenticationMode":"Password","pass\\u0077ord":"HASH"}',  # the key spelled with an escape
        b'{"results":[{"id":"c","authenticationMode":"Password","password":"HASH","lastName":"M\\u00fcller"}]}',
    ],
)
async def test_password_hash_from_the_api_is_stripped_however_it_is_spelled(make_connection: Any, body: bytes) -> None:
    """The real API returns hashes; skipping the walk for bodies without the key must not skip these."""

    def api(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/oauth/token"):
            return httpx2.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx2.Response(200, content=body, headers={"Content-Type": "application/json"})

    client = CommercetoolsClient(make_connection("emulator"), transport=httpx2.MockTransport(api))
    async with Client(build_server({"emulator": client})) as mcp_client:
        result = await mcp_client.call_tool(P + "get_by_id", {"ID": "c"})
    await client.aclose()
    assert not result.is_error, result
    assert "HASH" not in str(result.structured_content) and "HASH" not in result.content[0].text


def test_only_schemas_with_header_annotations_go_to_the_sdk_header_check() -> None:
    """The SDK walks the whole schema of every 2026-07-28 call to compare Mcp-Param-* headers; ours carry no
    ``x-mcp-header``, so none is handed over (an annotated one would be)."""
    server = ToolServer({})
    assert all(server.header_schema(name) is None for name in server.schemas)
    assert has_header_annotations({"properties": {"a": {"type": "string", "x-mcp-header": "A"}}})
    assert not has_header_annotations(server.schemas[P + "update_customers_by_id"])


async def test_lost_create_response_warns_it_may_have_been_applied(make_connection: Any) -> None:
    """A gateway error after a create committed: the hint must not invite a blind retry."""

    app = create_app(":memory:", demo=False, faults=Faults.parse("after:1@POST /customer-groups$"))
    client = CommercetoolsClient(make_connection("emulator"), transport=httpx2.ASGITransport(app=app))
    async with Client(build_server({"emulator": client})) as mcp:
        result = await mcp.call_tool(
            "commercetools_customers_create_customer_groups", {"groupName": "Gold", "key": "gold"}
        )
        assert result.is_error
        assert "may have been applied" in result.structured_content["hint"]
        assert "list_customer_groups" in result.structured_content["hint"]
        # and indeed it was: exactly one group exists
        found = await mcp.call_tool("commercetools_customers_get_customer_groups_by_key", {"key": "gold"})
        assert not found.is_error and found.structured_content["name"] == "Gold"
    await client.aclose()


async def test_password_token_for_an_unknown_email_is_no_silent_success(server: Server[Any]) -> None:
    """The API answers a token for an unknown email (a shop must not tell which exist; the emulator follows the
    docs), but the token resets nothing: the tool, acting with manage_customers, looks and says so (issue #19)."""
    async with Client(server) as client:
        result = await client.call_tool(P + "create_customers_password_token", {"email": "nobody@example.com"})
    assert result.is_error and "No customer has this email" in result.structured_content["message"]

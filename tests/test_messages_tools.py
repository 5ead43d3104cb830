"""The opt-in `messages` toolset: published only when named (`--toolsets all,messages`), read-only, over stdio and
stateless HTTP; `all` stays the seed's 45. Messages carry customers (CustomerCreated), so the password hash is
stripped from them as from any customer, and a `where` or `sort` on messages cannot reach it."""

from __future__ import annotations

import sys
from typing import Any

import httpx2
import orjson
import pytest
from mcp import Client, StdioServerParameters

from commercetools_customers_mcp.core.policy import parse_policy
from commercetools_customers_mcp.core.selection import ToolPolicy, parse_toolsets
from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.serving.transports import http_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import SEED_COUNT, SEED_TOOLS, P, project_connection, serving

LIST, GET = P + "list_messages", P + "get_messages_by_id"
WITH_MESSAGES = ToolPolicy(toolsets=parse_toolsets(["all,messages"]))


def hash_free(value: Any) -> bool:
    text = orjson.dumps(value).decode()
    return '"password"' not in text and "scrypt$" not in text


@pytest.fixture
async def demo() -> Any:
    """A demo emulator (Messages on: its seeded history is there) behind a real client."""
    app = create_app(":memory:")
    client = CommercetoolsClient(project_connection("demo", "demo"), transport=httpx2.ASGITransport(app=app))
    yield client
    await client.aclose()


async def test_all_is_still_the_seed_and_the_toolset_is_opt_in(demo: Any) -> None:
    async with Client(build_server({"demo": demo})) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        hidden = await client.call_tool(LIST, {})
    assert names == {t["name"] for t in SEED_TOOLS} and len(names) == SEED_COUNT
    assert hidden.is_error and "disabled" in hidden.structured_content["message"]
    async with Client(build_server({"demo": demo}, policy=WITH_MESSAGES)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert len(tools) == SEED_COUNT + 2
    for name in (LIST, GET):
        assert tools[name].annotations.read_only_hint  # and so idempotent and not destructive
    assert set(tools[LIST].input_schema["properties"]) == {
        "where",
        "sort",
        "limit",
        "offset",
        "withTotal",
        "expand",
        "fields",
        "PCID",
    }
    assert tools[GET].input_schema["required"] == ["ID"]
    alone = ToolPolicy(toolsets=parse_toolsets(["messages"])).published()
    assert [t.name for t in alone] == [LIST, GET]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_messages_in_memory_without_the_password_hash(demo: Any, mode: str) -> None:
    async with Client(build_server({"demo": demo}, policy=WITH_MESSAGES), mode=mode) as client:
        created = await client.call_tool(
            P + "create_customers", {"email": "neo@example.com", "password": "s3cret-pw", "key": "neo"}
        )
        customer = created.structured_content["customer"]
        await client.call_tool(
            P + "update_customers_by_id",
            {"ID": customer["id"], "version": 1, "actions": [{"action": "changeEmail", "email": "neo@new.example"}]},
        )
        page = await client.call_tool(
            LIST,
            {"where": [f'resource(id = "{customer["id"]}")'], "sort": ["sequenceNumber asc"], "expand": ["resource"]},
        )
        one = await client.call_tool(GET, {"ID": page.structured_content["results"][0]["id"]})
        seeded = await client.call_tool(LIST, {"where": ['type = "CustomerCreated"'], "limit": 500})
        missing = await client.call_tool(GET, {"ID": "00000000-0000-0000-0000-000000000000"})
    results = page.structured_content["results"]
    assert [m["type"] for m in results] == ["CustomerCreated", "CustomerEmailChanged"]
    assert results[0]["customer"]["email"] == "neo@example.com" and results[1]["oldEmail"] == "neo@example.com"
    assert results[0]["resource"]["obj"]["email"] == "neo@new.example"  # expanded: the customer as it is now
    assert one.structured_content["type"] == "CustomerCreated"
    assert seeded.structured_content["total"] == 63  # the demo's 62, and neo
    for result in (page, one, seeded):
        assert hash_free(result.structured_content) and all(hash_free(c.model_dump()) for c in result.content)
    assert missing.is_error and "No message with that id;" in missing.structured_content["hint"]
    assert "list_messages" in missing.structured_content["hint"]


@pytest.mark.parametrize(
    "arguments",
    [
        {"where": ['customer(password >= "scrypt$")']},
        {"where": ['type = "CustomerCreated" and customer(PASSWORD is defined)']},
        {"sort": ["customer.password asc"]},
        {"where": ["not(customer(password < :v))"]},
    ],
)
async def test_where_and_sort_on_messages_cannot_reach_the_password(demo: Any, arguments: dict) -> None:
    async with Client(build_server({"demo": demo}, policy=WITH_MESSAGES)) as client:
        result = await client.call_tool(LIST, arguments)
    assert result.is_error and "statusCode" not in result.structured_content  # refused before any request
    assert "is hidden by this server" in " ".join(result.structured_content["problems"])


async def test_a_payload_field_is_no_unknown_field(demo: Any) -> None:
    """Messages carry their type's own fields: a `where` on one gets no 'not a field of Message' note (so neither
    does a misspelt common field: the API does not check them either)."""
    async with Client(build_server({"demo": demo}, policy=WITH_MESSAGES)) as client:
        payload = await client.call_tool(LIST, {"where": ['customer(email = "x@example.com")'], "limit": 1})
    assert not payload.is_error and "not a field" not in orjson.dumps(payload.model_dump()).decode()


async def test_the_pii_preset_covers_message_payloads(demo: Any) -> None:
    rules = parse_policy({"output": {"preset": "pii"}})
    async with Client(build_server({"demo": demo}, policy=WITH_MESSAGES, rules=rules)) as client:
        created = await client.call_tool(P + "create_customers", {"email": "pii@example.com", "password": "pw-123"})
        customer = created.structured_content["customer"]
        await client.call_tool(
            P + "update_customers_by_id",
            {"ID": customer["id"], "version": 1, "actions": [{"action": "changeEmail", "email": "p2@example.com"}]},
        )
        page = await client.call_tool(LIST, {"where": [f'resource(id = "{customer["id"]}")']})
    text = orjson.dumps(page.model_dump()).decode()
    assert "pii@example.com" not in text and "p2@example.com" not in text and "[REDACTED]" in text


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_over_stateless_http(demo: Any, mode: str) -> None:
    app = http_app(build_server({"demo": demo}, policy=WITH_MESSAGES))
    async with serving(app) as base, Client(base + "/mcp", mode=mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        page = await client.call_tool(LIST, {"where": ['type = "BusinessUnitCreated"'], "sort": ["createdAt asc"]})
    assert {LIST, GET} <= names and len(names) == SEED_COUNT + 2
    units = [m["businessUnit"]["key"] for m in page.structured_content["results"]]
    assert units == ["acme", "acme-eu", "acme-us", "acme-eu-berlin"]


async def test_over_stdio_with_the_flag() -> None:
    args = ["-m", "commercetools_customers_mcp", "serve", "--data", ":memory:", "--toolsets", "all,messages"]
    async with Client(StdioServerParameters(command=sys.executable, args=args), mode="legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        page = await client.call_tool(LIST, {"where": ['type = "CustomerCreated"'], "limit": 3})
    assert {LIST, GET} <= names and len(names) == SEED_COUNT + 2
    assert page.structured_content["total"] == 62 and page.structured_content["count"] == 3
    assert hash_free(page.structured_content)


async def test_token_values_are_hidden_unless_the_operator_shows_them(demo: Any) -> None:
    """A token value is a credential (issue #18 item 3): a read-only caller of the messages toolset sees the
    token Messages but not their values, and cannot filter or sort on them; the policy can show them."""
    from commercetools_customers_mcp.core.redaction import OutputPolicy

    where = ['type = "CustomerPasswordTokenCreated"']
    async with Client(build_server({"demo": demo}, policy=WITH_MESSAGES)) as client:
        global_only = {"where": ["stores is empty"], "limit": 1}  # a Store's customer needs the Store's endpoint
        customer = (await client.call_tool(P + "list_customers", global_only)).structured_content["results"][0]
        token = await client.call_tool(
            P + "create_customers_password_token", {"email": customer["email"], "ttlMinutes": 30}
        )
        value = token.structured_content["value"]  # the caller that creates a token gets it: the flow needs it
        page = (await client.call_tool(LIST, {"where": where, "sort": ["createdAt desc"]})).structured_content
        one = (await client.call_tool(GET, {"ID": page["results"][0]["id"]})).structured_content
        oracle = await client.call_tool(LIST, {"where": [*where, f'value >= "{value[:3]}"']})
        sorted_by = await client.call_tool(LIST, {"sort": ["value asc"]})
    assert page["results"][0]["value"] == one["value"] == "[REDACTED]"
    assert value not in orjson.dumps(page).decode()
    assert oracle.is_error and "'value' is hidden by this server" in oracle.structured_content["message"]
    assert sorted_by.is_error
    shown = parse_policy({"output": {"token_values": True}})
    assert shown.output == OutputPolicy(token_values=True)
    async with Client(build_server({"demo": demo}, policy=WITH_MESSAGES, rules=shown)) as client:
        page = (await client.call_tool(LIST, {"where": where, "sort": ["createdAt desc"]})).structured_content
        filtered = await client.call_tool(LIST, {"where": [*where, f'value = "{value}"']})
    assert page["results"][0]["value"] == value
    assert not filtered.is_error and filtered.structured_content["count"] == 1

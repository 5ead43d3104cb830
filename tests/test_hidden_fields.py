"""A field hidden from results can be neither filtered nor sorted on (the password-hash oracle)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server import Server

from commercetools_customers_mcp.core.server import build_server
from mcp_helpers import P


@pytest.fixture
async def with_customer(server: Server[Any]) -> Server[Any]:
    async with Client(server) as client:
        created = await client.call_tool(
            P + "create_customers", {"email": "ann@example.com", "password": "s3cret!", "firstName": "Ann"}
        )
    assert not created.is_error, created
    return server


ORACLES = [
    ("list_customers", {"where": ['email = "ann@example.com"', 'password >= "scrypt$"']}),
    ("list_customers", {"where": ['PASSWORD >= "s"']}),
    ("list_customers", {"where": ["Password is defined"]}),
    ("list_customers", {"where": ['not(password < "t")']}),
    ("list_customers", {"where": ['email = "ann@example.com" or (firstName = "x" and password = "y")']}),
    ("list_customers", {"where": ['addresses(password = "y")']}),
    ("list_customers", {"where": ['password in ("a", "b")']}),
    ("list_customers", {"where": ["password contains any :v"]}),
    ("list_customers", {"sort": ["password asc"]}),
    ("list_customers", {"sort": ["custom.fields.password desc"]}),
    ("list_business_units", {"where": ['associates(customer(password >= "s"))']}),
    ("create_customers_search", {"query": {"range": {"field": "password", "gte": "s"}}}),
    (
        "create_customers_search",
        {"query": {"and": [{"exists": {"field": "id"}}, {"not": [{"prefix": {"field": "Password", "value": "s"}}]}]}},
    ),
    ("create_customers_search", {"sort": [{"field": "password", "order": "asc"}]}),
    ("create_business_units_search", {"query": {"exact": {"field": "associates.password", "value": "x"}}}),
]


@pytest.mark.parametrize(("tool", "arguments"), ORACLES)
async def test_filtering_or_sorting_on_password_is_refused(
    with_customer: Server[Any], tool: str, arguments: dict
) -> None:
    async with Client(with_customer) as client:
        result = await client.call_tool(P + tool, arguments)
    assert result.is_error, result.structured_content
    assert "statusCode" not in result.structured_content  # refused before any request
    text = " ".join(result.structured_content["problems"])
    assert "is hidden by this server" in text and "password" in text.lower()


async def test_read_only_mode_refuses_it_too(api_client: Any) -> None:
    from commercetools_customers_mcp.core.server import ToolPolicy

    server = build_server({"emulator": api_client}, policy=ToolPolicy(read_only=True))
    async with Client(server) as client:
        result = await client.call_tool(P + "list_customers", {"where": ['password >= "scrypt$"']})
    assert result.is_error and "is hidden by this server" in result.structured_content["message"]


async def test_the_word_password_in_a_value_or_other_field_is_fine(with_customer: Server[Any]) -> None:
    async with Client(with_customer) as client:
        by_value = await client.call_tool(P + "list_customers", {"where": ['firstName = "password"']})
        by_email = await client.call_tool(
            P + "list_customers", {"where": ['email = "ann@example.com"'], "sort": ["email"]}
        )
        search = await client.call_tool(
            P + "create_customers_search", {"query": {"fullText": {"field": "all", "value": "password"}}}
        )
    assert not by_value.is_error and by_value.structured_content["total"] == 0
    assert not by_email.is_error and by_email.structured_content["total"] == 1
    assert "password" not in by_email.structured_content["results"][0]
    assert search.structured_content.get("statusCode") == 409  # sent: search is off in this project


async def test_an_unparsable_predicate_is_refused_with_the_syntax_error(with_customer: Server[Any]) -> None:
    async with Client(with_customer) as client:
        result = await client.call_tool(P + "list_customers", {"where": ['password >= "s" and']})
    assert result.is_error and "statusCode" not in result.structured_content
    assert "Syntax error" in result.structured_content["problems"][0]

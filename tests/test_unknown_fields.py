"""`where`, `sort` and search paths that name no field: the call is still sent, and the result says which path and
which fields are near. Over the real server, client and emulator, both protocol eras."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server import Server

from commercetools_customers_mcp import spec
from commercetools_customers_mcp.core.catalog.field_notes import unknown_field_notes
from commercetools_customers_mcp.core.catalog.tools import BY_NAME, FAMILIES, PROJECT, tool_of
from commercetools_customers_mcp.querylang import search_fields as search
from commercetools_customers_mcp.serving.transports import http_app
from mcp_helpers import P, serving


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_an_unknown_sort_and_where_are_sent_and_noted(server: Server[Any], mode: str) -> None:
    async with Client(server, mode=mode) as client:
        await client.call_tool(P + "create_customer_groups", {"groupName": "A", "key": "a"})
        result = await client.call_tool(
            P + "list_customer_groups", {"sort": ["created desc"], "where": ['created > "2020-01-01T00:00:00Z"']}
        )
    assert not result.is_error and result.structured_content["total"] == 0  # sent: the API matched nothing
    assert len(result.content) == 2 and result.content[0].text.startswith("{")
    note = result.content[1].text
    assert "'created' (sort[0]) is not a field of CustomerGroup; did you mean" in note and "'createdAt'" in note
    assert "'created' (where[0])" in note


async def test_known_fields_custom_fields_and_query_only_fields_are_not_noted(server: Server[Any]) -> None:
    where = [
        'lowercaseEmail = "a@example.com"',
        'addresses(country = "DE") and customerGroup(id = "x")',
        'custom(fields(tier = "gold"))',
        'stores(key = "eu") or createdAt > "2020-01-01T00:00:00Z"',
    ]
    async with Client(server) as client:
        result = await client.call_tool(P + "list_customers", {"where": where, "sort": ["lastModifiedAt desc"]})
    assert not result.is_error and len(result.content) == 1


async def test_a_nested_unknown_field_lists_the_fields_there(server: Server[Any]) -> None:
    async with Client(server) as client:
        result = await client.call_tool(P + "list_customers", {"where": ['addresses(zip = "1")']})
    note = result.content[1].text
    assert "'addresses.zip' (where[0]) is not a field of Customer.addresses" in note and "postalCode" in note


async def test_an_unknown_search_field_is_noted_in_the_error(server: Server[Any]) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            P + "create_customers_search",
            {"query": {"exact": {"field": "emial", "value": "a"}}, "sort": [{"field": "score", "order": "desc"}]},
        )
    assert result.is_error  # search is off in this emulator; the note comes with the error
    notes = result.structured_content["notes"]
    assert notes == ["'emial' (query.exact) is not a field of the customer search index; did you mean 'email'?"]


def test_every_field_of_each_resource_and_index_is_known() -> None:
    for family in FAMILIES:
        listing = tool_of(family, "list")
        if family is PROJECT:  # one per project: read, never listed
            continue
        assert listing is not None
        fields = sorted(spec.schema(family.schema)["properties"])
        for start in range(0, len(fields), 16):
            assert unknown_field_notes(listing, {"sort": [f"{n} asc" for n in fields[start : start + 16]]}) == []
        searching = tool_of(family, "search")
        if searching is not None:
            names = [*search.FIELDS[family.type_id], "all", "custom.tier"]
            query = {"or": [{"exists": {"field": n}} for n in names]}
            sort = [{"field": "score", "order": "desc"}]
            assert unknown_field_notes(searching, {"query": query, "sort": sort}) == []
    assert unknown_field_notes(BY_NAME[P + "create_customers_search"], {"query": {"exists": {"field": "score"}}})


def test_the_emulator_indexes_exactly_the_fields_the_server_knows() -> None:
    from commercetools_customers_mcp.emulator import search_index as emulator_search

    assert emulator_search.FIELDS is search.FIELDS


def test_only_list_and_search_tools_are_checked() -> None:
    assert unknown_field_notes(BY_NAME[P + "get_by_id"], {"ID": "x"}) == []
    assert unknown_field_notes(BY_NAME[P + "list_customers"], {"where": ["bad predicate ("]}) == []


async def test_the_note_reaches_a_client_over_streamable_http(server: Server[Any]) -> None:
    async with serving(http_app(server, connection_ids=["emulator"])) as url, Client(url + "/mcp") as client:
        result = await client.call_tool(P + "list_associate_roles", {"sort": ["nmae asc"]})
    assert "'nmae' (sort[0]) is not a field of AssociateRole; did you mean 'name'?" in result.content[1].text

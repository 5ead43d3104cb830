"""Every tool family against the errors it can meet: the hint names the right thing and the right next call.

Driven end to end: the real server, client and emulator in process. Each row is a call that fails at the API, the
words its hint must contain (tool names, the `where` that finds a holder, the action that activates search) and
the words it must not (a token error never speaks of "id or key").
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters

from commercetools_customers_mcp.core.catalog.hints import error_hint
from commercetools_customers_mcp.core.catalog.tools import BY_NAME, FAMILIES, TOOLS, TOOLSETS, tool_of
from commercetools_customers_mcp.core.selection import ToolPolicy
from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.serving.transports import http_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import P, project_connection, serving

UNKNOWN = "00000000-0000-4000-8000-000000000000"
ROLE = {"typeId": "associate-role", "key": "buyer"}


async def _setup(session: Client) -> str:
    """A customer (the associate of acme), a group, a role, a unit with that associate and one without; the
    customer's id."""
    customer = await session.call_tool(P + "create_customers", {"email": "Ann@Example.com", "password": "pw"})
    customer_id = customer.structured_content["customer"]["id"]
    await session.call_tool(P + "create_customer_groups", {"groupName": "Gold", "key": "gold"})
    await session.call_tool(P + "create_associate_roles", {"key": "buyer", "buyerAssignable": True})
    associate = {
        "customer": {"typeId": "customer", "id": customer_id},
        "associateRoleAssignments": [{"associateRole": ROLE}],
    }
    await session.call_tool(
        P + "create_business_units", {"key": "acme", "name": "ACME", "unitType": "Company", "associates": [associate]}
    )
    await session.call_tool(P + "create_business_units", {"key": "solo", "name": "Solo", "unitType": "Company"})
    return customer_id


@pytest.fixture
async def mcp_server(make_connection: Any) -> AsyncIterator[Any]:
    app = create_app(":memory:", demo=False)
    client = CommercetoolsClient(make_connection("emulator"), transport=httpx2.ASGITransport(app=app))
    yield build_server({"emulator": client}, policy=ToolPolicy(toolsets=frozenset(TOOLSETS)))  # opt-in ones too
    await client.aclose()


def _missing(kind: str, args: dict[str, Any]) -> list[tuple[str, dict[str, Any], list[str], list[str]]]:
    """One row per family: a tool of this kind finds nothing, and the hint names the noun and the list tool."""
    rows = []
    for t in TOOLS:
        if t.kind == kind and ("{ID}" in t.path) == ("ID" in args) and "associates" not in t.path:
            rows.append((t.name.removeprefix(P), args, [f"No {t.family.noun}", tool_of(t.family, "list").name], []))
    return rows


# (tool, arguments, words the hint contains, words it must not contain); "{customer}" is the customer's id
ROWS: list[tuple[str, dict[str, Any], list[str], list[str]]] = [
    # not found, by id and by key, in every family: the family's noun and its list tool
    *_missing("get", {"ID": UNKNOWN}),
    *_missing("delete", {"key": "nope", "version": 1}),
    # stale versions
    ("update_customer_groups_by_key", {"key": "gold", "version": 7, "actions": [{"action": "setKey", "key": "g"}]},
     ["current version is 1", "version 1"], []),
    ("delete_associate_roles_by_key", {"key": "buyer", "version": 3}, ["current version is 1"], []),
    # duplicates: who holds the value, and the `where` that finds it
    ("create_customers", {"email": "ann@example.com", "password": "pw"},
     ["list_customers", 'lowercaseEmail = "ann@example.com"', "per store"], []),
    ("create_customer_groups", {"groupName": "Gold"}, ["list_customer_groups", 'name = "Gold"'], []),
    ("create_customer_groups", {"groupName": "Other", "key": "gold"}, ["list_customer_groups", 'key = "gold"'], []),
    ("create_associate_roles", {"key": "buyer"}, ["list_associate_roles", 'key = "buyer"'], []),
    ("create_business_units", {"key": "acme", "name": "Again", "unitType": "Company"},
     ["list_business_units", 'key = "acme"'], []),
    # tokens speak of tokens and of the tool that makes a new one, never of ids or keys
    ("list_customers_email_token_email_token", {"emailToken": "spent"},
     ["token", "create_customers_email_token"], ["id or key"]),
    ("list_customers_password_token_password_token", {"passwordToken": "spent"},
     ["token", "create_customers_password_token"], ["id or key"]),
    ("create_customers_password_reset", {"tokenValue": "spent", "newPassword": "x"},
     ["token", "create_customers_password_token"], ["id or key"]),
    ("create_customers_email_confirm", {"tokenValue": "spent"},
     ["token", "create_customers_email_token"], ["id or key"]),
    # associates: not an associate of an existing unit, or no such unit; the API's one code tells neither, so the
    # hint says both, each with its next call (never chosen by the message's words: issue #21 item 1)
    ("get_business_units_associates_by_key_and_associate_id", {"key": "solo", "associateId": "{customer}"},
     ["not an associate", "get_business_units_by_key", "inheritedAssociates", "list_business_units"], []),
    ("get_business_units_associates_by_business_unit_id_and_associate_id",
     {"businessUnitId": UNKNOWN, "associateId": "{customer}"},
     ["no business unit", "list_business_units", "not an associate"], []),
    # search switched off: how to switch it on, and what to poll
    ("create_customers_search", {}, ["changeCustomerSearchStatus", "list_customers_search_indexing_status"], []),
    ("create_business_units_search", {},
     ["changeBusinessUnitSearchStatus", "list_business_units_search_indexing_status"], []),
    ("list_customers_search_indexing_status", {},
     ["not activated", "changeCustomerSearchStatus", "Merchant Center"], ["token"]),
    ("list_business_units_search_indexing_status", {}, ["not activated", "changeBusinessUnitSearchStatus"], ["token"]),
    # references that block a delete
    ("delete_associate_roles_by_key", {"key": "buyer", "version": 1}, ["still use this associate role", "first"], []),
    ("create_customers_email_token", {"id": UNKNOWN, "ttlMinutes": 5}, ["No customer", "list_customers"], []),
]  # fmt: skip


@pytest.mark.parametrize(("tool", "arguments", "said", "unsaid"), ROWS, ids=[f"{r[0]}-{i}" for i, r in enumerate(ROWS)])
async def test_the_hint_names_the_right_thing(
    mcp_server: Any, tool: str, arguments: dict[str, Any], said: list[str], unsaid: list[str]
) -> None:
    async with Client(mcp_server) as session:
        customer = await _setup(session)
        args = {k: v.replace("{customer}", customer) if isinstance(v, str) else v for k, v in arguments.items()}
        result = await session.call_tool(P + tool, args)
    assert result.is_error, result
    content = result.structured_content
    assert "statusCode" in content, content  # the API answered: these are API errors, not argument problems
    hint = content["hint"]
    for words in said:
        assert words in hint, (words, hint)
    for words in unsaid:
        assert words not in hint, (words, hint)


def test_every_family_and_kind_gets_a_hint_for_every_code_from_any_backend() -> None:
    """Synthetic bodies in the shapes other backends send: every rule answers, none crashes, none is empty."""
    bodies = [
        {"statusCode": 404, "message": "x", "errors": [{"code": "ResourceNotFound", "message": "x"}]},
        {"statusCode": 409, "errors": [{"code": "ConcurrentModification", "currentVersion": 4}]},
        {"errors": [{"code": "DuplicateField", "field": "key", "duplicateValue": "k"}]},
        {"errors": [{"code": "DuplicateFieldWithConflictingResource", "field": "key", "duplicateValue": "k",
                     "conflictingResource": {"typeId": "customer-group", "id": "g1"}}]},
        {"errors": [{"code": "SearchNotReady"}]},
        {"error": "invalid_token", "error_description": "expired"},
        {"error": "Cannot read properties of undefined"},
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        None,
        [],
    ]  # fmt: skip
    for family in FAMILIES:
        for tool in (t for t in TOOLS if t.family == family):
            for status in (400, 401, 403, 404, 409, 429, 500, 502, 503):
                for body in bodies:
                    hint = error_hint(tool, status, body, attempts=2)
                    assert hint and isinstance(hint, str), (tool.name, status, body)
    held = error_hint(BY_NAME[P + "create_customer_groups"], 400, bodies[3], 1)
    assert "customer-group g1" in held and P + "get_customer_groups_by_id" in held
    write = error_hint(BY_NAME[P + "create_customers"], 502, "<html>bad gateway</html>", 1)
    assert "may have been applied" in write and "list_customers" in write and "call again only if" in write
    limited = error_hint(BY_NAME[P + "create_customers"], 429, {"statusCode": 429}, 4)
    assert "Nothing was applied" in limited


# duplicate email, spent token, non-associate, search off
OVER_TRANSPORTS = {
    "create_customers",
    "list_customers_email_token_email_token",
    "get_business_units_associates_by_key_and_associate_id",
    "list_customers_search_indexing_status",
}
TRANSPORT_ROWS = [row for row in ROWS if row[0] in OVER_TRANSPORTS]


async def _check_rows(session: Client) -> None:
    customer = await _setup(session)
    for tool, arguments, said, unsaid in TRANSPORT_ROWS:
        args = {k: v.replace("{customer}", customer) if isinstance(v, str) else v for k, v in arguments.items()}
        hint = (await session.call_tool(P + tool, args)).structured_content["hint"]
        assert all(w in hint for w in said) and not any(w in hint for w in unsaid), (tool, hint)


async def test_hints_over_streamable_http(mcp_server: Any) -> None:
    async with serving(http_app(mcp_server, connection_ids=["emulator"])) as url, Client(url + "/mcp") as session:
        await _check_rows(session)


async def test_hints_over_stdio() -> None:
    command = [sys.executable, "-m", "commercetools_customers_mcp", "serve", "--data", ":memory:", "--no-demo"]
    async with Client(StdioServerParameters(command=command[0], args=command[1:]), mode="legacy") as session:
        await _check_rows(session)


async def test_a_hidden_value_quoted_by_a_hint_is_scrubbed_in_any_letter_case(tmp_path: Any) -> None:
    """The duplicate-email hint quotes the email lower-cased for its `where`: an output policy hiding emails must
    hide that form too."""
    from commercetools_customers_mcp.core.policy import load_policy

    path = tmp_path / "policy.toml"
    path.write_text('[output]\npreset = "pii"\n')
    app = create_app(":memory:", demo=False, project="shop")
    client = CommercetoolsClient(project_connection("eu", "shop"), transport=httpx2.ASGITransport(app=app))
    email = {"email": "Ann.Secret@Example.com", "password": "pw"}
    async with Client(build_server({"eu": client}, rules=load_policy(path))) as session:
        await session.call_tool(P + "create_customers", email)
        duplicate = await session.call_tool(P + "create_customers", email)
    await client.aclose()
    text = "\n".join(block.text for block in duplicate.content).lower()
    assert duplicate.is_error and "lowercaseemail = " in text
    assert "ann.secret@example.com" not in text and "ann.secret" not in text


def test_hints_come_from_codes_and_routes_never_from_the_words_of_a_message() -> None:
    """Issue #21 item 1, by error shape: a route 404 (no API code) whose message repeats the path is a missing
    endpoint; a message's words never change the hint; a search read as another endpoint gets no argument advice."""
    route_404 = {"message": "Route GET:/p/business-units/key=co/associates/c1 not found", "error": "Not Found",
                 "statusCode": 404}  # fmt: skip
    lookup = BY_NAME[P + "get_business_units_associates_by_key_and_associate_id"]
    hint = error_hint(lookup, 404, route_404, 1)
    assert "does not offer GET /business-units/key={key}/associates/{associateId}" in hint
    assert "not an associate" not in hint and P + "get_business_units_by_key" in hint
    for words in ("associate", "business unit", "resource with", "token", "search"):
        body = {"statusCode": 404, "message": words, "errors": [{"code": "ResourceNotFound", "message": words}]}
        assert error_hint(lookup, 404, body, 1) == error_hint(lookup, 404, {**body, "message": "x"}, 1)
    status = BY_NAME[P + "list_customers_search_indexing_status"]
    missing = error_hint(status, 404, {"message": "Route GET:/p/customers/search/indexing-status not found"}, 1)
    assert "does not offer" in missing and "Activated" not in missing and P + "create_customers_search" in missing
    off = {"statusCode": 404, "errors": [{"code": "ResourceNotFound", "message": "x"}]}
    assert P + "create_customers_search" in error_hint(status, 404, off, 1)  # activated already: no second round
    search = BY_NAME[P + "create_customers_search"]
    misread = {"statusCode": 400, "errors": [{"code": "InvalidJsonInput", "detailedErrorMessage": "version: Missing"}]}
    hint = error_hint(search, 400, misread, 1)
    assert "does not offer POST /customers/search" in hint and P + "list_customers" in hint and "version" not in hint
    field = {"statusCode": 400, "errors": [{"code": "RequiredField", "field": "actions", "message": "m"}]}
    assert "does not offer" in error_hint(BY_NAME[P + "create_customers_password_token"], 400, field, 1)
    assert "does not offer" not in error_hint(BY_NAME[P + "update_customers_by_id"], 400, field, 1)
    token = BY_NAME[P + "list_customers_password_token_password_token"]
    assert "does not offer GET /customers/password-token=" in error_hint(token, 404, off, 1)
    assert "does not offer GET /customers/password-token=" in error_hint(token, 404, route_404, 1)
    change = BY_NAME[P + "create_customers_password"]
    hint = error_hint(change, 400, misread, 1)
    assert "read the request as another endpoint's" in hint and "list_customers" not in hint  # leads nowhere

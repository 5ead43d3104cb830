"""Store customers through the MCP server (issue #19): ``storeKey`` on the customer, account and business-unit
tools, and no silent success when a global password-reset token can reset nobody."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from commercetools_customers_mcp.core.catalog.tools import BY_NAME, TOOLS, build_request
from commercetools_customers_mcp.core.policy import load_policy
from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import P, project_connection

EMAIL = "ida@example.com"


def test_the_store_scoped_tools_and_their_paths() -> None:
    scoped = {t.name.removeprefix(P) for t in TOOLS if t.store_scoped}
    assert len(scoped) == 25  # 8 customer, 7 account and 10 business-unit tools
    assert not {"create_customers_search", "list_customers_search_indexing_status"} & scoped
    req = build_request(BY_NAME[P + "get_by_key"], {"key": "ida", "storeKey": "de", "expand": ["customerGroup"]})
    assert (req.path, req.path_params, req.json) == (
        "/{projectKey}/in-store/key={storeKey}/customers/key={key}",
        {"key": "ida", "storeKey": "de"},
        None,
    )
    req = build_request(BY_NAME[P + "create_customers_password_token"], {"email": EMAIL})
    assert (req.path, req.json) == ("/{projectKey}/customers/password-token", {"email": EMAIL})


@pytest.fixture
async def shop() -> Any:
    """An emulator with Stores de and us, Ida in de, and an MCP server on it."""
    app = create_app(":memory:", demo=False, project="shop")
    client = CommercetoolsClient(project_connection("eu", "shop"), transport=httpx2.ASGITransport(app=app))
    for key in ("de", "us"):
        r = await client.request("POST", "/{projectKey}/stores", json={"key": key, "name": {"en": key}})
        assert r.status == 201
    yield client
    await client.aclose()


async def test_password_reset_and_email_verification_of_a_store_customer(shop: CommercetoolsClient) -> None:
    async with Client(build_server({"eu": shop})) as mcp:

        async def call(tool: str, **arguments: Any) -> Any:
            return await mcp.call_tool(P + tool, arguments)

        ida = await call("create_customers", email=EMAIL, password="pw-1", storeKey="de")
        assert not ida.is_error and ida.structured_content["customer"]["stores"] == [{"typeId": "store", "key": "de"}]
        ida_id = ida.structured_content["customer"]["id"]

        # the global endpoint answers a token that resets nobody: an error naming the Store and storeKey
        token = await call("create_customers_password_token", email=EMAIL)
        assert token.is_error, token
        assert token.structured_content["stores"] == ["de"] and "storeKey" in token.structured_content["hint"]

        token = await call("create_customers_password_token", email=EMAIL, storeKey="de")
        assert not token.is_error and token.structured_content["customerId"] == ida_id
        value = token.structured_content["value"]
        found = await call("list_customers_password_token_password_token", passwordToken=value)
        assert found.is_error and "storeKey" in found.structured_content["hint"]
        found = await call("list_customers_password_token_password_token", passwordToken=value, storeKey="de")
        assert not found.is_error and found.structured_content["id"] == ida_id
        reset = await call("create_customers_password_reset", tokenValue=value, newPassword="pw-2", storeKey="de")
        assert not reset.is_error and reset.structured_content["version"] == 2

        made = await call("create_customers_email_token", id=ida_id, ttlMinutes=30, storeKey="de")
        assert not made.is_error
        value = made.structured_content["value"]
        wrong = await call("create_customers_email_confirm", tokenValue=value, storeKey="us")
        assert wrong.is_error and wrong.structured_content["statusCode"] == 404
        confirmed = await call("create_customers_email_confirm", tokenValue=value, storeKey="de")
        assert not confirmed.is_error and confirmed.structured_content["isEmailVerified"] is True
        # through another Store the customer does not exist; her Store's stays untouched
        assert (await call("get_by_id", ID=ida_id, storeKey="us")).is_error
        listed = await call("list_customers", storeKey="de")
        assert listed.structured_content["total"] == 1
        unit = await call("create_business_units", key="acme", name="ACME", unitType="Company", storeKey="de")
        assert unit.structured_content["stores"] == [{"typeId": "store", "key": "de"}]
        assert (await call("get_business_units_by_key", key="acme", storeKey="us")).is_error


async def test_a_global_token_for_nobody_or_for_a_global_customer(shop: CommercetoolsClient) -> None:
    async with Client(build_server({"eu": shop})) as mcp:
        nobody = await mcp.call_tool(P + "create_customers_password_token", {"email": "nobody@example.com"})
        assert nobody.is_error and "No customer has this email" in nobody.structured_content["message"]
        await mcp.call_tool(P + "create_customers", {"email": "g@example.com", "password": "pw"})
        ok = await mcp.call_tool(P + "create_customers_password_token", {"email": "G@example.com"})
        assert not ok.is_error and ok.structured_content["value"]


async def test_where_the_policy_hides_email_the_server_does_not_look(shop: CommercetoolsClient, tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[output]\npreset = "pii"\n')
    async with Client(build_server({"eu": shop}, rules=load_policy(path))) as mcp:
        result = await mcp.call_tool(P + "create_customers_password_token", {"email": "nobody@example.com"})
    assert not result.is_error
    assert "only if a global customer" in result.content[-1].text


def test_only_store_reads_the_scopes() -> None:
    from commercetools_customers_mcp.core.stores import only_store

    assert only_store(["manage_customers:shop:de", "view_business_units:shop:de", "view_types:shop"]) == "de"
    assert only_store(["manage_customers:shop:de", "manage_customers:shop"]) is None  # the project too
    assert only_store(["manage_customers:shop:de", "manage_customers:shop:us"]) is None  # two Stores
    assert only_store(["manage_project:shop"]) is None


async def test_a_connection_limited_to_one_store_goes_through_it() -> None:
    scopes = "manage_customers:shop:de view_business_units:shop:de manage_stores:shop"
    app = create_app(":memory:", demo=False, project="shop", clients={"emulator": "emulator:" + scopes})
    connection = project_connection("eu", "shop", scopes=scopes.split())
    client = CommercetoolsClient(connection, transport=httpx2.ASGITransport(app=app))
    for key in ("de", "us"):
        assert (await client.request("POST", "/{projectKey}/stores", json={"key": key})).status == 201
    async with Client(build_server({"eu": client})) as mcp:
        made = await mcp.call_tool(P + "create_customers", {"email": EMAIL, "password": "pw"})
        assert not made.is_error and made.structured_content["customer"]["stores"] == [{"typeId": "store", "key": "de"}]
        token = await mcp.call_tool(P + "create_customers_password_token", {"email": EMAIL})
        assert (
            not token.is_error and token.structured_content["customerId"] == made.structured_content["customer"]["id"]
        )
        refused = await mcp.call_tool(P + "list_customers", {"storeKey": "us"})
        assert refused.is_error and refused.structured_content["allowedStore"] == "de"
        assert "'de'" in refused.structured_content["message"]
        # the searches have no Store-scoped endpoint: the client's scopes answer 403 there, as the API would
        search = await mcp.call_tool(P + "list_customers_search_indexing_status", {})
        assert search.is_error and search.structured_content["statusCode"] == 403
    await client.aclose()


async def test_a_connection_may_name_its_store() -> None:
    app = create_app(":memory:", demo=False, project="shop")
    transport = httpx2.ASGITransport(app=app)
    admin = CommercetoolsClient(project_connection("admin", "shop"), transport=transport)
    for key in ("de", "us"):
        assert (await admin.request("POST", "/{projectKey}/stores", json={"key": key})).status == 201
    named = CommercetoolsClient(project_connection("us", "shop", store="us"), transport=transport)
    async with Client(build_server({"us": named})) as mcp:
        made = await mcp.call_tool(P + "create_customers", {"email": EMAIL, "password": "pw"})
        assert made.structured_content["customer"]["stores"] == [{"typeId": "store", "key": "us"}]
        refused = await mcp.call_tool(P + "get_by_key", {"key": "x", "storeKey": "de"})
        assert refused.is_error and refused.structured_content["allowedStore"] == "us"
    for client in (admin, named):
        await client.aclose()


def test_store_from_the_environment_and_the_file(tmp_path: Path) -> None:
    from commercetools_customers_mcp.upstream.connections import load_connections

    env = {"CTP_PROJECT_KEY": "shop", "CTP_CLIENT_ID": "id", "CTP_CLIENT_SECRET": "s", "CTP_STORE_KEY": "de"}
    assert load_connections(env=env)["default"].store == "de"
    path = tmp_path / "c.toml"
    path.write_text('[connections.eu]\nproject_key = "shop"\nclient_id = "i"\nclient_secret = "s"\nstore = "us"\n')
    assert load_connections(path, env={})["eu"].store == "us"

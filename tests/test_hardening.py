"""Red-team findings on the MCP side: bounded input, no log forging, /healthz behind the Host/Origin checks,
secrets masked in every form a server may reflect them. Real server, real client, real emulator."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import orjson
import pytest
from mcp import Client
from mcp.server import Server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from commercetools_customers_mcp.cli import main
from commercetools_customers_mcp.serving.transports import http_app
from mcp_helpers import P, serving

JSON_HEADERS = {"accept": "application/json", "content-type": "application/json"}


def call_body(tool: str, arguments: dict[str, Any]) -> bytes:
    params = {"name": P + tool, "arguments": arguments}
    return orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})


async def published(server: Server[Any]) -> dict[str, Any]:
    async with Client(server) as client:
        return {t.name.removeprefix(P): t.input_schema for t in (await client.list_tools()).tools}


# --- 2. every array and string is bounded, and refused before any work ----------------------------------------


async def test_an_expand_flood_is_refused_before_any_request(server: Server[Any], api_client: Any) -> None:
    """A million one-character expand items (4 MB) used to cost ~1.5 s of the event loop and end in an
    internal error; now it is a validation message and nothing reaches the API."""
    app = http_app(server, json_response=True)
    async with serving(app) as base, httpx2.AsyncClient(timeout=30) as http:
        body = call_body("list_customers", {"expand": ["a"] * 1_000_000})
        response = await http.post(base + "/mcp", content=body, headers=JSON_HEADERS)
    result = response.json()["result"]
    assert result["isError"] and "statusCode" not in result["structuredContent"]
    assert "more than 50000 values" in result["structuredContent"]["message"]


BAD_INPUT = [
    ("get_by_id", {"ID": "a" * 70_000}, "longer than 256"),
    ("get_by_key", {"key": "k" * 257}, "longer than 256"),
    ("delete_by_id", {"ID": "x", "version": 2**70}, "greater than the maximum"),
    ("list_customers", {"expand": ["customerGroup"] * 17}, "has more than 16 items"),
    ("list_customers", {"where": ['email = "x"'] * 17}, "has more than 16 items"),
    ("list_customers", {"where": ['email = "' + "a" * 5_000 + '"']}, "longer than 5000"),
    ("list_customers", {"sort": ["a" * 300]}, "longer than 261"),
    ("list_customers", {"limit": 2**64}, "greater than the maximum"),
    ("create_customers_email_token", {"id": "x", "ttlMinutes": 2**64}, "greater than the maximum"),
    ("create_customers_search", {"query": {"fullText": {"field": "all", "value": "w " * 200}}}, "longer than 256"),
    ("create_customers_search", {"query": {"or": [{"exists": {"field": "key"}}] * 51}}, "more than 50 items"),
    (
        "create_customers_search",
        {"query": {"and": [{"or": [{"exists": {"field": "key"}}] * 30}, {"or": [{"exists": {"field": "id"}}] * 30}]}},
        "at most 50 per query",
    ),
]


@pytest.mark.parametrize(("tool", "arguments", "expected"), BAD_INPUT, ids=[f"{t}-{e}" for t, _, e in BAD_INPUT])
async def test_oversized_input_is_a_validation_error(
    server: Server[Any], tool: str, arguments: dict, expected: str
) -> None:
    async with Client(server) as client:
        result = await client.call_tool(P + tool, arguments)
    assert result.is_error and "statusCode" not in result.structured_content, result.structured_content
    assert expected in result.structured_content["message"]
    assert len(result.structured_content["message"]) < 1_000  # a huge value is not echoed back whole


async def test_a_long_query_string_is_refused_not_an_internal_error(server: Server[Any]) -> None:
    where = ['email = "' + "%" * 4_000 + '"'] * 16  # every % is encoded as %25: about 200 KB of URL
    async with Client(server) as client:
        result = await client.call_tool(P + "list_customers", {"where": where})
    assert result.is_error and "URL longer than" in result.structured_content["message"]


async def test_bounds_are_held_by_the_server_not_published(server: Server[Any]) -> None:
    """Sizes are left out of tools/list (README: tools/list size) but every call is held to them, before any
    request, with an error naming the bound."""
    schemas = await published(server)
    assert jsonschema.Draft202012Validator(schemas["list_customers"]).is_valid({"where": ['email = "a"'], "limit": 10})
    assert not jsonschema.Draft202012Validator(schemas["list_customers"]).is_valid({"limit": 501})  # a page bound
    too_big = [
        ("list_customers", {"expand": ["a"] * 17}, "16"),
        ("get_by_id", {"ID": "a" * 257}, "256"),
        ("create_customers_search", {"query": {"prefix": {"field": "email", "value": "a" * 257}}}, "256"),
    ]
    async with Client(server) as client:
        for name, arguments, bound in too_big:
            assert jsonschema.Draft202012Validator(schemas[name]).is_valid(arguments)
            result = await client.call_tool(P + name, arguments)
            assert result.is_error and bound in result.structured_content["message"], (name, result)


# --- 3. log forging ------------------------------------------------------------------------------------------


async def test_unknown_tool_names_cannot_forge_or_bloat_log_lines(server: Server[Any], caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="commercetools_customers_mcp")
    forged = (
        "x\n2026-01-01 INFO commercetools_customers_mcp tool=commercetools_customers_delete_by_id pcid=b status=200"
    )
    async with Client(server) as client:
        first = await client.call_tool(forged, {})
        second = await client.call_tool("y" * 3_000_000, {})
    assert first.is_error and second.is_error
    lines = [r.getMessage() for r in caplog.records if r.name == "commercetools_customers_mcp"]
    assert len(lines) == 2 and all("\n" not in line and len(line) < 400 for line in lines)
    assert len(second.structured_content["message"]) < 400


# --- 4. /healthz answers only to allowed Hosts and Origins; secrets masked in derived forms ----------------------


async def test_healthz_applies_the_dns_rebinding_checks(server: Server[Any]) -> None:
    app = http_app(server, connection_ids=["emulator"])
    async with serving(app) as base, httpx2.AsyncClient() as http:
        ok = await http.get(base + "/healthz")
        rebound = await http.get(base + "/healthz", headers={"host": "evil.example"})
        cross = await http.get(base + "/healthz", headers={"origin": "http://evil.example"})
    assert ok.status_code == 200 and ok.json()["connections"] == ["emulator"]
    assert rebound.status_code == 421 and "emulator" not in rebound.text
    assert cross.status_code == 403 and "emulator" not in cross.text


def reflecting_auth_server() -> Starlette:
    """An auth server that echoes what it was sent in its error: the Basic header, the form, the body."""

    async def token(request: Request) -> JSONResponse:
        body = (await request.body()).decode()
        header = request.headers.get("authorization", "")
        return JSONResponse(
            {"error": f"invalid_client {header}", "error_description": f"refused {header} with {body}"}, status_code=401
        )

    return Starlette(routes=[Route("/oauth/token", token, methods=["POST"])])


async def test_startup_errors_mask_reflected_secrets(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    secret = "s3cr/t+key=="  # characters that change under percent- and base64-encoding
    for name in ("CTP_PROJECT_KEY", "CTP_CONNECTIONS_FILE", "MCP_API_KEY", "MCP_API_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHOP_SECRET", secret)
    async with serving(reflecting_auth_server()) as base:
        path = tmp_path / "connections.toml"
        path.write_text(
            f'[connections.shop]\nproject_key = "shop"\nclient_id = "cid"\nclient_secret_env = "SHOP_SECRET"\n'
            f'auth_url = "{base}"\napi_url = "{base}"\nmax_retries = 0\n'
        )

        def serve() -> int:
            with pytest.raises(SystemExit) as info:
                main(["serve", "--connections", str(path), "--transport", "http"])
            return int(info.value.code or 0)

        code = await asyncio.to_thread(serve)
    err = capsys.readouterr().err
    basic = base64.b64encode(f"cid:{secret}".encode()).decode()
    assert code == 2 and "refused a token" in err and "***" in err
    for form in (secret, basic, basic.rstrip("="), "s3cr%2Ft%2Bkey%3D%3D"):
        assert form not in err


# --- issue #18 item 2: one key holder cannot stall every tenant through `where` parsing ------------------------


async def test_a_caller_is_refused_a_connection_before_its_arguments_are_parsed(api_client: Any) -> None:
    from commercetools_customers_mcp.core.calls import CURRENT_PRINCIPAL, Principal
    from commercetools_customers_mcp.core.server import build_server

    server = build_server({"a": api_client, "b": api_client})
    token = CURRENT_PRINCIPAL.set(Principal("tenant-a", frozenset({"a"})))
    try:
        async with Client(server) as client:
            result = await client.call_tool(P + "list_customers", {"PCID": "b", "where": ['email = "x" and'] * 16})
    finally:
        CURRENT_PRINCIPAL.reset(token)
    assert result.is_error and result.structured_content["message"] == "This API key may not use connection 'b'."


async def test_long_filters_are_parsed_off_the_event_loop(server: Server[Any], monkeypatch: Any) -> None:
    import threading

    from commercetools_customers_mcp.core.server import ToolServer

    threads: list[int] = []
    check = ToolServer._problems

    def spy(self: ToolServer, tool: Any, arguments: dict[str, Any]) -> list[Any]:
        threads.append(threading.get_ident())
        return check(self, tool, arguments)

    monkeypatch.setattr(ToolServer, "_problems", spy)
    long = 'firstName = "' + "a" * 4_900 + '"'
    async with Client(server) as client:
        short = await client.call_tool(P + "list_customers", {"where": ['firstName = "a"']})
        flood = await client.call_tool(P + "list_customers", {"where": [long] * 10})
    assert not short.is_error and not flood.is_error
    assert threads[0] == threading.get_ident() and threads[1] != threading.get_ident()


async def test_a_whole_float_is_refused_where_the_api_takes_an_integer(server: Server[Any]) -> None:
    """JSON Schema lets 10.0 pass as an integer; the API answers 400 to `limit=10.0` (issue #18 item 5)."""
    async with Client(server) as client:
        result = await client.call_tool(P + "list_customers", {"limit": 10.0})
        fine = await client.call_tool(P + "list_customers", {"limit": 10})
    assert result.is_error and "statusCode" not in result.structured_content
    assert result.structured_content["problems"] == [
        "arguments.limit: 10.0 must be written without a decimal point: send 10"
    ]
    assert not fine.is_error

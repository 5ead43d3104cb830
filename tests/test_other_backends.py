"""Errors from a backend that is not our emulator: bodies of any shape, auth errors named by ``errors[0].code``,
timeouts told from refused connections, a create that may have been applied, a 429 on a create.

The odd backend is a small Starlette app over real HTTP on loopback, answering in the shapes another
implementation of the API was seen to answer (a body with only ``error``, a proxy's HTML 502, OAuth errors in the
``errors`` list, a slow answer); the MCP server runs over stdio (a subprocess), streamable HTTP and in memory.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.serving.transports import http_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import P, free_port, project_connection, serving

SLOW = 1.0  # seconds the odd backend takes for a slow answer; the connection times out after 0.3


def odd_backend() -> Starlette:
    seen: dict[str, int] = {}

    async def token(request: Request) -> Response:
        form = await request.form()
        if "gateway" in str(form.get("scope", "")):  # a proxy in front of the auth server, failing
            return HTMLResponse("<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>", status_code=502)
        if "refuse" in str(form.get("scope", "")):
            body = {"statusCode": 401, "errors": [{"code": "invalid_client", "message": "Unknown client 'x'."}]}
            return JSONResponse(body, status_code=401)
        return JSONResponse({"access_token": "t", "token_type": "Bearer", "expires_in": 3600})

    async def api(request: Request) -> Response:
        resource = request.path_params["resource"]
        seen[request.method + resource] = seen.get(request.method + resource, 0) + 1
        if resource == "customers" and request.method == "GET":
            return JSONResponse({"error": "Cannot read properties of undefined (reading 'email')"}, status_code=500)
        if resource == "customer-groups" and request.method == "GET":
            page = (
                "<html><head><title>502</title><style>h1{}</style></head><body><h1>502 Bad Gateway</h1></body></html>"
            )
            return HTMLResponse(page, status_code=502)
        if resource == "customers" and request.method == "POST":
            await asyncio.sleep(SLOW)
            return JSONResponse({"customer": {"id": "late"}}, status_code=201)
        if resource == "customer-groups" and request.method == "POST":
            if seen["POST" + resource] == 1:
                return JSONResponse(
                    {"statusCode": 429, "message": "Too many"}, status_code=429, headers={"Retry-After": "0"}
                )
            return JSONResponse({"id": "g1", "version": 1, "name": "G"}, status_code=201)
        if resource == "business-units":
            body = {
                "statusCode": 401,
                "message": "invalid_token",
                "errors": [{"code": "invalid_token", "message": "invalid_token"}],
                "error_description": "The access token has expired.",
            }
            return JSONResponse(body, status_code=401)
        return JSONResponse({"statusCode": 404}, status_code=404)

    return Starlette(
        routes=[
            Route("/oauth/token", token, methods=["POST"]),
            Route("/{project}/{resource}", api, methods=["GET", "POST"]),
        ]
    )


@pytest.fixture
async def backend() -> AsyncIterator[str]:
    async with serving(odd_backend()) as url:
        yield url


def _clients(url: str, **extra: Any) -> dict[str, CommercetoolsClient]:
    connection = project_connection("odd", "shop", url, timeout=0.3, max_retries=1, max_retry_time=5.0, **extra)
    return {"odd": CommercetoolsClient(connection)}


async def _calls(client: Client) -> dict[str, Any]:
    return {
        "shapeless": await client.call_tool(P + "list_customers", {}),
        "html": await client.call_tool(P + "list_customer_groups", {}),
        "slow_create": await client.call_tool(P + "create_customers", {"email": "a@example.com", "password": "pw"}),
        "limited_create": await client.call_tool(P + "create_customer_groups", {"groupName": "G"}),
        "expired": await client.call_tool(P + "list_business_units", {}),
    }


def _check(results: dict[str, Any]) -> None:
    shapeless = results["shapeless"].structured_content
    assert shapeless["statusCode"] == 500 and "Cannot read properties of undefined" in shapeless["message"]
    html = results["html"].structured_content
    assert html["message"] == "502 502 Bad Gateway" and "<" not in html["message"]
    slow = results["slow_create"].structured_content
    assert "Timed out waiting for 127.0.0.1:" in slow["message"] and "may have been applied" in slow["message"]
    assert "not retried" in slow["message"] and "may be retried" not in slow["hint"]
    assert "look for the customer first" in slow["hint"] and "list_customers" in slow["hint"]
    limited = results["limited_create"]
    assert not limited.is_error and limited.structured_content["id"] == "g1"  # a 429 applied nothing: retried
    expired = results["expired"].structured_content
    assert expired["statusCode"] == 401 and "The access token has expired." in expired["message"]
    assert "access token" in expired["hint"]


async def test_in_memory(backend: str) -> None:
    clients = _clients(backend)
    async with Client(build_server(clients)) as client:
        _check(await _calls(client))
    for c in clients.values():
        await c.aclose()


async def test_over_streamable_http(backend: str) -> None:
    clients = _clients(backend)
    app = http_app(build_server(clients), connection_ids=list(clients))
    async with serving(app) as url, Client(url + "/mcp", mode="auto") as client:
        _check(await _calls(client))
    for c in clients.values():
        await c.aclose()


async def test_over_stdio(backend: str, tmp_path: Path) -> None:
    file = tmp_path / "connections.toml"
    file.write_text(
        f'[connections.odd]\nproject_key = "shop"\nclient_id = "c"\nclient_secret = "s"\nauth_url = "{backend}"\n'
        f'api_url = "{backend}"\ntimeout = 0.3\nmax_retries = 1\nmax_retry_time = 5.0\n'
    )
    command = [sys.executable, "-m", "commercetools_customers_mcp", "serve", "--connections", str(file)]
    async with Client(StdioServerParameters(command=command[0], args=command[1:]), mode="legacy") as client:
        _check(await _calls(client))


async def test_a_refused_connection_is_not_a_timeout_and_names_host_and_port() -> None:
    port = free_port()  # nothing listens there
    clients = _clients(f"http://127.0.0.1:{port}")
    async with Client(build_server(clients)) as client:
        result = await client.call_tool(P + "create_customer_groups", {"groupName": "G"})
    content = result.structured_content
    assert f"Could not reach 127.0.0.1:{port}" in content["message"] and "imed out" not in content["message"]
    assert "may have been applied" not in content["message"] and "safe to repeat" in content["hint"]
    for c in clients.values():
        await c.aclose()


async def test_a_refused_token_says_why_from_the_errors_list(backend: str) -> None:
    clients = _clients(backend, scopes=["refuse:shop"])
    async with Client(build_server(clients)) as client:
        result = await client.call_tool(P + "get_by_key", {"key": "k"})
    content = result.structured_content
    assert "HTTP 401 invalid_client: Unknown client 'x'." in content["message"]
    assert "client id or secret is wrong" in content["hint"]
    for c in clients.values():
        await c.aclose()


async def test_an_auth_server_502_page_is_a_failure_not_refused_credentials(backend: str) -> None:
    """Issue #21 item 1: a 502 HTML page from the auth server is "the auth server answered 502", tags stripped."""
    clients = _clients(backend, scopes=["gateway:shop"])
    async with Client(build_server(clients)) as client:
        result = await client.call_tool(P + "get_by_key", {"key": "k"})
    content = result.structured_content
    assert "answered 502: 502 Bad Gateway nginx" in content["message"] and "<" not in content["message"]
    assert "refused" not in content["message"] and "credentials were refused" not in content["hint"]
    assert "auth server answered 502" in content["hint"] and "auth_url" in content["hint"]
    for c in clients.values():
        await c.aclose()

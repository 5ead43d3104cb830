"""The server against another implementation of the API as its backend: @labdigital/commercetools-mock (pinned by
bench/peers/package.json, installed into bench/.peers/ as the bench does it, launched by bench/mock_launcher.mjs).

Issue #21 item 1: the mock lacks some endpoints (the associate lookups, the indexing status: a route 404 whose
message repeats the path) and reads others as a different endpoint (``POST /customers/search`` as an update of
the customer with id ``search``). A hint must then say the backend does not offer the endpoint and name the way
round it; never "not an associate" for a real associate, never "no usable token" for a valid token, never an
argument the tool lacks, never an activation loop. Skipped without Node.js and npm.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import P, free_port, project_connection

pytestmark = pytest.mark.node
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("Node.js/npm not found")
    sys.path.insert(0, str(ROOT))
    try:
        from bench import peers
    finally:
        sys.path.remove(str(ROOT))
    found = peers.ensure(install=True)
    if not found.mock:
        pytest.skip(f"@labdigital/commercetools-mock not installed: {found.note}")
    port = free_port()
    process = subprocess.Popen(
        [str(found.node), str(peers.MOCK_LAUNCHER), str(port), "shop"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().startswith("READY")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _api(url: str, method: str, path: str, body: Any = None) -> Any:
    response = httpx2.request(method, f"{url}/shop{path}", json=body, headers={"Authorization": "Bearer t"})
    assert response.status_code < 300, response.text
    return response.json()


async def test_hints_on_a_backend_without_some_endpoints(mock_url: str) -> None:
    customer = _api(mock_url, "POST", "/customers", {"email": "ann@example.com", "password": "pw"})["customer"]
    _api(mock_url, "POST", "/associate-roles", {"key": "buyer", "permissions": []})
    unit = {"key": "co", "name": "Co", "unitType": "Company", "associates": [{"customer": {"typeId": "customer",
            "id": customer["id"]}, "associateRoleAssignments": [{"associateRole": {"typeId": "associate-role",
            "key": "buyer"}}]}]}  # fmt: skip
    _api(mock_url, "POST", "/business-units", unit)
    token = _api(mock_url, "POST", "/customers/password-token", {"email": "ann@example.com"})["value"]
    client = CommercetoolsClient(project_connection("mock", "shop", mock_url, max_retries=0))
    hints: dict[str, str] = {}
    async with Client(build_server({"mock": client})) as session:
        for tool, args in (
            ("get_business_units_associates_by_key_and_associate_id", {"key": "co", "associateId": customer["id"]}),
            ("list_customers_search_indexing_status", {}),
            ("list_business_units_search_indexing_status", {}),
            ("create_customers_search", {}),
            ("create_business_units_search", {}),
            ("list_customers_password_token_password_token", {"passwordToken": token}),
        ):
            result = await session.call_tool(P + tool, args)
            assert result.is_error and "statusCode" in result.structured_content, (tool, result)
            hints[tool] = result.structured_content["hint"]
    await client.aclose()
    associate = hints["get_business_units_associates_by_key_and_associate_id"]
    assert "not an associate" not in associate and "does not offer GET /business-units/key={key}/associates/" in (
        associate
    )
    assert P + "get_business_units_by_key" in associate
    for status in ("list_customers_search_indexing_status", "list_business_units_search_indexing_status"):
        assert "does not offer" in hints[status] and "Activated" not in hints[status], hints[status]  # no loop
    for search, listing in (("create_customers_search", "list_customers"), ("create_business_units_search",
                                                                             "list_business_units")):  # fmt: skip
        hint = hints[search]
        assert "does not offer POST /" in hint and P + listing in hint, hint
        assert "version" not in hint and "actions" not in hint, hint  # arguments a search does not take
    token_hint = hints["list_customers_password_token_password_token"]
    assert "does not offer GET /customers/password-token=" in token_hint, token_hint

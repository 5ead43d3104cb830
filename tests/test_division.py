"""A Division in one call: create_business_units takes the API's DivisionDraft parentUnit (the one addition to the
seed's parameters), over the real server, client and emulator, in both protocol eras."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server import Server

from mcp_helpers import P


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_division_is_created_in_one_call_with_the_division_defaults(server: Server[Any], mode: str) -> None:
    async with Client(server, mode=mode) as client:
        company = await client.call_tool(
            P + "create_business_units", {"key": "acme", "name": "ACME", "unitType": "Company"}
        )
        assert not company.is_error, company
        division = await client.call_tool(
            P + "create_business_units",
            {
                "key": "acme-eu",
                "name": "ACME EU",
                "unitType": "Division",
                "parentUnit": {"typeId": "business-unit", "key": "acme"},
            },
        )
        assert not division.is_error, division
        unit = division.structured_content
        assert unit["parentUnit"] == {"typeId": "business-unit", "key": "acme"} and unit["version"] == 1
        assert unit["topLevelUnit"]["key"] == "acme"
        assert (unit["associateMode"], unit["approvalRuleMode"], unit["storeMode"]) == (
            "ExplicitAndFromParent",
            "ExplicitAndFromParent",
            "FromParent",
        )
        explicit = await client.call_tool(
            P + "create_business_units",
            {
                "key": "acme-us",
                "name": "ACME US",
                "unitType": "Division",
                "parentUnit": {"typeId": "business-unit", "key": "acme"},
                "storeMode": "Explicit",
            },
        )
        assert explicit.structured_content["storeMode"] == "Explicit"


async def test_a_division_without_a_parent_is_refused_before_the_api(server: Server[Any]) -> None:
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        result = await client.call_tool(P + "create_business_units", {"key": "x", "name": "X", "unitType": "Division"})
    assert result.is_error and "missing required 'parentUnit'" in result.structured_content["problems"][0]
    assert "setUnitType" not in result.content[0].text  # a beta action some backends lack is not the way
    create = tools[P + "create_business_units"]
    assert "parentUnit" in create.input_schema["properties"]
    assert "Division" in create.description and "parentUnit" in create.description

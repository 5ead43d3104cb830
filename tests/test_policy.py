"""The operator's policy file: output filtering (results, text and error bodies), hidden fields off limits for
filters, tool overrides, tabular text, selection from the file. Real server, client and emulator; in memory,
over stdio, over HTTP and through `call`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import orjson
import pytest
from mcp import Client, StdioServerParameters

from commercetools_customers_mcp.cli import main
from commercetools_customers_mcp.config import ConfigError
from commercetools_customers_mcp.core.policy import load_policy, parse_policy
from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.serving.transports import http_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import P, project_connection, serving
from test_security import Counting

MODES = ["legacy", "auto"]
ANN = {"email": "ann.secret@example.com", "password": "pw-123456", "firstName": "Ann", "lastName": "Lee"}
PII = """
[output]
preset = "pii"
keep_field_paths = ["customer.firstName", "results.firstName", "firstName"]
[output.drop]
field_names = ["createdBy", "lastModifiedBy"]
"""


def emulator() -> tuple[CommercetoolsClient, Counting]:
    transport = Counting(httpx2.ASGITransport(app=create_app(":memory:", demo=False, project="shop")))
    return CommercetoolsClient(project_connection("eu", "shop"), transport=transport), transport


def policy_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content)


# --- filtering -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_pii_preset_redacts_results_text_and_errors_but_not_what_is_sent(tmp_path: Path, mode: str) -> None:
    client, _ = emulator()
    server = build_server({"eu": client}, rules=load_policy(policy_file(tmp_path, PII)))
    async with Client(server, mode=mode) as mcp:
        created = await mcp.call_tool(
            P + "create_customers", {**ANN, "addresses": [{"country": "DE", "phone": "+49 1"}]}
        )
        listed = await mcp.call_tool(P + "list_customers", {})
        duplicate = await mcp.call_tool(P + "create_customers", ANN)
    customer = created.structured_content["customer"]
    assert customer["email"] == "[REDACTED]" and customer["lastName"] == "[REDACTED]"
    assert customer["firstName"] == "Ann"  # kept
    assert customer["addresses"][0]["phone"] == "[REDACTED]" and customer["addresses"][0]["country"] == "DE"
    assert "createdBy" not in customer and "lastModifiedBy" not in customer
    assert listed.structured_content["results"][0]["email"] == "[REDACTED]"
    assert duplicate.is_error and duplicate.structured_content["errors"][0]["code"] == "DuplicateField"
    for result in (created, listed, duplicate):
        for leaked in (ANN["email"], "Lee", "+49 1"):
            assert leaked not in orjson.dumps(result.structured_content).decode()
            assert leaked not in text_of(result)
    assert duplicate.structured_content["errors"][0]["duplicateValue"] == "[REDACTED]"
    # what was sent is untouched: the unfiltered server sees the real values
    async with Client(build_server({"eu": client})) as plain:
        stored = await plain.call_tool(P + "get_by_id", {"ID": customer["id"]})
    assert stored.structured_content["email"] == ANN["email"]


async def test_drop_keep_and_paths(tmp_path: Path) -> None:
    client, _ = emulator()
    rules = parse_policy(
        {
            "output": {
                "redacted_with": "***",
                "keep_field_paths": ["results.addresses"],
                "redact": {"field_paths": ["results.lastName"], "field_name_contains": ["MAIL"]},
                "drop": {"field_names": ["addresses", "version"]},
            }
        }
    )
    async with Client(build_server({"eu": client}, rules=rules)) as mcp:
        await mcp.call_tool(P + "create_customers", {**ANN, "addresses": [{"country": "DE", "email": "a@b.cd"}]})
        page = (await mcp.call_tool(P + "list_customers", {})).structured_content
        got = (await mcp.call_tool(P + "get_by_key", {"key": "nope"})).structured_content
    row = page["results"][0]
    assert row["lastName"] == "***" and row["email"] == "***" and "version" not in row
    assert row["addresses"][0]["country"] == "DE" and row["addresses"][0]["email"] == "***"  # kept, children filtered
    assert got["statusCode"] == 404


HIDDEN_FILTERS = [
    ("list_customers", {"where": ['email = "ann.secret@example.com"']}),
    ("list_customers", {"where": ['addresses(phone = "1")']}),
    ("list_customers", {"sort": ["dateOfBirth desc"]}),
    ("create_customers_search", {"query": {"prefix": {"field": "lastName", "value": "L"}}}),
    ("list_business_units", {"where": ["contactEmail is defined"]}),
]


@pytest.mark.parametrize(("tool", "arguments"), HIDDEN_FILTERS)
async def test_a_hidden_field_can_be_neither_filtered_nor_sorted_on(tmp_path: Path, tool: str, arguments: dict) -> None:
    client, transport = emulator()
    server = build_server({"eu": client}, rules=load_policy(policy_file(tmp_path, PII)))
    async with Client(server) as mcp:
        result = await mcp.call_tool(P + tool, arguments)
        kept = await mcp.call_tool(P + "list_customers", {"where": ['firstName = "Ann"'], "sort": ["firstName"]})
    assert result.is_error and "is hidden by this server" in result.structured_content["message"]
    assert not kept.is_error
    assert transport.api_calls() == [("GET", "/shop/customers")]


# Fields the API derives from hidden ones (issue #18, High): each reads its sources, so each is refused too.
DERIVED_FILTERS = [
    ("list_customers", {"where": ['lowercaseEmail in ("ann.secret@example.com")']}, "'email'"),
    ("list_customers", {"where": ['LowerCaseEmail >= "a"']}, "'email'"),
    ("list_customers", {"sort": ["lowercaseEmail asc"]}, "'email'"),
    ("create_customers_search", {"query": {"range": {"field": "lowercaseEmail", "gte": "a"}}}, "'email'"),
    ("create_customers_search", {"query": {"prefix": {"field": "fullName", "value": "Ann L"}}}, "'lastName'"),
    ("create_customers_search", {"sort": [{"field": "fullName", "order": "asc"}]}, "'lastName'"),
    ("create_customers_search", {"query": {"fullText": {"field": "all", "value": "secret"}}}, "'email'"),
    ("create_customers_search", {"query": {"fuzzy": {"field": "all", "value": "secrt", "level": 1}}}, "more"),
    ("create_business_units_search", {"query": {"fullText": {"field": "all", "value": "x"}}}, "'contactEmail'"),
]


@pytest.mark.parametrize(("tool", "arguments", "names"), DERIVED_FILTERS)
@pytest.mark.parametrize("discovery", [False, True])
async def test_a_field_derived_from_a_hidden_one_is_refused_too(
    tmp_path: Path, tool: str, arguments: dict, names: str, discovery: bool
) -> None:
    client, transport = emulator()
    server = build_server({"eu": client}, rules=load_policy(policy_file(tmp_path, PII)), discovery=discovery)
    async with Client(server) as mcp:
        if discovery:
            result = await mcp.call_tool(P + "call_tool", {"name": P + tool, "arguments": arguments})
        else:
            result = await mcp.call_tool(P + tool, arguments)
    assert result.is_error, result.structured_content
    message = result.structured_content["message"]
    assert "hidden by this server" in message and names in message
    assert transport.api_calls() == []  # refused before any request


async def test_derived_fields_stay_usable_when_their_sources_are_shown(tmp_path: Path) -> None:
    only_phone = '[output.redact]\nfield_names = ["phone"]\n'
    client, transport = emulator()
    server = build_server({"eu": client}, rules=load_policy(policy_file(tmp_path, only_phone)))
    async with Client(server) as mcp:
        await mcp.call_tool(P + "create_customers", ANN)
        by_lowercase = await mcp.call_tool(
            P + "list_customers", {"where": ['lowercaseEmail = "ann.secret@example.com"']}
        )
        full_text = await mcp.call_tool(
            P + "create_customers_search", {"query": {"fullText": {"field": "all", "value": "ann"}}}
        )
    assert not by_lowercase.is_error and by_lowercase.structured_content["total"] == 1
    # `all` covers the addresses' phone numbers, which this policy hides: refused before any request.
    assert full_text.is_error and "'addresses.phone'" in full_text.structured_content["message"]
    assert ("POST", "/shop/customers/search") not in transport.api_calls()


# --- overrides ---------------------------------------------------------------------------------------------------

OVERRIDES = """
[tools.commercetools_customers_list_customers]
description = "Customers of the EU shop."
[tools.commercetools_customers_list_customers.parameters.limit]
default = 10
allowed = [10, 20]
[tools.commercetools_customers_list_customers.parameters.withTotal]
const = false
[tools.list_customer_groups.parameters.where]
description = "Group filters."
"""


async def test_tool_overrides_shape_the_schema_and_the_request(tmp_path: Path) -> None:
    client, transport = emulator()
    server = build_server({"eu": client}, rules=load_policy(policy_file(tmp_path, OVERRIDES)))
    async with Client(server) as mcp:
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
        default = await mcp.call_tool(P + "list_customers", {})
        twenty = await mcp.call_tool(P + "list_customers", {"limit": 20})
        five = await mcp.call_tool(P + "list_customers", {"limit": 5})
        pinned = await mcp.call_tool(P + "list_customers", {"withTotal": True})
        same = await mcp.call_tool(P + "list_customers", {"withTotal": False})  # the pinned value itself: fine
    listing = tools[P + "list_customers"]
    assert listing.description == "Customers of the EU shop."
    props = listing.input_schema["properties"]
    assert "withTotal" not in props and props["limit"]["enum"] == [10, 20] and props["limit"]["default"] == 10
    assert not jsonschema.Draft202012Validator(listing.input_schema).is_valid({"limit": 5})
    assert tools[P + "list_customer_groups"].input_schema["properties"]["where"]["description"] == "Group filters."
    assert default.structured_content["limit"] == 10 and "total" not in default.structured_content  # const sent
    assert twenty.structured_content["limit"] == 20
    assert five.is_error and "use one of: 10, 20" in five.structured_content["message"]
    assert pinned.is_error and "fixed by this server's policy" in pinned.structured_content["message"]
    assert not same.is_error and "total" not in same.structured_content
    assert [r for r in transport.requests if r[1] == "/shop/customers"] == [("GET", "/shop/customers")] * 3


@pytest.mark.parametrize(("sent", "refused"), [(False, False), (True, True), ("false", True)])
def test_a_pinned_parameter_may_be_sent_only_with_its_pinned_value(sent: Any, refused: bool) -> None:
    """Sending a const parameter's own value changes nothing and is accepted; any other value is refused (never
    silently replaced). Either way the pinned value is what is sent."""
    rules = parse_policy({"tools": {"list_customers": {"parameters": {"withTotal": {"const": False}}}}})
    arguments, problems = rules.tools[P + "list_customers"].arguments({"withTotal": sent, "limit": 5})
    assert arguments == {"withTotal": False, "limit": 5}
    assert problems == (["arguments.withTotal: fixed by this server's policy; leave it out"] if refused else [])


BAD_POLICIES = [
    ("[tools.nope]\ndescription = 'x'\n", "[tools.nope]", "no tool named"),
    ("[tools.list_customers.parameters.nope]\ndefault = 1\n", "parameters.nope]", "has no parameter"),
    ("[tools.list_customers.parameters.limit]\nconst = 1\ndefault = 2\n", "parameters.limit]", "const cannot"),
    ("[tools.list_customers.parameters.limit]\ndefault = 900\n", "parameters.limit] in", "default 900 does not fit"),
    ("[tools.list_customers.parameters.limit]\nallowed = ['x']\n", "parameters.limit] in", 'allowed "x" does not fit'),
    ("[tools.list_customers]\n", "[tools.list_customers]", "give a description or parameters"),
    ("[output]\nformat = 'yaml'\n", "[output]", "format must be one of"),
    ("[output]\npreset = 'gdpr'\n", "[output]", "preset must be one of"),
    ("[output.redact]\nfield_nams = ['x']\n", "[output.redact]", "unknown key(s) field_nams"),
    ("[tools.list_customers.parameters.limit]\nfoo = 1\n", "parameters.limit] in", "unknown key(s) foo; allowed"),
    ("[tools.list_customers.parameters.limit]\nallowed = []\n", "parameters.limit] in", "allowed must not be empty"),
    ("[output]\nredacted_with = 3\n", "[output] in", "redacted_with must be a string"),
    ("tool_names = 'long'\n", "policy.toml", "tool_names must be 'seed' or 'short'"),
    ("toolsets = ['']\n", "policy.toml", "toolsets[0] must not be empty"),
    ("read_only = 'yes'\n", "read_only", "must be true or false"),
    ("toolsets = ['orders']\n", "policy file", "unknown toolset(s) orders"),
    ("colour = 1\n", "policy.toml", "unknown key(s) colour"),
    ("[output\n", "policy.toml", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "where", "expected"), BAD_POLICIES)
def test_a_bad_policy_stops_the_start(
    tmp_path: Path, capsys: Any, monkeypatch: Any, text: str, where: str, expected: str
) -> None:
    monkeypatch.delenv("CTP_PROJECT_KEY", raising=False)
    monkeypatch.delenv("CTP_CONNECTIONS_FILE", raising=False)
    with pytest.raises(SystemExit) as info:
        main(["serve", "--data", ":memory:", "--policy", str(policy_file(tmp_path, text))])
    err = capsys.readouterr().err
    assert info.value.code == 2 and where in err and expected in err


def test_parse_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="const cannot"):
        parse_policy({"tools": {"get_by_id": {"parameters": {"expand": {"const": ["a"], "allowed": [["a"]]}}}}})


# --- tabular, selection in the file, transports -------------------------------------------------------------------


async def test_tabular_text_is_compact_and_structured_content_stays_json() -> None:
    client, _ = emulator()
    async with Client(build_server({"eu": client})) as mcp:
        for i in range(20):
            await mcp.call_tool(P + "create_customers", {**ANN, "email": f"c{i}@example.com", "key": f"c-{i:02d}"})
        plain = await mcp.call_tool(P + "list_customers", {"limit": 20})
    async with Client(build_server({"eu": client}, rules=parse_policy({"output": {"format": "tabular"}}))) as mcp:
        table = await mcp.call_tool(P + "list_customers", {"limit": 20})
        one = await mcp.call_tool(P + "get_by_key", {"key": "c-03"})
        missing = await mcp.call_tool(P + "get_by_key", {"key": "nope"})
    assert table.structured_content == plain.structured_content
    rows = text_of(table).splitlines()
    assert rows[0] == "limit=20 offset=0 count=20 total=20" and rows[1].startswith("in every row: ")
    assert len(rows) == 3 + 20 and "c-03" in rows[3 + 3]
    assert len(text_of(table).encode()) <= 0.6 * len(text_of(plain).encode())
    assert "key: c-03" in text_of(one).splitlines()
    assert orjson.loads(text_of(missing))["statusCode"] == 404  # errors stay JSON


def test_selection_from_the_file_and_flags_win(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("CTP_PROJECT_KEY", raising=False)
    path = policy_file(tmp_path, 'toolsets = ["customer-groups"]\nread_only = true\ntool_names = "short"\n')
    assert main(["tools", "--policy", str(path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert main(["tools", "--policy", str(path), "--toolsets", "associate-roles,customer-groups"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 6
    monkeypatch.setenv("MCP_POLICY_FILE", str(path))
    assert main(["call", P + "create_customer_groups", "--data", ":memory:", "--arg", "groupName=x"]) == 1
    assert "disabled" in orjson.loads(capsys.readouterr().out)["message"]


async def test_policy_over_stdio_and_http(tmp_path: Path) -> None:
    path = policy_file(tmp_path, PII)
    args = ["-m", "commercetools_customers_mcp", "serve", "--data", ":memory:", "--policy", str(path)]
    async with Client(StdioServerParameters(command=sys.executable, args=args), mode="legacy") as mcp:
        over_stdio = await mcp.call_tool(P + "list_customers", {"limit": 1})
    assert over_stdio.structured_content["results"][0]["email"] == "[REDACTED]"
    assert "@example.com" not in text_of(over_stdio)
    client, _ = emulator()
    app = http_app(build_server({"eu": client}, rules=load_policy(path)))
    async with serving(app) as base:
        for mode in MODES:
            async with Client(base + "/mcp", mode=mode) as mcp:
                created = await mcp.call_tool(P + "create_customers", {**ANN, "email": f"{mode}@example.com"})
            assert created.structured_content["customer"]["email"] == "[REDACTED]"
            assert f"{mode}@example.com" not in text_of(created)


def test_an_override_of_a_tool_the_selection_leaves_out_is_no_error(tmp_path: Path, capsys: Any) -> None:
    """The README's policy example overrides list_customers; with --toolsets customer-groups it used to exit 2
    (issue #18 item 11). A known tool the selection does not publish is simply not served."""
    path = policy_file(tmp_path, '[tools.list_customers]\ndescription = "Customers of the EU shop."\n')
    assert main(["tools", "--policy", str(path), "--toolsets", "customer-groups"]) == 0
    listed = capsys.readouterr().out
    assert "list_customer_groups" in listed and "list_customers " not in listed
    unknown = policy_file(tmp_path, '[tools.list_everything]\ndescription = "x"\n')
    with pytest.raises(SystemExit) as exit_info:
        main(["tools", "--policy", str(unknown)])
    assert exit_info.value.code == 2 and "list_everything" in capsys.readouterr().err

"""Issue #20: a delete's dry run, its confirmation through the client on both eras, and blockers named."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import orjson
import pytest
from mcp import Client, types
from mcp.server import request_state

from commercetools_customers_mcp.cli import main
from commercetools_customers_mcp.core.calls import CallRecord
from commercetools_customers_mcp.core.catalog.impact import IMPACT
from commercetools_customers_mcp.core.catalog.tools import DEFAULT_TOOLS
from commercetools_customers_mcp.core.discovery import CALL
from commercetools_customers_mcp.core.policy import parse_policy
from commercetools_customers_mcp.core.server import ToolServer
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.serving.audit import audit_entry
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from mcp_helpers import P, project_connection

MODES = ["legacy", "auto"]  # 2025-11-25 (live elicitation/create) and 2026-07-28 (InputRequiredResult)
DELETE_GROUP = P + "delete_customer_groups_by_key"
DELETES = sorted(t.name for t in DEFAULT_TOOLS if t.destructive)


class Records:
    """An observer keeping every finished call."""

    def __init__(self) -> None:
        self.calls: list[CallRecord] = []

    def call_started(self, name: str) -> None:
        pass

    def call_finished(self, record: CallRecord) -> None:
        self.calls.append(record)


@pytest.fixture
async def ct() -> AsyncIterator[CommercetoolsClient]:
    app = create_app(":memory:", demo=False)
    client = CommercetoolsClient(project_connection("emulator", "demo"), transport=httpx2.ASGITransport(app=app))
    yield client
    await client.aclose()


async def api(ct: CommercetoolsClient, method: str, path: str, json: Any = None, **params: str) -> Any:
    response = await ct.request(method, "/{projectKey}/" + path, params=list(params.items()), json=json)
    assert response.status < 400, response.body
    return response.body


def ref(type_id: str, key: str) -> dict[str, str]:
    return {"typeId": type_id, "key": key}


async def seed(ct: CommercetoolsClient) -> dict[str, Any]:
    """13 customers in group vip (12 by customerGroup, 1 by assignment), a unit assigning it, a role held by 3
    units, a customer who is an associate of 2 units with one active and one other cart."""
    group = await api(ct, "POST", "customer-groups", {"groupName": "VIP", "key": "vip"})
    for i in range(12):
        await api(ct, "POST", "customers", {"email": f"c{i}@example.com", "key": f"c{i}", "password": "x",
                                             "customerGroup": ref("customer-group", "vip")})  # fmt: skip
    assignments = [{"customerGroup": ref("customer-group", "vip")}]
    await api(ct, "POST", "customers", {"email": "a@example.com", "key": "assigned", "password": "x",
                                         "customerGroupAssignments": assignments})  # fmt: skip
    await api(ct, "POST", "customers", {"email": "other@example.com", "key": "other", "password": "x"})
    ann = (await api(ct, "POST", "customers", {"email": "ann@example.com", "key": "ann", "password": "x"}))["customer"]
    role = await api(ct, "POST", "associate-roles", {"key": "buyer", "name": "Buyer", "permissions": []})
    associate = {"customer": {"typeId": "customer", "id": ann["id"]},
                 "associateRoleAssignments": [{"associateRole": ref("associate-role", "buyer")}]}  # fmt: skip
    await api(ct, "POST", "business-units", {"key": "acme", "name": "ACME", "unitType": "Company",
                                              "associates": [associate],
                                              "customerGroupAssignments": assignments})  # fmt: skip
    for key in ("acme-eu", "acme-us"):
        await api(ct, "POST", "business-units", {"key": key, "name": key, "unitType": "Division",
                                                  "parentUnit": ref("business-unit", "acme"),
                                                  "associates": [associate] if key == "acme-eu" else []})  # fmt: skip
    await api(ct, "POST", "business-units", {"key": "solo", "name": "Solo", "unitType": "Company",
                                              "associates": [{**associate, "customer": {"typeId": "customer", "id": (
                                                  await api(ct, "GET", "customers/key=other"))["id"]}}]})  # fmt: skip
    await api(ct, "POST", "carts", {"currency": "EUR", "customerId": ann["id"]})
    return {"group": group, "role": role, "ann": ann}


def server(ct: CommercetoolsClient, mode: str | None = None, **kw: Any) -> Any:
    return ToolServer({"emulator": ct}, confirm_destructive=mode, **kw)


def answering(action: str, seen: list[str] | None = None, confirm: bool = True) -> Any:
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        if seen is not None:
            seen.append(params.message)
        content = {"confirm": confirm} if action == "accept" else None
        return types.ElicitResult(action=action, content=content)

    return callback


async def exists(ct: CommercetoolsClient, path: str) -> bool:
    return (await ct.request("GET", "/{projectKey}/" + path)).status == 200


# -- 1. dry run ------------------------------------------------------------------------------------------------


async def test_dry_run_counts_are_the_datas(ct: CommercetoolsClient) -> None:
    data = await seed(ct)
    async with Client(server(ct).mcp_server()) as client:
        group = await client.call_tool(DELETE_GROUP, {"key": "vip", "version": 1, "dry_run": True})
        role = await client.call_tool(P + "delete_associate_roles_by_id",
                                      {"ID": data["role"]["id"], "version": 1, "dry_run": True})  # fmt: skip
        ann = await client.call_tool(P + "delete_by_key", {"key": "ann", "version": 1, "dry_run": True})
        unit = await client.call_tool(
            P + "delete_business_units_by_key", {"key": "acme", "version": 1, "dry_run": True}
        )
    body = group.structured_content
    assert not group.is_error and body["dryRun"] is True and body["deleted"] is False
    assert body["resource"] == {"typeId": "customer-group", "id": data["group"]["id"], "key": "vip", "version": 1}
    assert body["versionMatches"] is True
    customers = body["impact"]["customers"]
    assert customers["count"] == 13 and len(customers["examples"]) == 10 and not customers["blocks"]
    assert set(customers["examples"]) <= {f"c{i}" for i in range(12)} | {"assigned"}
    assert body["impact"]["businessUnits"] == {"count": 1, "examples": ["acme"], "blocks": False}
    assert "13 customers in the group" in body["summary"] and "'vip'" in body["summary"]
    held = role.structured_content["impact"]["businessUnits"]
    assert held["count"] == 3 and sorted(held["examples"]) == ["acme", "acme-eu", "solo"] and held["blocks"]
    impact = ann.structured_content["impact"]
    assert impact["businessUnits"]["count"] == 2 and sorted(impact["businessUnits"]["examples"]) == ["acme", "acme-eu"]
    assert impact["activeCarts"]["count"] == 1 and len(impact["activeCarts"]["examples"]) == 1
    impact = unit.structured_content["impact"]
    assert impact["childUnits"] == {"count": 2, "examples": ["acme-eu", "acme-us"], "blocks": True}
    assert impact["associates"] == {"count": 1, "examples": [data["ann"]["id"]], "blocks": False}
    assert await exists(ct, "customer-groups/key=vip") and await exists(ct, "customers/key=ann")


@pytest.mark.parametrize("name", DELETES)
async def test_every_delete_has_a_dry_run_that_changes_nothing(ct: CommercetoolsClient, name: str) -> None:
    data = await seed(ct)
    tool = name.removeprefix(P)
    target = {"customer": ("customers", data["ann"]["id"], "ann"), "customer-group": ("customer-groups",
              data["group"]["id"], "vip"), "business-unit": ("business-units", None, "acme-us"),
              "associate-role": ("associate-roles", data["role"]["id"], "buyer")}  # fmt: skip
    fam = next(t for t in DEFAULT_TOOLS if t.name == name).family
    segment, id_, key = target[fam.type_id]
    if id_ is None:
        id_ = (await api(ct, "GET", f"{segment}/key={key}"))["id"]
    arguments: dict[str, Any] = {"ID": id_} if tool.endswith("by_id") else {"key": key}
    records = Records()
    async with Client(server(ct, "always", observers=[records]).mcp_server()) as client:  # dry runs never ask
        result = await client.call_tool(name, {**arguments, "version": 7, "dry_run": True})
    assert not result.is_error, result.structured_content
    body = result.structured_content
    assert body["resource"]["id"] == id_ and body["resource"]["key"] == key and body["versionMatches"] is False
    assert set(body["impact"]) == {row.name for row in IMPACT[fam]}
    assert await exists(ct, f"{segment}/{id_}")
    record = records.calls[-1]
    assert record.outcome == "dry-run" and record.confirmation == "dry-run"
    assert record.request is not None and ("dry_run", "true") not in record.request.params
    line = audit_entry(record, "cli", time.time())
    assert line is not None and line["status"] == "dry-run" and line["confirmation"] == "dry-run"


async def test_a_hidden_field_is_no_example(ct: CommercetoolsClient) -> None:
    await seed(ct)
    rules = parse_policy({"output": {"redact": {"field_names": ["key"]}}})
    async with Client(server(ct, rules=rules).mcp_server()) as client:
        result = await client.call_tool(DELETE_GROUP, {"key": "vip", "version": 1, "dry_run": True})
    body = result.structured_content
    assert body["resource"]["key"] == "[REDACTED]"
    examples = body["impact"]["customers"]["examples"]
    assert len(examples) == 10 and not any(e.startswith("c") and len(e) < 4 for e in examples)  # ids, not keys
    assert "c1'" not in body["summary"]


async def test_a_dry_run_of_nothing_is_the_apis_404(ct: CommercetoolsClient) -> None:
    async with Client(server(ct).mcp_server()) as client:
        result = await client.call_tool(DELETE_GROUP, {"key": "no", "version": 1, "dry_run": True})
    assert result.is_error and result.structured_content["statusCode"] == 404


# -- 2. confirmation, both eras ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", ["accept", "decline", "cancel", "accept-unchecked"])
async def test_the_user_is_asked_first(ct: CommercetoolsClient, mode: str, answer: str) -> None:
    await seed(ct)
    seen: list[str] = []
    records = Records()
    callback = answering(answer.split("-")[0], seen, confirm=answer == "accept")
    async with Client(server(ct, observers=[records]).mcp_server(), mode=mode, elicitation_callback=callback) as c:
        result = await c.call_tool(DELETE_GROUP, {"key": "vip", "version": 1})
    assert len(seen) == 1 and "Delete customer group 'vip'" in seen[0] and "13 customers in the group" in seen[0]
    confirmations = [r.confirmation for r in records.calls]
    if answer == "accept":
        assert not result.is_error and result.structured_content["key"] == "vip"
        assert not await exists(ct, "customer-groups/key=vip")
        assert confirmations == (["asked", "accepted"] if mode == "auto" else ["accepted"])
        assert records.calls[-1].outcome == 200
    else:
        assert result.is_error and result.structured_content["message"].startswith("Nothing was deleted")
        assert await exists(ct, "customer-groups/key=vip")
        expected = "cancelled" if answer == "cancel" else "declined"
        assert confirmations == (["asked", expected] if mode == "auto" else [expected])
        assert records.calls[-1].outcome == "declined"


@pytest.mark.parametrize("mode", MODES)
async def test_accepted_still_checks_the_version(ct: CommercetoolsClient, mode: str) -> None:
    await seed(ct)
    async with Client(server(ct).mcp_server(), mode=mode, elicitation_callback=answering("accept")) as client:
        result = await client.call_tool(DELETE_GROUP, {"key": "vip", "version": 3})
    assert result.is_error and result.structured_content["statusCode"] == 409


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_that_cannot_ask(ct: CommercetoolsClient, mode: str) -> None:
    await seed(ct)
    records = Records()
    async with Client(server(ct, "always", observers=[records]).mcp_server(), mode=mode) as client:
        refused = await client.call_tool(DELETE_GROUP, {"key": "vip", "version": 1})
    assert refused.is_error
    assert "operator requires a confirmation" in refused.structured_content["message"]
    assert "dry_run" in refused.structured_content["hint"]
    assert await exists(ct, "customer-groups/key=vip")
    assert (records.calls[-1].outcome, records.calls[-1].confirmation) == ("unconfirmed", "unavailable")
    async with Client(server(ct, observers=[records]).mcp_server(), mode=mode) as client:  # if-supported: runs
        done = await client.call_tool(DELETE_GROUP, {"key": "vip", "version": 1})
    assert not done.is_error and records.calls[-1].confirmation == "not-asked"


@pytest.mark.parametrize("mode", MODES)
async def test_off_never_asks(ct: CommercetoolsClient, mode: str) -> None:
    await seed(ct)
    seen: list[str] = []
    async with Client(server(ct, "off").mcp_server(), mode=mode, elicitation_callback=answering("decline", seen)) as c:
        result = await c.call_tool(DELETE_GROUP, {"key": "vip", "version": 1})
    assert not result.is_error and seen == []


@pytest.mark.parametrize("mode", MODES)
async def test_call_tool_in_discovery_mode_asks_too(ct: CommercetoolsClient, mode: str) -> None:
    await seed(ct)
    seen: list[str] = []
    tools = server(ct, "always", discovery=True).mcp_server()
    async with Client(tools, mode=mode, elicitation_callback=answering("accept", seen)) as client:
        arguments = {"name": P + "delete_customer_groups_by_key", "arguments": {"key": "vip", "version": 1}}
        result = await client.call_tool(CALL, arguments)
    assert not result.is_error and len(seen) == 1 and not await exists(ct, "customer-groups/key=vip")
    async with Client(tools, mode=mode) as client:
        arguments["arguments"] = {"key": "acme-us", "version": 1}
        arguments["name"] = P + "delete_business_units_by_key"
        refused = await client.call_tool(CALL, arguments)
    assert refused.is_error and "cannot show" in refused.structured_content["message"]


async def _first_round(client: Client, arguments: dict[str, Any]) -> types.InputRequiredResult:
    first = await client.session.call_tool(P + "delete_customer_groups_by_key", arguments, allow_input_required=True)
    assert isinstance(first, types.InputRequiredResult) and first.request_state
    return first


ACCEPT = {"confirm": types.ElicitResult(action="accept", content={"confirm": True})}


async def test_a_forged_state_is_refused(ct: CommercetoolsClient) -> None:
    await seed(ct)
    arguments = {"key": "vip", "version": 1}
    async with Client(server(ct).mcp_server(), elicitation_callback=answering("accept")) as client:
        first = await _first_round(client, arguments)
        state = first.request_state or ""
        altered = state[:-4] + ("AAAA" if not state.endswith("AAAA") else "BBBB")
        for forged in (altered, "v1.forged", orjson.dumps({"tool": "x"}).decode()):
            result = await client.session.call_tool(
                P + "delete_customer_groups_by_key", arguments, input_responses=ACCEPT, request_state=forged
            )
            assert result.is_error and "invalid, altered or expired" in result.structured_content["message"]
        # a state minted for another target (the SDK binds the arguments: the same refusal)
        result = await client.session.call_tool(
            DELETE_GROUP, {"key": "vip", "version": 2}, input_responses=ACCEPT,
            request_state=state,
        )  # fmt: skip
        assert result.is_error and "invalid, altered or expired" in result.structured_content["message"]
        # an acceptance without the state it answers is not one: the question is asked again
        again = await client.session.call_tool(
            P + "delete_customer_groups_by_key", arguments, input_responses=ACCEPT, allow_input_required=True
        )
        assert isinstance(again, types.InputRequiredResult)
    assert await exists(ct, "customer-groups/key=vip")


async def test_an_expired_or_replayed_state_is_refused(ct: CommercetoolsClient, monkeypatch: Any) -> None:
    await seed(ct)
    records = Records()
    arguments = {"key": "vip", "version": 1}
    async with Client(server(ct, observers=[records]).mcp_server(), elicitation_callback=answering("accept")) as c:
        first = await _first_round(c, arguments)
        real = time.time
        monkeypatch.setattr(request_state.time, "time", lambda: real() + 301)  # STATE_TTL is 300 s
        expired = await c.session.call_tool(
            P + "delete_customer_groups_by_key", arguments, input_responses=ACCEPT, request_state=first.request_state
        )
        assert expired.is_error and "expired" in expired.structured_content["message"]
        monkeypatch.setattr(request_state.time, "time", real)
        assert await exists(ct, "customer-groups/key=vip")
        declined = {"confirm": types.ElicitResult(action="decline")}
        no = await c.session.call_tool(
            P + "delete_customer_groups_by_key", arguments, input_responses=declined, request_state=first.request_state
        )
        assert no.is_error and "did not confirm" in no.structured_content["message"]
        replayed = await c.session.call_tool(
            P + "delete_customer_groups_by_key", arguments, input_responses=ACCEPT, request_state=first.request_state
        )
        assert replayed.is_error and "already used" in replayed.structured_content["message"]
    assert await exists(ct, "customer-groups/key=vip")
    assert records.calls[-1].confirmation == "refused"


# -- 3. the operator's choice ------------------------------------------------------------------------------------


def test_the_policy_file_sets_the_mode() -> None:
    from commercetools_customers_mcp.config import ConfigError

    assert parse_policy({"confirm_destructive": "always"}).confirm_destructive == "always"
    assert parse_policy({}).confirm_destructive is None
    with pytest.raises(ConfigError, match="confirm_destructive"):
        parse_policy({"confirm_destructive": "sometimes"})


def test_the_call_command(capsys: Any, tmp_path: Any) -> None:
    base = ["call", P + "delete_customer_groups_by_key", "--data", str(tmp_path / "e.sqlite3"),
            "--json", '{"key": "vip", "version": 1}']  # fmt: skip
    assert main([*base, "--confirm-destructive", "always"]) == 1
    out = orjson.loads(capsys.readouterr().out)
    assert "cannot show" in out["message"] and "--yes" in out["hint"]
    policy = tmp_path / "p.toml"
    policy.write_text('confirm_destructive = "always"\n')
    assert main([*base, "--policy", str(policy)]) == 1
    capsys.readouterr()
    assert main([*base, "--policy", str(policy), "--yes"]) == 0
    assert orjson.loads(capsys.readouterr().out)["key"] == "vip"


# -- 4. blockers named ---------------------------------------------------------------------------------------------


async def test_a_role_still_held_names_every_unit(ct: CommercetoolsClient) -> None:
    await seed(ct)
    async with Client(server(ct, "off").mcp_server()) as client:
        result = await client.call_tool(P + "delete_associate_roles_by_key", {"key": "buyer", "version": 1})
    body = result.structured_content
    assert result.is_error and body["errors"][0]["code"] == "ReferenceExists"
    assert body["blockedBy"]["businessUnits"]["count"] == 3
    assert sorted(body["blockedBy"]["businessUnits"]["examples"]) == ["acme", "acme-eu", "solo"]
    message = body["errors"][0]["message"]
    assert message.startswith("Can not delete a associate-role while it is referenced by at least one business-unit.")
    assert all(f"'{k}'" in message for k in ("acme", "acme-eu", "solo"))


async def test_blockers_past_fifty_are_counted(ct: CommercetoolsClient) -> None:
    await api(ct, "POST", "associate-roles", {"key": "buyer", "name": "Buyer", "permissions": []})
    ann = (await api(ct, "POST", "customers", {"email": "ann@example.com", "key": "ann", "password": "x"}))["customer"]
    associate = {"customer": {"typeId": "customer", "id": ann["id"]},
                 "associateRoleAssignments": [{"associateRole": ref("associate-role", "buyer")}]}  # fmt: skip
    for i in range(53):
        await api(ct, "POST", "business-units", {"key": f"u{i:02}", "name": "U", "unitType": "Company",
                                                  "associates": [associate]})  # fmt: skip
    async with Client(server(ct, "off").mcp_server()) as client:
        result = await client.call_tool(P + "delete_associate_roles_by_key", {"key": "buyer", "version": 1})
    body = result.structured_content
    held = body["blockedBy"]["businessUnits"]
    assert held["count"] == 53 and len(held["examples"]) == 50
    assert body["errors"][0]["message"].endswith("and 3 more.")
    assert "53 business units holding the role" in body["message"] and "and 3 more" in body["message"]


@pytest.mark.parametrize("mode", ["if-supported", "always"])
async def test_a_connection_with_no_way_back(ct: CommercetoolsClient, mode: str) -> None:
    """A 2025-11-25 client that declared elicitation on a transport that cannot carry the question mid-call:
    if-supported runs the delete unasked, always refuses it."""
    from mcp.shared.exceptions import NoBackChannelError

    from commercetools_customers_mcp.core.catalog.tools import BY_NAME, build_request
    from commercetools_customers_mcp.core.consent import Asker

    await seed(ct)

    async def no_way_back(message: str, schema: dict[str, Any]) -> types.ElicitResult:
        raise NoBackChannelError("elicitation/create")

    tool, arguments = BY_NAME[DELETE_GROUP], {"key": "vip", "version": 1}
    record = CallRecord(DELETE_GROUP, "cid", None, tool=tool)
    gate = server(ct, mode).consent
    ended = await gate.before_delete(tool, arguments, ct, record, build_request(tool, arguments),
                                     Asker(True, elicit=no_way_back))  # fmt: skip
    if mode == "if-supported":
        assert ended is None and record.confirmation == "not-asked"
    else:
        assert isinstance(ended, types.CallToolResult) and ended.is_error and record.confirmation == "unavailable"


class _ImpactQueriesUnreachable(httpx2.AsyncBaseTransport):
    """The emulator, but a listing with a `where` (the impact and blocker queries) fails as a network error would:
    a dropped connection cannot be made to happen on purpose in process."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx2.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and b"where=" in request.url.query:
            raise httpx2.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


async def test_an_unreachable_impact_query_is_not_counted_not_an_internal_error() -> None:
    app = create_app(":memory:", demo=False)
    ct = CommercetoolsClient(project_connection("emulator", "demo"), transport=httpx2.ASGITransport(app=app))
    await seed(ct)
    flaky = CommercetoolsClient(project_connection("emulator", "demo"), transport=_ImpactQueriesUnreachable(app))
    async with Client(server(flaky, "off").mcp_server()) as client:
        dry = await client.call_tool(DELETE_GROUP, {"key": "vip", "version": 1, "dry_run": True})
        held = await client.call_tool(P + "delete_associate_roles_by_key", {"key": "buyer", "version": 1})
    assert not dry.is_error, dry.content
    customers = dry.structured_content["impact"]["customers"]
    assert customers["count"] is None and "could not be counted" in customers["error"], customers
    assert held.is_error and held.structured_content["errors"][0]["code"] == "ReferenceExists", held.content
    await ct.aclose()
    await flaky.aclose()

"""The audit log (``--audit-log``): one JSON line per data-changing call, over stdio and HTTP, with the real server,
client and emulator; nothing personal in it; whole lines when several processes append; failures never fail calls."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from mcp import Client, StdioServerParameters

from commercetools_customers_mcp.cli import main
from commercetools_customers_mcp.core.calls import CallRecord
from commercetools_customers_mcp.core.catalog.tools import BY_NAME
from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.emulator.faults import Faults
from commercetools_customers_mcp.serving.audit import MAX_LINE, AuditLog, audit_entry, encode_line
from commercetools_customers_mcp.serving.transports import http_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient, new_correlation_id
from mcp_helpers import P, emulator_clients, project_connection, serving
from test_security import ALICE, ROOT, keyring, with_key

EMAIL = "jane.audit@example.com"
FIRST, LAST, NEW_FIRST = "Janette", "Auditson", "Jolanda"
PASSWORDS = ("Pw-first-4471!", "Pw-reset-8812!", "Pw-third-2290!")

# What the workflow below leaves in the audit log, in order: (tool, status).
EXPECTED = [
    ("create_customers", 201),
    ("update_customers_by_id", 200),
    ("create_customers_password_token", 200),
    ("create_customers_password_reset", 200),
    ("create_customers_email_token", 200),
    ("create_customers_email_confirm", 200),
    ("create_customers_password", 200),
    ("create_customers", 400),
    ("update_customers_by_id", "invalid"),
    ("create_customer_groups", "unknown-pcid"),
    ("create_customer_groups", 201),
    ("update_customer_groups_by_key", 409),
    ("delete_customer_groups_by_key", 200),
    ("delete_by_id", 200),
]


async def workflow(client: Client, pcid: str | None = None) -> dict[str, Any]:
    """Every kind of write (and some reads, which must not be logged); returns what the log must and must not hold."""
    where = {"PCID": pcid} if pcid else {}

    async def call(tool: str, /, **arguments: Any) -> Any:
        result = await client.call_tool(P + tool, {**where, **arguments})
        return result.structured_content

    draft = {"email": EMAIL, "password": PASSWORDS[0], "firstName": FIRST, "lastName": LAST, "key": "jane-audit"}
    customer = (await call("create_customers", **draft))["customer"]
    cid = customer["id"]
    await call("get_by_id", ID=cid)
    await call("list_customers", where=[f'email = "{EMAIL}"'])
    await call("create_customers_search", query={"fullText": {"field": "all", "value": FIRST}})
    actions = [{"action": "setFirstName", "firstName": NEW_FIRST}, {"action": "setLastName", "lastName": LAST}]
    await call("update_customers_by_id", ID=cid, version=1, actions=actions)
    reset = (await call("create_customers_password_token", email=EMAIL))["value"]
    await call("list_customers_password_token_password_token", passwordToken=reset)
    await call("create_customers_password_reset", tokenValue=reset, newPassword=PASSWORDS[1])
    confirm = (await call("create_customers_email_token", id=cid, ttlMinutes=5))["value"]
    await call("create_customers_email_confirm", tokenValue=confirm)
    changed = await call(
        "create_customers_password", id=cid, version=4, currentPassword=PASSWORDS[1], newPassword=PASSWORDS[2]
    )
    duplicate = await call("create_customers", email=EMAIL, password=PASSWORDS[0])
    assert duplicate["errors"][0]["code"] == "DuplicateField"
    await call("update_customers_by_id", ID=cid, version=5, actions=[{"action": "setFirstName", "firstName": 7}])
    await client.call_tool(P + "create_customer_groups", {"PCID": "nowhere", "groupName": "Ghost"})
    group = await call("create_customer_groups", groupName="Compliance Team", key="auditors")
    stale = [{"action": "changeName", "name": "Renamed"}]
    await call("update_customer_groups_by_key", key="auditors", version=group["version"] + 5, actions=stale)
    await call("delete_customer_groups_by_key", key="auditors", version=group["version"])
    await call("delete_by_id", ID=cid, version=changed["version"])
    return {
        "customer": cid,
        "group": group["id"],
        "secrets": [EMAIL, FIRST, LAST, NEW_FIRST, "Ghost", "Renamed", "Compliance Team", *PASSWORDS, reset, confirm],
    }


def read_lines(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return [orjson.loads(line) for line in data.split(b"\n")[:-1]]


def check_workflow_lines(lines: list[dict[str, Any]], facts: dict[str, Any], who: str, pcid: str) -> None:
    assert [(line["tool"][len(P) :], line["status"]) for line in lines] == EXPECTED
    keys = list(lines[0])
    assert keys == [
        "time",
        "who",
        "tool",
        "pcid",
        "type",
        "id",
        "key",
        "versionBefore",
        "versionAfter",
        "actions",
        "actionCount",
        "status",
        "confirmation",
        "errorCodes",
        "correlationId",
        "durationMs",
    ]
    assert all(list(line) == keys for line in lines)
    assert {line["who"] for line in lines} == {who}
    assert all(
        line["time"].endswith("Z") and line["correlationId"].startswith("commercetools-customers-mcp/")
        for line in lines
    )
    create, update, pw_token, reset, em_token, confirm, change, duplicate, invalid, unknown = lines[:10]
    group_create, group_conflict, group_delete, delete = lines[10:]
    cid = facts["customer"]
    assert (create["type"], create["id"], create["key"], create["versionAfter"]) == ("customer", cid, "jane-audit", 1)
    assert create["pcid"] == pcid
    assert (update["id"], update["versionBefore"], update["versionAfter"]) == (cid, 1, 2)
    assert (update["actions"], update["actionCount"]) == (["setFirstName", "setLastName"], 2)
    for token_line in (pw_token, em_token):  # the token's customer is the resource; the token is never written
        assert (token_line["id"], token_line["versionAfter"], token_line["key"]) == (cid, None, None)
    assert (reset["id"], reset["versionAfter"]) == (cid, 3)
    assert (confirm["id"], confirm["versionAfter"]) == (cid, 4)  # creating a token leaves the version alone
    assert (change["id"], change["versionBefore"], change["versionAfter"]) == (cid, 4, 5)
    assert (duplicate["errorCodes"], duplicate["id"]) == (["DuplicateField"], None)
    assert (invalid["pcid"], invalid["id"], invalid["actions"]) == (None, None, None)  # refused before any request
    assert (unknown["pcid"], unknown["type"]) == (None, "customer-group")
    assert (group_create["type"], group_create["id"], group_create["key"]) == (
        "customer-group",
        facts["group"],
        "auditors",
    )
    assert (group_conflict["errorCodes"], group_conflict["versionBefore"]) == (["ConcurrentModification"], 6)
    assert (group_conflict["actions"], group_conflict["versionAfter"]) == (["changeName"], None)
    assert (group_delete["key"], group_delete["versionBefore"], group_delete["versionAfter"]) == ("auditors", 1, 1)
    assert (delete["id"], delete["versionBefore"]) == (cid, 5)


def assert_nothing_personal(path: Path, secrets: list[str]) -> None:
    text = path.read_text()
    assert "@" not in text  # no email, in any spelling
    for secret in secrets:
        assert secret not in text and secret.lower() not in text.lower(), secret


# --- stdio, HTTP, the call command --------------------------------------------------------------------------


async def test_audit_log_over_stdio(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    args = ["-m", "commercetools_customers_mcp", "serve", "--data", ":memory:", "--no-demo", "--audit-log", str(audit)]
    args += ["--deny-tools", "*delete_customer_groups_by_id"]
    params = StdioServerParameters(command=sys.executable, args=args)
    async with asyncio.timeout(60), Client(params, mode="legacy") as client:
        facts = await workflow(client)
        hidden = await client.call_tool(P + "delete_customer_groups_by_id", {"ID": facts["group"], "version": 2})
        assert hidden.is_error
    lines = read_lines(audit)
    check_workflow_lines(lines[:-1], facts, "stdio", "emulator")
    assert (lines[-1]["tool"], lines[-1]["status"], lines[-1]["who"]) == (
        P + "delete_customer_groups_by_id",
        "disabled",
        "stdio",
    )
    assert_nothing_personal(audit, facts["secrets"])
    assert os.stat(audit).st_mode & 0o777 == 0o600


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_audit_log_over_http_names_the_key(tmp_path: Path, mode: str) -> None:
    transport = httpx2.ASGITransport(app=create_app(":memory:", demo=False, clients=emulator_clients("alpha", "beta")))
    clients = {
        "eu": CommercetoolsClient(project_connection("eu", "alpha"), transport=transport),
        "us": CommercetoolsClient(project_connection("us", "beta"), transport=transport),
    }
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path, who="http")
    app = http_app(build_server(clients, observers=[audit]), connection_ids=list(clients), keys=keyring())
    async with asyncio.timeout(60), serving(app) as base:
        async with with_key(base + "/mcp", ROOT, mode=mode) as root:
            facts = await workflow(root, "eu")
        async with with_key(base + "/mcp", ALICE, mode=mode) as alice:
            refused = await alice.call_tool(
                P + "delete_customer_groups_by_key", {"PCID": "us", "key": "k", "version": 1}
            )
            assert refused.is_error
            await alice.call_tool(P + "list_customer_groups", {"PCID": "eu"})
    audit.close()
    for client in clients.values():
        await client.aclose()
    lines = read_lines(path)
    check_workflow_lines(lines[:-1], facts, "root", "eu")
    forbidden = lines[-1]
    assert (forbidden["who"], forbidden["pcid"], forbidden["status"]) == ("alice", "us", "forbidden")
    assert (forbidden["key"], forbidden["versionBefore"]) == (None, None)  # refused before the request was built
    assert_nothing_personal(path, facts["secrets"])


def test_audit_log_of_the_call_command_and_start_up_errors(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    for name in ("CTP_PROJECT_KEY", "CTP_CONNECTIONS_FILE", "MCP_AUDIT_LOG"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MCP_AUDIT_LOG", str(path))
    assert (
        main(["call", P + "create_customer_groups", "--data", ":memory:", "--arg", "groupName=CLI", "--arg", "key=cli"])
        == 0
    )
    assert main(["call", P + "list_customer_groups", "--data", ":memory:"]) == 0
    capsys.readouterr()
    [line] = read_lines(path)
    assert (line["who"], line["key"], line["status"]) == ("cli", "cli", 201)
    for bad in (str(tmp_path / "missing" / "audit.jsonl"), str(tmp_path)):
        for argv in (["serve", "--data", ":memory:"], ["call", P + "list_customers", "--data", ":memory:"]):
            with pytest.raises(SystemExit) as info:
                main([*argv, "--audit-log", bad])
            err = capsys.readouterr().err
            assert info.value.code == 2 and "audit log" in err and bad in err


# --- refusals, cancellations, bounds ------------------------------------------------------------------------


async def test_cancelled_write_is_audited(tmp_path: Path) -> None:
    """A caller that goes away mid-write leaves a "cancelled" line: the write may have been applied."""
    app = create_app(":memory:", demo=False, faults=Faults.parse("latency:5s@POST"))
    client = CommercetoolsClient(project_connection("emulator", "demo"), transport=httpx2.ASGITransport(app=app))
    audit = AuditLog(tmp_path / "audit.jsonl")
    async with asyncio.timeout(30), Client(build_server({"emulator": client}, observers=[audit])) as mcp:
        call = asyncio.create_task(mcp.call_tool(P + "create_customer_groups", {"groupName": "Slow", "key": "slow"}))
        await asyncio.sleep(0.3)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        for _ in range(100):
            if (tmp_path / "audit.jsonl").stat().st_size:
                break
            await asyncio.sleep(0.02)
    await client.aclose()
    [line] = read_lines(tmp_path / "audit.jsonl")
    assert (line["status"], line["key"], line["pcid"]) == ("cancelled", "slow", "emulator")


def test_lines_are_bounded_and_actions_cut_last() -> None:
    tool = BY_NAME[P + "update_customers_by_key"]
    from commercetools_customers_mcp.core.catalog.tools import build_request

    actions = [{"action": "setCustomerNumber" + "x" * 20, "customerNumber": "n"} for _ in range(500)]
    record = CallRecord(P + "update_customers_by_key", new_correlation_id(), None, tool, "eu", 200)
    record.request = build_request(tool, {"key": "k" * 256, "version": 3, "actions": actions})
    line = encode_line(audit_entry(record, "stdio", 0.0) or {})
    entry = orjson.loads(line)
    assert len(line) <= MAX_LINE and line.endswith(b"\n") and line.count(b"\n") == 1
    assert entry["actionCount"] == 500 and 0 < len(entry["actions"]) < 500 and entry["key"] == "k" * 256
    assert audit_entry(CallRecord(P + "get_by_id", "c", None, BY_NAME[P + "get_by_id"]), "stdio", 0.0) is None
    assert audit_entry(CallRecord("unknown:'x'", "c", None, None), "stdio", 0.0) is None


# --- several writers, failing writes -------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, time
    from commercetools_customers_mcp.serving.audit import AuditLog
    log = AuditLog(sys.argv[1])
    name, count, start = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    while time.time() < start:  # all writers start together
        pass
    for i in range(count):
        pad = "x" * (3900 if i % 10 == 0 else (i * 37) % 1000)  # lines from ~40 bytes to ~4 KiB
        log.write(('{"writer":"%s","i":%d,"pad":"%s"}' % (name, i, pad)).encode() + b"\\n")
    log.close()
    """
)


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    count, start = 20_000, time.time() + 2
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(count), str(start)])
        for name in ("a", "b", "c")
    ]
    assert [w.wait(timeout=60) for w in writers] == [0, 0, 0]
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    seen: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    for line in lines[:-1]:
        entry = json.loads(line)  # a torn or interleaved line would not parse
        assert entry["pad"] == "x" * (3900 if entry["i"] % 10 == 0 else (entry["i"] * 37) % 1000)
        seen[entry["writer"]].append(entry["i"])
    assert all(numbers == list(range(count)) for numbers in seen.values())


def test_failing_writes_never_fail_the_caller_and_a_torn_line_is_ended(tmp_path: Path, caplog: Any) -> None:
    caplog.set_level(logging.ERROR)
    path = tmp_path / "audit.jsonl"
    events: list[tuple[str, Any]] = []
    log = AuditLog(path, events=lambda kind, value: events.append((kind, value)))
    log.write(b'{"n":1}\n')
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 4, hard))  # room for 4 more bytes: a full disk
    try:
        log.write(b'{"n":2}\n')  # cut short after 4 bytes
        for _ in range(150):
            log.write(b'{"n":3}\n')  # nothing fits
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    log.write(b'{"n":4}\n')
    log.close()
    log.write(b'{"n":5}\n')  # closed: counted, not raised
    assert path.read_bytes() == b'{"n":1}\n{"n"\n{"n":4}\n'
    assert log.failures == 152
    assert events.count(("audit", "error")) == 152 and events.count(("audit", "ok")) == 2
    failures = [r.getMessage() for r in caplog.records if "audit log" in r.getMessage()]
    assert len(failures) == 2 and "1 line(s) lost" in failures[0] and "101 line(s) lost" in failures[1]


async def test_a_rotated_audit_log_is_reopened_and_odd_call_tool_arguments_are_audited(tmp_path: Path) -> None:
    """Log rotation renames (or deletes) the file: the next line goes to a new file at the path, none is counted
    as written into the void; a write through call_tool with non-object arguments leaves its line (#18 item 5)."""
    client = CommercetoolsClient(
        project_connection("emulator", "demo"), transport=httpx2.ASGITransport(app=create_app(":memory:", demo=False))
    )
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path)
    server = build_server({"emulator": client}, observers=[audit], discovery=True)
    async with Client(server) as mcp:
        run = P + "call_tool"
        await mcp.call_tool(run, {"name": P + "create_customer_groups", "arguments": {"groupName": "A", "key": "a"}})
        path.rename(tmp_path / "audit.jsonl.1")
        await mcp.call_tool(run, {"name": P + "create_customer_groups", "arguments": {"groupName": "B", "key": "b"}})
        path.unlink()
        await mcp.call_tool(run, {"name": P + "delete_customer_groups_by_key", "arguments": "key=b"})
    await client.aclose()
    audit.close()
    [first] = read_lines(tmp_path / "audit.jsonl.1")
    [odd] = read_lines(path)
    assert first["key"] == "a" and odd["tool"] == P + "delete_customer_groups_by_key" and odd["status"] == "invalid"
    assert audit.failures == 0
    assert oct(path.stat().st_mode & 0o777) == "0o600"

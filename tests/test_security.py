"""Security controls: HTTP API keys per PCID, body limit, non-loopback binds, tool policy, short names,
start-up configuration checks. Real MCP server, real client, real emulator (in process or over loopback)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from commercetools_customers_mcp.cli import main
from commercetools_customers_mcp.config import ConfigError
from commercetools_customers_mcp.core.catalog.names import MAX_NAME, SHORT_NAMES, short_name
from commercetools_customers_mcp.core.catalog.tools import DEFAULT_TOOLS, TOOLS
from commercetools_customers_mcp.core.server import ToolPolicy, build_server
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.serving.api_keys import ApiKey, KeyRing, digest, load_api_keys
from commercetools_customers_mcp.serving.transports import http_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from commercetools_customers_mcp.upstream.connections import load_connections
from mcp_helpers import SEED_COUNT, P, emulator_clients, free_port, project_connection, serving

ALICE = "alice-secret-key-1"
ROOT = "root-secret-key-2"
MODES = ["legacy", "auto"]


class Counting(httpx2.AsyncBaseTransport):
    """Wraps a transport and records every request that reaches the emulator."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)

    def api_calls(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if not r[1].startswith("/oauth/")]


def two_projects() -> tuple[dict[str, CommercetoolsClient], Counting]:
    app = create_app(":memory:", demo=False, clients=emulator_clients("alpha", "beta"))
    transport = Counting(httpx2.ASGITransport(app=app))
    clients = {
        "eu": CommercetoolsClient(project_connection("eu", "alpha"), transport=transport),
        "us": CommercetoolsClient(project_connection("us", "beta"), transport=transport),
    }
    return clients, transport


def keyring() -> KeyRing:
    return KeyRing([ApiKey("alice", digest(ALICE), frozenset({"eu"})), ApiKey("root", digest(ROOT), frozenset({"*"}))])


def with_key(url: str, key: str, **kwargs: Any) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"})
    return Client(streamable_http_client(url, http_client=http), **kwargs)


async def close(clients: dict[str, CommercetoolsClient]) -> None:
    for client in clients.values():
        await client.aclose()


def same_result(a: Any, b: Any) -> bool:
    def strip(result: Any) -> Any:
        return {k: v for k, v in (result.structured_content or {}).items() if k != "correlationId"}

    return a.is_error == b.is_error and strip(a) == strip(b)


# --- API keys: loading ------------------------------------------------------------------------------------


def test_load_keys_from_file_and_env(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(
        f'[keys.alice]\nhash = "sha256:{hashlib.sha256(ALICE.encode()).hexdigest()}"\npcids = ["eu"]\n'
        '[keys.ci]\nsecret_env = "CI_KEY"\npcids = ["*"]\n'
    )
    ring = load_api_keys(None, {"MCP_API_KEYS_FILE": str(path), "CI_KEY": "ci-secret", "MCP_API_KEY": "one"})
    assert [k.name for k in ring.keys] == ["alice", "ci", "env"]
    alice = ring.authenticate(ALICE)
    assert alice is not None and alice.principal.allows("eu") and not alice.principal.allows("us")
    assert ring.authenticate("ci-secret").principal.allows("anything")  # type: ignore[union-attr]
    assert ring.authenticate("one").name == "env"  # type: ignore[union-attr]
    assert ring.authenticate("nope") is None and ring.authenticate("") is None
    assert all(ALICE.encode() not in k.digest and b"ci-secret" not in k.digest for k in ring.keys)
    assert not load_api_keys(None, {})


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ('[keys.a]\nhash = "md5:00"\npcids = ["*"]\n', {}, "64 hex digits"),
        ('[keys.a]\nsecret_env = "MISSING"\npcids = ["*"]\n', {}, "MISSING"),
        ('[keys.a]\nsecret_env = "S"\npcids = []\n', {"S": "x"}, "pcids"),
        ('[keys.a]\nsecret_env = "S"\nhash = "sha256:' + "0" * 64 + '"\npcids = ["*"]\n', {"S": "x"}, "exactly one"),
        ('[keys.a]\nsecret_env = "S"\npcids = ["*"]\nsecret = "x"\n', {"S": "x"}, "unknown field"),
        ("[keys.a\n", {}, "not valid TOML"),
        ("[other]\n", {}, "no [keys.<name>]"),
        ('[keys.a]\nsecret_env = "S"\npcids = ["*"]\n[keys.b]\nsecret_env = "S"\npcids = ["*"]\n', {"S": "x"}, "same"),
    ],
)
def test_key_file_errors(tmp_path: Path, text: str, env: dict[str, str], expected: str) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_api_keys(path, env)
    assert expected in str(info.value) and "x\n" not in str(info.value)


def test_hash_key_command(monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-key\n"))
    assert main(["hash-key"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == f'hash = "sha256:{hashlib.sha256(b"s3cret-key").hexdigest()}"'
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert main(["hash-key"]) == 2


# --- API keys: HTTP -------------------------------------------------------------------------------------------


async def test_http_requires_a_key_before_mcp() -> None:
    clients, transport = two_projects()
    app = http_app(build_server(clients), connection_ids=list(clients), keys=keyring(), max_body_bytes=2048)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"Accept": "application/json"}
    async with serving(app) as base, httpx2.AsyncClient() as http:
        missing = await http.post(base + "/mcp", json=body, headers=accept)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer ")
        assert "error=" not in missing.headers["www-authenticate"]
        wrong = await http.post(
            base + "/commercetools-customers", json=body, headers={**accept, "Authorization": "Bearer x"}
        )
        assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
        basic = await http.post(base + "/mcp", json=body, headers={**accept, "Authorization": f"Basic {ALICE}"})
        assert basic.status_code == 401
        get = await http.get(base + "/mcp")
        assert get.status_code == 401
        health = await http.get(base + "/healthz")
        assert health.status_code == 200 and "connections" not in health.json()
        ok = await http.post(base + "/mcp", json=body, headers={**accept, "Authorization": f"Bearer {ALICE}"})
        assert ok.status_code == 200 and len(ok.json()["result"]["tools"]) == SEED_COUNT
        big = {**body, "params": {"padding": "x" * 4096}}
        too_big = await http.post(base + "/mcp", json=big, headers={**accept, "Authorization": f"Bearer {ALICE}"})
        assert too_big.status_code == 413
        rebinding = await http.post(
            base + "/mcp", json=body, headers={**accept, "Authorization": f"Bearer {ROOT}", "Host": "evil.example"}
        )
        assert rebinding.status_code == 421
    assert transport.api_calls() == []
    await close(clients)


@pytest.mark.parametrize("mode", MODES)
async def test_key_may_only_use_its_connections(mode: str) -> None:
    """The key identity set by the auth middleware reaches on_call_tool in the SDK's handler task (both eras)."""
    clients, transport = two_projects()
    app = http_app(build_server(clients), connection_ids=list(clients), keys=keyring())
    async with serving(app) as base:
        async with with_key(base + "/mcp", ALICE, mode=mode) as alice:
            own = await alice.call_tool(P + "create_customer_groups", {"PCID": "eu", "groupName": "A"})
            assert not own.is_error, own
            before = len(transport.requests)
            other = await alice.call_tool(P + "create_customer_groups", {"PCID": "us", "groupName": "B"})
            assert other.is_error
            assert other.structured_content["message"] == "This API key may not use connection 'us'."
            assert other.structured_content["knownConnections"] == ["eu"]
            unknown = await alice.call_tool(P + "list_customer_groups", {"PCID": "asia"})
            assert unknown.structured_content["knownConnections"] == ["eu"]
            assert len(transport.requests) == before  # no API call was made
        async with with_key(base + "/commercetools-customers", ROOT, mode=mode) as root:
            listed = await root.call_tool(P + "list_customer_groups", {"PCID": "us"})
            assert not listed.is_error and listed.structured_content["results"] == []
    await close(clients)


async def test_key_check_on_plain_json_posts() -> None:
    clients, transport = two_projects()
    app = http_app(build_server(clients), connection_ids=list(clients), keys=keyring(), json_response=True)
    call = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": P + "list_customers", "arguments": {"PCID": "us"}},
    }
    headers = {"Accept": "application/json", "Authorization": f"Bearer {ALICE}", "MCP-Protocol-Version": "2025-11-25"}
    async with serving(app) as base, httpx2.AsyncClient() as http:
        answer = (await http.post(base + "/mcp", json=call, headers=headers)).json()
    assert answer["result"]["isError"] and "may not use connection 'us'" in answer["result"]["content"][0]["text"]
    assert transport.requests == []
    await close(clients)


async def test_concurrent_keys_do_not_leak_into_each_other() -> None:
    clients, _ = two_projects()
    app = http_app(build_server(clients), connection_ids=list(clients), keys=keyring())
    async with serving(app) as base, with_key(base + "/mcp", ALICE) as alice, with_key(base + "/mcp", ROOT) as root:
        calls = [alice.call_tool(P + "list_customer_groups", {"PCID": "us"}) for _ in range(10)]
        calls += [root.call_tool(P + "list_customer_groups", {"PCID": "us"}) for _ in range(10)]
        results = await asyncio.gather(*calls)
    assert [r.is_error for r in results] == [True] * 10 + [False] * 10
    await close(clients)


def test_non_loopback_bind_without_keys_is_refused(capsys: Any, monkeypatch: Any) -> None:
    for name in ("MCP_API_KEY", "MCP_API_KEYS_FILE", "CTP_PROJECT_KEY", "CTP_CONNECTIONS_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as info:
        main(["serve", "--transport", "http", "--host", "0.0.0.0", "--data", ":memory:", "--no-demo"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "non-loopback" in err and "--allow-unauthenticated" in err and "--api-keys" in err


def test_key_naming_an_unknown_connection_is_a_config_error(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("CTP_PROJECT_KEY", raising=False)
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys.a]\nhash = "sha256:' + "a" * 64 + '"\npcids = ["prod"]\n')
    with pytest.raises(SystemExit) as info:
        main(["serve", "--transport", "http", "--data", ":memory:", "--api-keys", str(keys)])
    assert info.value.code == 2 and "unknown connection(s) prod" in capsys.readouterr().err


# --- Tool policy: read-only, allow/deny ---------------------------------------------------------------------

READ_ONLY = sorted(t.name for t in DEFAULT_TOOLS if t.read_only)


@pytest.mark.parametrize("mode", MODES)
async def test_read_only_in_memory(mode: str) -> None:
    clients, transport = two_projects()
    server = build_server({"eu": clients["eu"]}, policy=ToolPolicy(read_only=True))
    async with Client(server, mode=mode) as client:
        names = sorted(t.name for t in (await client.list_tools()).tools)
        hidden = await client.call_tool(P + "create_customer_groups", {"groupName": "x"})
        short_hidden = await client.call_tool(P + "delete_customer_groups_by_key", {"key": "x", "version": 1})
        visible = await client.call_tool(P + "list_customer_groups", {})
    assert names == READ_ONLY and len(names) == 20
    assert hidden.is_error and "disabled" in hidden.structured_content["message"]
    assert short_hidden.is_error
    assert not visible.is_error
    assert transport.api_calls() == [("GET", "/alpha/customer-groups")]
    await close(clients)


def test_allow_and_deny_patterns() -> None:
    policy = ToolPolicy(allow=("*customer_groups*", "get_bu_*"), deny=("*delete*",))
    names = sorted(t.name for t in TOOLS if policy.visible(t))
    assert names == sorted(
        [P + s for s in ("list_customer_groups", "get_customer_groups_by_id", "get_customer_groups_by_key")]
        + [P + s for s in ("create_customer_groups", "update_customer_groups_by_id", "update_customer_groups_by_key")]
        + [P + "get_business_units_associates_by_business_unit_id_and_associate_id"]
        + [P + "get_business_units_associates_by_key_and_associate_id"]
    )
    nothing = ToolPolicy(deny=("*",))
    assert not any(nothing.visible(t) for t in TOOLS)


async def test_policy_over_http() -> None:
    clients, transport = two_projects()
    server = build_server({"eu": clients["eu"]}, policy=ToolPolicy(allow=("*customer_groups*",), deny=("*delete*",)))
    async with serving(http_app(server)) as base:
        for mode in MODES:
            async with Client(base + "/mcp", mode=mode) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                hidden = await client.call_tool(P + "list_customers", {})
                denied = await client.call_tool(P + "delete_customer_groups_by_key", {"key": "k", "version": 1})
            assert len(names) == 6 and all("customer_groups" in n and "delete" not in n for n in names)
            assert hidden.is_error and denied.is_error and "disabled" in denied.structured_content["message"]
    assert transport.requests == []
    await close(clients)


async def test_policy_over_stdio_with_short_names() -> None:
    args = ["-m", "commercetools_customers_mcp", "serve", "--data", ":memory:", "--no-demo", "--read-only"]
    params = StdioServerParameters(command=sys.executable, args=[*args, "--tool-names", "short"])
    async with Client(params, mode="legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        hidden = await client.call_tool(P + "create_customer_groups", {"groupName": "x"})
        by_short = await client.call_tool(P + "list_bu_search_status", {})
        by_seed = await client.call_tool(P + "list_business_units_search_indexing_status", {})
    assert len(names) == 20 and max(len(n) for n in names) <= MAX_NAME
    assert P + "list_bu_search_status" in names and P + "list_business_units_search_indexing_status" not in names
    assert hidden.is_error and "disabled" in hidden.structured_content["message"]
    assert same_result(by_short, by_seed)


def test_policy_in_the_call_and_tools_commands(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("CTP_PROJECT_KEY", raising=False)
    monkeypatch.delenv("CTP_CONNECTIONS_FILE", raising=False)
    create = ["call", P + "create_customer_groups", "--data", ":memory:", "--arg", "groupName=X"]
    assert main([*create, "--read-only"]) == 1
    assert "disabled" in orjson.loads(capsys.readouterr().out)["message"]
    assert main([*create, "--deny-tools", "*create*"]) == 1
    capsys.readouterr()
    assert main([*create, "--allow-tools", "*customer_groups"]) == 0
    capsys.readouterr()
    assert main(["tools", "--read-only", "--tool-names", "short"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 20 and any(line.startswith(P + "get_bu_assoc_by_bu_id_and_assoc_id ") for line in lines)


# --- Short names ----------------------------------------------------------------------------------------------


def test_short_names_are_short_unique_and_documented() -> None:
    shorts = list(SHORT_NAMES.values())
    assert len(set(shorts)) == len(TOOLS) and max(len(n) for n in shorts) <= MAX_NAME
    assert not set(shorts) & (set(SHORT_NAMES) - {s for s in SHORT_NAMES if SHORT_NAMES[s] == s})
    changed = {seed[len(P) :]: short[len(P) :] for seed, short in SHORT_NAMES.items() if seed != short}
    assert changed == {  # the table in README.md
        "get_business_units_associates_by_business_unit_id_and_associate_id": "get_bu_assoc_by_bu_id_and_assoc_id",
        "get_business_units_associates_by_key_and_associate_id": "get_bu_assoc_by_key_and_assoc_id",
        "list_customers_password_token_password_token": "list_customers_pw_token_pw_token",
        "list_business_units_search_indexing_status": "list_bu_search_status",
    }
    assert max(len(t.name) for t in TOOLS) == 90
    fallback = short_name("x_" * 40)
    assert len(fallback) == MAX_NAME and fallback == short_name("x_" * 40)


@pytest.mark.parametrize("mode", MODES)
async def test_short_mode_lists_short_names_and_accepts_both(server: Any, api_client: Any, mode: str) -> None:
    short_server = build_server({"emulator": api_client}, policy=ToolPolicy(names="short"))
    async with Client(short_server, mode=mode) as client:
        tools = (await client.list_tools()).tools
        seed = await client.call_tool(P + "list_business_units_search_indexing_status", {})
        short = await client.call_tool(P + "list_bu_search_status", {})
    assert len(tools) == SEED_COUNT and max(len(t.name) for t in tools) <= MAX_NAME
    assert all(len(word) <= MAX_NAME for t in tools for word in (t.description or "").split())
    assert same_result(seed, short)
    async with Client(server, mode=mode) as client:
        default = {t.name for t in (await client.list_tools()).tools}
    assert default == {t.name for t in DEFAULT_TOOLS}


# --- Start-up configuration errors ---------------------------------------------------------------------------


def serve_exit(argv: Sequence[str], capsys: Any) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(["serve", *argv])
    return int(info.value.code or 0), capsys.readouterr().err


@pytest.fixture
def clean_env(monkeypatch: Any) -> Any:
    for name in ("CTP_PROJECT_KEY", "CTP_CONNECTIONS_FILE", "MCP_API_KEY", "MCP_API_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def connection_file(tmp_path: Path, url: str, secret_line: str = 'client_secret_env = "SHOP_SECRET"') -> Path:
    path = tmp_path / "connections.toml"
    path.write_text(
        f'[connections.shop]\nproject_key = "shop"\nclient_id = "cid"\n{secret_line}\n'
        f'auth_url = "{url}"\napi_url = "{url}"\nscopes = ["manage_project:shop"]\nmax_retries = 0\n'
    )
    return path


def test_startup_bad_toml(tmp_path: Path, capsys: Any, clean_env: Any) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[connections.shop\nproject_key = 1\n")
    code, err = serve_exit(["--connections", str(path)], capsys)
    assert code == 2 and "not valid TOML" in err


def test_startup_missing_secret_env(tmp_path: Path, capsys: Any, clean_env: Any) -> None:
    clean_env.delenv("SHOP_SECRET", raising=False)
    code, err = serve_exit(["--connections", str(connection_file(tmp_path, "http://127.0.0.1:9"))], capsys)
    assert code == 2 and "SHOP_SECRET" in err and "is not set" in err


def test_startup_unreachable_auth_url(tmp_path: Path, capsys: Any, clean_env: Any) -> None:
    clean_env.setenv("SHOP_SECRET", "unreachable-secret")
    url = f"http://127.0.0.1:{free_port()}"
    code, err = serve_exit(["--connections", str(connection_file(tmp_path, url))], capsys)
    assert code == 2 and "cannot reach the auth URL" in err and "'shop'" in err and "--no-check" in err
    assert "unreachable-secret" not in err


async def test_startup_refused_token(tmp_path: Path, capsys: Any, clean_env: Any) -> None:
    clean_env.setenv("SHOP_SECRET", "wrong-secret-123")
    async with serving(create_app(":memory:", clients={"cid": "right-secret"}, demo=False)) as base:
        path = connection_file(tmp_path, base)
        code, err = await asyncio.to_thread(serve_exit, ["--connections", str(path), "--transport", "http"], capsys)
    assert code == 2 and "refused a token: HTTP 401" in err and "wrong-secret-123" not in err


def test_startup_check_can_be_skipped(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {"PATH": "/usr/bin:/bin", "SHOP_SECRET": "s"}
    command = [sys.executable, "-m", "commercetools_customers_mcp", "serve", "--connections"]
    command.append(str(connection_file(tmp_path, url)))
    done = subprocess.run([*command, "--no-check"], stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=30)
    assert done.returncode == 2 and b"start-up check failed" in done.stderr


def test_faults_flag(capsys: Any, clean_env: Any, tmp_path: Path) -> None:
    code, err = serve_exit(["--data", ":memory:", "--faults", "bogus:1"], capsys)
    assert code == 2 and "--faults" in err
    clean_env.setenv("SHOP_SECRET", "s")
    path = connection_file(tmp_path, "http://127.0.0.1:9")
    code, err = serve_exit(["--connections", str(path), "--faults", "503:0.5"], capsys)
    assert code == 2 and "embedded emulator only" in err
    with pytest.raises(SystemExit) as info:
        main(["emulator", "--data", ":memory:", "--faults", "503:2"])
    assert info.value.code == 2 and "503" in capsys.readouterr().err


# --- Secrets never leak; hashes never reach the model; token values only in their creator's result ----------


async def test_known_secrets_appear_in_no_log_error_or_result(
    tmp_path: Path, caplog: Any, capfd: Any, clean_env: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    client_secret, bad_secret, down_secret = "ct-secret-Q7w9e1r3", "ct-wrong-M2n4b6v8", "ct-down-K5j3h1g9"
    api_key, password, new_password = "mcp-key-Z8x6c4v2", "Pw-known-5531!", "Pw-new-7731!"
    inline_secret = "ct-inline-T4y6u8i0"
    secrets = [client_secret, bad_secret, down_secret, api_key, password, new_password, inline_secret]
    clean_env.setenv("SHOP_SECRET", client_secret)
    clean_env.setenv("MCP_API_KEY", api_key)
    results: dict[str, Any] = {}
    errors: list[str] = []
    stderr: list[str] = []

    emulator = create_app(":memory:", clients={"cid": f"{client_secret}:manage_project:shop"}, demo=False)
    async with serving(emulator) as ct_base:
        shop = load_connections(connection_file(tmp_path, ct_base), os.environ)["shop"]  # via client_secret_env
        bad = shop.model_copy(update={"id": "bad", "client_secret": SecretStr(bad_secret)})
        down_url = f"http://127.0.0.1:{free_port()}"
        down = project_connection("down", "shop", down_url, client_secret=down_secret, max_retries=0)
        clients = {c.id: CommercetoolsClient(c) for c in (shop, bad, down)}
        keys = load_api_keys(None, os.environ)
        app = http_app(build_server(clients), connection_ids=list(clients), keys=keys)
        async with serving(app) as base:
            async with with_key(base + "/mcp", api_key) as mcp:

                async def call(label: str, tool: str, /, **arguments: Any) -> Any:
                    result = await mcp.call_tool(P + tool, {"PCID": "shop", **arguments})
                    results[label] = result
                    return result.structured_content

                created = await call("create", "create_customers", email="ann@example.com", password=password)
                customer = created["customer"]
                await call("get", "get_by_id", ID=customer["id"])
                await call("list", "list_customers", where=['email = "ann@example.com"'])
                await call(
                    "update",
                    "update_customers_by_id",
                    ID=customer["id"],
                    version=customer["version"],
                    actions=[{"action": "setFirstName", "firstName": "Ann"}],
                )
                changed = await call(
                    "change",
                    "create_customers_password",
                    id=customer["id"],
                    version=customer["version"] + 1,
                    currentPassword=password,
                    newPassword=new_password,
                )
                reset_token = (await call("pw-token", "create_customers_password_token", email="ann@example.com"))[
                    "value"
                ]
                await call("reset", "create_customers_password_reset", tokenValue=reset_token, newPassword=password)
                email_token = (await call("em-token", "create_customers_email_token", id=customer["id"], ttlMinutes=5))[
                    "value"
                ]
                await call("confirm", "create_customers_email_confirm", tokenValue=email_token)
                role = await call("role", "create_associate_roles", key="buyer", buyerAssignable=True, permissions=[])
                assignment = {"associateRole": {"typeId": "associate-role", "key": role["key"]}}
                associate = {
                    "customer": {"typeId": "customer", "id": customer["id"]},
                    "associateRoleAssignments": [assignment],
                }
                unit = await call(
                    "bu", "create_business_units", key="bu", name="BU", unitType="Company", associates=[associate]
                )
                await call("bu-get", "get_business_units_by_id", ID=unit["id"], expand=["associates[*].customer"])
                await call("api-error", "get_by_id", ID="missing")
                await call("duplicate", "create_customers", email="ann@example.com", password=password)
                results["auth-failure"] = await mcp.call_tool(P + "list_customers", {"PCID": "bad"})
                results["unreachable"] = await mcp.call_tool(P + "list_customers", {"PCID": "down"})
            async with httpx2.AsyncClient() as http:
                refused = await http.post(base + "/mcp", json={}, headers={"Authorization": f"Bearer {api_key}x"})
                errors.append(refused.text + str(refused.headers))
        path = tmp_path / "inline.toml"
        path.write_text(
            f'[connections.x]\nproject_key = "p"\nclient_id = "c"\nclient_secret = "{inline_secret}"\nscopes = 5\n'
        )
        with pytest.raises(ConfigError) as info:
            load_connections(path, {})
        errors.append(str(info.value))
        clean_env.setenv("SHOP_SECRET", bad_secret)
        argv = ["--connections", str(connection_file(tmp_path, ct_base))]
        code, err = await asyncio.to_thread(serve_exit, argv, capfd)  # also takes all stderr so far
        assert code == 2
        errors.append(err)
        stderr.append(err)
        await close(clients)

    assert changed["version"] == customer["version"] + 2
    assert [label for label, r in results.items() if r.is_error] == [
        "api-error",
        "duplicate",
        "auth-failure",
        "unreachable",
    ]
    texts = {label: r.content[0].text + orjson.dumps(r.structured_content).decode() for label, r in results.items()}
    captured = capfd.readouterr()
    # Every log record of the process at DEBUG, except the test's own MCP client (it logs what it sends).
    records = [r for r in caplog.records if not r.name.startswith("mcp.client")]
    logs = "\n".join([r.getMessage() + (r.exc_text or "") for r in records] + [*stderr, captured.err, captured.out])
    assert "refused a token" in logs and "tool=" in logs and "key=env" in logs
    for secret in secrets:
        assert not any(secret in text for text in texts.values()), secret
        assert not any(secret in text for text in errors), secret
        assert secret not in logs, secret
    for label, text in texts.items():
        assert "scrypt$" not in text and '"password"' not in text, label
    assert "customer" in texts["bu-get"] and "ann@example.com" in texts["bu-get"]
    for token, creator in ((reset_token, "pw-token"), (email_token, "em-token")):
        assert [label for label, text in texts.items() if token in text] == [creator]
        assert token not in logs


# --- Isolation: a call for one PCID never reaches another connection's project ------------------------------


async def assert_isolated(mcp: Client, transport: Counting | None = None) -> None:
    async def call(pcid: str, tool: str, /, **arguments: Any) -> Any:
        return await mcp.call_tool(P + tool, {"PCID": pcid, **arguments})

    group = (await call("eu", "create_customer_groups", groupName="Alpha", key="shared")).structured_content
    assert (await call("us", "list_customer_groups")).structured_content["results"] == []
    for name, arguments in (
        ("get_customer_groups_by_key", {"key": "shared"}),
        ("get_customer_groups_by_id", {"ID": group["id"]}),
        (
            "update_customer_groups_by_id",
            {"ID": group["id"], "version": 1, "actions": [{"action": "changeName", "name": "X"}]},
        ),
        ("delete_customer_groups_by_key", {"key": "shared", "version": 1}),
        ("get_customer_groups_by_key", {"key": "../alpha/customer-groups/key=shared"}),
        ("get_customer_groups_by_id", {"ID": f"../../alpha/customer-groups/{group['id']}"}),
    ):
        result = await call("us", name, **arguments)
        assert result.is_error and result.structured_content["statusCode"] == 404, (name, result)
    beta = await call("us", "create_customer_groups", groupName="Beta", key="shared")
    assert not beta.is_error and beta.structured_content["id"] != group["id"]
    alpha = (await call("eu", "get_customer_groups_by_key", key="shared")).structured_content
    assert alpha["name"] == "Alpha" and alpha["version"] == 1
    if transport is not None:
        paths = transport.api_calls()
        assert all(p.startswith("/alpha/") for m, p in paths[:1]) and not any(
            "/alpha/" in p and "%2F" in p for m, p in paths
        )
        assert {p.split("/")[1] for m, p in paths} == {"alpha", "beta"}


async def test_two_projects_in_one_emulator_are_isolated() -> None:
    clients, transport = two_projects()
    async with Client(build_server(clients)) as mcp:
        await assert_isolated(mcp, transport)
    emulator = httpx2.ASGITransport(app=create_app(":memory:", demo=False, clients=emulator_clients("alpha", "beta")))
    wrong_scope = project_connection("x", "beta").model_copy(update={"scopes": ["manage_project:alpha"]})
    crossed = CommercetoolsClient(wrong_scope, transport=emulator)
    async with Client(build_server({"x": crossed})) as mcp:
        result = await mcp.call_tool(P + "list_customer_groups", {})
    assert result.is_error and result.structured_content["statusCode"] == 403
    await close({**clients, "x": crossed})


async def test_two_emulator_apps_are_isolated() -> None:
    first = httpx2.ASGITransport(app=create_app(":memory:", demo=False, project="alpha"))
    second = httpx2.ASGITransport(app=create_app(":memory:", demo=False, project="alpha"))
    clients = {
        "eu": CommercetoolsClient(project_connection("eu", "alpha"), transport=first),
        "us": CommercetoolsClient(project_connection("us", "alpha"), transport=second),
    }
    async with Client(build_server(clients), mode="legacy") as mcp:
        created = await mcp.call_tool(P + "create_customer_groups", {"PCID": "eu", "groupName": "A", "key": "kk"})
        assert not created.is_error
        other = await mcp.call_tool(P + "get_customer_groups_by_key", {"PCID": "us", "key": "kk"})
        assert other.is_error and other.structured_content["statusCode"] == 404
        listed = await mcp.call_tool(P + "list_customer_groups", {"PCID": "us"})
        assert listed.structured_content["results"] == []
    await close(clients)

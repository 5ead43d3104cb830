"""The emulator's backend as a whole: its layout (no import circles, HTTP behind the package face), the one write
path every change passes through, its settings (password cost, hashing off the event loop), query totals and the
action tables against the API's unions."""

from __future__ import annotations

import ast
import asyncio
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from commercetools_customers_mcp import spec
from commercetools_customers_mcp.emulator import Settings, create_app, hashing
from commercetools_customers_mcp.emulator.backend import Change, Ctx
from commercetools_customers_mcp.emulator.resources import associate_roles, business_units, customer_groups, customers
from conftest import token

PACKAGE = Path(customers.__file__).resolve().parent.parent  # src/commercetools_customers_mcp/emulator
MCP_SIDE = ("server", "catalog", "client", "config", "cli", "transports", "security", "auth")


def error(r: Any, status: int = 400) -> dict:
    assert r.status_code == status, r.text
    return r.json()["errors"][0]


# ---------------------------------------------------------------- layout


def _imports() -> dict[str, set[str]]:
    """Module (dotted, relative to the emulator package) -> the package modules it imports, TYPE_CHECKING or not."""
    graph: dict[str, set[str]] = {}
    for file in PACKAGE.rglob("*.py"):
        parts = file.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(p for p in parts if p != "__init__") or "__init__"
        package = parts[:-1]  # the package the module is in, relative to the emulator
        targets: set[str] = set()
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = list(package[: len(package) - (node.level - 1)] if node.level > 1 else package)
                if node.level - 1 > len(package):  # above the emulator: ..spec, ..querylang, ...
                    targets.add("^" + (node.module or ""))
                    continue
                module = [*base, *(node.module.split(".") if node.module else [])]
                for alias in node.names:
                    candidate = ".".join([*module, alias.name])
                    exists = PACKAGE.joinpath(*candidate.split(".")).with_suffix(".py").exists()
                    targets.add(candidate if exists else ".".join(module) or "__init__")
            elif isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                targets |= {"^" + n.removeprefix("commercetools_customers_mcp.") for n in names if n}
        graph[name] = {t for t in targets if t != name}
    return graph


def test_no_import_circles_and_http_only_behind_the_package_face() -> None:
    graph = _imports()
    assert {"backend", "app", "crud", "resources.customers", "__init__"} <= set(graph)
    importers_of_app = {module for module, targets in graph.items() if "app" in targets}
    assert importers_of_app == {"__init__"}
    assert not [m for m, t in graph.items() if any(x.lstrip("^").split(".")[0] in MCP_SIDE for x in t)]
    # no cycle among the package's own modules (depth-first search for a back edge)
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target.startswith("^") or target not in graph:
                continue
            assert state.get(target) != 1, f"import circle: {' -> '.join([*path, module, target])}"
            if target not in state:
                visit(target, [*path, module])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_ctx_and_emulator_carry_no_feature_state(api) -> None:
    """Features keep their state in their own classes, held in the generic slots (``Ctx.scratch`` per operation,
    ``Emulator.state`` per emulator); a slot is made once per kind and can be dropped."""
    ctx = Ctx(api.emulator, api.project)
    assert set(vars(ctx)) == {
        "emulator", "project", "client_id", "customer_id", "anonymous_id", "scopes", "now", "scratch", "_reports"
    }  # fmt: skip
    assert not {"client_tokens", "_dummy_hash"} & set(vars(api.emulator))

    class Seen:
        def __init__(self) -> None:
            self.items: list[str] = []

    ctx.scratch(Seen).items.append("a")
    assert ctx.scratch(Seen).items == ["a"]
    assert Ctx(api.emulator, api.project).scratch(Seen).items == []  # per operation
    ctx.scratch.drop(Seen)
    assert ctx.scratch(Seen).items == []


# ---------------------------------------------------------------- the one write path


async def test_every_write_is_one_change_the_listeners_see(api, monkeypatch):
    seen: list[Change] = []
    api.emulator.listeners.append(lambda ctx, change: seen.append(change))

    def set_first_name(ctx: Ctx, doc: dict, action: dict) -> None:
        ctx.report("CustomerFirstNameSet", firstName=action.get("firstName"))
        doc["firstName"] = action["firstName"]

    monkeypatch.setitem(customers.ACTIONS, "setFirstName", set_first_name)
    c = await api.create("customers", {"email": "a@x.com", "password": "secret-1", "key": "c1"})
    (created,) = seen
    assert (created.type_id, created.cause, created.before, created.after["id"]) == (
        "customer",
        "create",
        None,
        c["id"],
    )

    action = {"action": "setFirstName", "firstName": "Ann"}
    r = await api.post(f"/customers/{c['id']}", json={"version": 1, "actions": [action]})
    assert r.status_code == 200, r.text
    updated = seen[-1]
    assert (updated.cause, updated.actions, updated.before["version"], updated.after["version"]) == (
        "update",
        (action,),
        1,
        2,
    )
    assert updated.reports == ({"type": "CustomerFirstNameSet", "firstName": "Ann"},)

    # an account flow: a token document, then the customer with a new password
    r = await api.post("/customers/password-token", json={"email": "a@x.com"})
    r = await api.post("/customers/password/reset", json={"tokenValue": r.json()["value"], "newPassword": "pw-2"})
    assert r.status_code == 200, r.text
    causes = [(change.type_id, change.cause) for change in seen[2:]]
    assert causes == [
        ("customer-password-token", "createPasswordToken"),
        ("customer-password-token", "dropToken"),
        ("customer", "resetPassword"),
    ]
    r = await api.delete(f"/customers/{c['id']}", params={"version": 3})
    assert r.status_code == 200, r.text
    assert (seen[-1].cause, seen[-1].after, seen[-1].before["id"]) == ("delete", None, c["id"])


async def test_a_failing_listener_leaves_no_half_written_data(api):
    def refuse(ctx: Ctx, change: Change) -> None:
        raise RuntimeError("listener failed")

    api.emulator.listeners.append(refuse)
    r = await api.post("/customer-groups", json={"groupName": "G", "key": "g-1"})
    assert r.status_code == 500 and r.json()["errors"][0]["code"] == "General", r.text
    api.emulator.listeners.remove(refuse)
    assert (await api.get("/customer-groups")).json()["total"] == 0


# ---------------------------------------------------------------- settings


def test_settings_from_the_environment() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings().password_cost == hashing.DEVELOPMENT_COST
    production = Settings.from_env({"CTP_EMULATOR_PASSWORD_COST": "production"})
    assert production.password_cost == hashing.PRODUCTION_COST
    assert Settings.from_env({"CTP_EMULATOR_PASSWORD_COST": "64"}).password_cost == 64
    assert Settings.from_env({"CTP_EMULATOR_INDEXING_DELAY_SECONDS": "2.5"}).indexing_delay_seconds == 2.5
    for env, named in (
        ({"CTP_EMULATOR_PASSWORD_COST": "fast"}, "CTP_EMULATOR_PASSWORD_COST"),
        ({"CTP_EMULATOR_PASSWORD_COST": "100"}, "power of two"),
        ({"CTP_EMULATOR_INDEXING_DELAY_SECONDS": "soon"}, "CTP_EMULATOR_INDEXING_DELAY_SECONDS"),
        ({"CTP_EMULATOR_INDEXING_DELAY_SECONDS": "-1"}, "indexing delay"),
    ):
        with pytest.raises(ValueError, match=named):
            Settings.from_env(env)


async def test_password_cost_is_a_setting_of_each_emulator_and_old_hashes_keep_verifying(api):
    c = await api.create("customers", {"email": "a@x.com", "password": "secret-1"})
    stored = api.emulator.store.get("test", "customer", c["id"])["password"]
    assert stored.startswith(f"scrypt${hashing.DEVELOPMENT_COST}$")
    api.emulator.settings = Settings(password_cost=2**10)  # another cost from now on
    r = await api.post("/login", json={"email": "a@x.com", "password": "secret-1"})
    assert r.status_code == 200, r.text
    body = {"id": c["id"], "version": 1, "currentPassword": "secret-1", "newPassword": "secret-2"}
    assert (await api.post("/customers/password", json=body)).status_code == 200
    assert api.emulator.store.get("test", "customer", c["id"])["password"].startswith("scrypt$1024$")
    assert error(await api.post("/login", json={"email": "a@x.com", "password": "secret-1"}))["code"] == (
        "InvalidCredentials"
    )


async def test_the_password_hash_stays_out_of_the_where_value_table(api):
    await api.create("customers", {"email": "a@x.com", "password": "secret-1", "companyName": "Acme"})
    paths = {row[0] for row in api.emulator.store.conn.execute("SELECT DISTINCT path FROM where_values")}
    assert "companyName" in paths and "password" not in paths


async def test_hashing_runs_off_the_event_loop() -> None:
    """At a slow cost, the loop keeps ticking while a sign-up, a sign-in and a password grant hash or check."""
    app = create_app(":memory:", demo=False, project="test", settings=Settings(password_cost=2**15))  # ~80 ms a hash
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://emulator") as client:
        client.headers["Authorization"] = f"Bearer {await token(client)}"
        ticks = 0

        async def ticker(done: asyncio.Event) -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.002)

        async def timed(call: Any) -> tuple[httpx2.Response, int, float]:
            nonlocal ticks
            ticks, done = 0, asyncio.Event()
            tick = asyncio.create_task(ticker(done))
            start = time.perf_counter()
            r = await call
            elapsed = time.perf_counter() - start
            done.set()
            await tick
            return r, ticks, elapsed

        for call in (
            client.post("/test/customers", json={"email": "a@x.com", "password": "pw-1"}),
            client.post("/test/login", json={"email": "a@x.com", "password": "pw-1"}),
            client.post(
                "/oauth/test/customers/token",
                data={"grant_type": "password", "username": "a@x.com", "password": "pw-1"},
                auth=("c", "s"),
            ),
        ):
            r, count, elapsed = await timed(call)
            assert r.status_code in (200, 201), r.text
            # blocked, the loop would tick once or twice; free, about once per 2 ms of the call
            assert count >= 5, (r.request.url, count, elapsed)


async def test_cheap_hashing_stays_on_the_event_loop_and_a_costly_stored_hash_still_leaves_it(monkeypatch) -> None:
    """At the development cost a hash takes less than a worker-thread hop, so sign-up, sign-in and the password
    grant hash and check in place (the hop was a third of a sign-up's server CPU); a stored hash of a higher
    cost than ``INLINE_MAX_COST`` (written before the setting changed) is still checked in a worker thread."""
    from commercetools_customers_mcp.emulator import passwords

    hops: list[str] = []
    real = asyncio.to_thread

    async def counted(fn: Any, *args: Any) -> Any:
        hops.append(getattr(fn, "__qualname__", "?"))
        return await real(fn, *args)

    monkeypatch.setattr(passwords.asyncio, "to_thread", counted)
    app = create_app(":memory:", demo=False, project="test")
    assert app.state.emulator.settings.password_cost <= passwords.INLINE_MAX_COST
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://emulator") as client:
        client.headers["Authorization"] = f"Bearer {await token(client)}"
        calls = (
            lambda: client.post("/test/customers", json={"email": "a@x.com", "password": "pw-1"}),
            lambda: client.post("/test/login", json={"email": "a@x.com", "password": "pw-1"}),
            lambda: client.post("/test/login", json={"email": "nobody@x.com", "password": "pw-1"}),  # the dummy
            lambda: client.post(
                "/oauth/test/customers/token",
                data={"grant_type": "password", "username": "a@x.com", "password": "pw-1"},
                auth=("c", "s"),
            ),
        )
        statuses = [(await call()).status_code for call in calls]
        assert statuses == [201, 200, 400, 200] and hops == []
        app.state.emulator.settings = Settings(password_cost=passwords.INLINE_MAX_COST * 2)
        r = await client.post("/test/customers", json={"email": "b@x.com", "password": "pw-2"})
        assert r.status_code == 201 and len(hops) == 1
        app.state.emulator.settings = Settings()  # back to the cheap cost: b's stored hash still costs more
        assert (await client.post("/test/login", json={"email": "b@x.com", "password": "pw-2"})).status_code == 200
        assert len(hops) == 2
    app.state.emulator.store.close()


async def test_access_tokens_expire_and_revoked_password_flow_tokens_stop_at_once(api):
    """Client-credentials tokens are cached once seen, password-flow tokens never: both kinds still end."""
    assert (await api.get("/customer-groups")).status_code == 200  # the fixture's client token, now cached
    c = await api.create("customers", {"email": "a@x.com", "password": "secret-1"})
    grant = {"grant_type": "password", "username": "a@x.com", "password": "secret-1"}
    customer_token = (await api.http.post("/oauth/test/customers/token", data=grant, auth=("c", "s"))).json()
    introspect = {"token": customer_token["access_token"]}
    assert (await api.http.post("/oauth/introspect", data=introspect, auth=("c", "s"))).json()["active"] is True
    r = await api.post("/customers/password-token", json={"email": "a@x.com"})
    r = await api.post("/customers/password/reset", json={"tokenValue": r.json()["value"], "newPassword": "pw-2"})
    assert r.status_code == 200 and r.json()["id"] == c["id"]
    assert (await api.http.post("/oauth/introspect", data=introspect, auth=("c", "s"))).json()["active"] is False
    api.clock.advance(hours=48, seconds=1)
    assert error(await api.get("/customer-groups"), 401)["code"] == "invalid_token"


# ---------------------------------------------------------------- totals


async def test_a_filtered_page_past_the_end_still_reports_the_total(api):
    for i in range(3):
        await api.create("customer-groups", {"groupName": f"G{i}", "key": f"g-{i}"})
    for params in ({"where": "name is defined", "offset": 10}, {"where": 'key in ("g-0", "g-2")', "offset": 5}):
        body = (await api.get("/customer-groups", params=params)).json()
        assert (body["count"], body["results"]) == (0, [])
        assert body["total"] == (3 if params["where"] == "name is defined" else 2), params
    body = (await api.get("/customer-groups", params={"offset": 10})).json()
    assert (body["count"], body["total"]) == (0, 3)


async def test_total_is_capped_at_the_max_offset_only_when_filtered(api):
    """RAML (PagedQueryResponse.total): "When the results are filtered with a Query Predicate, `total` is subject
    to a limit" (the max offset, 10,000); the unfiltered total is the count."""
    ctx = Ctx(api.emulator, api.project, client_id="bulk")
    with api.emulator.store.write():
        for i in range(10_005):
            ctx.insert("customer-group", ctx.new_doc({"name": f"G{i}"}))
    filtered = (await api.get("/customer-groups", params={"where": "name is defined", "limit": 1})).json()
    unfiltered = (await api.get("/customer-groups", params={"limit": 1})).json()
    assert (filtered["total"], unfiltered["total"]) == (10_000, 10_005)
    assert filtered["count"] == unfiltered["count"] == 1


# ---------------------------------------------------------------- action tables against the API


@pytest.mark.parametrize(
    "resource",
    [customers.RESOURCE, customer_groups.RESOURCE, business_units.RESOURCE, associate_roles.RESOURCE],
    ids=lambda r: r.type_id,
)
def test_each_action_table_is_its_api_union(resource: Any) -> None:
    assert resource.update_union is not None
    assert sorted(resource.actions) == sorted(spec.union_members(resource.update_union))

"""The emulator's auth API: client scopes (issue #15 §5), the refresh-token, anonymous and revocation flows and
token invalidation (issue #13 §2), introspection; bad input answers the auth API's errors, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from commercetools_customers_mcp.emulator import create_app, parse_client

Client = tuple[str, str]
PINNED = {
    "other-app": "s1:manage_project:other",
    "viewer": "s2:view_customers:demo view_business_units:demo",
    "units": "s3:view_business_units:demo",
    "store": "s4:manage_customers:demo create_anonymous_token:demo manage_orders:demo",
    "admin": "s5:manage_project:*",
    "plain": "s6",
}
EMAIL, PASSWORD = "ann@example.com", "ann-secret"
ROLE = {"associateRole": {"typeId": "associate-role", "key": "buyer"}}  # a demo role


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(":memory:", demo=True, clients=PINNED)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://emulator") as client:
        yield client


def creds(client_id: str) -> Client:
    return client_id, PINNED[client_id].partition(":")[0]


async def token(http: httpx2.AsyncClient, client: Client, scope: str | None = None, **form: str) -> httpx2.Response:
    data = {"grant_type": "client_credentials", **form}
    if scope is not None:
        data["scope"] = scope
    return await http.post("/oauth/token", data=data, auth=client)


def bearer(r: httpx2.Response) -> dict[str, str]:
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def auth_error(r: httpx2.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code and body["errors"][0]["code"] == code and body["statusCode"] == status


async def admin(http: httpx2.AsyncClient) -> dict[str, str]:
    return bearer(await token(http, creds("admin"), "manage_project:demo"))


async def signed_up(http: httpx2.AsyncClient) -> dict[str, Any]:
    r = await http.post("/demo/customers", json={"email": EMAIL, "password": PASSWORD}, headers=await admin(http))
    assert r.status_code == 201, r.text
    return r.json()["customer"]


async def password_flow(http: httpx2.AsyncClient, client: Client = ("store", "s4"), **extra: str) -> httpx2.Response:
    form = {"grant_type": "password", "username": EMAIL, "password": PASSWORD, **extra}
    return await http.post("/oauth/demo/customers/token", data=form, auth=client)


# ---------------------------------------------------------------- scopes belong to the client


async def test_a_client_gets_no_scope_it_does_not_hold(http):
    # the finding: a client pinned for project `other` asked for manage_project:demo and read its customers
    auth_error(await token(http, creds("other-app"), "manage_project:demo"), 400, "invalid_scope")
    auth_error(await token(http, creds("other-app"), "view_customers:demo"), 400, "invalid_scope")
    auth_error(await token(http, creds("viewer"), "manage_customers:demo"), 400, "invalid_scope")
    auth_error(await token(http, creds("viewer"), "view_customers:*"), 400, "invalid_scope")
    auth_error(await token(http, creds("viewer"), "view_customers:demo customer_id:x"), 400, "invalid_scope")
    auth_error(await token(http, creds("viewer"), "nonsense"), 400, "invalid_scope")
    # within its scopes it gets what it asks for; manage_X implies view_X, manage_project everything of its project
    r = await token(http, creds("viewer"), "view_customers:demo")
    assert r.json()["scope"] == "view_customers:demo"
    assert (await token(http, creds("store"), "view_customers:demo")).status_code == 200
    assert (await token(http, creds("plain"), "view_business_units:demo manage_customers:demo")).status_code == 200


async def test_a_token_request_without_scope_gets_the_clients_scopes(http):
    r = await token(http, creds("viewer"))
    assert r.json()["scope"] == "view_customers:demo view_business_units:demo"
    headers = bearer(r)
    assert (await http.get("/demo/customers", headers=headers)).status_code == 200
    assert (await http.post("/demo/customers", json={"email": "x@y.z"}, headers=headers)).status_code == 403
    # ID:SECRET alone holds the served project; no token spans projects unless the client's scopes do
    assert (await token(http, creds("plain"))).json()["scope"] == "manage_project:demo"
    other = bearer(await token(http, creds("other-app")))
    auth_error(await http.get("/demo/customers", headers=other), 403, "insufficient_scope")
    assert (await http.get("/other/customers", headers=other)).status_code == 200
    everywhere = bearer(await token(http, creds("admin")))
    for project in ("demo", "other", "third"):
        assert (await http.get(f"/{project}/customers", headers=everywhere)).status_code == 200


async def test_the_open_default_client_holds_one_project():
    app = create_app(":memory:", demo=False, project="shop")
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://e") as http:
        r = await token(http, ("anyone", "anything"))  # any id and secret: a local development server
        assert r.json()["scope"] == "manage_project:shop"
        auth_error(await http.get("/demo/customers", headers=bearer(r)), 403, "insufficient_scope")
        auth_error(await token(http, ("anyone", "x"), "manage_project:*"), 400, "invalid_scope")
        auth_error(await token(http, ("anyone", "x"), "manage_project:demo"), 400, "invalid_scope")


async def test_pinned_clients_need_their_secret(http):
    auth_error(await token(http, ("viewer", "wrong")), 401, "invalid_client")
    auth_error(await token(http, ("stranger", "s2")), 401, "invalid_client")
    auth_error(await http.post("/oauth/token", data={"grant_type": "client_credentials"}), 401, "invalid_client")
    r = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic !"})
    auth_error(r, 401, "invalid_client")


def test_client_options_parse_or_say_why():
    client_id, client = parse_client("app:s3cret:view_customers:demo,manage_orders:demo", "demo")
    assert client_id == "app" and client.secret == "s3cret"
    assert client.scopes == ("view_customers:demo", "manage_orders:demo")
    assert parse_client("app:s3cret", "shop")[1].scopes == ("manage_project:shop",)
    assert parse_client("app:s:manage_project:*", "demo")[1].scopes == ("manage_project:*",)
    for bad in ("app", ":s", "app:", "app:s:customers", "app:s:customer_id:x", "app:s:view_customers:de*mo"):
        with pytest.raises(ValueError):
            parse_client(bad, "demo")


async def test_expansion_leaves_references_the_token_may_not_view(http):
    # the finding: a business-units-only token expanded full customers
    headers = await admin(http)
    customer = await signed_up(http)
    unit = {
        "key": "scoped-unit",
        "name": "ACME",
        "unitType": "Company",
        "associates": [{"customer": {"typeId": "customer", "id": customer["id"]}, "associateRoleAssignments": [ROLE]}],
    }
    r = await http.post("/demo/business-units", json=unit, headers=headers)
    assert r.status_code == 201, r.text
    params = {"expand": "associates[*].customer"}
    units_only = bearer(await token(http, creds("units")))
    r = await http.get("/demo/business-units/key=scoped-unit", params=params, headers=units_only)
    assert r.status_code == 200 and "obj" not in r.json()["associates"][0]["customer"]
    r = await http.get("/demo/business-units", params={**params, "where": 'key = "scoped-unit"'}, headers=units_only)
    assert "obj" not in r.json()["results"][0]["associates"][0]["customer"]
    both = bearer(await token(http, creds("viewer")))
    r = await http.get("/demo/business-units/key=scoped-unit", params=params, headers=both)
    assert r.json()["associates"][0]["customer"]["obj"]["email"] == EMAIL


async def test_introspection_needs_client_authentication(http):
    value = (await token(http, creds("viewer"))).json()["access_token"]
    auth_error(await http.post("/oauth/introspect", data={"token": value}), 401, "invalid_client")
    r = await http.post("/oauth/introspect", data={"token": value}, auth=creds("admin"))
    assert r.json()["active"] is True and r.json()["scope"] == "view_customers:demo view_business_units:demo"
    assert isinstance(r.json()["exp"], int)
    # a client may introspect tokens of its own projects only
    assert (await http.post("/oauth/introspect", data={"token": value}, auth=creds("other-app"))).json() == {
        "active": False
    }
    r = await http.post("/oauth/introspect", data={"token": "made-up"}, auth=creds("admin"))
    assert r.json() == {"active": False}


# ---------------------------------------------------------------- sessions: password, refresh, anonymous


async def test_password_flow_tokens_carry_the_customer_and_the_clients_scopes_in_that_project(http):
    customer = await signed_up(http)
    r = await password_flow(http)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    assert body["scope"].split() == [
        "manage_customers:demo",
        "create_anonymous_token:demo",
        "manage_orders:demo",
        f"customer_id:{customer['id']}",
    ]
    r = await password_flow(http, scope="manage_orders:demo")
    assert r.json()["scope"] == f"manage_orders:demo customer_id:{customer['id']}"
    auth_error(await password_flow(http, scope="manage_project:demo"), 400, "invalid_scope")
    auth_error(await password_flow(http, ("other-app", "s1")), 400, "invalid_scope")  # nothing in project demo
    auth_error(await password_flow(http, password="wrong"), 400, "invalid_customer_account_credentials")


async def test_refresh_token_grant(http):
    customer = await signed_up(http)
    session = (await password_flow(http)).json()
    form = {"grant_type": "refresh_token", "refresh_token": session["refresh_token"]}
    r = await http.post("/oauth/token", data=form, auth=creds("store"))
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == session["scope"] and "refresh_token" not in r.json()
    r = await http.get(f"/demo/customers/{customer['id']}", headers=bearer(r))
    assert r.status_code == 200
    narrowed = await http.post("/oauth/token", data={**form, "scope": "manage_orders:demo"}, auth=creds("store"))
    assert narrowed.json()["scope"] == f"manage_orders:demo customer_id:{customer['id']}"
    # only for the client it was issued to, only a refresh token, and never wider than the session
    auth_error(await http.post("/oauth/token", data=form, auth=creds("admin")), 400, "invalid_grant")
    access = {**form, "refresh_token": session["access_token"]}
    auth_error(await http.post("/oauth/token", data=access, auth=creds("store")), 400, "invalid_grant")
    wider = {**form, "scope": "manage_project:demo"}
    auth_error(await http.post("/oauth/token", data=wider, auth=creds("store")), 400, "invalid_scope")
    missing = {"grant_type": "refresh_token"}
    auth_error(await http.post("/oauth/token", data=missing, auth=creds("store")), 400, "invalid_request")
    # a refresh token cannot be used as a bearer token
    refresh_bearer = {"Authorization": f"Bearer {session['refresh_token']}"}
    auth_error(await http.get("/demo/customers", headers=refresh_bearer), 401, "invalid_token")


async def test_a_password_reset_ends_access_and_refresh_tokens_a_change_does_not(http):
    customer = await signed_up(http)
    headers = await admin(http)
    before = (await password_flow(http)).json()
    refreshed = await http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": before["refresh_token"]},
        auth=creds("store"),
    )
    # a change leaves them active: the API documents invalidation for the reset only
    change = {"id": customer["id"], "version": 1, "currentPassword": PASSWORD, "newPassword": "changed-1"}
    assert (await http.post("/demo/customers/password", json=change, headers=headers)).status_code == 200
    assert (await http.get("/demo/customers", headers=bearer(refreshed))).status_code == 200
    # a reset ends the access tokens of the password and the refresh flows, and the refresh token
    reset_token = (await http.post("/demo/customers/password-token", json={"email": EMAIL}, headers=headers)).json()
    reset = {"tokenValue": reset_token["value"], "newPassword": "reset-2"}
    assert (await http.post("/demo/customers/password/reset", json=reset, headers=headers)).status_code == 200
    for access in (before["access_token"], refreshed.json()["access_token"]):
        r = await http.get("/demo/customers", headers={"Authorization": f"Bearer {access}"})
        auth_error(r, 401, "invalid_token")
    form = {"grant_type": "refresh_token", "refresh_token": before["refresh_token"]}
    auth_error(await http.post("/oauth/token", data=form, auth=creds("store")), 400, "invalid_grant")


async def test_anonymous_sessions(http):
    r = await http.post("/oauth/demo/anonymous/token", data={"grant_type": "client_credentials"}, auth=creds("store"))
    assert r.status_code == 200, r.text
    session = r.json()
    anonymous_id = session["scope"].split()[-1].removeprefix("anonymous_id:")
    assert session["scope"].split()[-1].startswith("anonymous_id:") and session["refresh_token"]
    # a cart created in the session is the session's, and a sign-up with that anonymous id takes it over
    cart = await http.post("/demo/carts", json={"currency": "EUR"}, headers=bearer(r))
    assert cart.status_code == 201 and cart.json()["anonymousId"] == anonymous_id
    assert cart.json()["createdBy"]["anonymousId"] == anonymous_id
    draft = {"email": EMAIL, "password": PASSWORD, "anonymousId": anonymous_id}
    signed = await http.post("/demo/customers", json=draft, headers=await admin(http))
    assert signed.status_code == 201 and signed.json()["cart"]["id"] == cart.json()["id"]
    # an id of one's own, once; the refresh token keeps the anonymous id
    form = {"grant_type": "client_credentials", "anonymous_id": "visitor-7", "scope": "manage_orders:demo"}
    mine = await http.post("/oauth/demo/anonymous/token", data=form, auth=creds("store"))
    assert mine.json()["scope"] == "manage_orders:demo anonymous_id:visitor-7"
    again = await http.post("/oauth/demo/anonymous/token", data=form, auth=creds("store"))
    auth_error(again, 400, "invalid_request")
    refresh = {"grant_type": "refresh_token", "refresh_token": mine.json()["refresh_token"]}
    renewed = await http.post("/oauth/token", data=refresh, auth=creds("store"))
    assert renewed.json()["scope"] == "manage_orders:demo anonymous_id:visitor-7"
    cart = await http.post("/demo/carts", json={"currency": "EUR"}, headers=bearer(renewed))
    assert cart.json()["anonymousId"] == "visitor-7"
    # the client needs create_anonymous_token; the id has a shape; the grant type is client_credentials
    anonymous = {"grant_type": "client_credentials"}
    auth_error(
        await http.post("/oauth/demo/anonymous/token", data=anonymous, auth=creds("viewer")), 400, "invalid_scope"
    )
    bad_id = {**anonymous, "anonymous_id": "a b" * 200}
    auth_error(await http.post("/oauth/demo/anonymous/token", data=bad_id, auth=creds("store")), 400, "invalid_request")
    password = {"grant_type": "password"}
    r = await http.post("/oauth/demo/anonymous/token", data=password, auth=creds("store"))
    auth_error(r, 400, "unsupported_grant_type")


async def test_revocation(http):
    await signed_up(http)
    session = (await password_flow(http)).json()
    form = {"grant_type": "refresh_token", "refresh_token": session["refresh_token"]}
    refreshed = (await http.post("/oauth/token", data=form, auth=creds("store"))).json()
    # revoking an access token ends it alone
    r = await http.post("/oauth/token/revoke", data={"token": session["access_token"]}, auth=creds("store"))
    assert r.status_code == 200
    auth_error(await http.get("/demo/customers", headers=bearer_of(session)), 401, "invalid_token")
    assert (await http.get("/demo/customers", headers=bearer_of(refreshed))).status_code == 200
    # revoking the refresh token ends it and every access token issued through it
    revoke = {"token": session["refresh_token"], "token_type_hint": "refresh_token"}
    assert (await http.post("/oauth/token/revoke", data=revoke, auth=creds("store"))).status_code == 200
    auth_error(await http.get("/demo/customers", headers=bearer_of(refreshed)), 401, "invalid_token")
    auth_error(await http.post("/oauth/token", data=form, auth=creds("store")), 400, "invalid_grant")
    # client-credentials tokens too (the in-memory cache forgets them); unknown tokens are fine (RFC 7009)
    plain = (await token(http, creds("viewer"))).json()["access_token"]
    assert (await http.get("/demo/customers", headers={"Authorization": f"Bearer {plain}"})).status_code == 200
    assert (await http.post("/oauth/token/revoke", data={"token": plain}, auth=creds("viewer"))).status_code == 200
    r = await http.get("/demo/customers", headers={"Authorization": f"Bearer {plain}"})
    auth_error(r, 401, "invalid_token")
    assert (await http.post("/oauth/token/revoke", data={"token": "unknown"}, auth=creds("viewer"))).status_code == 200
    # only the client a token was issued to may revoke it; the client authenticates; a token is given
    other = (await token(http, creds("viewer"))).json()["access_token"]
    r = await http.post("/oauth/token/revoke", data={"token": other}, auth=creds("admin"))
    auth_error(r, 400, "invalid_request")
    auth_error(await http.post("/oauth/token/revoke", data={"token": other}), 401, "invalid_client")
    auth_error(await http.post("/oauth/token/revoke", data={}, auth=creds("viewer")), 400, "invalid_request")


def bearer_of(body: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {body['access_token']}"}


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/oauth/token", {}),
        ("/oauth/token", {"grant_type": "authorization_code"}),
        ("/oauth/token", {"grant_type": "x" * 5000}),
        ("/oauth/token", {"grant_type": "client_credentials", "scope": "a" * 10_000}),
        ("/oauth/token", {"grant_type": "refresh_token", "refresh_token": "\x00\uffff"}),
        ("/oauth/demo/customers/token", {"grant_type": "password"}),
        ("/oauth/demo/customers/token", {"grant_type": "password", "username": "a@b.c", "password": ""}),
        ("/oauth/demo/anonymous/token", {"grant_type": "client_credentials", "anonymous_id": ""}),
        ("/oauth/demo/anonymous/token", {"grant_type": "client_credentials", "scope": "view_customers:other"}),
        ("/oauth/token/revoke", {"token": ""}),
        ("/oauth/introspect", {}),
    ],
)
async def test_bad_input_is_an_auth_error_never_a_500(http, path, form):
    r = await http.post(path, data=form, auth=creds("store"))
    assert r.status_code < 500, r.text
    body = r.json()
    if r.status_code != 200:
        assert body["error"] in (
            "invalid_request",
            "unsupported_grant_type",
            "invalid_scope",
            "invalid_grant",
            "invalid_customer_account_credentials",
        )


async def test_an_auth_endpoint_is_a_declared_row_and_other_paths_stay_api_paths():
    """The auth API is a route table (``Emulator.auth_routes``): a new endpoint such as a Store's customer token
    is one more row, served with its path parameters and the client authenticated first, the HTTP layer
    unchanged. Paths that are no row (another method, a trailing slash) stay API paths, as before."""
    from commercetools_customers_mcp.emulator import create_emulator
    from commercetools_customers_mcp.emulator.app import EmulatorApp
    from commercetools_customers_mcp.emulator.backend import AuthRequest, AuthRoute

    seen: list[AuthRequest] = []

    async def store_token(emulator: Any, req: AuthRequest) -> dict[str, Any]:
        seen.append(req)
        return {"store": req.path["storeKey"]}

    emulator = create_emulator(":memory:", clients=PINNED)
    path = "/oauth/{projectKey}/in-store/key={storeKey}/customers/token"
    emulator.auth_routes.insert(0, AuthRoute(path, store_token))  # before the emulator's own row for it
    app = EmulatorApp(emulator)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://emulator") as client:
        path = "/oauth/demo/in-store/key=de%2Fstore/customers/token"
        r = await client.post(path, data={"grant_type": "password"}, auth=creds("store"))
        assert (r.status_code, r.json()) == (200, {"store": "de/store"})
        (req,) = seen
        assert (req.client_id, dict(req.path), req.form["grant_type"]) == (
            "store",
            {"projectKey": "demo", "storeKey": "de/store"},
            "password",
        )
        auth_error(await client.post(path, data={}), 401, "invalid_client")
        # not rows: an API path of a project called "oauth" (no bearer: 401 invalid_token, as any API call)
        for method, other in (("GET", "/oauth/token"), ("POST", "/oauth/token/"), ("POST", "/oauth/demo/token")):
            r = await client.request(method, other, auth=creds("store"))
            assert r.status_code == 401 and r.json()["error"] == "invalid_token", (method, other, r.text)


async def test_expired_tokens_are_purged_every_nth_issue(monkeypatch):
    """Every ``PURGE_EVERY``-th token issued deletes the expired ones (through the write path); refresh tokens live
    their 200 days, and nothing unexpired goes."""
    from commercetools_customers_mcp.emulator import Clock, oauth

    monkeypatch.setattr(oauth, "PURGE_EVERY", 4)
    clock = Clock()
    app = create_app(":memory:", demo=False, project="demo", clock=clock)
    store = app.state.emulator.store

    def stored() -> set[str]:
        return {doc["id"] for doc in store.find(oauth.TOKENS, oauth.TOKEN_TYPE)}

    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://emulator") as client:
        first = (await token(client, ("c", "s"))).json()  # issue 1
        r = await client.post("/demo/customers", json={"email": EMAIL, "password": PASSWORD}, headers=bearer_of(first))
        assert r.status_code == 201, r.text
        grant = {"grant_type": "password", "username": EMAIL, "password": PASSWORD}
        session = (await client.post("/oauth/demo/customers/token", data=grant, auth=("c", "s"))).json()  # 2
        second = (await token(client, ("c", "s"))).json()  # issue 3
        values = [first["access_token"], session["access_token"], session["refresh_token"], second["access_token"]]
        assert stored() == {oauth.digest(v) for v in values}
        clock.advance(seconds=oauth.TOKEN_TTL)  # the access tokens expire now
        third = (await token(client, ("c", "s"))).json()  # issue 4: purges
        assert stored() == {oauth.digest(session["refresh_token"]), oauth.digest(third["access_token"])}
        # the refresh token still works; the purged access token does not
        r = await client.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": session["refresh_token"]},
            auth=("c", "s"),
        )  # fmt: skip
        assert r.status_code == 200, r.text
        assert (await client.get("/demo/customers", headers=bearer_of(first))).status_code == 401


async def test_the_open_client_of_any_project_gets_what_it_asks_for_in_the_project_it_names():
    # issue #22: the standalone emulator serves the project key a client names, as a test double does
    app = create_app(":memory:", demo=False, projects=["*"])
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://e") as http:
        shop = bearer(await token(http, ("anyone", "anything"), "manage_project:my-shop"))
        r = await http.post("/my-shop/customers", json={"email": "a@b.c", "password": "pw"}, headers=shop)
        assert r.status_code == 201, r.text
        auth_error(await http.get("/demo/customers", headers=shop), 403, "insufficient_scope")
        viewer = bearer(await token(http, ("anyone", "x"), "view_customers:my-shop"))
        assert (await http.get("/my-shop/customers", headers=viewer)).json()["total"] == 1
        r = await http.post("/my-shop/customers", json={"email": "d@e.f", "password": "pw"}, headers=viewer)
        auth_error(r, 403, "insufficient_scope")
        # no scope: the default project's; a wildcard is never granted to the open client
        assert (await token(http, ("anyone", "x"))).json()["scope"] == "manage_project:demo"
        auth_error(await token(http, ("anyone", "x"), "manage_project:*"), 400, "invalid_scope")
        # the customer password flow works in any project too
        r = await http.post(
            "/oauth/my-shop/customers/token",
            data={"grant_type": "password", "username": "a@b.c", "password": "pw"},
            auth=("anyone", "x"),
        )
        assert r.json()["scope"].startswith("manage_project:my-shop customer_id:"), r.text


async def test_served_projects_restrict_the_open_client():
    app = create_app(":memory:", demo=False, project="shop", projects=["shop", "shop-us"])
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://e") as http:
        assert (await token(http, ("anyone", "x"))).json()["scope"] == "manage_project:shop manage_project:shop-us"
        assert (await token(http, ("anyone", "x"), "view_customers:shop-us")).status_code == 200
        r = await token(http, ("anyone", "x"), "manage_project:other")
        auth_error(r, 400, "invalid_scope")
        assert "--project" in r.json()["error_description"]

"""The Store-scoped API (customers-in-store.raml, business-units-in-store.raml, in-store.raml ``/login``, the Store's
password flow): statuses and errors as the RAML gives them, Store isolation, Store-scoped scopes."""

from __future__ import annotations

import httpx2
import pytest

from commercetools_customers_mcp.emulator import create_app

PROJECT = "test"  # the `api` fixture's project (conftest)

DE, US = "/in-store/key=de", "/in-store/key=us"


def code(r: httpx2.Response) -> str:
    return r.json()["errors"][0]["code"]


@pytest.fixture
async def stores(api):
    for key in ("de", "us"):
        await api.create("stores", {"key": key, "name": {"en": key}})
    return api


async def sign_up(api, prefix: str, email: str = "ida@example.com", **extra) -> dict:
    r = await api.post(f"{prefix}/customers", json={"email": email, "password": "pw-1", **extra})
    assert r.status_code == 201, r.text
    return r.json()["customer"]


async def test_sign_up_in_a_store_sets_the_store_and_email_is_unique_per_store(stores):
    api = stores
    ida = await sign_up(api, DE)
    assert ida["stores"] == [{"typeId": "store", "key": "de"}]
    # the same email in another Store is another Customer; twice in one Store, or once globally, is a duplicate
    other = await sign_up(api, US)
    assert other["id"] != ida["id"]
    r = await api.post(f"{DE}/customers", json={"email": "IDA@example.com", "password": "x"})
    assert r.status_code == 400 and code(r) == "DuplicateField"
    r = await api.post("/customers", json={"email": "ida@example.com", "password": "x"})
    assert r.status_code == 400 and code(r) == "DuplicateField"
    # a draft naming its Stores keeps them
    both = await sign_up(api, DE, "both@example.com", stores=[{"key": "de"}, {"key": "us"}])
    assert [s["key"] for s in both["stores"]] == ["de", "us"]


async def test_get_head_query_update_delete_are_isolated_per_store(stores):
    api = stores
    ida = await sign_up(api, DE, key="ida")
    glob = await api.create("customers", {"email": "g@example.com", "password": "pw", "key": "glob"})
    for path in (f"/customers/{ida['id']}", "/customers/key=ida"):
        r = await api.get(DE + path)
        assert r.status_code == 200 and r.json()["id"] == ida["id"]
        assert (await api.head(DE + path)).status_code == 200
        r = await api.get(US + path)
        assert r.status_code == 404 and code(r) == "ResourceNotFound"
        assert (await api.head(US + path)).status_code == 404
    # a global Customer is not one of the Store's
    assert (await api.get(f"{DE}/customers/{glob['id']}")).status_code == 404
    r = await api.get(f"{DE}/customers", params={"where": 'email = "ida@example.com"'})
    assert (r.json()["total"], r.json()["results"][0]["id"]) == (1, ida["id"])
    assert (await api.get(f"{US}/customers")).json()["total"] == 0
    assert (await api.get(f"{DE}/customers")).json()["total"] == 1
    assert (await api.head(f"{DE}/customers")).status_code == 200
    assert (await api.head(f"{US}/customers")).status_code == 404
    # update and delete through the wrong Store: 404, the Customer untouched
    update = {"version": 1, "actions": [{"action": "setFirstName", "firstName": "Ida"}]}
    assert (await api.post(f"{US}/customers/{ida['id']}", json=update)).status_code == 404
    r = await api.post(f"{DE}/customers/key=ida", json=update)
    assert r.status_code == 200 and r.json()["firstName"] == "Ida"
    assert (await api.delete(f"{US}/customers/{ida['id']}", params={"version": 2})).status_code == 404
    r = await api.delete(f"{DE}/customers/key=ida", params={"version": 2})
    assert r.status_code == 200
    assert (await api.get(f"/customers/{ida['id']}")).status_code == 404


async def test_password_reset_and_email_verification_in_a_store(stores):
    api = stores
    project = (await api.get("/")).json()
    action = {
        "action": "changeMessagesConfiguration",
        "messagesConfiguration": {"enabled": True, "deleteDaysAfterCreation": 90},
    }
    assert (await api.post("/", json={"version": project["version"], "actions": [action]})).status_code == 200
    ida = await sign_up(api, DE)
    await sign_up(api, US)  # the same email in the other Store
    r = await api.post(f"{DE}/customers/password-token", json={"email": "ida@example.com"})
    assert r.status_code == 200 and r.json()["customerId"] == ida["id"]
    value = r.json()["value"]
    # unknown in another Store and on the global endpoint
    for prefix in (US, ""):
        assert (await api.get(f"{prefix}/customers/password-token={value}")).status_code == 404
        r = await api.post(f"{prefix}/customers/password/reset", json={"tokenValue": value, "newPassword": "n"})
        assert r.status_code == 404 and code(r) == "ResourceNotFound"
    r = await api.get(f"{DE}/customers/password-token={value}")
    assert r.status_code == 200 and r.json()["id"] == ida["id"]
    r = await api.post(f"{DE}/customers/password/reset", json={"tokenValue": value, "newPassword": "pw-2"})
    assert r.status_code == 200, r.text
    r = await api.post(f"{DE}/login", json={"email": "ida@example.com", "password": "pw-2"})
    assert r.status_code == 200 and r.json()["customer"]["id"] == ida["id"]
    # the global endpoint gives a token that resets nobody (it does not say whether the email exists)
    r = await api.post("/customers/password-token", json={"email": "ida@example.com"})
    assert r.status_code == 200 and r.json()["customerId"] != ida["id"]

    # email verification: the token by id, through the Customer's Store only
    r = await api.post(f"{US}/customers/email-token", json={"id": ida["id"], "ttlMinutes": 10})
    assert r.status_code == 404 and code(r) == "ResourceNotFound"
    r = await api.post(f"{DE}/customers/email-token", json={"id": ida["id"], "ttlMinutes": 10})
    value = r.json()["value"]
    assert (await api.get(f"{US}/customers/email-token={value}")).status_code == 404
    assert (await api.get(f"{DE}/customers/email-token={value}")).status_code == 200
    r = await api.post(f"{DE}/customers/email/confirm", json={"tokenValue": value})
    assert r.status_code == 200 and r.json()["isEmailVerified"] is True
    # change password through the Store
    body = {"id": ida["id"], "version": r.json()["version"], "currentPassword": "pw-2", "newPassword": "pw-3"}
    assert (await api.post(f"{US}/customers/password", json=body)).status_code == 404
    r = await api.post(f"{DE}/customers/password", json=body)
    assert r.status_code == 200, r.text
    messages = (await api.get("/messages", params={"where": f'resource(id="{ida["id"]}")', "limit": 50})).json()
    types = {m["type"] for m in messages["results"]}
    assert {"CustomerCreated", "CustomerEmailVerified", "CustomerPasswordUpdated"} <= types, types
    # the token Messages are on the tokens (as on the global endpoints)
    tokens = (await api.get("/messages", params={"where": 'type = "CustomerPasswordTokenCreated"'})).json()
    assert tokens["total"] == 1  # the Store's token; none for the unknown email the global endpoint got


async def test_sign_in_through_a_store(stores):
    api = stores
    await sign_up(api, DE)
    await api.create("customers", {"email": "g@example.com", "password": "pw"})
    r = await api.post(f"{DE}/login", json={"email": "ida@example.com", "password": "pw-1"})
    assert r.status_code == 200
    for prefix, email in ((US, "ida@example.com"), ("", "ida@example.com"), (DE, "g@example.com")):
        password = "pw" if email.startswith("g") else "pw-1"
        r = await api.post(f"{prefix}/login", json={"email": email, "password": password})
        assert r.status_code == 400 and code(r) == "InvalidCredentials", (prefix, email)


async def test_the_store_password_flow():
    app = create_app(":memory:", demo=False, project=PROJECT, clients={"c": f"s:manage_customers:{PROJECT}"})
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://e") as http:
        r = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("c", "s"))
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        # no Store yet: create it through the backend's own context
        from commercetools_customers_mcp.emulator.backend import Ctx
        from commercetools_customers_mcp.emulator.resources import references

        ctx = Ctx(app.state.emulator, PROJECT)
        for key in ("de", "us"):
            ctx.insert("store", references.create_store(ctx, {"key": key, "name": {"en": key}}))
        r = await http.post(
            f"/{PROJECT}{DE}/customers", json={"email": "ida@example.com", "password": "pw"}, headers=admin
        )
        assert r.status_code == 201
        form = {"grant_type": "password", "username": "ida@example.com", "password": "pw"}
        r = await http.post(f"/oauth/{PROJECT}/in-store/key=de/customers/token", data=form, auth=("c", "s"))
        assert r.status_code == 200 and "customer_id:" in r.json()["scope"]
        for path in (f"/oauth/{PROJECT}/in-store/key=us/customers/token", f"/oauth/{PROJECT}/customers/token"):
            r = await http.post(path, data=form, auth=("c", "s"))
            assert r.status_code == 400 and r.json()["error"] == "invalid_customer_account_credentials"


async def test_store_scoped_scopes_reach_their_store_only():
    clients = {"de": f"s:manage_customers:{PROJECT}:de view_business_units:{PROJECT}:de", "admin": "s"}
    app = create_app(":memory:", demo=False, project=PROJECT, clients=clients)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://e") as http:

        async def bearer(client: str, **form: str) -> dict[str, str]:
            r = await http.post("/oauth/token", data={"grant_type": "client_credentials", **form}, auth=(client, "s"))
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        admin, de = await bearer("admin"), await bearer("de")
        for key in ("de", "us"):
            r = await http.post(f"/{PROJECT}/stores", json={"key": key, "name": {"en": key}}, headers=admin)
            assert r.status_code == 201
        assert (await http.get(f"/{PROJECT}{DE}/customers", headers=de)).status_code == 200
        r = await http.post(f"/{PROJECT}{DE}/customers", json={"email": "a@b.c", "password": "p"}, headers=de)
        assert r.status_code == 201
        assert (await http.get(f"/{PROJECT}{DE}/business-units", headers=de)).status_code == 200
        for path in (f"{US}/customers", "/customers", "/business-units", f"{US}/business-units"):
            r = await http.get(f"/{PROJECT}{path}", headers=de)
            assert r.status_code == 403 and r.json()["errors"][0]["code"] == "insufficient_scope", path
        # a token may ask for its Store's scope; not another Store's, not the project's
        await bearer("de", scope=f"view_customers:{PROJECT}:de")
        for scope in (f"view_customers:{PROJECT}:us", f"view_customers:{PROJECT}"):
            form = {"grant_type": "client_credentials", "scope": scope}
            r = await http.post("/oauth/token", data=form, auth=("de", "s"))
            assert r.status_code == 400 and r.json()["error"] == "invalid_scope", scope


async def test_business_units_in_a_store(stores):
    api = stores
    r = await api.post(f"{DE}/business-units", json={"key": "acme", "name": "ACME", "unitType": "Company"})
    assert r.status_code == 201 and r.json()["stores"] == [{"typeId": "store", "key": "de"}]
    div = {"key": "acme-x", "name": "X", "unitType": "Division", "parentUnit": {"key": "acme"}}
    assert (await api.post(f"{DE}/business-units", json=div)).status_code == 201
    # the Division inherits the Store: visible in it, not in the other
    assert (await api.get(f"{DE}/business-units/key=acme-x")).status_code == 200
    assert (await api.get(f"{US}/business-units/key=acme-x")).status_code == 404
    assert (await api.get(f"{DE}/business-units")).json()["total"] == 2
    assert (await api.get(f"{US}/business-units")).json()["total"] == 0
    assert (await api.head(f"{US}/business-units/key=acme")).status_code == 404
    ida = await sign_up(api, DE)
    await api.create("associate-roles", {"key": "buyer", "permissions": ["ViewMyCarts"]})
    update = {
        "version": 1,
        "actions": [
            {
                "action": "addAssociate",
                "associate": {
                    "customer": {"id": ida["id"]},
                    "associateRoleAssignments": [{"associateRole": {"key": "buyer"}}],
                },
            }
        ],
    }
    r = await api.post(f"{DE}/business-units/key=acme", json=update)
    assert r.status_code == 200, r.text
    r = await api.get(f"{DE}/business-units/key=acme/associates/{ida['id']}")
    assert r.status_code == 200 and r.json()["customer"]["id"] == ida["id"]
    assert (await api.get(f"{US}/business-units/key=acme/associates/{ida['id']}")).status_code == 404
    unit = (await api.get(f"{DE}/business-units/key=acme-x")).json()
    version = {"version": unit["version"]}
    assert (await api.delete(f"{US}/business-units/{unit['id']}", params=version)).status_code == 404
    r = await api.delete(f"{DE}/business-units/{unit['id']}", params={"version": unit["version"]})
    assert r.status_code == 200


async def test_stores_draft_get_query_update_delete(api):
    r = await api.post("/stores", json={"key": "fr", "name": {"en": "France"}, "countries": [{"code": "FR"}]})
    assert r.status_code == 201, r.text
    fr = r.json()
    assert (fr["languages"], fr["countries"], fr["distributionChannels"]) == ([], [{"code": "FR"}], [])
    assert (await api.post("/stores", json={"name": {"en": "x"}})).status_code == 400  # key required
    assert code(await api.post("/stores", json={"key": "fr"})) == "DuplicateField"
    r = await api.post("/stores", json={"key": "xx", "languages": ["tlh"]})
    assert r.status_code == 400 and code(r) == "ProjectNotConfiguredForLanguages"
    assert (await api.get("/stores/key=fr")).json()["id"] == fr["id"]
    assert (await api.get(f"/stores/{fr['id']}")).status_code == 200
    assert (await api.get("/stores", params={"where": 'key = "fr"'})).json()["total"] == 1
    actions = [
        {"action": "setName", "name": {"en": "France", "fr": "France"}},
        {"action": "addCountry", "country": {"code": "MC"}},
        {"action": "removeCountry", "country": {"code": "FR"}},
        {"action": "setLanguages", "languages": []},
    ]
    r = await api.post("/stores/key=fr", json={"version": 1, "actions": actions})
    assert r.status_code == 200, r.text
    assert (r.json()["name"]["fr"], r.json()["countries"], r.json()["version"]) == ("France", [{"code": "MC"}], 2)
    # a Store a Customer references cannot be deleted (stores.raml: ReferenceExists)
    ida = await sign_up(api, "/in-store/key=fr")
    r = await api.delete("/stores/key=fr", params={"version": 2})
    assert r.status_code == 400 and code(r) == "ReferenceExists"
    assert (await api.delete(f"/customers/{ida['id']}", params={"version": 1})).status_code == 200
    assert (await api.delete("/stores/key=fr", params={"version": 2})).status_code == 200


async def test_demo_store_customers_share_one_email():
    app = create_app(":memory:", demo=True, project="demo")
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://e") as http:
        r = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("c", "s"))
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        where = {"where": 'email = "mia.berg@example.com"'}
        everywhere = (await http.get("/demo/customers", params=where, headers=headers)).json()
        assert everywhere["total"] == 2
        for store in ("de-store", "uk-store"):
            found = (await http.get(f"/demo/in-store/key={store}/customers", params=where, headers=headers)).json()
            assert [c["stores"] for c in found["results"]] == [[{"typeId": "store", "key": store}]]
        units = (await http.get("/demo/in-store/key=de-store/business-units", headers=headers)).json()
        assert units["total"] >= 1


async def test_a_stores_members_follow_every_write(stores):
    """The Store's member index (``in_store.install``) follows addStore / removeStore / setStores and deletes, and
    a filtered and an unfiltered query agree with it."""
    api = stores
    glob = await api.create("customers", {"email": "g@example.com", "password": "pw"})

    async def in_de() -> tuple[int, int]:
        plain = (await api.get(f"{DE}/customers")).json()["total"]
        where = (await api.get(f"{DE}/customers", params={"where": 'email = "g@example.com"'})).json()["total"]
        return plain, where

    assert await in_de() == (0, 0)
    add = {"version": 1, "actions": [{"action": "addStore", "store": {"key": "de"}}]}
    assert (await api.post(f"/customers/{glob['id']}", json=add)).status_code == 200
    assert await in_de() == (1, 1)
    move = {"version": 2, "actions": [{"action": "setStores", "stores": [{"key": "us"}]}]}
    assert (await api.post(f"/customers/{glob['id']}", json=move)).status_code == 200
    assert await in_de() == (0, 0)
    assert (await api.get(f"{US}/customers")).json()["total"] == 1
    assert (await api.delete(f"/customers/{glob['id']}", params={"version": 3})).status_code == 200
    assert (await api.get(f"{US}/customers")).json()["total"] == 0

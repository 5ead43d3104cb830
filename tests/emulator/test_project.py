"""The Project (every field of the type, every update action of the RAML) and the documented checks that lean on
it or on other limits: a customer's locale among the project's languages, a default address that names one,
the per-project resource limits, and the RAML's error message templates."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from commercetools_customers_mcp import spec
from commercetools_customers_mcp.emulator import create_emulator, crud
from commercetools_customers_mcp.emulator.backend import Ctx
from commercetools_customers_mcp.emulator.errors import ApiError
from commercetools_customers_mcp.emulator.requests import Req
from commercetools_customers_mcp.emulator.resources import customer_groups, customers
from commercetools_customers_mcp.emulator.store import Store

# One example of each Project update action (the test checks the list against the union).
EXAMPLES = [
    {"action": "changeName", "name": "Renamed"},
    {"action": "changeCountries", "countries": ["DE", "AT"]},
    {"action": "changeCurrencies", "currencies": ["EUR", "USD"]},
    {"action": "changeLanguages", "languages": ["en", "de"]},
    {"action": "changeMessagesConfiguration", "messagesConfiguration": {"enabled": True, "deleteDaysAfterCreation": 7}},
    {"action": "changeMessagesEnabled", "messagesEnabled": False},
    {"action": "changeCartsConfiguration", "cartsConfiguration": {"deleteDaysAfterLastModification": 30}},
    {"action": "changeCountryTaxRateFallbackEnabled", "countryTaxRateFallbackEnabled": True},
    {"action": "changePriceRoundingMode", "priceRoundingMode": "HalfUp"},
    {"action": "changeTaxRoundingMode", "taxRoundingMode": "HalfDown"},
    {
        "action": "changeShoppingListsConfiguration",
        "shoppingListsConfiguration": {"deleteDaysAfterLastModification": 9},
    },
    {"action": "changeCustomerSearchStatus", "status": "Activated"},
    {"action": "changeBusinessUnitSearchStatus", "status": "Activated"},
    {"action": "changeOrderSearchStatus", "status": "Activated"},
    {"action": "changeProductSearchIndexingEnabled", "enabled": True, "mode": "ProductsSearch"},
    {"action": "changeMyBusinessUnitStatusOnCreation", "status": "Active"},
    {
        "action": "setMyBusinessUnitAssociateRoleOnCreation",
        "associateRole": {"typeId": "associate-role", "key": "buyer"},
    },
    {"action": "setDiscountsConfiguration", "discountsConfiguration": {"discountCombinationMode": "BestDeal"}},
    {
        "action": "setExternalOAuth",
        "externalOAuth": {"url": "https://auth.example.com", "authorizationHeader": "Bearer s3cr3t"},
    },
    {"action": "setProductCatalogModel", "productCatalogModel": "Modular"},
    {"action": "setReleaseExpiredReservations", "releaseExpiredReservations": False},
    {"action": "setReservationExpirationInMinutes", "reservationExpirationInMinutes": 60},
    {"action": "setShippingRateInputType", "shippingRateInputType": {"type": "CartScore"}},
]


def conforms(name: str, value: Any) -> None:
    validator = jsonschema_rs.validator_for(spec.schema(name), validate_formats=True)
    problems = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(value)]
    assert not problems, problems


def error(r: Any, status: int = 400) -> dict:
    assert r.status_code == status, r.text
    return r.json()["errors"][0]


async def project_update(api: Any, *actions: dict) -> Any:
    project = (await api.get("/")).json()
    return await api.post("/", json={"version": project["version"], "actions": list(actions)})


# ---------------------------------------------------------------- the Project


async def test_a_new_project_has_every_field_the_type_requires(api):
    project = (await api.get("/")).json()
    conforms("Project", project)
    assert project["inventory"] == {"releaseExpiredReservations": True}
    assert project["discounts"] == {"discountCombinationMode": "Stacking"}
    assert project["messages"] == {"enabled": False, "deleteDaysAfterCreation": 15}
    assert not {"id", "lastModifiedAt", "lastModifiedBy", "versionModifiedAt"} & set(project)


async def test_every_update_action_of_the_raml(api):
    assert {e["action"] for e in EXAMPLES} == set(spec.union_members("ProjectUpdateAction"))
    await api.create("associate-roles", {"key": "buyer"})
    r = await project_update(api, *EXAMPLES)
    assert r.status_code == 200, r.text
    project = r.json()
    conforms("Project", project)
    assert project["version"] == 2 and project["name"] == "Renamed"
    assert (project["countries"], project["currencies"], project["languages"]) == (
        ["DE", "AT"],
        ["EUR", "USD"],
        ["en", "de"],
    )
    assert project["messages"] == {"enabled": False, "deleteDaysAfterCreation": 7}
    assert project["carts"] == {
        "deleteDaysAfterLastModification": 30,
        "countryTaxRateFallbackEnabled": True,
        "priceRoundingMode": "HalfUp",
        "taxRoundingMode": "HalfDown",
    }
    assert project["shoppingLists"] == {"deleteDaysAfterLastModification": 9}
    indexing = project["searchIndexing"]
    assert {indexing[k]["status"] for k in ("customers", "businessUnits", "orders", "productsSearch")} == {"Activated"}
    assert project["businessUnits"] == {
        "myBusinessUnitStatusOnCreation": "Active",
        "myBusinessUnitAssociateRoleOnCreation": {"typeId": "associate-role", "key": "buyer"},
    }
    assert project["discounts"] == {"discountCombinationMode": "BestDeal"}
    assert project["externalOAuth"] == {"url": "https://auth.example.com", "authorizationHeader": "Bear****"}
    assert "s3cr3t" not in r.text  # "partially hidden on retrieval"
    assert project["productCatalogModel"] == "Modular"
    assert project["inventory"] == {"releaseExpiredReservations": False, "reservationExpirationInMinutes": 60}
    assert project["shippingRateInputType"] == {"type": "CartScore"}
    assert (await api.get("/")).json() == project

    # the optional ones unset when their value is left out; the same values again change nothing
    r = await project_update(api, {"action": "setExternalOAuth"}, {"action": "setShippingRateInputType"})
    assert r.status_code == 200 and not {"externalOAuth", "shippingRateInputType"} & set(r.json())
    again = await project_update(api, {"action": "changeName", "name": "Renamed"})
    assert again.json()["version"] == 3


async def test_project_action_errors(api):
    assert (await project_update(api, {"action": "changeLanguages", "languages": ["en", "de"]})).status_code == 200
    await api.create("stores", {"key": "de-store", "languages": ["de"]})  # a Store speaks the project's languages
    assert (
        error(await project_update(api, {"action": "changeLanguages", "languages": []}))["code"] == "InvalidOperation"
    )
    used = error(await project_update(api, {"action": "changeLanguages", "languages": ["en"]}))
    assert used["code"] == "LanguageUsedInStores"
    assert used["message"] == (
        "Language(s) in use by a store cannot be deleted. Remove them in all the stores of this project first."
    )
    for bad in (
        {"action": "changeCountries", "countries": []},
        {"action": "changeName", "name": " "},
        {"action": "changeCustomerSearchStatus", "status": "On"},
        {
            "action": "changeMessagesConfiguration",
            "messagesConfiguration": {"enabled": "yes", "deleteDaysAfterCreation": 1},
        },
        {"action": "setReservationExpirationInMinutes", "reservationExpirationInMinutes": 44641},
        {"action": "setDiscountsConfiguration", "discountsConfiguration": {"discountCombinationMode": "Best"}},
        {"action": "setMyBusinessUnitAssociateRoleOnCreation", "associateRole": {"key": "nope"}},
        {"action": "changeName"},
    ):
        r = await project_update(api, bad)
        assert r.status_code == 400 and r.json()["errors"][0]["code"] in (
            "InvalidJsonInput", "InvalidInput", "InvalidOperation", "ReferencedResourceNotFound"
        ), (bad, r.text)  # fmt: skip
    assert (await api.get("/")).json()["version"] == 2


# ---------------------------------------------------------------- a customer's locale


async def test_a_customer_locale_is_one_of_the_project_languages(api):
    wrong = error(await api.post("/customers", json={"email": "a@x.com", "password": "pw", "locale": "de-DE"}))
    assert wrong["code"] == "InvalidField" and wrong["field"] == "locale" and wrong["allowedValues"] == ["en"]
    c = await api.create("customers", {"email": "a@x.com", "password": "pw", "locale": "en"})
    r = await api.post(
        f"/customers/{c['id']}", json={"version": 1, "actions": [{"action": "setLocale", "locale": "fr"}]}
    )
    assert error(r)["code"] == "InvalidField"
    assert (await project_update(api, {"action": "changeLanguages", "languages": ["en", "fr"]})).status_code == 200
    r = await api.post(
        f"/customers/{c['id']}", json={"version": 1, "actions": [{"action": "setLocale", "locale": "fr"}]}
    )
    assert r.status_code == 200 and r.json()["locale"] == "fr"
    r = await api.post(f"/customers/{c['id']}", json={"version": 2, "actions": [{"action": "setLocale"}]})
    assert r.status_code == 200 and "locale" not in r.json()  # unsetting is always fine


async def test_the_demo_project_speaks_its_customers_languages():
    import httpx2

    from commercetools_customers_mcp.emulator import create_app
    from conftest import token

    app = create_app(":memory:")
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://emulator") as http:
        bearer = {"Authorization": f"Bearer {await token(http, 'manage_project:demo')}"}
        project = (await http.get("/demo", headers=bearer)).json()
        found = (await http.get("/demo/customers", params={"limit": 500}, headers=bearer)).json()["results"]
    assert {c["locale"] for c in found} <= set(project["languages"])
    conforms("Project", project)


# ---------------------------------------------------------------- default addresses


@pytest.mark.parametrize("endpoint", ["customers", "business-units"])
@pytest.mark.parametrize("action", ["setDefaultShippingAddress", "setDefaultBillingAddress"])
async def test_a_default_address_action_must_name_an_address(api, endpoint, action):
    draft = (
        {"email": "a@x.com", "password": "pw"}
        if endpoint == "customers"
        else {"key": "bu", "name": "B", "unitType": "Company"}
    )
    draft |= {"addresses": [{"country": "DE"}], "defaultShippingAddress": 0, "defaultBillingAddress": 0}
    created = await api.create(endpoint, draft)
    r = await api.post(f"/{endpoint}/{created['id']}", json={"version": 1, "actions": [{"action": action}]})
    assert error(r)["code"] == "InvalidOperation" and "addressId" in error(r)["message"]
    after = (await api.get(f"/{endpoint}/{created['id']}")).json()
    assert after["version"] == 1 and after["defaultShippingAddressId"] == after["defaultBillingAddressId"]


# ---------------------------------------------------------------- per-project limits


async def test_at_most_1000_customer_groups(api):
    ctx = Ctx(api.emulator, api.project)
    with api.emulator.store.write():
        for i in range(customer_groups.MAX_GROUPS - 1):
            ctx.insert("customer-group", customer_groups.create(ctx, {"groupName": f"g{i}"}))
    await api.create("customer-groups", {"groupName": "the 1,000th"})
    over = error(await api.post("/customer-groups", json={"groupName": "one more"}))
    assert over == {
        "code": "MaxResourceLimitExceeded",
        "message": "You have exceeded the limit of 1000 resources of type customer-group.",
        "exceededResource": "customer-group",
    }
    group = (await api.get("/customer-groups", params={"where": 'name = "g0"'})).json()["results"][0]
    assert (await api.delete(f"/customer-groups/{group['id']}", params={"version": 1})).status_code == 200
    await api.create("customer-groups", {"groupName": "room again"})


async def test_the_customer_limit(api, monkeypatch):
    monkeypatch.setattr(customers.RESOURCE, "max_count", 2)
    assert customers.MAX_CUSTOMERS == 10_000_000
    await api.create("customers", {"email": "a@x.com", "password": "pw"})
    await api.create("customers", {"email": "b@x.com", "password": "pw"})
    over = error(await api.post("/customers", json={"email": "c@x.com", "password": "pw"}))
    assert over["code"] == "MaxResourceLimitExceeded" and over["exceededResource"] == "customer"


# ---------------------------------------------------------------- the RAML's message templates


async def test_error_messages_follow_the_raml_templates(api):
    c = await api.create("customers", {"email": "a@x.com", "password": "pw", "key": "ann"})
    r = await api.post(f"/customers/{c['id']}", json={"version": 7, "actions": []})
    assert error(r, 409)["message"] == (
        f"Object {c['id']} has a different version than expected. Expected: 7 - Actual: 1."
    )
    r = await api.delete(f"/customers/{c['id']}", params={"version": 3})
    assert error(r, 409)["message"].endswith("Expected: 3 - Actual: 1.")
    duplicate = error(await api.post("/customers", json={"email": "b@x.com", "password": "pw", "key": "ann"}))
    assert duplicate["message"] == 'A duplicate value "ann" exists for field key.'
    email = error(await api.post("/customers", json={"email": "A@x.com", "password": "pw"}))
    assert (email["code"], email["field"], email["duplicateValue"]) == ("DuplicateField", "email", "A@x.com")
    assert email["message"] == 'A duplicate value "A@x.com" exists for field email.'

    r = await api.post("/customers/email-token", json={"id": c["id"], "ttlMinutes": 1})
    email_token = r.json()["value"]
    r = await api.post("/customers/password-token", json={"email": "a@x.com", "ttlMinutes": 1})
    password_token = r.json()["value"]
    api.clock.advance(minutes=2)
    expired = error(await api.post("/customers/email/confirm", json={"tokenValue": email_token}))
    assert (expired["code"], expired["message"]) == ("ExpiredCustomerEmailToken", "The given email token has expired.")
    expired = error(
        await api.post("/customers/password/reset", json={"tokenValue": password_token, "newPassword": "x"})
    )
    assert (expired["code"], expired["message"]) == (
        "ExpiredCustomerPasswordToken",
        "The given password token has expired.",
    )


async def test_a_stored_project_missing_newer_fields_reads_with_their_defaults(api):
    from commercetools_customers_mcp.emulator.resources import projects

    ctx = Ctx(api.emulator, api.project)
    assert set(projects._default(ctx)) == projects._FIELDS
    old = {k: v for k, v in projects._default(ctx).items() if k not in ("inventory", "discounts")}
    with api.emulator.store.write():
        ctx.insert("project", old)  # as an emulator before them stored it
    project = (await api.get("/")).json()
    conforms("Project", project)
    assert project["discounts"] == {"discountCombinationMode": "Stacking"}


def test_count_reaches_is_exact_at_the_limit():
    """``Store.count_reaches(project, type, limit)``: ``limit`` documents reach it, one fewer does not — both while
    the whole store holds exactly ``limit`` rows (the count is skipped below that) and past it (counted)."""
    store = Store(":memory:")
    with store.write():
        for i in range(3):
            store.insert("p", "t", {"id": f"t{i}"})
    assert store.conn.execute("SELECT max(seq) FROM resources").fetchone()[0] == 3
    assert store.count_reaches("p", "t", 3)  # exactly at the limit
    assert not store.count_reaches("p", "t", 4)  # one below it
    assert store.count_reaches("p", "t", 2)
    with store.write():
        for i in range(5):
            store.insert("p", "other", {"id": f"o{i}"})  # other rows: the store now holds more than any limit here
    assert store.count_reaches("p", "t", 3)
    assert not store.count_reaches("p", "t", 4)
    assert not store.count_reaches("q", "t", 1)


async def test_a_create_exactly_at_the_limit_is_refused_one_below_accepted(monkeypatch):
    """On a store holding nothing but the resources counted (no token rows: the backend alone), the create that
    would make ``max_count + 1`` is refused and the one that makes ``max_count`` is accepted."""
    emulator = create_emulator(":memory:", project="test")
    monkeypatch.setattr(customer_groups.RESOURCE, "max_count", 2)
    ctx = Ctx(emulator, "test")

    def create(name: str) -> None:
        with emulator.store.write():
            crud.create(ctx, customer_groups.RESOURCE, Req("POST", {}, body={"groupName": name}))

    create("one")
    create("two")  # one below the limit: accepted
    with pytest.raises(ApiError) as refused:
        create("three")  # exactly at the limit: refused
    assert refused.value.body()["errors"][0]["code"] == "MaxResourceLimitExceeded"

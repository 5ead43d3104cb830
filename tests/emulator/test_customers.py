"""Customers on the emulator: drafts, the email and customer-number rules, all 34 update actions, errors,
versions, expansion and queries — driven over HTTP like a real client."""

from __future__ import annotations

from typing import Any

import pytest

DRAFT = {"email": "Jane.Doe@Example.com", "password": "secret-1", "firstName": "Jane"}


async def update(api: Any, customer: dict, *actions: dict, version: int | None = None) -> Any:
    body = {"version": customer["version"] if version is None else version, "actions": list(actions)}
    return await api.post(f"/customers/{customer['id']}", json=body)


async def updated(api: Any, customer: dict, *actions: dict) -> dict:
    r = await update(api, customer, *actions)
    assert r.status_code == 200, r.text
    return r.json()


def error(r: Any, status: int = 400) -> dict:
    assert r.status_code == status, r.text
    return r.json()["errors"][0]


@pytest.fixture
async def setup(api: Any) -> dict:
    """Two groups, two stores and a custom type to reference."""
    return {
        "vip": await api.create("customer-groups", {"groupName": "VIP", "key": "vip"}),
        "b2b": await api.create("customer-groups", {"groupName": "B2B", "key": "b2b"}),
        "de": await api.create("stores", {"key": "de-store"}),
        "us": await api.create("stores", {"key": "us-store"}),
        "type": await api.create("types", {"key": "loyalty", "name": {"en": "L"}, "resourceTypeIds": ["customer"]}),
    }


# ---------------------------------------------------------------- create


async def test_create_returns_sign_in_result_with_defaults(api):
    r = await api.post("/customers", json=DRAFT)
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"customer"}  # no cart without an anonymous cart
    c = body["customer"]
    assert c["email"] == "Jane.Doe@Example.com"  # case kept
    assert c["version"] == 1 and c["isEmailVerified"] is False and c["authenticationMode"] == "Password"
    assert c["addresses"] == [] and c["shippingAddressIds"] == [] and c["billingAddressIds"] == []
    assert c["stores"] == [] and c["customerGroupAssignments"] == []
    assert "lowercaseEmail" not in c
    assert c["password"] != "secret-1" and "secret-1" not in r.text


async def test_password_is_never_returned_in_plain(api):
    c = await api.create("customers", {**DRAFT, "key": "jane"})
    responses = [
        await api.get(f"/customers/{c['id']}"),
        await api.get("/customers/key=jane"),
        await update(api, c, {"action": "setAuthenticationMode", "authMode": "ExternalAuth"}),
        await update(
            api, c, {"action": "setAuthenticationMode", "authMode": "Password", "password": "new-2"}, version=2
        ),
        await api.get("/customers"),
        await api.delete(f"/customers/{c['id']}", params={"version": 3}),
    ]
    for r in responses:
        assert r.status_code == 200, r.text
        assert "secret-1" not in r.text and "new-2" not in r.text


async def test_password_rules_follow_the_authentication_mode(api):
    assert error(await api.post("/customers", json={"email": "a@x.com"}))["code"] == "RequiredField"
    c = await api.create("customers", {"email": "a@x.com", "authenticationMode": "ExternalAuth", "password": "p"})
    assert c["authenticationMode"] == "ExternalAuth" and "password" not in c


async def test_create_with_everything(api, setup):
    languages = {"action": "changeLanguages", "languages": ["en", "de-DE"]}  # a locale must be a project language
    assert (await api.post("/", json={"version": 1, "actions": [languages]})).status_code == 200
    draft = {
        **DRAFT,
        "key": "jane",
        "customerNumber": "C-1",
        "externalId": "crm-1",
        "lastName": "Doe",
        "middleName": "M",
        "title": "Dr",
        "salutation": "Dear",
        "companyName": "Acme",
        "vatId": "DE1",
        "dateOfBirth": "1990-05-01",
        "locale": "de-DE",
        "isEmailVerified": True,
        "addresses": [{"key": "home", "country": "DE", "city": "Berlin"}, {"country": "US", "id": "client-id"}],
        "defaultShippingAddress": 0,
        "billingAddresses": [1],
        "customerGroup": {"typeId": "customer-group", "key": "vip"},
        "customerGroupAssignments": [{"customerGroup": {"id": setup["b2b"]["id"]}}],
        "stores": [{"key": "de-store"}, {"typeId": "store", "id": setup["us"]["id"]}],
        "custom": {"type": {"key": "loyalty"}, "fields": {"tier": "gold"}},
    }
    c = await api.create("customers", draft)
    home, other = c["addresses"]
    assert other["id"] != "client-id"  # server-generated
    assert c["defaultShippingAddressId"] == home["id"] and c["shippingAddressIds"] == [home["id"]]
    assert c["billingAddressIds"] == [other["id"]]
    assert c["customerGroup"] == {"typeId": "customer-group", "id": setup["vip"]["id"]}
    assert c["customerGroupAssignments"] == [{"customerGroup": {"typeId": "customer-group", "id": setup["b2b"]["id"]}}]
    assert c["stores"] == [{"typeId": "store", "key": "de-store"}, {"typeId": "store", "key": "us-store"}]
    assert c["custom"] == {"type": {"typeId": "type", "id": setup["type"]["id"]}, "fields": {"tier": "gold"}}
    for name in ("customerNumber", "externalId", "title", "salutation", "vatId", "dateOfBirth", "locale", "middleName"):
        assert c[name] == draft[name]
    assert c["isEmailVerified"] is True


async def test_create_errors(api, setup):
    missing = [
        ({"customerGroup": {"key": "nope"}}, "customer-group"),
        ({"customerGroupAssignments": [{"customerGroup": {"id": "nope"}}]}, "customer-group"),
        ({"stores": [{"key": "nope"}]}, "store"),
        ({"custom": {"type": {"key": "nope"}}}, "type"),
    ]
    for extra, type_id in missing:
        err = error(await api.post("/customers", json={**DRAFT, **extra}))
        assert (err["code"], err["typeId"]) == ("ReferencedResourceNotFound", type_id)
    r = await api.post("/customers", json={**DRAFT, "addresses": [{"country": "DE"}], "defaultBillingAddress": 1})
    assert error(r)["code"] == "InvalidInput"
    twice = [{"customerGroup": {"key": "vip"}}, {"customerGroup": {"id": setup["vip"]["id"]}}]
    assert (
        error(await api.post("/customers", json={**DRAFT, "customerGroupAssignments": twice}))["code"] == "InvalidInput"
    )
    assert "email" in error(await api.post("/customers", json={"password": "x"}))["detailedErrorMessage"]
    assert (await api.get("/customers")).json()["total"] == 0  # nothing half-created


async def test_create_expands_from_the_sign_in_result(api, setup):
    r = await api.post(
        "/customers",
        json={
            **DRAFT,
            "customerGroup": {"key": "vip"},
            "customerGroupAssignments": [{"customerGroup": {"key": "b2b"}}],
        },
        params=[("expand", "customer.customerGroup"), ("expand", "customer.customerGroupAssignments[*].customerGroup")],
    )
    c = r.json()["customer"]
    assert c["customerGroup"]["obj"]["name"] == "VIP"
    assert c["customerGroupAssignments"][0]["customerGroup"]["obj"]["key"] == "b2b"


async def test_create_hook_result_becomes_the_cart(api, monkeypatch):
    seen = []

    def hook(ctx, draft, doc):
        seen.append((draft.get("anonymousId"), doc["id"]))
        return {"id": "cart-1"} if draft.get("anonymousId") else None

    monkeypatch.setattr(api.emulator, "signup_hooks", [hook])
    assert "cart" not in (await api.post("/customers", json=DRAFT)).json()
    body = (await api.post("/customers", json={"email": "b@x.com", "password": "p", "anonymousId": "anon"})).json()
    assert body["cart"] == {"id": "cart-1"} and seen[-1] == ("anon", body["customer"]["id"])


# ---------------------------------------------------------------- uniqueness


async def test_email_is_unique_case_insensitively_among_global_customers(api):
    await api.create("customers", DRAFT)
    err = error(await api.post("/customers", json={**DRAFT, "email": "JANE.DOE@example.COM"}))
    assert err == {**err, "code": "DuplicateField", "field": "email", "duplicateValue": "JANE.DOE@example.COM"}
    other = await api.create("customers", {"email": "other@x.com", "password": "p"})
    assert (
        error(await update(api, other, {"action": "changeEmail", "email": "jane.doe@EXAMPLE.com"}))["field"] == "email"
    )


async def test_email_is_unique_per_store_and_separates_global_from_store(api, setup):
    de = await api.create("customers", {**DRAFT, "stores": [{"key": "de-store"}]})
    us = await api.create("customers", {**DRAFT, "email": "jane.doe@example.com", "stores": [{"key": "us-store"}]})
    # same store → duplicate; a global customer may not take an email a store already has
    r = await api.post("/customers", json={**DRAFT, "email": "JANE.doe@example.com", "stores": [{"key": "de-store"}]})
    assert error(r)["code"] == "DuplicateField"
    assert error(await api.post("/customers", json=DRAFT))["code"] == "DuplicateField"
    # moving a store customer into the other's store, or making it global, collides too
    assert error(await update(api, us, {"action": "addStore", "store": {"key": "de-store"}}))["field"] == "email"
    assert error(await update(api, us, {"action": "setStores", "stores": []}))["field"] == "email"
    assert error(await update(api, de, {"action": "removeStore", "store": {"key": "de-store"}}))["field"] == "email"
    # and the reverse: a global email blocks every store
    g = await api.create("customers", {"email": "global@x.com", "password": "p"})
    r = await api.post("/customers", json={"email": "Global@x.com", "password": "p", "stores": [{"key": "us-store"}]})
    assert error(r)["code"] == "DuplicateField"
    assert (await updated(api, g, {"action": "setStores", "stores": [{"key": "us-store"}]}))["stores"][0][
        "key"
    ] == "us-store"


async def test_key_and_customer_number_are_unique(api):
    await api.create("customers", {**DRAFT, "key": "jane", "customerNumber": "C-1"})
    err = error(await api.post("/customers", json={"email": "b@x.com", "password": "p", "key": "jane"}))
    assert (err["code"], err["field"]) == ("DuplicateField", "key")
    err = error(await api.post("/customers", json={"email": "b@x.com", "password": "p", "customerNumber": "C-1"}))
    assert (err["code"], err["field"], err["duplicateValue"]) == ("DuplicateField", "customerNumber", "C-1")
    b = await api.create("customers", {"email": "b@x.com", "password": "p"})
    assert error(await update(api, b, {"action": "setKey", "key": "jane"}))["field"] == "key"
    assert (
        error(await update(api, b, {"action": "setCustomerNumber", "customerNumber": "C-1"}))["code"]
        == "DuplicateField"
    )


# ---------------------------------------------------------------- update actions


async def test_plain_field_setters_set_and_unset(api):
    c = await api.create("customers", DRAFT)
    setters = [
        ("setFirstName", "firstName", "J"),
        ("setLastName", "lastName", "D"),
        ("setMiddleName", "middleName", "M"),
        ("setTitle", "title", "Dr"),
        ("setSalutation", "salutation", "Hi"),
        ("setDateOfBirth", "dateOfBirth", "1980-01-31"),
        ("setCompanyName", "companyName", "Acme"),
        ("setVatId", "vatId", "V1"),
        ("setExternalId", "externalId", "E1"),
        ("setKey", "key", "k-1"),
        ("setLocale", "locale", "en"),  # one of the project's languages
    ]
    c = await updated(api, c, *[{"action": action, name: value} for action, name, value in setters])
    assert {name: c[name] for _, name, _ in setters} == {name: value for _, name, value in setters}
    assert c["version"] == 2  # one request, one version
    assert (await api.get("/customers/key=k-1")).json()["id"] == c["id"]
    c = await updated(api, c, *[{"action": action} for action, _, _ in setters])
    assert not {name for _, name, _ in setters} & set(c)


async def test_change_email_resets_verification(api):
    c = await api.create("customers", {**DRAFT, "isEmailVerified": True})
    c = await updated(api, c, {"action": "changeEmail", "email": "New@X.com"})
    assert (c["email"], c["isEmailVerified"]) == ("New@X.com", False)
    r = await api.get("/customers", params={"where": 'lowercaseEmail = "new@x.com"'})
    assert r.json()["results"][0]["id"] == c["id"]


async def test_customer_number_can_be_set_once(api):
    c = await api.create("customers", DRAFT)
    c = await updated(api, c, {"action": "setCustomerNumber", "customerNumber": "C-9"})
    assert c["customerNumber"] == "C-9"
    assert error(await update(api, c, {"action": "setCustomerNumber", "customerNumber": "C-10"}))["code"] == (
        "InvalidOperation"
    )
    d = await api.create("customers", {"email": "d@x.com", "password": "p", "customerNumber": "D-1"})
    assert error(await update(api, d, {"action": "setCustomerNumber"}))["code"] == "InvalidOperation"


async def test_customer_group_and_assignments(api, setup):
    vip, b2b = setup["vip"], setup["b2b"]
    c = await api.create("customers", DRAFT)
    c = await updated(api, c, {"action": "setCustomerGroup", "customerGroup": {"key": "vip"}})
    assert c["customerGroup"]["id"] == vip["id"]
    c = await updated(api, c, {"action": "setCustomerGroup"})
    assert "customerGroup" not in c
    missing = {"action": "setCustomerGroup", "customerGroup": {"id": "nope"}}
    assert error(await update(api, c, missing))["code"] == "ReferencedResourceNotFound"

    add = {"action": "addCustomerGroupAssignment", "customerGroupAssignment": {"customerGroup": {"key": "vip"}}}
    c = await updated(api, c, add)
    assert [a["customerGroup"]["id"] for a in c["customerGroupAssignments"]] == [vip["id"]]
    assert error(await update(api, c, add))["code"] == "InvalidOperation"  # already assigned
    remove_b2b = {"action": "removeCustomerGroupAssignment", "customerGroup": {"key": "b2b"}}
    assert error(await update(api, c, remove_b2b))["code"] == "InvalidOperation"  # not assigned
    c = await updated(api, c, {"action": "removeCustomerGroupAssignment", "customerGroup": {"id": vip["id"]}})
    assert c["customerGroupAssignments"] == []

    both = [{"customerGroup": {"key": "b2b"}}, {"customerGroup": {"key": "vip"}}]
    c = await updated(api, c, {"action": "setCustomerGroupAssignments", "customerGroupAssignments": both})
    assert [a["customerGroup"]["id"] for a in c["customerGroupAssignments"]] == [b2b["id"], vip["id"]]
    r = await update(api, c, {"action": "setCustomerGroupAssignments", "customerGroupAssignments": both + both[:1]})
    assert error(r)["code"] == "InvalidInput"
    c = await updated(api, c, {"action": "setCustomerGroupAssignments", "customerGroupAssignments": []})
    assert c["customerGroupAssignments"] == []


async def test_stores(api, setup):
    c = await api.create("customers", DRAFT)
    c = await updated(api, c, {"action": "addStore", "store": {"key": "de-store"}})
    c = await updated(api, c, {"action": "addStore", "store": {"id": setup["us"]["id"]}})
    assert [s["key"] for s in c["stores"]] == ["de-store", "us-store"]
    c = await updated(api, c, {"action": "removeStore", "store": {"key": "de-store"}})
    assert c["stores"] == [{"typeId": "store", "key": "us-store"}]
    assert error(await update(api, c, {"action": "removeStore", "store": {"key": "de-store"}}))["code"] == (
        "InvalidOperation"
    )
    assert error(await update(api, c, {"action": "addStore", "store": {"key": "nope"}}))["typeId"] == "store"
    c = await updated(api, c, {"action": "setStores", "stores": [{"key": "de-store"}, {"key": "de-store"}]})
    assert c["stores"] == [{"typeId": "store", "key": "de-store"}]
    c = await updated(api, c, {"action": "setStores", "stores": []})
    assert c["stores"] == []


async def test_authentication_mode(api):
    c = await api.create("customers", DRAFT)
    same = {"action": "setAuthenticationMode", "authMode": "Password", "password": "x"}
    assert error(await update(api, c, same))["code"] == "InvalidInput"
    c = await updated(api, c, {"action": "setAuthenticationMode", "authMode": "ExternalAuth"})
    assert c["authenticationMode"] == "ExternalAuth" and "password" not in c
    r = await update(api, c, {"action": "setAuthenticationMode", "authMode": "Password"})
    assert (error(r)["code"], error(r)["field"]) == ("RequiredField", "password")
    c = await updated(api, c, same)
    assert c["authenticationMode"] == "Password" and c["password"] not in ("x", "")
    # the new password works for the customer sign-in flow
    r = await api.http.post(
        f"/oauth/{api.project}/customers/token",
        data={"grant_type": "password", "username": "jane.doe@example.com", "password": "x"},
        auth=("c", "s"),
    )
    assert r.status_code == 200, r.text


async def test_custom_type_and_fields(api, setup):
    c = await api.create("customers", DRAFT)
    assert error(await update(api, c, {"action": "setCustomField", "name": "tier", "value": "x"}))["code"] == (
        "InvalidOperation"
    )
    c = await updated(
        api,
        c,
        {"action": "setCustomType", "type": {"key": "loyalty"}, "fields": {"tier": "gold"}},
        {"action": "setCustomField", "name": "points", "value": 5},
        {"action": "setCustomField", "name": "tier"},
    )
    assert c["custom"] == {"type": {"typeId": "type", "id": setup["type"]["id"]}, "fields": {"points": 5}}
    missing = {"action": "setCustomType", "type": {"key": "nope"}}
    assert error(await update(api, c, missing))["code"] == "ReferencedResourceNotFound"
    c = await updated(api, c, {"action": "setCustomType"})
    assert "custom" not in c


async def test_address_actions(api, setup):
    c = await api.create("customers", {**DRAFT, "addresses": [{"key": "home", "country": "DE"}]})
    home = c["addresses"][0]["id"]
    c = await updated(api, c, {"action": "addAddress", "address": {"key": "work", "country": "US", "city": "NYC"}})
    work = c["addresses"][1]["id"]
    c = await updated(
        api,
        c,
        {"action": "changeAddress", "addressKey": "work", "address": {"key": "work", "country": "US", "city": "LA"}},
        {"action": "addShippingAddressId", "addressKey": "home"},
        {"action": "setDefaultShippingAddress", "addressId": work},
        {"action": "addBillingAddressId", "addressId": home},
        {"action": "setDefaultBillingAddress", "addressKey": "home"},
        {"action": "setAddressCustomType", "addressId": home, "type": {"key": "loyalty"}},
        {"action": "setAddressCustomField", "addressId": home, "name": "door", "value": "blue"},
    )
    assert c["addresses"][1] == {"id": work, "key": "work", "country": "US", "city": "LA"}
    assert (c["shippingAddressIds"], c["defaultShippingAddressId"]) == ([home, work], work)
    assert (c["billingAddressIds"], c["defaultBillingAddressId"]) == ([home], home)
    assert c["addresses"][0]["custom"]["fields"] == {"door": "blue"}
    c = await updated(
        api,
        c,
        {"action": "removeShippingAddressId", "addressId": work},
        {"action": "removeBillingAddressId", "addressKey": "home"},
    )
    assert c["shippingAddressIds"] == [home] and "defaultShippingAddressId" not in c
    assert c["billingAddressIds"] == [] and "defaultBillingAddressId" not in c
    c = await updated(api, c, {"action": "removeAddress", "addressKey": "home"})
    assert [a["id"] for a in c["addresses"]] == [work] and c["shippingAddressIds"] == []
    for action in (
        {"action": "removeAddress", "addressId": "nope"},
        {"action": "changeAddress", "addressKey": "nope", "address": {"country": "DE"}},
        {"action": "setDefaultBillingAddress", "addressKey": "nope"},
    ):
        assert error(await update(api, c, action))["code"] == "InvalidOperation"
    duplicate_key = {"action": "addAddress", "address": {"key": "work", "country": "DE"}}
    assert error(await update(api, c, duplicate_key))["code"] == "DuplicateField"


# ---------------------------------------------------------------- versions, atomicity, delete, HEAD


async def test_stale_version_and_atomic_update(api):
    c = await api.create("customers", {**DRAFT, "key": "jane"})
    err = error(await update(api, c, {"action": "setFirstName", "firstName": "X"}, version=5), 409)
    assert (err["code"], err["currentVersion"]) == ("ConcurrentModification", 1)
    r = await update(
        api, c, {"action": "setFirstName", "firstName": "X"}, {"action": "removeAddress", "addressId": "nope"}
    )
    assert error(r)["code"] == "InvalidOperation"
    again = (await api.get(f"/customers/{c['id']}")).json()
    assert (again["firstName"], again["version"]) == ("Jane", 1)
    # an update that changes nothing keeps the version
    assert (await updated(api, c, {"action": "setFirstName", "firstName": "Jane"}))["version"] == 1


async def test_get_head_and_delete_by_id_and_key(api):
    c = await api.create("customers", {**DRAFT, "key": "jane"})
    assert (await api.head(f"/customers/{c['id']}")).status_code == 200
    assert (await api.head("/customers/key=jane")).status_code == 200
    assert (await api.head("/customers/key=nope")).status_code == 404
    assert (await api.get("/customers/key=jane")).json()["id"] == c["id"]
    assert error(await api.get("/customers/nope"), 404)["code"] == "ResourceNotFound"
    assert error(await api.delete("/customers/key=jane", params={"version": 3}), 409)["currentVersion"] == 1
    assert error(await api.delete("/customers/key=jane", params={"version": 1, "dataErasure": "maybe"}))["code"] == (
        "InvalidInput"
    )
    r = await api.delete("/customers/key=jane", params={"version": 1, "dataErasure": "true"})
    assert r.status_code == 200 and r.json()["id"] == c["id"] and "lowercaseEmail" not in r.json()
    assert (await api.head(f"/customers/{c['id']}")).status_code == 404
    d = await api.create("customers", DRAFT)  # the email is free again
    assert (await api.delete(f"/customers/{d['id']}", params={"version": 1})).status_code == 200


async def test_deleting_a_customer_revokes_its_tokens(api):
    c = await api.create("customers", DRAFT)
    r = await api.http.post(
        f"/oauth/{api.project}/customers/token",
        data={"grant_type": "password", "username": DRAFT["email"], "password": DRAFT["password"]},
        auth=("c", "s"),
    )
    token = r.json()["access_token"]
    await api.delete(f"/customers/{c['id']}", params={"version": 1})
    r = await api.get("/customers", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


async def test_scopes(api):
    r = await api.http.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": "view_customers:test"}, auth=("c", "s")
    )
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await api.get("/customers", headers=headers)).status_code == 200
    assert error(await api.post("/customers", json=DRAFT, headers=headers), 403)["code"] == "insufficient_scope"


# ---------------------------------------------------------------- expansion and queries


async def test_expand_on_get_and_query(api, setup):
    c = await api.create(
        "customers",
        {**DRAFT, "customerGroup": {"key": "vip"}, "customerGroupAssignments": [{"customerGroup": {"key": "b2b"}}]},
    )
    r = await api.get(f"/customers/{c['id']}", params={"expand": "customerGroup"})
    assert r.json()["customerGroup"]["obj"]["key"] == "vip"
    assert "obj" not in r.json()["customerGroupAssignments"][0]["customerGroup"]
    r = await api.get("/customers", params={"expand": "customerGroupAssignments[*].customerGroup"})
    assert r.json()["results"][0]["customerGroupAssignments"][0]["customerGroup"]["obj"]["name"] == "B2B"


@pytest.fixture
async def people(api, setup) -> list[dict]:
    rows = [
        ("Anna@X.com", "DE", "vip", "Anna"),
        ("ben@x.com", "US", None, "Ben"),
        ("clara@x.com", "DE", "b2b", "Clara"),
        ("dave@x.com", "FR", "vip", "Dave"),
    ]
    out = []
    for email, country, group, name in rows:
        draft = {"email": email, "password": "p", "firstName": name, "addresses": [{"country": country}]}
        if group:
            draft["customerGroup"] = {"key": group}
        out.append(await api.create("customers", draft))
        api.clock.advance(minutes=1)
    return out


async def query(api: Any, **params: Any) -> dict:
    r = await api.get("/customers", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def names(body: dict) -> list[str]:
    return [c["firstName"] for c in body["results"]]


async def test_where_queries(api, setup, people):
    assert names(await query(api, where='lowercaseEmail = "anna@x.com"')) == ["Anna"]
    assert names(await query(api, where='email = "anna@x.com"')) == []  # email itself is case-sensitive
    assert names(await query(api, where='addresses(country = "DE")')) == ["Anna", "Clara"]
    vip = setup["vip"]["id"]
    assert names(await query(api, where=f'customerGroup(id = "{vip}")')) == ["Anna", "Dave"]
    body = await query(api, **{"where": "firstName = :name or lowercaseEmail in :emails", "var.name": "Ben",
                               "var.emails": ["dave@x.com", "clara@x.com"]})  # fmt: skip
    assert sorted(names(body)) == ["Ben", "Clara", "Dave"]
    assert sorted(names(await query(api, where=['addresses(country = "DE")', "customerGroup is defined"]))) == [
        "Anna",
        "Clara",
    ]
    r = await api.get("/customers", params={"where": "firstName = :missing"})
    assert error(r)["code"] == "InvalidInput"
    assert (await api.head("/customers", params={"where": 'firstName = "Ben"'})).status_code == 200
    assert (await api.head("/customers", params={"where": 'firstName = "Zed"'})).status_code == 404


async def test_sort_and_paging(api, people):
    assert names(await query(api, sort="createdAt desc")) == ["Dave", "Clara", "Ben", "Anna"]
    body = await query(api, sort="firstName asc", limit=2, offset=1)
    assert (names(body), body["count"], body["total"], body["offset"], body["limit"]) == (["Ben", "Clara"], 2, 4, 1, 2)
    assert "total" not in await query(api, withTotal="false")
    assert error(await api.get("/customers", params={"limit": 501}))["code"] == "InvalidInput"


async def test_dates_must_be_dates(api):
    r = await api.post("/customers", json={"email": "d@example.com", "password": "x", "dateOfBirth": "yesterday"})
    assert r.status_code == 400 and "dateOfBirth" in r.json()["errors"][0]["detailedErrorMessage"]
    customer = await api.create("customers", {"email": "d@example.com", "password": "x", "dateOfBirth": "1990-02-03"})
    r = await api.post(
        f"/customers/{customer['id']}",
        json={"version": 1, "actions": [{"action": "setDateOfBirth", "dateOfBirth": "03/02/1990"}]},
    )
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidJsonInput"

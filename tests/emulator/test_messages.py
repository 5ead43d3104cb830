"""Messages on the emulator, over HTTP: every Message type of the domain produced by the change the API says
produces it, checked against the vendored shapes (``spec.message_schema``); one transaction with the change
(a refused request writes none); sequence numbers per resource; the query endpoint; the project's messages
configuration (off by default, retention by the emulator clock); scopes."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from commercetools_customers_mcp import spec
from commercetools_customers_mcp.emulator import message_rules as table
from commercetools_customers_mcp.emulator.resources import messages as feature
from conftest import token

FOREVER = 90  # days: the longest deleteDaysAfterCreation


async def configure(api: Any, enabled: bool = True, days: int = FOREVER) -> dict:
    project = (await api.get("/")).json()
    action = {
        "action": "changeMessagesConfiguration",
        "messagesConfiguration": {"enabled": enabled, "deleteDaysAfterCreation": days},
    }
    r = await api.post("/", json={"version": project["version"], "actions": [action]})
    assert r.status_code == 200, r.text
    return r.json()


async def listed(api: Any, **params: Any) -> list[dict]:
    r = await api.get("/messages", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def check(message: dict) -> None:
    """The message has the common fields and its type's payload, nothing else (the vendored shapes)."""
    validator = jsonschema_rs.validator_for(spec.message_schema(message["type"]), validate_formats=True)
    problems = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(message)]
    assert not problems, (message["type"], problems)


class Driver:
    """Updates that keep track of versions, by endpoint and id."""

    def __init__(self, api: Any) -> None:
        self.api = api

    async def create(self, endpoint: str, draft: dict) -> dict:
        return await self.api.create(endpoint, draft)

    async def update(self, endpoint: str, doc: dict, *actions: dict) -> dict:
        r = await self.api.post(f"/{endpoint}/{doc['id']}", json={"version": doc["version"], "actions": list(actions)})
        assert r.status_code == 200, r.text
        return r.json()

    async def delete(self, endpoint: str, doc: dict) -> dict:
        r = await self.api.delete(f"/{endpoint}/{doc['id']}", params={"version": doc["version"]})
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
async def on(api: Any) -> Any:
    await configure(api)
    return api


# ---------------------------------------------------------------- the table and the shapes


def test_the_table_covers_every_message_type_of_the_domain() -> None:
    assert set(table.message_types()) == set(spec.message_types())
    assert len(spec.message_types()) == 89


async def test_every_message_type_is_produced_and_has_the_documented_shape(on: Any) -> None:
    api, d = on, Driver(on)
    await api.create("stores", {"key": "s1"})
    await api.create("stores", {"key": "s2"})
    await api.create("types", {"key": "tt", "name": {"en": "T"}, "resourceTypeIds": ["customer"]})
    group = await d.create("customer-groups", {"groupName": "G", "key": "gg"})
    other = await d.create("customer-groups", {"groupName": "H", "key": "hh"})

    # customers: every update action that has a Message, then the flows, then delete
    c = await d.create("customers", {"email": "ann@example.com", "password": "pw-1", "key": "ann"})
    c = await d.update(
        "customers",
        c,
        {"action": "addAddress", "address": {"key": "home", "country": "DE"}},
        {"action": "addAddress", "address": {"key": "work", "country": "DE"}},
        {"action": "changeAddress", "addressKey": "home", "address": {"key": "home", "country": "DE", "city": "B"}},
        {"action": "addShippingAddressId", "addressKey": "home"},
        {"action": "addBillingAddressId", "addressKey": "home"},
        {"action": "setDefaultShippingAddress", "addressKey": "home"},
        {"action": "setDefaultBillingAddress", "addressKey": "work"},
        {"action": "removeShippingAddressId", "addressKey": "home"},
        {"action": "removeBillingAddressId", "addressKey": "home"},
    )
    home = next(a["id"] for a in c["addresses"] if a["key"] == "home")
    c = await d.update(
        "customers",
        c,
        {"action": "setAddressCustomType", "addressId": home, "type": {"key": "tt"}, "fields": {"a": "1"}},
        {"action": "setAddressCustomField", "addressId": home, "name": "b", "value": "2"},
        {"action": "setAddressCustomField", "addressId": home, "name": "b", "value": "3"},
        {"action": "setAddressCustomField", "addressId": home, "name": "b"},
        {"action": "setAddressCustomType", "addressId": home},
        {"action": "removeAddress", "addressKey": "work"},
        {"action": "changeEmail", "email": "ann.b@example.com"},
        {"action": "setFirstName", "firstName": "Ann"},
        {"action": "setLastName", "lastName": "Bee"},
        {"action": "setTitle", "title": "Dr"},
        {"action": "setDateOfBirth", "dateOfBirth": "1980-01-31"},
        {"action": "setCompanyName", "companyName": "Acme"},
        {"action": "setExternalId", "externalId": "crm-1"},
        {"action": "setCustomerGroup", "customerGroup": {"key": "gg"}},
        {"action": "addCustomerGroupAssignment", "customerGroupAssignment": {"customerGroup": {"key": "gg"}}},
        {"action": "removeCustomerGroupAssignment", "customerGroup": {"key": "gg"}},
        {"action": "setCustomerGroupAssignments", "customerGroupAssignments": [{"customerGroup": {"key": "hh"}}]},
        {"action": "setCustomType", "type": {"key": "tt"}, "fields": {"x": 1}},
        {"action": "setCustomField", "name": "y", "value": True},
        {"action": "setCustomField", "name": "y", "value": False},
        {"action": "setCustomField", "name": "y"},
        {"action": "setCustomType"},
        {"action": "setStores", "stores": [{"key": "s1"}]},
    )
    c = await d.update("customers", c, {"action": "setStores", "stores": []})  # the flows are for global customers
    r = await api.post("/customers/email-token", json={"id": c["id"], "ttlMinutes": 30})
    r = await api.post("/customers/email/confirm", json={"tokenValue": r.json()["value"]})
    r = await api.post("/customers/password-token", json={"email": "ann.b@example.com"})
    r = await api.post("/customers/password/reset", json={"tokenValue": r.json()["value"], "newPassword": "pw-2"})
    c = r.json()
    r = await api.post(
        "/customers/password",
        json={"id": c["id"], "version": c["version"], "currentPassword": "pw-2", "newPassword": "pw-3"},
    )
    assert r.status_code == 200, r.text
    c = r.json()

    # customer groups (a request that ends where it began changes nothing: no version, no Message; so two)
    group = await d.update(
        "customer-groups",
        group,
        {"action": "setCustomType", "type": {"key": "tt"}},
        {"action": "setCustomField", "name": "n", "value": "1"},
        {"action": "setCustomField", "name": "n", "value": "2"},
        {"action": "setCustomField", "name": "n"},
    )
    group = await d.update("customer-groups", group, {"action": "setCustomType"})

    # associate roles
    role = await d.create("associate-roles", {"key": "rr", "permissions": ["ViewMyCarts"]})
    role = await d.update(
        "associate-roles",
        role,
        {"action": "addPermission", "permission": "CreateMyCarts"},
        {"action": "removePermission", "permission": "ViewMyCarts"},
        {"action": "setPermissions", "permissions": ["UpdateMyCarts"]},
        {"action": "changeBuyerAssignable", "buyerAssignable": False},
        {"action": "setName", "name": "Role"},
    )
    admin = await d.create("associate-roles", {"key": "admin", "permissions": ["AddChildUnits"]})

    # business units
    bob = await d.create("customers", {"email": "bob@example.com", "password": "pw"})
    unit = await d.create("business-units", {"key": "co", "name": "Co", "unitType": "Company"})
    await d.create("business-units", {"key": "co2", "name": "Co 2", "unitType": "Company"})
    div = await d.create(
        "business-units", {"key": "div", "name": "Div", "unitType": "Division", "parentUnit": {"key": "co"}}
    )
    await d.create(
        "business-units", {"key": "sub", "name": "Sub", "unitType": "Division", "parentUnit": {"key": "div"}}
    )
    as_bob = {"customer": {"id": bob["id"]}, "associateRoleAssignments": [{"associateRole": {"key": "admin"}}]}
    unit = await d.update(
        "business-units",
        unit,
        {"action": "addAddress", "address": {"key": "hq", "country": "DE"}},
        {"action": "addAddress", "address": {"key": "depot", "country": "DE"}},
        {"action": "changeAddress", "addressKey": "hq", "address": {"key": "hq", "country": "DE", "city": "M"}},
        {"action": "addShippingAddressId", "addressKey": "hq"},
        {"action": "addBillingAddressId", "addressKey": "hq"},
        {"action": "setDefaultShippingAddress", "addressKey": "hq"},
        {"action": "setDefaultBillingAddress", "addressKey": "depot"},
        {"action": "removeShippingAddressId", "addressKey": "hq"},
        {"action": "removeBillingAddressId", "addressKey": "hq"},
        {"action": "removeAddress", "addressKey": "depot"},
        {"action": "changeName", "name": "Co AG"},
        {"action": "setContactEmail", "contactEmail": "co@example.com"},
        {"action": "changeStatus", "status": "Inactive"},
        {"action": "addStore", "store": {"key": "s1"}},
        {"action": "removeStore", "store": {"key": "s1"}},
        {"action": "setStores", "stores": [{"key": "s2"}]},
        {"action": "addAssociate", "associate": as_bob},
        {
            "action": "changeAssociate",
            "associate": {
                **as_bob,
                "associateRoleAssignments": [{"associateRole": {"key": "admin"}, "inheritance": "Enabled"}],
            },
        },
        {"action": "removeAssociate", "customer": {"id": bob["id"]}},
        {"action": "setAssociates", "associates": [as_bob]},
        {"action": "setCustomType", "type": {"key": "tt"}},
        {"action": "setCustomField", "name": "n", "value": 1},
        {"action": "setCustomField", "name": "n", "value": 2},
        {"action": "setCustomField", "name": "n"},
        {"action": "setCustomType"},
        {"action": "addCustomerGroupAssignment", "customerGroupAssignment": {"customerGroup": {"key": "gg"}}},
        {"action": "removeCustomerGroupAssignment", "customerGroup": {"key": "gg"}},
        {"action": "setCustomerGroupAssignments", "customerGroupAssignments": [{"customerGroup": {"key": "hh"}}]},
    )
    hq = next(a["id"] for a in unit["addresses"] if a["key"] == "hq")
    unit = await d.update(
        "business-units",
        unit,
        {"action": "setAddressCustomType", "addressId": hq, "type": {"key": "tt"}},
        {"action": "setAddressCustomField", "addressId": hq, "name": "n", "value": "1"},
        {"action": "setAddressCustomField", "addressId": hq, "name": "n", "value": "2"},
        {"action": "setAddressCustomField", "addressId": hq, "name": "n"},
    )
    unit = await d.update("business-units", unit, {"action": "setAddressCustomType", "addressId": hq})
    div = await d.update(
        "business-units",
        div,
        {"action": "setStoreMode", "storeMode": "Explicit", "stores": [{"key": "s1"}]},
        {"action": "changeAssociateMode", "associateMode": "Explicit"},
        {"action": "changeApprovalRuleMode", "approvalRuleMode": "Explicit"},
        {"action": "changeParentUnit", "parentUnit": {"key": "co2"}},  # another Company: a new top-level unit
    )
    co2 = (await api.get("/business-units/key=co2")).json()
    await d.update(
        "business-units", co2, {"action": "setUnitType", "unitType": "Division", "parentUnit": {"key": "co"}}
    )

    # deletes
    sub = (await api.get("/business-units/key=sub")).json()
    await d.delete("business-units", sub)
    await d.delete("associate-roles", role)
    await d.delete("customers", c)

    found = await listed(api)
    for message in found:
        check(message)
    assert {m["type"] for m in found} == set(spec.message_types())
    assert other and admin  # referenced above
    # no Message holds a password hash: CustomerCreated's customer is the Customer as an API client sees it
    assert "password" not in {key for message in found for key in keys(message)}


def keys(node: Any) -> set[str]:
    """Every key of every object in a JSON value."""
    if isinstance(node, dict):
        return set(node).union(*(keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(keys(v) for v in node))
    return set()


# ---------------------------------------------------------------- common fields, order, no-ops


async def test_common_fields_versions_and_sequence_numbers(on: Any) -> None:
    api, d = on, Driver(on)
    c = await d.create("customers", {"email": "a@x.com", "password": "pw", "key": "aa", "customerNumber": "N-1"})
    c = await d.update(
        "customers", c, {"action": "setFirstName", "firstName": "A"}, {"action": "setLastName", "lastName": "B"}
    )
    # set to the same value: no Message, and no version either when nothing changed at all
    same = await d.update("customers", c, {"action": "setFirstName", "firstName": "A"})
    assert same["version"] == c["version"] == 2
    c = await d.update(
        "customers", c, {"action": "setFirstName", "firstName": "A"}, {"action": "setTitle", "title": "Dr"}
    )
    await d.delete("customers", c)

    found = await listed(api, sort="sequenceNumber asc")
    assert [(m["type"], m["sequenceNumber"], m["resourceVersion"]) for m in found] == [
        ("CustomerCreated", 1, 1),
        ("CustomerFirstNameSet", 2, 2),
        ("CustomerLastNameSet", 3, 2),
        ("CustomerTitleSet", 4, 3),
        ("CustomerDeleted", 5, 3),
    ]
    created = found[0]
    assert created["resource"] == {"typeId": "customer", "id": c["id"]}
    assert created["resourceUserProvidedIdentifiers"] == {"key": "aa", "customerNumber": "N-1"}
    assert created["version"] == 1 and created["createdAt"] == created["lastModifiedAt"]
    assert created["createdBy"]["clientId"] == "c" and created["lastModifiedBy"] == created["createdBy"]
    assert created["customer"]["id"] == c["id"] and "lowercaseEmail" not in created["customer"]
    assert found[-1]["email"] == "a@x.com"
    for message in found:
        check(message)

    # numbering is per resource
    other = await d.create("customer-groups", {"groupName": "G"})
    await d.update("customer-groups", other, {"action": "setCustomType"})  # nothing to remove: no-op
    bu = await d.create("business-units", {"key": "bu", "name": "B", "unitType": "Company"})
    await d.update("business-units", bu, {"action": "changeName", "name": "C"})
    unit_messages = await listed(api, where=f'resource(id = "{bu["id"]}")', sort="sequenceNumber desc")
    assert [(m["type"], m["sequenceNumber"]) for m in unit_messages] == [
        ("BusinessUnitNameChanged", 2),
        ("BusinessUnitCreated", 1),
    ]


async def test_a_refused_request_writes_no_message(on: Any) -> None:
    api, d = on, Driver(on)
    c = await d.create("customers", {"email": "a@x.com", "password": "pw"})
    before = await listed(api)
    stale = {"version": 9, "actions": [{"action": "setFirstName", "firstName": "X"}]}
    assert (await api.post(f"/customers/{c['id']}", json=stale)).status_code == 409
    half = {
        "version": 1,
        "actions": [{"action": "setFirstName", "firstName": "X"}, {"action": "removeAddress", "addressId": "nope"}],
    }
    assert (await api.post(f"/customers/{c['id']}", json=half)).status_code == 400
    assert (await api.post("/customers", json={"email": "A@x.com", "password": "pw"})).status_code == 400
    assert (
        await api.post(
            "/customers/password", json={"id": c["id"], "version": 1, "currentPassword": "no", "newPassword": "x"}
        )
    ).status_code == 400
    assert await listed(api) == before
    # and no sequence number was used up
    await d.update("customers", c, {"action": "setFirstName", "firstName": "Y"})
    assert [m["sequenceNumber"] for m in await listed(api, sort="sequenceNumber asc")] == [1, 2]


async def test_token_messages_show_the_value_only_for_short_lived_tokens(on: Any) -> None:
    api, d = on, Driver(on)
    c = await d.create("customers", {"email": "a@x.com", "password": "pw"})
    short = (await api.post("/customers/email-token", json={"id": c["id"], "ttlMinutes": 60})).json()
    long = (
        await api.post("/customers/email-token", json={"id": c["id"], "ttlMinutes": 61, "invalidateOlderTokens": True})
    ).json()
    reset = (await api.post("/customers/password-token", json={"email": "a@x.com"})).json()  # 1440 minutes
    quick = (await api.post("/customers/password-token", json={"email": "a@x.com", "ttlMinutes": 5})).json()
    found = {
        m["resource"]["id"]: m
        for m in await listed(api, where='type in ("CustomerEmailTokenCreated", "CustomerPasswordTokenCreated")')
    }
    assert found[short["id"]]["value"] == short["value"] and "value" not in found[long["id"]]
    assert found[long["id"]]["invalidateOlderTokens"] is True
    assert "value" not in found[reset["id"]] and found[quick["id"]]["value"] == quick["value"]
    assert found[short["id"]]["resource"]["typeId"] == "customer-email-token"
    assert found[reset["id"]]["resource"]["typeId"] == "customer-password-token"
    assert all(m["customerId"] == c["id"] and m["sequenceNumber"] == 1 for m in found.values())

    r = await api.post("/customers/password/reset", json={"tokenValue": quick["value"], "newPassword": "pw-2"})
    c = r.json()
    r = await api.post(
        "/customers/password",
        json={"id": c["id"], "version": c["version"], "currentPassword": "pw-2", "newPassword": "pw-3"},
    )
    r = await api.post("/customers/email/confirm", json={"tokenValue": long["value"]})
    flows = await listed(api, where=f'resource(id = "{c["id"]}")', sort="sequenceNumber asc")
    assert [(m["type"], m.get("reset"), m["resourceVersion"]) for m in flows] == [
        ("CustomerCreated", None, 1),
        ("CustomerPasswordUpdated", True, 2),
        ("CustomerPasswordUpdated", False, 3),
        ("CustomerEmailVerified", None, 4),
    ]


async def test_a_division_moving_to_another_company_and_its_subtree(on: Any) -> None:
    api, d = on, Driver(on)
    await d.create("business-units", {"key": "aa", "name": "A", "unitType": "Company"})
    await d.create("business-units", {"key": "bb", "name": "B", "unitType": "Company"})
    div = await d.create(
        "business-units", {"key": "dd", "name": "D", "unitType": "Division", "parentUnit": {"key": "aa"}}
    )
    sub = await d.create(
        "business-units", {"key": "ss", "name": "S", "unitType": "Division", "parentUnit": {"key": "dd"}}
    )
    div = await d.update("business-units", div, {"action": "changeParentUnit", "parentUnit": {"key": "bb"}})
    moved = await listed(
        api, where=f'resource(id = "{div["id"]}") and type != "BusinessUnitCreated"', sort="sequenceNumber"
    )
    assert [(m["type"], m["resourceVersion"]) for m in moved] == [
        ("BusinessUnitParentChanged", 2),
        ("BusinessUnitTopLevelUnitSet", 2),
    ]
    assert moved[0]["oldParentUnit"]["key"] == "aa" and moved[0]["newParentUnit"]["key"] == "bb"
    assert moved[1]["topLevelUnit"]["key"] == "bb" and moved[1]["oldTopLevelUnit"]["key"] == "aa"
    (below,) = await listed(api, where=f'resource(id = "{sub["id"]}") and type = "BusinessUnitTopLevelUnitSet"')
    assert below["topLevelUnit"]["key"] == "bb" and below["resourceVersion"] == 1 and below["sequenceNumber"] == 2
    # within the same Company: the parent changes, the top-level unit does not
    await d.create("business-units", {"key": "ee", "name": "E", "unitType": "Division", "parentUnit": {"key": "bb"}})
    await d.update("business-units", div, {"action": "changeParentUnit", "parentUnit": {"key": "ee"}})
    assert [m["type"] for m in await listed(api, where='type = "BusinessUnitTopLevelUnitSet"')].count(
        "BusinessUnitTopLevelUnitSet"
    ) == 2


# ---------------------------------------------------------------- the query endpoint


async def test_query_parameters_get_by_id_and_head(on: Any) -> None:
    api, d = on, Driver(on)
    for i in range(5):
        await d.create("customer-groups", {"groupName": f"G{i}"})  # no Messages: customer groups have no Created
        await d.create("associate-roles", {"key": f"role-{i}"})
    r = await api.get("/messages", params={"limit": 2, "offset": 1, "sort": "associateRole.key desc"})
    body = r.json()
    assert (body["limit"], body["offset"], body["count"], body["total"]) == (2, 1, 2, 5)
    assert [m["associateRole"]["key"] for m in body["results"]] == ["role-3", "role-2"]
    assert "total" not in (await api.get("/messages", params={"withTotal": "false"})).json()
    r = await api.get("/messages", params={"where": "associateRole(key = :k)", "var.k": "role-4", "expand": "resource"})
    (one,) = r.json()["results"]
    assert one["resource"]["obj"]["key"] == "role-4"
    got = await api.get(f"/messages/{one['id']}", params={"expand": "resource"})
    assert got.status_code == 200 and got.json()["resource"]["obj"]["key"] == "role-4"
    assert (await api.head(f"/messages/{one['id']}")).status_code == 200
    assert (await api.head("/messages", params={"where": 'type = "AssociateRoleCreated"'})).status_code == 200
    assert (await api.head("/messages", params={"where": 'type = "CustomerCreated"'})).status_code == 404
    missing = await api.get("/messages/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "ResourceNotFound"
    assert (await api.head("/messages/nope")).status_code == 404

    for params in (
        {"where": "type = "},
        {"sort": "type sideways"},
        {"limit": "501"},
        {"offset": "-1"},
        {"withTotal": "maybe"},
    ):
        r = await api.get("/messages", params=params)
        assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidInput", (params, r.text)


async def test_scopes(on: Any) -> None:
    api = on
    await api.create("associate-roles", {"key": "role"})
    for scope, status in (
        ("view_messages", 200),
        ("view_orders", 200),
        ("manage_project", 200),
        ("view_customers", 403),
    ):
        bearer = await token(api.http, f"{scope}:{api.project}")
        r = await api.get("/messages", headers={"Authorization": f"Bearer {bearer}"})
        assert r.status_code == status, (scope, r.text)
    bearer = await token(api.http, f"view_messages:{api.project}")
    r = await api.post("/associate-roles", json={"key": "x"}, headers={"Authorization": f"Bearer {bearer}"})
    assert r.status_code == 403


# ---------------------------------------------------------------- the project's configuration


async def test_off_by_default_then_on_then_off(api: Any) -> None:
    d = Driver(api)
    project = (await api.get("/")).json()
    assert project["messages"] == {"enabled": False, "deleteDaysAfterCreation": 15}
    await d.create("associate-roles", {"key": "before"})
    assert await listed(api) == []
    await configure(api, enabled=True)
    await d.create("associate-roles", {"key": "during"})
    await configure(api, enabled=False)
    await d.create("associate-roles", {"key": "after"})
    assert [m["associateRole"]["key"] for m in await listed(api)] == ["during"]  # stored ones stay readable

    # the deprecated action too
    project = (await api.get("/")).json()
    r = await api.post(
        "/",
        json={"version": project["version"], "actions": [{"action": "changeMessagesEnabled", "messagesEnabled": True}]},
    )
    assert r.json()["messages"] == {"enabled": True, "deleteDaysAfterCreation": FOREVER}


async def test_delete_days_after_creation_by_the_emulator_clock(api: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(feature, "PRUNE_EVERY", 1)  # every write deletes what has expired (64th in service)
    d = Driver(api)
    await configure(api, days=1)
    old = await d.create("associate-roles", {"key": "old"})
    api.clock.advance(hours=12)
    await d.create("associate-roles", {"key": "new"})
    assert len(await listed(api)) == 2
    api.clock.advance(hours=12, minutes=1)
    assert [m["associateRole"]["key"] for m in await listed(api)] == ["new"]  # hidden as soon as it expires
    assert (await api.get("/messages", params={"where": 'type = "AssociateRoleCreated"'})).json()["total"] == 1
    # the next write deletes it; numbering goes on from the last Message, pruned or not
    await d.update("associate-roles", old, {"action": "setName", "name": "Old"})
    assert api.emulator.store.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 2
    (named,) = await listed(api, where='type = "AssociateRoleNameSet"')
    assert named["sequenceNumber"] == 2

    project = (await api.get("/")).json()
    for days in (0, 91):
        bad = {
            "action": "changeMessagesConfiguration",
            "messagesConfiguration": {"enabled": True, "deleteDaysAfterCreation": days},
        }
        r = await api.post("/", json={"version": project["version"], "actions": [bad]})
        assert r.status_code == 400, r.text
    r = await api.post(
        "/",
        json={
            "version": project["version"],
            "actions": [{"action": "changeMessagesConfiguration", "messagesConfiguration": {"enabled": True}}],
        },
    )
    assert r.status_code == 400 and "deleteDaysAfterCreation" in r.text


async def test_the_demo_project_shows_its_history() -> None:
    import httpx2

    from commercetools_customers_mcp.emulator import create_app
    from conftest import token as get_token

    app = create_app(":memory:")
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://emulator") as http:
        bearer = await get_token(http, "manage_project:demo")
        r = await http.get(
            "/demo/messages",
            params={"where": 'type = "CustomerCreated"', "limit": 0},
            headers={"Authorization": f"Bearer {bearer}"},
        )
        project = (await http.get("/demo", headers={"Authorization": f"Bearer {bearer}"})).json()
    assert r.json()["total"] == 62  # the 60 demo customers and the two Store customers
    assert project["messages"] == {"enabled": True, "deleteDaysAfterCreation": 90}

"""Business units on the emulator: drafts, the hierarchy, all 31 update actions, inheritance, associate lookup."""

from __future__ import annotations

import pytest


async def customer(api, email: str) -> dict:
    return await api.create("customers", {"email": email, "password": "secret"})


def associate(customer_id: str, *roles: str, inheritance: str | None = None) -> dict:
    assignments = [{"associateRole": {"key": role}} for role in roles]
    if inheritance:
        for a in assignments:
            a["inheritance"] = inheritance
    return {"customer": {"id": customer_id}, "associateRoleAssignments": assignments}


async def company(api, key: str = "acme", **fields) -> dict:
    return await api.create("business-units", {"key": key, "name": key.upper(), "unitType": "Company", **fields})


async def division(api, key: str, parent: str, **fields) -> dict:
    draft = {"key": key, "name": key, "unitType": "Division", "parentUnit": {"key": parent}, **fields}
    return await api.create("business-units", draft)


async def get(api, key: str) -> dict:
    r = await api.get(f"/business-units/key={key}")
    assert r.status_code == 200, r.text
    return r.json()


async def update(api, key: str, *actions: dict):
    unit = await get(api, key)
    return await api.post(f"/business-units/key={key}", json={"version": unit["version"], "actions": list(actions)})


async def ok(api, key: str, *actions: dict) -> dict:
    r = await update(api, key, *actions)
    assert r.status_code == 200, r.text
    return r.json()


def error(r) -> dict:
    assert r.status_code == 400, r.text
    return r.json()["errors"][0]


@pytest.fixture
async def roles(api):
    await api.create("associate-roles", {"key": "admin", "permissions": ["UpdateAssociates", "AddChildUnits"]})
    await api.create("associate-roles", {"key": "buyer", "permissions": ["ViewMyCarts", "CreateMyCarts"]})
    return api


@pytest.fixture
async def tree(roles):
    """acme (Company) → acme-eu (Division) → acme-eu-berlin (Division), plus a customer Ann."""
    api = roles
    await api.create("stores", {"key": "de"})
    await api.create("stores", {"key": "us"})
    ann = await customer(api, "ann@example.com")
    await company(api, stores=[{"key": "de"}])
    await division(api, "acme-eu", "acme")
    await division(api, "acme-eu-berlin", "acme-eu")
    return api, ann


# ---------------------------------------------------------------- drafts


async def test_company_and_division_defaults(api):
    acme = await company(api, contactEmail="b2b@acme.example")
    assert acme["storeMode"] == acme["associateMode"] == acme["approvalRuleMode"] == "Explicit"
    assert acme["status"] == "Active" and acme["stores"] == [] and acme["associates"] == []
    assert acme["topLevelUnit"] == {"typeId": "business-unit", "key": "acme"} and "parentUnit" not in acme
    assert (acme["addresses"], acme["shippingAddressIds"], acme["billingAddressIds"]) == ([], [], [])

    eu = await api.create(
        "business-units", {"key": "eu", "name": "EU", "unitType": "Division", "parentUnit": {"id": acme["id"]}}
    )
    assert (eu["storeMode"], eu["associateMode"], eu["approvalRuleMode"]) == (
        "FromParent",
        "ExplicitAndFromParent",
        "ExplicitAndFromParent",
    )
    assert eu["parentUnit"] == eu["topLevelUnit"] == {"typeId": "business-unit", "key": "acme"}
    assert "stores" not in eu and eu["inheritedStores"] == [] and eu["inheritedAssociates"] == []


async def test_draft_errors_are_readable(api):
    r = await api.post("/business-units", json={"key": "d1", "name": "D", "unitType": "Division"})
    assert "Missing required value 'parentUnit'" in error(r)["detailedErrorMessage"]
    r = await api.post("/business-units", json={"key": "d1", "name": "D", "unitType": "Compny"})
    assert error(r)["code"] == "InvalidField" and error(r)["allowedValues"] == ["Company", "Division"]
    r = await api.post("/business-units", json={"key": "d1", "unitType": "Company"})
    assert "Missing required value 'name'" in error(r)["detailedErrorMessage"]
    r = await api.post("/business-units", json={"name": "D", "unitType": "Company"})
    assert (error(r)["code"], error(r)["field"]) == ("RequiredField", "key")
    r = await api.post(
        "/business-units", json={"key": "d1", "name": "D", "unitType": "Division", "parentUnit": {"key": "nope"}}
    )
    assert error(r)["code"] == "ReferencedResourceNotFound" and error(r)["key"] == "nope"


async def test_company_rules(api):
    await company(api)
    r = await api.post(
        "/business-units", json={"key": "c2", "name": "C", "unitType": "Company", "parentUnit": {"key": "acme"}}
    )
    assert error(r)["code"] == "InvalidInput" and "parentUnit" in error(r)["message"]
    r = await api.post(
        "/business-units", json={"key": "c2", "name": "C", "unitType": "Company", "storeMode": "FromParent"}
    )
    assert error(r)["code"] == "InvalidInput" and "storeMode" in error(r)["message"]
    r = await api.post(
        "/business-units",
        json={"key": "c2", "name": "C", "unitType": "Company", "associateMode": "ExplicitAndFromParent"},
    )
    assert "associateMode" in error(r)["message"]
    r = await api.post("/business-units", json={"key": "acme", "name": "C", "unitType": "Company"})
    assert error(r)["code"] == "DuplicateField"


async def test_draft_with_everything(roles):
    api = roles
    await api.create("stores", {"key": "de"})
    await api.create("customer-groups", {"groupName": "B2B", "key": "b2b"})
    await api.create("types", {"key": "bu-extras", "name": {"en": "x"}, "resourceTypeIds": ["business-unit"]})
    ann = await customer(api, "ann@example.com")
    acme = await company(
        api,
        stores=[{"key": "de"}],
        associates=[associate(ann["id"], "admin", "buyer")],
        addresses=[{"country": "DE", "key": "hq"}, {"country": "FR"}],
        shippingAddresses=[1],
        defaultBillingAddress=0,
        customerGroupAssignments=[{"customerGroup": {"key": "b2b"}}],
        custom={"type": {"key": "bu-extras"}, "fields": {"tier": "gold"}},
        status="Inactive",
    )
    hq, fr = acme["addresses"]
    assert acme["stores"] == [{"typeId": "store", "key": "de"}] and acme["status"] == "Inactive"
    assert acme["associates"] == [
        {
            "customer": {"typeId": "customer", "id": ann["id"]},
            "associateRoleAssignments": [
                {"associateRole": {"typeId": "associate-role", "key": "admin"}, "inheritance": "Disabled"},
                {"associateRole": {"typeId": "associate-role", "key": "buyer"}, "inheritance": "Disabled"},
            ],
        }
    ]
    assert acme["shippingAddressIds"] == [fr["id"]] and acme["defaultBillingAddressId"] == hq["id"]
    assert acme["billingAddressIds"] == [hq["id"]]
    assert acme["customerGroupAssignments"][0]["customerGroup"]["typeId"] == "customer-group"
    assert acme["custom"]["fields"] == {"tier": "gold"}


async def test_associate_draft_rules(roles):
    api = roles
    ann = await customer(api, "ann@example.com")
    role = (await api.get("/associate-roles/key=buyer")).json()
    # a role by id becomes a key reference
    acme = await company(
        api,
        associates=[
            {"customer": {"id": ann["id"]}, "associateRoleAssignments": [{"associateRole": {"id": role["id"]}}]}
        ],
    )
    assert acme["associates"][0]["associateRoleAssignments"][0]["associateRole"]["key"] == "buyer"

    cases = [
        ([associate("missing-customer", "buyer")], "ReferencedResourceNotFound"),
        ([associate(ann["id"], "no-such-role")], "ReferencedResourceNotFound"),
        ([associate(ann["id"])], "InvalidInput"),
        ([associate(ann["id"], *["buyer", "admin"] * 3)], "InvalidInput"),
        ([associate(ann["id"], "buyer"), associate(ann["id"], "admin")], "InvalidOperation"),
    ]
    for associates, code in cases:
        r = await api.post(
            "/business-units", json={"key": "c2", "name": "C", "unitType": "Company", "associates": associates}
        )
        assert error(r)["code"] == code, associates
    # buyerAssignable=false roles can still be assigned through the general endpoint
    await api.create("associate-roles", {"key": "super", "buyerAssignable": False})
    await company(api, "c3", associates=[associate(ann["id"], "super")])


async def test_hierarchy_has_at_most_five_levels(api):
    await company(api, "l1")
    for level in range(2, 6):
        await division(api, f"l{level}", f"l{level - 1}")
    assert (await get(api, "l5"))["topLevelUnit"]["key"] == "l1"
    r = await api.post(
        "/business-units", json={"key": "l6", "name": "x", "unitType": "Division", "parentUnit": {"key": "l5"}}
    )
    assert error(r)["code"] == "InvalidOperation" and "5 levels" in error(r)["message"]
    # moving a two-level subtree below level 4 would make six levels as well
    await division(api, "side", "l1")
    await division(api, "side-child", "side")
    r = await update(api, "side", {"action": "changeParentUnit", "parentUnit": {"key": "l4"}})
    assert error(r)["code"] == "InvalidOperation"
    await ok(api, "side", {"action": "changeParentUnit", "parentUnit": {"key": "l3"}})


# ---------------------------------------------------------------- actions


async def test_simple_field_actions(tree):
    api, _ = tree
    body = await ok(
        api,
        "acme",
        {"action": "changeName", "name": "ACME Inc."},
        {"action": "setContactEmail", "contactEmail": "hello@acme.example"},
        {"action": "changeStatus", "status": "Inactive"},
    )
    assert (body["name"], body["contactEmail"], body["status"], body["version"]) == (
        "ACME Inc.",
        "hello@acme.example",
        "Inactive",
        2,
    )
    body = await ok(api, "acme", {"action": "setContactEmail"})
    assert "contactEmail" not in body
    r = await update(api, "acme", {"action": "changeStatus", "status": "Sleeping"})
    assert error(r)["code"] == "InvalidField" and error(r)["allowedValues"] == ["Active", "Inactive"]


async def test_address_actions(tree):
    api, _ = tree
    body = await ok(
        api,
        "acme",
        {"action": "addAddress", "address": {"country": "DE", "key": "hq", "city": "Munich"}},
        {"action": "addAddress", "address": {"country": "US", "key": "us"}},
        {"action": "addShippingAddressId", "addressKey": "hq"},
        {"action": "addBillingAddressId", "addressKey": "us"},
        {"action": "setDefaultShippingAddress", "addressKey": "us"},
        {"action": "setDefaultBillingAddress", "addressKey": "hq"},
        {"action": "changeAddress", "addressKey": "hq", "address": {"country": "DE", "key": "hq", "city": "Berlin"}},
    )
    hq, us = body["addresses"]
    assert hq["city"] == "Berlin"
    assert body["shippingAddressIds"] == [hq["id"], us["id"]] and body["billingAddressIds"] == [us["id"], hq["id"]]
    assert (body["defaultShippingAddressId"], body["defaultBillingAddressId"]) == (us["id"], hq["id"])

    await api.create("types", {"key": "addr", "name": {"en": "x"}, "resourceTypeIds": ["address"]})
    body = await ok(
        api,
        "acme",
        {"action": "removeShippingAddressId", "addressId": us["id"]},
        {"action": "removeBillingAddressId", "addressId": hq["id"]},
        {"action": "setAddressCustomType", "addressId": us["id"], "type": {"key": "addr"}},
        {"action": "setAddressCustomField", "addressId": us["id"], "name": "gate", "value": "B"},
        {"action": "removeAddress", "addressKey": "hq"},
    )
    assert [a["key"] for a in body["addresses"]] == ["us"] and body["addresses"][0]["custom"]["fields"] == {"gate": "B"}
    assert body["shippingAddressIds"] == [] and body["billingAddressIds"] == [us["id"]]
    assert "defaultShippingAddressId" not in body and "defaultBillingAddressId" not in body
    r = await update(api, "acme", {"action": "removeAddress", "addressKey": "hq"})
    assert error(r)["code"] == "InvalidOperation"


async def test_custom_and_customer_group_actions(tree):
    api, _ = tree
    await api.create("types", {"key": "bu-extras", "name": {"en": "x"}, "resourceTypeIds": ["business-unit"]})
    g1 = await api.create("customer-groups", {"groupName": "G1", "key": "g1"})
    g2 = await api.create("customer-groups", {"groupName": "G2", "key": "g2"})
    body = await ok(
        api,
        "acme",
        {"action": "setCustomType", "type": {"key": "bu-extras"}, "fields": {"a": 1}},
        {"action": "setCustomField", "name": "b", "value": 2},
        {"action": "addCustomerGroupAssignment", "customerGroupAssignment": {"customerGroup": {"key": "g1"}}},
        {"action": "addCustomerGroupAssignment", "customerGroupAssignment": {"customerGroup": {"id": g2["id"]}}},
        {"action": "removeCustomerGroupAssignment", "customerGroup": {"key": "g1"}},
    )
    assert body["custom"]["fields"] == {"a": 1, "b": 2}
    assert body["customerGroupAssignments"] == [{"customerGroup": {"typeId": "customer-group", "id": g2["id"]}}]
    r = await update(
        api,
        "acme",
        {"action": "addCustomerGroupAssignment", "customerGroupAssignment": {"customerGroup": {"key": "g2"}}},
    )
    assert error(r)["code"] == "InvalidOperation"
    r = await update(api, "acme", {"action": "removeCustomerGroupAssignment", "customerGroup": {"id": g1["id"]}})
    assert error(r)["code"] == "InvalidOperation"
    body = await ok(
        api,
        "acme",
        {"action": "setCustomerGroupAssignments", "customerGroupAssignments": [{"customerGroup": {"key": "g1"}}]},
        {"action": "setCustomType"},
    )
    assert [a["customerGroup"]["id"] for a in body["customerGroupAssignments"]] == [g1["id"]] and "custom" not in body
    body = await ok(api, "acme", {"action": "setCustomerGroupAssignments"})
    assert "customerGroupAssignments" not in body


async def test_associate_actions(tree):
    api, ann = tree
    bob = await customer(api, "bob@example.com")
    body = await ok(
        api,
        "acme",
        {"action": "addAssociate", "associate": associate(ann["id"], "buyer")},
        {"action": "addAssociate", "associate": associate(bob["id"], "buyer")},
        {"action": "changeAssociate", "associate": associate(ann["id"], "admin", inheritance="Enabled")},
        {"action": "removeAssociate", "customer": {"id": bob["id"]}},
    )
    assert [a["customer"]["id"] for a in body["associates"]] == [ann["id"]]
    assert body["associates"][0]["associateRoleAssignments"] == [
        {"associateRole": {"typeId": "associate-role", "key": "admin"}, "inheritance": "Enabled"}
    ]
    r = await update(api, "acme", {"action": "addAssociate", "associate": associate(ann["id"], "buyer")})
    assert error(r)["code"] == "InvalidOperation" and "already an associate" in error(r)["message"]
    for action in (
        {"action": "changeAssociate", "associate": associate(bob["id"], "buyer")},
        {"action": "removeAssociate", "customer": {"id": bob["id"]}},
    ):
        assert error(await update(api, "acme", action))["code"] == "InvalidOperation"
    body = await ok(api, "acme", {"action": "setAssociates", "associates": [associate(bob["id"], "buyer")]})
    assert [a["customer"]["id"] for a in body["associates"]] == [bob["id"]]
    body = await ok(api, "acme", {"action": "setAssociates", "associates": []})
    assert body["associates"] == []


async def test_store_actions_and_store_inheritance(tree):
    api, _ = tree
    eu, berlin = await get(api, "acme-eu"), await get(api, "acme-eu-berlin")
    assert eu["inheritedStores"] == berlin["inheritedStores"] == [{"typeId": "store", "key": "de"}]

    body = await ok(api, "acme", {"action": "addStore", "store": {"key": "us"}})
    assert [s["key"] for s in body["stores"]] == ["de", "us"]
    assert [s["key"] for s in (await get(api, "acme-eu-berlin"))["inheritedStores"]] == ["de", "us"]
    assert (
        error(await update(api, "acme", {"action": "addStore", "store": {"key": "us"}}))["code"] == "InvalidOperation"
    )
    assert error(await update(api, "acme", {"action": "addStore", "store": {"key": "xx"}}))["code"] == (
        "ReferencedResourceNotFound"
    )

    # a FromParent unit cannot manage its own stores
    for action in (
        {"action": "addStore", "store": {"key": "us"}},
        {"action": "removeStore", "store": {"key": "de"}},
        {"action": "setStores", "stores": []},
    ):
        assert "FromParent" in error(await update(api, "acme-eu", action))["message"]

    # the middle unit goes Explicit: its subtree now inherits its stores, not the company's
    body = await ok(api, "acme-eu", {"action": "setStoreMode", "storeMode": "Explicit", "stores": [{"key": "us"}]})
    assert body["stores"] == [{"typeId": "store", "key": "us"}] and "inheritedStores" not in body
    assert (await get(api, "acme-eu-berlin"))["inheritedStores"] == [{"typeId": "store", "key": "us"}]
    await ok(api, "acme-eu", {"action": "removeStore", "store": {"key": "us"}})
    assert (await get(api, "acme-eu-berlin"))["inheritedStores"] == []
    await ok(api, "acme-eu", {"action": "setStores", "stores": [{"key": "de"}, {"key": "us"}]})
    assert len((await get(api, "acme-eu-berlin"))["inheritedStores"]) == 2
    assert error(await update(api, "acme-eu", {"action": "removeStore", "store": {"key": "zz"}}))["code"] == (
        "InvalidOperation"
    )

    body = await ok(api, "acme-eu", {"action": "setStoreMode", "storeMode": "FromParent"})
    assert "stores" not in body and [s["key"] for s in body["inheritedStores"]] == ["de", "us"]
    r = await update(api, "acme", {"action": "setStoreMode", "storeMode": "FromParent"})
    assert error(r)["code"] == "InvalidOperation" and "Company" in error(r)["message"]


async def test_mode_actions_respect_unit_type(tree):
    api, _ = tree
    for action in (
        {
            "action": "changeAssociateMode",
            "associateMode": "ExplicitAndFromParent",
            "makeInheritedAssociatesExplicit": False,
        },
        {"action": "changeApprovalRuleMode", "approvalRuleMode": "ExplicitAndFromParent"},
    ):
        assert error(await update(api, "acme", action))["code"] == "InvalidOperation"
    body = await ok(api, "acme-eu", {"action": "changeApprovalRuleMode", "approvalRuleMode": "Explicit"})
    assert body["approvalRuleMode"] == "Explicit"


# ---------------------------------------------------------------- inheritance


async def lookup(api, unit: str, customer_id: str):
    return await api.get(f"/business-units/key={unit}/associates/{customer_id}")


async def test_inheritance_across_three_levels(tree):
    api, ann = tree
    bob = await customer(api, "bob@example.com")
    await ok(
        api,
        "acme",
        {"action": "addAssociate", "associate": associate(ann["id"], "admin", inheritance="Enabled")},
        {"action": "addAssociate", "associate": associate(bob["id"], "buyer", inheritance="Disabled")},
    )
    expected = [
        {
            "customer": {"typeId": "customer", "id": ann["id"]},
            "associateRoleAssignments": [
                {
                    "associateRole": {"typeId": "associate-role", "key": "admin"},
                    "source": {"typeId": "business-unit", "key": "acme"},
                }
            ],
        }
    ]
    assert (await get(api, "acme-eu"))["inheritedAssociates"] == expected
    assert (await get(api, "acme-eu-berlin"))["inheritedAssociates"] == expected
    assert (await get(api, "acme-eu-berlin"))["version"] == 1  # computed fields do not bump descendants

    r = await lookup(api, "acme-eu-berlin", ann["id"])
    body = r.json()
    assert r.status_code == 200 and body["associateRoles"] == []
    assert [role["key"] for role in body["inheritedAssociateRoles"]] == ["admin"]
    assert body["permissions"] == ["AddChildUnits", "UpdateAssociates"]
    assert (await lookup(api, "acme-eu-berlin", bob["id"])).status_code == 404  # Disabled: not inherited

    # an explicit role in the middle plus the inherited one: the union of permissions
    await ok(
        api, "acme-eu", {"action": "addAssociate", "associate": associate(ann["id"], "buyer", inheritance="Enabled")}
    )
    berlin = await get(api, "acme-eu-berlin")
    assert [
        (a["associateRole"]["key"], a["source"]["key"])
        for a in berlin["inheritedAssociates"][0]["associateRoleAssignments"]
    ] == [
        ("admin", "acme"),
        ("buyer", "acme-eu"),
    ]
    body = (await lookup(api, "acme-eu", ann["id"])).json()
    assert [r["key"] for r in body["associateRoles"]] == ["buyer"]
    assert [r["key"] for r in body["inheritedAssociateRoles"]] == ["admin"]
    assert body["permissions"] == ["AddChildUnits", "UpdateAssociates", "ViewMyCarts", "CreateMyCarts"]

    # the middle unit stops inheriting: its subtree loses what came from above, keeps what the middle holds
    await ok(
        api,
        "acme-eu",
        {"action": "changeAssociateMode", "associateMode": "Explicit", "makeInheritedAssociatesExplicit": False},
    )
    assert "inheritedAssociates" not in await get(api, "acme-eu")
    berlin = await get(api, "acme-eu-berlin")
    assert [a["associateRole"]["key"] for a in berlin["inheritedAssociates"][0]["associateRoleAssignments"]] == [
        "buyer"
    ]

    # back to inheriting, and the company's assignment turns Disabled: nothing comes from the top any more
    await ok(
        api,
        "acme-eu",
        {
            "action": "changeAssociateMode",
            "associateMode": "ExplicitAndFromParent",
            "makeInheritedAssociatesExplicit": False,
        },
    )
    assert (await get(api, "acme-eu"))["inheritedAssociates"][0]["associateRoleAssignments"][0]["source"][
        "key"
    ] == "acme"
    await ok(
        api, "acme", {"action": "changeAssociate", "associate": associate(ann["id"], "admin", inheritance="Disabled")}
    )
    assert (await get(api, "acme-eu"))["inheritedAssociates"] == []
    assert (await lookup(api, "acme-eu", ann["id"])).json()["inheritedAssociateRoles"] == []


async def test_make_inherited_associates_explicit(tree):
    api, ann = tree
    await ok(api, "acme", {"action": "addAssociate", "associate": associate(ann["id"], "admin", inheritance="Enabled")})
    body = await ok(
        api,
        "acme-eu",
        {"action": "changeAssociateMode", "associateMode": "Explicit", "makeInheritedAssociatesExplicit": True},
    )
    assert body["associateMode"] == "Explicit" and "inheritedAssociates" not in body
    assert body["associates"] == [
        {
            "customer": {"typeId": "customer", "id": ann["id"]},
            "associateRoleAssignments": [
                {"associateRole": {"typeId": "associate-role", "key": "admin"}, "inheritance": "Enabled"}
            ],
        }
    ]
    # berlin still sees Ann, now coming from acme-eu
    berlin = await get(api, "acme-eu-berlin")
    assert berlin["inheritedAssociates"][0]["associateRoleAssignments"][0]["source"]["key"] == "acme-eu"


async def test_change_parent_moves_inheritance(tree):
    api, ann = tree
    await division(api, "acme-us", "acme", storeMode="Explicit", stores=[{"key": "us"}])
    await ok(
        api, "acme-us", {"action": "addAssociate", "associate": associate(ann["id"], "buyer", inheritance="Enabled")}
    )
    body = await ok(api, "acme-eu-berlin", {"action": "changeParentUnit", "parentUnit": {"key": "acme-us"}})
    assert body["parentUnit"] == {"typeId": "business-unit", "key": "acme-us"}
    assert body["inheritedStores"] == [{"typeId": "store", "key": "us"}]
    assert body["inheritedAssociates"][0]["associateRoleAssignments"][0]["source"]["key"] == "acme-us"
    assert (await lookup(api, "acme-eu-berlin", ann["id"])).status_code == 200

    # no cycles, and a company has no parent to change
    r = await update(api, "acme-eu", {"action": "changeParentUnit", "parentUnit": {"key": "acme-eu"}})
    assert error(r)["code"] == "InvalidOperation"
    await division(api, "acme-eu-munich", "acme-eu")
    r = await update(api, "acme-eu", {"action": "changeParentUnit", "parentUnit": {"key": "acme-eu-munich"}})
    assert "descendants" in error(r)["message"]
    await company(api, "globex")
    r = await update(api, "acme", {"action": "changeParentUnit", "parentUnit": {"key": "globex"}})
    assert "setUnitType" in error(r)["message"]

    # a Division may move under another Company: it and its subtree get that top-level unit (the API documents
    # the BusinessUnitTopLevelUnitSet Message this produces)
    body = await ok(api, "acme-eu", {"action": "changeParentUnit", "parentUnit": {"key": "globex"}})
    assert body["topLevelUnit"] == {"typeId": "business-unit", "key": "globex"}
    assert (await get(api, "acme-eu-munich"))["topLevelUnit"]["key"] == "globex"


async def test_set_unit_type_moves_a_subtree_between_companies(tree):
    api, ann = tree
    await company(api, "globex", associates=[associate(ann["id"], "admin", inheritance="Enabled")])
    body = await ok(api, "acme-eu", {"action": "setUnitType", "unitType": "Division", "parentUnit": {"key": "globex"}})
    assert body["topLevelUnit"]["key"] == "globex"
    berlin = await get(api, "acme-eu-berlin")
    assert berlin["topLevelUnit"]["key"] == "globex" and berlin["inheritedStores"] == []
    assert berlin["inheritedAssociates"][0]["associateRoleAssignments"][0]["source"]["key"] == "globex"

    # to Company: only with all three modes Explicit
    r = await update(api, "acme-eu", {"action": "setUnitType", "unitType": "Company"})
    assert error(r)["code"] == "InvalidOperation"
    body = await ok(
        api,
        "acme-eu",
        {"action": "setStoreMode", "storeMode": "Explicit"},
        {"action": "changeAssociateMode", "associateMode": "Explicit", "makeInheritedAssociatesExplicit": False},
        {"action": "changeApprovalRuleMode", "approvalRuleMode": "Explicit"},
        {"action": "setUnitType", "unitType": "Company"},
    )
    assert body["unitType"] == "Company" and "parentUnit" not in body and body["topLevelUnit"]["key"] == "acme-eu"
    assert body["stores"] == []
    berlin = await get(api, "acme-eu-berlin")
    assert berlin["topLevelUnit"]["key"] == "acme-eu" and berlin["inheritedAssociates"] == []
    r = await update(api, "acme-eu-berlin", {"action": "setUnitType", "unitType": "Division"})
    assert error(r)["code"] == "RequiredField"


# ---------------------------------------------------------------- lookup, delete, queries


async def test_associate_lookup_404s(tree):
    api, ann = tree
    await ok(api, "acme", {"action": "addAssociate", "associate": associate(ann["id"], "admin")})
    acme = await get(api, "acme")
    r = await api.get(f"/business-units/{acme['id']}/associates/{ann['id']}")
    assert r.status_code == 200 and r.json()["customer"] == {"typeId": "customer", "id": ann["id"]}
    assert [role["key"] for role in r.json()["associateRoles"]] == ["admin"]
    assert (await api.get(f"/business-units/{acme['id']}/associates/nobody")).status_code == 404
    assert (await lookup(api, "acme-eu", ann["id"])).status_code == 404  # inheritance Disabled
    r = await api.get(f"/business-units/key=missing/associates/{ann['id']}")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "ResourceNotFound"


async def test_delete(tree):
    api, _ = tree
    acme = await get(api, "acme")
    r = await api.delete(f"/business-units/{acme['id']}", params={"version": acme["version"]})
    err = error(r)
    assert err["code"] == "ReferenceExists" and "acme-eu" in err["message"]
    r = await api.delete("/business-units/key=acme-eu-berlin", params={"version": 9})
    assert r.status_code == 409
    r = await api.delete("/business-units/key=acme-eu-berlin", params={"version": 1, "dataErasure": "true"})
    assert r.status_code == 200 and r.json()["key"] == "acme-eu-berlin"
    await api.delete("/business-units/key=acme-eu", params={"version": 1})
    r = await api.delete(f"/business-units/{acme['id']}", params={"version": acme["version"]})
    assert r.status_code == 200
    assert (await api.get(f"/business-units/{acme['id']}")).status_code == 404


async def test_unknown_unit_and_scopes(api):
    assert (await api.get("/business-units/key=nope")).status_code == 404
    assert (await api.post("/business-units/key=nope", json={"version": 1, "actions": []})).status_code == 404
    view = await api.http.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": "view_business_units:test"}, auth=("c", "s")
    )
    headers = {"Authorization": f"Bearer {view.json()['access_token']}"}
    assert (await api.get("/business-units", headers=headers)).status_code == 200
    assert (await api.get("/business-units/key=x/associates/y", headers=headers)).status_code == 404
    r = await api.post("/business-units", json={"key": "c1", "name": "C", "unitType": "Company"}, headers=headers)
    assert r.status_code == 403


async def test_queries_and_expansion(tree):
    api, ann = tree
    await ok(api, "acme", {"action": "addAssociate", "associate": associate(ann["id"], "admin", inheritance="Enabled")})

    async def keys(**params) -> list[str]:
        r = await api.get("/business-units", params=params)
        assert r.status_code == 200, r.text
        return [u["key"] for u in r.json()["results"]]

    assert await keys(where='unitType = "Division"', sort="key desc") == ["acme-eu-berlin", "acme-eu"]
    assert await keys(where=f'associates(customer(id = "{ann["id"]}"))') == ["acme"]
    assert await keys(where='parentUnit(key = "acme")') == ["acme-eu"]
    assert await keys(where='topLevelUnit(key = "acme")', sort="createdAt asc", limit=2, offset=1) == [
        "acme-eu",
        "acme-eu-berlin",
    ]
    assert await keys(where=f'inheritedAssociates(customer(id = "{ann["id"]}"))', sort="key asc") == [
        "acme-eu",
        "acme-eu-berlin",
    ]
    r = await api.get(
        "/business-units/key=acme-eu", params={"expand": ["inheritedAssociates[*].customer", "associates[*].customer"]}
    )
    assert r.json()["inheritedAssociates"][0]["customer"]["obj"]["email"] == "ann@example.com"
    r = await api.get("/business-units", params={"where": 'key = "acme"', "expand": "associates[*].customer"})
    assert r.json()["results"][0]["associates"][0]["customer"]["obj"]["id"] == ann["id"]

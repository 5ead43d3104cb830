"""Associate roles on the emulator: draft defaults, permission validation, the 7 actions, delete refusal."""

from __future__ import annotations

from commercetools_customers_mcp import spec


async def update(api, role: dict, *actions: dict):
    return await api.post(f"/associate-roles/{role['id']}", json={"version": role["version"], "actions": list(actions)})


async def test_create_defaults_and_get_by_key(api):
    role = await api.create("associate-roles", {"key": "buyer"})
    assert (role["buyerAssignable"], role["permissions"], role["version"]) == (True, [], 1)
    assert "name" not in role
    got = (await api.get("/associate-roles/key=buyer")).json()
    assert got["id"] == role["id"]
    r = await api.post("/associate-roles", json={"key": "buyer"})
    assert r.json()["errors"][0]["code"] == "DuplicateField"
    r = await api.post("/associate-roles", json={"name": "no key"})
    assert r.status_code == 400 and "key" in r.json()["errors"][0]["detailedErrorMessage"]


async def test_unknown_permission_names_the_allowed_values(api):
    r = await api.post("/associate-roles", json={"key": "r1", "permissions": ["ViewMyCarts", "FlyToTheMoon"]})
    err = r.json()["errors"][0]
    assert r.status_code == 400 and err["code"] == "InvalidJsonInput"
    message = err["detailedErrorMessage"]
    assert "FlyToTheMoon" in message and all(p in message for p in spec.enum("Permission"))
    role = await api.create("associate-roles", {"key": "r2"})
    r = await update(api, role, {"action": "addPermission", "permission": "Nope"})
    assert r.status_code == 400 and "DeleteOthersShoppingLists" in r.json()["errors"][0]["detailedErrorMessage"]


async def test_every_update_action(api):
    await api.create("types", {"key": "role-extras", "name": {"en": "x"}, "resourceTypeIds": ["associate-role"]})
    role = await api.create("associate-roles", {"key": "approver", "permissions": ["ViewMyCarts"]})
    r = await update(
        api,
        role,
        {"action": "addPermission", "permission": "UpdateApprovalFlows"},
        {"action": "removePermission", "permission": "ViewMyCarts"},
        {"action": "changeBuyerAssignable", "buyerAssignable": False},
        {"action": "setName", "name": "Approver"},
        {"action": "setCustomType", "type": {"key": "role-extras"}, "fields": {"level": 1}},
        {"action": "setCustomField", "name": "level", "value": 2},
    )
    body = r.json()
    assert r.status_code == 200 and body["version"] == 2
    assert body["permissions"] == ["UpdateApprovalFlows"] and body["buyerAssignable"] is False
    assert body["name"] == "Approver" and body["custom"]["fields"] == {"level": 2}

    r = await update(
        api,
        body,
        {"action": "setPermissions", "permissions": ["ViewMyOrders", "ViewMyOrders", "ViewMyQuotes"]},
        {"action": "setName"},
        {"action": "setCustomType"},
    )
    body = r.json()
    assert body["permissions"] == ["ViewMyOrders", "ViewMyQuotes"]
    assert "name" not in body and "custom" not in body
    body = (await update(api, body, {"action": "setPermissions"})).json()
    assert body["permissions"] == []


async def test_permission_changes_must_make_sense(api):
    role = await api.create("associate-roles", {"key": "r3", "permissions": ["ViewMyCarts"]})
    r = await update(api, role, {"action": "addPermission", "permission": "ViewMyCarts"})
    assert r.json()["errors"][0]["code"] == "InvalidOperation"
    r = await update(api, role, {"action": "removePermission", "permission": "ViewOthersCarts"})
    assert r.json()["errors"][0]["code"] == "InvalidOperation"
    assert (await api.get(f"/associate-roles/{role['id']}")).json()["version"] == 1


async def test_delete_refused_while_an_associate_holds_the_role(api):
    role = await api.create("associate-roles", {"key": "admin"})
    customer = await api.create("customers", {"email": "a@example.com", "password": "pw"})
    await api.create("business-units", {"key": "acme", "name": "ACME", "unitType": "Company"})
    draft = {"key": "acme-eu", "name": "EU", "unitType": "Division", "parentUnit": {"key": "acme"}}
    draft["associates"] = [
        {"customer": {"id": customer["id"]}, "associateRoleAssignments": [{"associateRole": {"key": "admin"}}]}
    ]
    unit = await api.create("business-units", draft)

    for path in (f"/associate-roles/{role['id']}", "/associate-roles/key=admin"):
        r = await api.delete(path, params={"version": 1})
        err = r.json()["errors"][0]
        assert r.status_code == 400 and err["code"] == "ReferenceExists"
        assert err["referencedBy"] == "business-unit" and "acme-eu" in err["message"]

    r = await api.post(
        f"/business-units/{unit['id']}",
        json={"version": unit["version"], "actions": [{"action": "setAssociates", "associates": []}]},
    )
    assert r.status_code == 200
    r = await api.delete("/associate-roles/key=admin", params={"version": 1})
    assert r.status_code == 200 and r.json()["key"] == "admin"
    assert (await api.get(f"/associate-roles/{role['id']}")).status_code == 404


async def test_scopes(api):
    view = await api.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "view_associate_roles:test"},
        auth=("c", "s"),
    )
    headers = {"Authorization": f"Bearer {view.json()['access_token']}"}
    assert (await api.get("/associate-roles", headers=headers)).status_code == 200
    r = await api.post("/associate-roles", json={"key": "x1"}, headers=headers)
    assert r.status_code == 403


async def test_query_by_permission(api):
    await api.create("associate-roles", {"key": "a1", "permissions": ["UpdateAssociates"]})
    await api.create("associate-roles", {"key": "a2", "permissions": ["ViewMyCarts"], "buyerAssignable": False})
    r = await api.get("/associate-roles", params={"where": 'permissions contains any ("UpdateAssociates")'})
    assert [x["key"] for x in r.json()["results"]] == ["a1"]
    r = await api.get("/associate-roles", params={"where": "buyerAssignable = false", "sort": "key desc"})
    assert [x["key"] for x in r.json()["results"]] == ["a2"]

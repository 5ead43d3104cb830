"""Customer groups on the emulator: the four update actions, uniqueness, versions, errors."""

from __future__ import annotations


async def test_create_get_update_delete(api):
    group = await api.create("customer-groups", {"groupName": "VIP", "key": "vip"})
    assert group["name"] == "VIP" and group["version"] == 1 and "groupName" not in group

    r = await api.post(
        "/customer-groups/key=vip",
        json={"version": 1, "actions": [{"action": "changeName", "name": "Gold"}, {"action": "setKey", "key": "gold"}]},
    )
    assert r.status_code == 200
    assert (r.json()["name"], r.json()["key"], r.json()["version"]) == ("Gold", "gold", 2)

    assert (await api.get("/customer-groups/key=vip")).status_code == 404
    assert (await api.get(f"/customer-groups/{group['id']}")).json()["key"] == "gold"

    r = await api.delete(f"/customer-groups/{group['id']}", params={"version": 2})
    assert r.status_code == 200 and r.json()["id"] == group["id"]
    assert (await api.get(f"/customer-groups/{group['id']}")).status_code == 404


async def test_group_name_and_key_are_unique(api):
    await api.create("customer-groups", {"groupName": "VIP", "key": "vip"})
    r = await api.post("/customer-groups", json={"groupName": "VIP"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "DuplicateField"
    r = await api.post("/customer-groups", json={"groupName": "Other", "key": "vip"})
    assert r.json()["errors"][0] == {**r.json()["errors"][0], "code": "DuplicateField", "field": "key"}


async def test_custom_type_and_fields(api):
    await api.create("types", {"key": "group-extras", "name": {"en": "x"}, "resourceTypeIds": ["customer-group"]})
    group = await api.create("customer-groups", {"groupName": "B2B"})
    r = await api.post(
        f"/customer-groups/{group['id']}",
        json={
            "version": 1,
            "actions": [
                {"action": "setCustomType", "type": {"key": "group-extras"}, "fields": {"tier": "gold"}},
                {"action": "setCustomField", "name": "discount", "value": 10},
                {"action": "setCustomField", "name": "tier"},
            ],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["custom"]["fields"] == {"discount": 10}
    r = await api.post(
        f"/customer-groups/{group['id']}",
        json={"version": 2, "actions": [{"action": "setCustomType", "type": {"key": "missing-type"}}]},
    )
    assert r.json()["errors"][0]["code"] == "ReferencedResourceNotFound"


async def test_stale_version_and_atomic_update(api):
    group = await api.create("customer-groups", {"groupName": "A"})
    await api.create("customer-groups", {"groupName": "B"})
    r = await api.post(f"/customer-groups/{group['id']}", json={"version": 7, "actions": []})
    assert r.status_code == 409 and r.json()["errors"][0]["currentVersion"] == 1
    # the second action fails, so the first must not be applied either
    r = await api.post(
        f"/customer-groups/{group['id']}",
        json={"version": 1, "actions": [{"action": "setKey", "key": "new-key"}, {"action": "changeName", "name": "B"}]},
    )
    assert r.status_code == 400
    again = (await api.get(f"/customer-groups/{group['id']}")).json()
    assert again["version"] == 1 and "key" not in again


async def test_unknown_action_and_bad_shapes(api):
    group = await api.create("customer-groups", {"groupName": "A"})
    r = await api.post(f"/customer-groups/{group['id']}", json={"version": 1, "actions": [{"action": "chngeName"}]})
    err = r.json()["errors"][0]
    assert err["code"] == "InvalidJsonInput" and "changeName" in err["detailedErrorMessage"]
    r = await api.post("/customer-groups", json={"key": "x1"})
    assert "groupName" in r.json()["errors"][0]["detailedErrorMessage"]
    r = await api.post("/customer-groups", content=b"{not json")
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidJsonInput"
    r = await api.delete(f"/customer-groups/{group['id']}")
    assert r.status_code == 400


async def test_auth_and_scopes(api):
    r = await api.get("/customer-groups", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "invalid_token"
    view = (
        await api.http.post(
            "/oauth/token", data={"grant_type": "client_credentials", "scope": "view_customers:test"}, auth=("c", "s")
        )
    ).json()
    headers = {"Authorization": f"Bearer {view['access_token']}"}
    assert view["scope"] == "view_customers:test"
    assert (await api.get("/customer-groups", headers=headers)).status_code == 200
    r = await api.post("/customer-groups", json={"groupName": "x"}, headers=headers)
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "insufficient_scope"
    # a token for one project does not open another
    r = await api.http.get("/other/customer-groups", headers=headers)
    assert r.status_code == 403


async def test_encoded_slash_stays_in_one_segment(api):
    r = await api.get("/customer-groups/key=a%2Fb")
    assert r.status_code == 404 and "a/b" in r.json()["message"]

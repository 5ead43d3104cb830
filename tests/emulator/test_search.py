"""Customer and Business Unit Search on the emulator: the query language, relevance, sorting, paging, limits,
the index lifecycle (SearchNotReady, indexing status) and the index kept in step with every write."""

from __future__ import annotations

import pytest

from commercetools_customers_mcp.emulator import ApiClient, Settings

PEOPLE = [
    # key, email, first, last, company, city, date of birth, verified
    ("p-anna", "Anna.Schmidt@example.com", "Anna", "Schmidt", "Acme GmbH", "Berlin", "1980-04-01", True),
    ("p-john", "john.smith@example.org", "John", "Smith", "Globex", "London", "1975-09-12", False),
    ("p-joan", "joan.smythe@example.org", "Joan", "Smythe", "Initech", "Leeds", "1990-01-30", False),
    ("p-jon", "jon.schmitt@example.net", "Jon", "Schmitt", "Acme Corp", "Munich", "2001-12-24", True),
]


async def token(client, scope: str = "manage_project:test") -> str:
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": scope}, auth=("c", "s"))
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def activate(api, name: str = "customers", status: str = "Activated") -> dict:
    action = "changeCustomerSearchStatus" if name == "customers" else "changeBusinessUnitSearchStatus"
    project = (await api.get("/")).json()
    r = await api.post("/", json={"version": project["version"], "actions": [{"action": action, "status": status}]})
    assert r.status_code == 200, r.text
    return r.json()


async def search(api, query=None, endpoint: str = "customers", **extra) -> dict:
    body = {**({"query": query} if query is not None else {}), **extra}
    r = await api.post(f"/{endpoint}/search", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def keys(api, query=None, **extra) -> list[str]:
    """The keys of the customers found, in result order."""
    found = await search(api, query, **extra)
    by_id = {}
    for result in found["results"]:
        by_id[result["id"]] = (await api.get(f"/customers/{result['id']}")).json()["key"]
    return [by_id[r["id"]] for r in found["results"]]


async def error(api, body: dict, endpoint: str = "customers") -> dict:
    r = await api.post(f"/{endpoint}/search", json=body)
    assert r.status_code == 400, r.text
    return r.json()["errors"][0]


@pytest.fixture
async def people(api):
    await api.create("customer-groups", {"groupName": "VIP", "key": "vip"})
    await activate(api)
    for key, email, first, last, company, city, born, verified in PEOPLE:
        draft = {
            "key": key,
            "email": email,
            "password": "secret",
            "firstName": first,
            "lastName": last,
            "companyName": company,
            "dateOfBirth": born,
            "isEmailVerified": verified,
            "addresses": [{"country": "DE", "city": city}],
        }
        if key == "p-anna":
            draft["customerGroup"] = {"key": "vip"}
        await api.create("customers", draft)
    return api


async def test_search_is_off_until_activated_and_reports_its_status(api):
    project = (await api.get("/")).json()
    assert project["searchIndexing"]["customers"]["status"] == "Deactivated"
    assert project["searchIndexing"]["businessUnits"]["status"] == "Deactivated"
    r = await api.post("/customers/search", json={})
    assert r.status_code == 409 and r.json()["errors"][0]["code"] == "SearchNotReady"
    assert (await api.head("/customers/search")).status_code == 409
    assert (await api.get("/customers/search/indexing-status")).status_code == 404

    project = await activate(api)
    assert project["searchIndexing"]["customers"]["status"] == "Activated" and project["version"] == 2
    assert (await api.head("/customers/search")).status_code == 200
    status = (await api.get("/customers/search/indexing-status")).json()
    assert status["status"] == "Ready" and "startedAt" in status
    # business unit search is separate
    assert (await api.post("/business-units/search", json={})).status_code == 409

    project = await activate(api, status="Deactivated")
    assert project["searchIndexing"]["customers"]["status"] == "Deactivated" and project["version"] == 3
    assert (await api.post("/customers/search", json={})).status_code == 409


async def test_indexing_delay_is_observable(api):
    await api.create("customers", {"email": "a@x.com", "password": "p"})
    api.emulator.settings = Settings(indexing_delay_seconds=60)
    project = await activate(api)
    assert project["searchIndexing"]["customers"]["status"] == "Indexing"
    r = await api.post("/customers/search", json={})
    assert r.status_code == 409 and r.json()["errors"][0]["code"] == "SearchNotReady"
    status = (await api.get("/customers/search/indexing-status")).json()
    assert status["status"] == "Indexing" and status["states"]["estimatedTotal"] == 1
    api.clock.advance(seconds=61)
    assert (await api.get("/")).json()["searchIndexing"]["customers"]["status"] == "Activated"
    assert (await search(api))["total"] == 1


async def later(api, days: int) -> None:
    """Move the clock on; access tokens live 48 h, so take a fresh one."""
    api.clock.advance(days=days)
    api.http.headers["Authorization"] = f"Bearer {await token(api.http)}"


async def test_search_deactivates_after_30_idle_days(api):
    await activate(api)
    await later(api, 20)
    await search(api)  # a call resets the idle timer
    await later(api, 20)
    assert (await search(api))["total"] == 0
    await later(api, 31)
    r = await api.post("/customers/search", json={})
    assert r.status_code == 409 and r.json()["errors"][0]["code"] == "SearchNotReady"
    assert (await api.get("/")).json()["searchIndexing"]["customers"]["status"] == "Deactivated"
    await activate(api)
    assert (await search(api))["total"] == 0


async def test_project_update_checks_version_action_and_scope(api):
    r = await api.post(
        "/", json={"version": 9, "actions": [{"action": "changeCustomerSearchStatus", "status": "Activated"}]}
    )
    assert r.status_code == 409 and r.json()["errors"][0]["currentVersion"] == 1
    r = await api.post("/", json={"version": 1, "actions": [{"action": "changeNom", "name": "x"}]})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidJsonInput"
    r = await api.post("/", json={"version": 1, "actions": [{"action": "changeCustomerSearchStatus", "status": "On"}]})
    assert r.status_code == 400
    await activate(api)
    await activate(api)  # already active: nothing changes
    assert (await api.get("/")).json()["version"] == 2

    view = await token(api.http, f"view_customers:{api.project}")
    r = await api.get("/customers/search/indexing-status", headers={"Authorization": f"Bearer {view}"})
    assert r.status_code == 403
    r = await api.post("/", json={"version": 2, "actions": []}, headers={"Authorization": f"Bearer {view}"})
    assert r.status_code == 403
    assert (
        await api.post("/customers/search", json={}, headers={"Authorization": f"Bearer {view}"})
    ).status_code == 200


async def test_exact_prefix_and_wildcard(people):
    api = people
    assert await keys(api, {"exact": {"field": "firstName", "value": "Anna"}}) == ["p-anna"]
    assert await keys(api, {"exact": {"field": "firstName", "value": "anna"}}) == []
    assert await keys(api, {"exact": {"field": "firstName", "value": "anna", "caseInsensitive": True}}) == ["p-anna"]
    found = await keys(api, {"exact": {"field": "lastName", "values": ["Smith", "Smythe", "Nobody"]}})
    assert sorted(found) == ["p-joan", "p-john"]
    assert await keys(api, {"exact": {"field": "isEmailVerified", "value": True}}, sort=[_asc("key")]) == [
        "p-anna",
        "p-jon",
    ]
    assert await keys(api, {"exact": {"field": "addresses.city", "value": "Leeds"}}) == ["p-joan"]
    assert await keys(api, {"exact": {"field": "key", "value": "p-jon"}}) == ["p-jon"]

    assert sorted(await keys(api, {"prefix": {"field": "lastName", "value": "Sm"}})) == ["p-joan", "p-john"]
    assert await keys(api, {"prefix": {"field": "email", "value": "anna."}}) == []
    assert await keys(api, {"prefix": {"field": "email", "value": "anna.", "caseInsensitive": True}}) == ["p-anna"]

    assert sorted(await keys(api, {"wildcard": {"field": "email", "value": "*@example.org"}})) == ["p-joan", "p-john"]
    assert await keys(api, {"wildcard": {"field": "firstName", "value": "J?n"}}) == ["p-jon"]
    assert await keys(api, {"wildcard": {"field": "firstName", "value": "j*hN", "caseInsensitive": True}}) == ["p-john"]


def _asc(field: str, **extra) -> dict:
    return {"field": field, "order": "asc", **extra}


async def test_full_text_prefix_and_fuzzy(people):
    api = people
    assert await keys(api, {"fullText": {"field": "companyName", "value": "acme"}}, sort=[_asc("key")]) == [
        "p-anna",
        "p-jon",
    ]
    assert await keys(api, {"fullText": {"field": "companyName", "value": "acme corp"}}) == ["p-jon"]
    found = await keys(api, {"fullText": {"field": "companyName", "value": "acme globex", "mustMatch": "any"}})
    assert sorted(found) == ["p-anna", "p-john", "p-jon"]
    # `all` covers every text field, emails tokenized into words
    assert await keys(api, {"fullText": {"field": "all", "value": "london smith"}}) == ["p-john"]
    assert sorted(await keys(api, {"fullText": {"field": "all", "value": "org"}})) == ["p-joan", "p-john"]
    assert await keys(api, {"fullTextPrefix": {"field": "all", "value": "munich schm"}}) == ["p-jon"]
    assert await keys(api, {"fullTextPrefix": {"field": "lastName", "value": "smy"}}) == ["p-joan"]

    # fuzzy: Smiht is one transposition (2 edits) from Smith; the level is capped by term length
    assert await keys(api, {"fuzzy": {"field": "lastName", "value": "smiht", "level": 2}}) == []  # 5 chars: max 1
    assert await keys(api, {"fuzzy": {"field": "lastName", "value": "smitj", "level": 2}}) == ["p-john"]
    assert sorted(await keys(api, {"fuzzy": {"field": "firstName", "value": "joh", "level": 1}})) == [
        "p-john",
        "p-jon",
    ]
    assert await keys(api, {"fuzzy": {"field": "firstName", "value": "jo", "level": 2}}) == []  # 2 chars: exact
    found = await keys(api, {"fuzzy": {"field": "lastName", "value": "schmidd", "level": 2}}, sort=[_asc("key")])
    assert found == ["p-anna", "p-jon"]  # schmidt (1 edit), schmitt (2 edits)


async def test_range_exists_and_dates(people):
    api = people
    found = await keys(api, {"range": {"field": "dateOfBirth", "gte": "1980-01-01", "lt": "2000-01-01"}})
    assert sorted(found) == ["p-anna", "p-joan"]
    assert await keys(api, {"range": {"field": "dateOfBirth", "gt": "2000-01-01"}}) == ["p-jon"]
    assert len(await keys(api, {"range": {"field": "createdAt", "lte": "2999-01-01T00:00:00.000Z"}})) == 4
    assert await keys(api, {"exists": {"field": "customerGroup.id"}}) == ["p-anna"]
    assert len(await keys(api, {"exists": {"field": "addresses.city"}})) == 4
    err = await error(api, {"query": {"range": {"field": "dateOfBirth"}}})
    assert err["code"] == "InvalidInput"


async def test_compounds_boost_and_relevance(people):
    api = people
    query = {
        "and": [
            {"prefix": {"field": "firstName", "value": "J"}},
            {"not": [{"exact": {"field": "lastName", "value": "Smith"}}]},
        ]
    }
    assert sorted(await keys(api, query)) == ["p-joan", "p-jon"]
    boosted = {
        "or": [
            {"exact": {"field": "firstName", "value": "Joan", "boost": 5}},
            {"prefix": {"field": "firstName", "value": "Jo"}},
        ]
    }
    found = await search(api, boosted)
    assert found["results"][0]["relevance"] == 6.0 and found["results"][1]["relevance"] == 1.0
    assert (await keys(api, boosted))[0] == "p-joan"
    # filter narrows without scoring
    found = await search(api, {"filter": [{"exact": {"field": "firstName", "value": "Anna"}}]})
    assert found["total"] == 1 and found["results"][0]["relevance"] == 0.0
    mixed = {
        "and": [
            {"fullText": {"field": "all", "value": "acme"}},
            {"filter": [{"exact": {"field": "isEmailVerified", "value": True}}]},
        ]
    }
    found = await search(api, mixed)
    assert found["total"] == 2 and all(r["relevance"] > 0 for r in found["results"])
    # a full-text match on more fields ranks higher; boost multiplies
    found = await keys(
        api,
        {
            "or": [
                {"fullText": {"field": "all", "value": "acme"}},
                {"fullText": {"field": "all", "value": "munich", "boost": 3}},
            ]
        },
    )
    assert found == ["p-jon", "p-anna"]


async def test_sort_paging_and_total(people):
    api = people
    assert await keys(api, sort=[_asc("lastName")]) == ["p-anna", "p-jon", "p-john", "p-joan"]
    assert await keys(api, sort=[{"field": "dateOfBirth", "order": "desc"}]) == ["p-jon", "p-joan", "p-anna", "p-john"]
    assert await keys(api, sort=[_asc("customerGroup.id"), _asc("key")]) == ["p-anna", "p-joan", "p-john", "p-jon"]
    by_score = {"or": [{"exact": {"field": "key", "value": "p-jon", "boost": 2}}, {"exists": {"field": "key"}}]}
    assert (await keys(api, by_score, sort=[{"field": "score", "order": "asc"}]))[-1] == "p-jon"
    page = await search(api, sort=[_asc("key")], limit=3, offset=2)
    assert page["total"] == 4 and page["limit"] == 3 and page["offset"] == 2 and len(page["results"]) == 2
    empty = await search(api, limit=2, offset=50)
    assert empty["total"] == 4 and empty["results"] == []
    default = await search(api)
    assert default["limit"] == 20 and default["offset"] == 0
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": 9901}, {"offset": -1}):
        assert (await error(api, bad))["code"] == "InvalidInput"


async def test_limits_and_unknown_fields(people):
    api = people
    many = {"or": [{"exact": {"field": "key", "value": f"k{i}"}} for i in range(51)]}
    assert "50" in (await error(api, {"query": many}))["message"]
    fifty = {"or": [{"exact": {"field": "key", "value": f"k{i}"}} for i in range(50)]}
    assert (await search(api, fifty))["total"] == 0
    err = await error(api, {"query": {"exact": {"field": "firstName", "value": "x" * 257}}})
    assert err["code"] == "InvalidInput" and "256" in err["message"]
    assert (await search(api, {"exact": {"field": "firstName", "value": "x" * 256}}))["total"] == 0
    err = await error(api, {"query": {"exact": {"field": "password", "value": "x"}}})
    assert err["code"] == "InvalidInput" and "'password'" in err["message"]
    err = await error(api, {"query": {"exact": {"field": "firstName", "value": "x"}}, "sort": [_asc("nope")]})
    assert "'nope'" in err["message"]
    err = await error(api, {"query": {"exact": {"value": "x"}}})
    assert err["code"] == "InvalidJsonInput"
    err = await error(api, {"query": {"matches": {"field": "key", "value": "x"}}})
    assert err["code"] == "InvalidJsonInput"
    assert (await error(api, {"query": {"exact": {"field": "key", "value": None}}}))["code"] == "InvalidInput"
    err = await error(api, {"query": {"exact": {"field": "custom.tier", "value": "gold"}}})
    assert "fieldType" in err["message"]


async def test_custom_fields(people):
    api = people
    await api.create("types", {"key": "extras", "name": {"en": "x"}, "resourceTypeIds": ["customer"]})
    customer = (await api.get("/customers/key=p-john")).json()
    r = await api.post(
        f"/customers/{customer['id']}",
        json={
            "version": customer["version"],
            "actions": [
                {"action": "setCustomType", "type": {"key": "extras"}, "fields": {"tier": "gold", "points": 120}},
                {"action": "setCustomField", "name": "bio", "value": {"en": "Loves tea"}},
            ],
        },
    )
    assert r.status_code == 200, r.text
    assert await keys(api, {"exact": {"field": "custom.tier", "value": "gold", "fieldType": "text"}}) == ["p-john"]
    assert await keys(api, {"range": {"field": "custom.points", "gt": 100, "fieldType": "number"}}) == ["p-john"]
    assert await keys(api, {"range": {"field": "custom.points", "gt": 200, "fieldType": "number"}}) == []
    ltext = {"fullText": {"field": "custom.bio", "value": "tea", "language": "en", "fieldType": "ltext"}}
    assert await keys(api, ltext) == ["p-john"]
    by_points = [{"field": "custom.points", "order": "desc", "fieldType": "number"}]
    assert (await keys(api, sort=by_points))[0] == "p-john"


async def test_index_follows_create_update_delete(people):
    api = people
    customer = (await api.get("/customers/key=p-anna")).json()
    r = await api.post(
        f"/customers/{customer['id']}",
        json={"version": customer["version"], "actions": [{"action": "changeEmail", "email": "anna@new-mail.io"}]},
    )
    assert r.status_code == 200, r.text
    assert await keys(api, {"exact": {"field": "email", "value": "anna@new-mail.io"}}) == ["p-anna"]
    assert await keys(api, {"exact": {"field": "email", "value": "Anna.Schmidt@example.com"}}) == []
    assert await keys(api, {"fullText": {"field": "all", "value": "mail"}}) == ["p-anna"]
    assert await keys(api, {"exact": {"field": "isEmailVerified", "value": True}}) == ["p-jon"]

    await api.create("customers", {"email": "zed@example.org", "password": "p", "key": "p-zed", "firstName": "Zed"})
    assert await keys(api, {"exact": {"field": "firstName", "value": "Zed"}}) == ["p-zed"]
    zed = (await api.get("/customers/key=p-zed")).json()
    assert (await api.delete(f"/customers/{zed['id']}", params={"version": zed["version"]})).status_code == 200
    assert await keys(api, {"exact": {"field": "firstName", "value": "Zed"}}) == []
    assert (await search(api))["total"] == 4


async def test_activation_indexes_existing_data_and_other_projects_stay_apart(api):
    await api.create("customers", {"email": "early@example.com", "password": "p", "firstName": "Early"})
    for table in ("search_fields", "search_text"):  # as if written before the index existed
        api.emulator.store.conn.execute(f"DELETE FROM {table}")
    await activate(api)
    assert (await search(api, {"exact": {"field": "firstName", "value": "Early"}}))["total"] == 1
    api.project = "other"  # a client that holds both projects (the fixture's open client holds "test" only)
    api.emulator.clients["both"] = ApiClient("s", ("manage_project:test", "manage_project:other"))
    form = {"grant_type": "client_credentials", "scope": "manage_project:other"}
    r = await api.http.post("/oauth/token", data=form, auth=("both", "s"))
    api.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    await activate(api)
    assert (await search(api))["total"] == 0


async def test_business_unit_search(api):
    await activate(api, "businessUnits")
    company = await api.create(
        "business-units",
        {"key": "acme", "name": "Acme Holding", "unitType": "Company", "contactEmail": "info@acme.com"},
    )
    await api.create(
        "business-units",
        {
            "key": "acme-east",
            "name": "Acme East",
            "unitType": "Division",
            "parentUnit": {"key": "acme"},
            "addresses": [{"country": "US", "city": "Boston"}],
        },
    )
    await api.create("business-units", {"key": "other", "name": "Other Inc", "unitType": "Company"})

    async def bu(query, **extra) -> list[str]:
        found = await search(api, query, "business-units", **extra)
        return [(await api.get(f"/business-units/{r['id']}")).json()["key"] for r in found["results"]]

    assert await bu({"exact": {"field": "topLevelUnit.key", "value": "acme"}}, sort=[_asc("key")]) == [
        "acme",
        "acme-east",
    ]
    assert await bu({"exact": {"field": "parentUnit.key", "value": "acme"}}) == ["acme-east"]
    assert await bu({"exact": {"field": "unitType", "value": "Company"}}, sort=[_asc("name")]) == ["acme", "other"]
    assert await bu({"fullText": {"field": "all", "value": "boston"}}) == ["acme-east"]
    assert await bu({"prefix": {"field": "contactEmail", "value": "info@"}}) == ["acme"]
    assert await bu({"exact": {"field": "status", "value": "Active"}}, sort=[_asc("key")]) == [
        "acme",
        "acme-east",
        "other",
    ]
    assert await bu({"exact": {"field": "id", "value": company["id"]}}) == ["acme"]
    err = await error(api, {"query": {"exact": {"field": "email", "value": "x"}}}, "business-units")
    assert "'email'" in err["message"]


async def test_activation_indexes_what_was_written_while_search_was_off(api):
    await api.create("customers", {"key": "early", "email": "early@example.com", "password": "x"})
    await activate(api)
    assert await keys(api, {"exact": {"field": "email", "value": "early@example.com"}}) == ["early"]
    # switched off, the index is dropped; changes made meanwhile are found after reactivation
    await activate(api, status="Deactivated")
    customer = (await api.get("/customers/key=early")).json()
    r = await api.post(
        f"/customers/{customer['id']}",
        json={"version": customer["version"], "actions": [{"action": "changeEmail", "email": "later@example.com"}]},
    )
    assert r.status_code == 200
    await activate(api)
    assert await keys(api, {"exact": {"field": "email", "value": "later@example.com"}}) == ["early"]
    assert await keys(api, {"exact": {"field": "email", "value": "early@example.com"}}) == []

"""Account flows on the emulator: email verification, password reset and change, sign-in, token lifetimes."""

from __future__ import annotations

import hashlib

import pytest


async def customer(api, email: str = "Mia.Meyer@Example.com", password: str = "old-secret") -> dict:
    return await api.create("customers", {"email": email, "password": password, "firstName": "Mia"})


async def login(api, email: str, password: str):
    return await api.post("/login", json={"email": email, "password": password})


async def email_token(api, who: dict, **extra) -> dict:
    r = await api.post("/customers/email-token", json={"id": who["id"], "ttlMinutes": 60, **extra})
    assert r.status_code == 200, r.text
    return r.json()


async def password_token(api, email: str, **extra) -> dict:
    r = await api.post("/customers/password-token", json={"email": email, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def code(r) -> str:
    return r.json()["errors"][0]["code"]


async def test_email_verification(api):
    mia = await customer(api)
    token = await email_token(api, mia)
    assert set(token) >= {"id", "customerId", "value", "expiresAt", "invalidateOlderTokens", "createdAt"}
    assert token["customerId"] == mia["id"] and token["invalidateOlderTokens"] is False and len(token["value"]) > 30

    r = await api.get(f"/customers/email-token={token['value']}")
    assert r.status_code == 200 and r.json()["id"] == mia["id"]
    other = await email_token(api, mia)

    r = await api.post("/customers/email/confirm", json={"tokenValue": token["value"], "version": 9})
    assert r.status_code == 409 and r.json()["errors"][0]["currentVersion"] == 1
    r = await api.post("/customers/email/confirm", json={"tokenValue": token["value"], "version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["isEmailVerified"] is True and r.json()["version"] == 2

    # used up, and the other (earlier-issued) email token is gone too
    for value in (token["value"], other["value"]):
        r = await api.post("/customers/email/confirm", json={"tokenValue": value})
        assert r.status_code == 404 and code(r) == "ResourceNotFound"
        assert (await api.get(f"/customers/email-token={value}")).status_code == 404


async def test_email_token_expiry_invalidation_and_errors(api):
    mia = await customer(api)
    first = await email_token(api, mia)
    second = await email_token(api, mia, invalidateOlderTokens=True)
    assert second["invalidateOlderTokens"] is True
    assert (await api.get(f"/customers/email-token={first['value']}")).status_code == 404
    assert (await api.get(f"/customers/email-token={second['value']}")).status_code == 200

    api.clock.advance(minutes=61)
    r = await api.get(f"/customers/email-token={second['value']}")
    assert r.status_code == 400 and code(r) == "ExpiredCustomerEmailToken"
    r = await api.post("/customers/email/confirm", json={"tokenValue": second["value"]})
    assert r.status_code == 400 and code(r) == "ExpiredCustomerEmailToken"

    r = await api.post("/customers/email-token", json={"id": mia["id"]})
    assert r.status_code == 400 and "ttlMinutes" in r.json()["errors"][0]["detailedErrorMessage"]
    r = await api.post("/customers/email-token", json={"id": mia["id"], "ttlMinutes": 5, "version": 4})
    assert r.status_code == 409
    r = await api.post("/customers/email-token", json={"id": "no-such-customer", "ttlMinutes": 5})
    assert r.status_code == 404
    assert (await api.get("/customers/email-token=not-a-token")).status_code == 404


async def test_password_reset(api):
    mia = await customer(api)
    grant = {"grant_type": "password", "username": "mia.meyer@example.com", "password": "old-secret"}
    r = await api.http.post(f"/oauth/{api.project}/customers/token", data=grant, auth=("c", "s"))
    assert r.status_code == 200, r.text
    customer_token = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await api.http.post("/oauth/introspect", data={"token": r.json()["access_token"]}, auth=("c", "s"))
    assert r.json()["active"] is True

    token = await password_token(api, "MIA.MEYER@example.COM")  # the email matches case-insensitively
    assert token["customerId"] == mia["id"]
    assert token["expiresAt"] > token["createdAt"]
    assert (await api.get(f"/customers/password-token={token['value']}")).json()["id"] == mia["id"]

    r = await api.post(
        "/customers/password/reset", json={"tokenValue": token["value"], "newPassword": "x", "version": 5}
    )
    assert r.status_code == 409
    r = await api.post("/customers/password/reset", json={"tokenValue": token["value"], "newPassword": "new-secret"})
    assert r.status_code == 200 and r.json()["version"] == 2

    assert (await login(api, "mia.meyer@example.com", "new-secret")).status_code == 200
    r = await login(api, "mia.meyer@example.com", "old-secret")
    assert r.status_code == 400 and code(r) == "InvalidCredentials"
    assert r.json()["message"] == "Account with the given credentials not found."
    # the password-flow access token no longer works
    r = await api.http.post("/oauth/introspect", data={"token": customer_token["Authorization"][7:]}, auth=("c", "s"))
    assert r.json()["active"] is False
    r = await api.http.get(f"/{api.project}/customers/{mia['id']}", headers=customer_token)
    assert r.status_code == 401
    # the token is used up
    r = await api.post("/customers/password/reset", json={"tokenValue": token["value"], "newPassword": "again"})
    assert r.status_code == 404


async def test_password_token_default_ttl_expiry_and_unknown_email(api):
    await customer(api)
    token = await password_token(api, "mia.meyer@example.com")
    older = await password_token(api, "mia.meyer@example.com")
    newest = await password_token(api, "mia.meyer@example.com", invalidateOlderTokens=True, ttlMinutes=10)
    assert (await api.get(f"/customers/password-token={token['value']}")).status_code == 404
    assert (await api.get(f"/customers/password-token={older['value']}")).status_code == 404
    api.clock.advance(minutes=11)
    r = await api.get(f"/customers/password-token={newest['value']}")
    assert r.status_code == 400 and code(r) == "ExpiredCustomerPasswordToken"
    r = await api.post("/customers/password/reset", json={"tokenValue": newest["value"], "newPassword": "n"})
    assert r.status_code == 400 and code(r) == "ExpiredCustomerPasswordToken"

    fresh = await password_token(api, "mia.meyer@example.com")  # default lifetime: 1440 minutes
    api.clock.advance(minutes=1439)
    assert (await api.get(f"/customers/password-token={fresh['value']}")).status_code == 200
    api.clock.advance(minutes=2)
    assert (await api.get(f"/customers/password-token={fresh['value']}")).status_code == 400

    # the answer does not tell whether the email exists: a token that looks the same, never stored (404 to redeem)
    r = await api.post("/customers/password-token", json={"email": "nobody@example.com"})
    assert r.status_code == 200 and set(r.json()) == set(fresh)
    assert (await api.get(f"/customers/password-token={r.json()['value']}")).status_code == 404


async def test_token_values_are_never_stored(api):
    mia = await customer(api)
    values = [(await email_token(api, mia))["value"], (await password_token(api, "mia.meyer@example.com"))["value"]]
    rows = api.emulator.store.conn.execute("SELECT doc FROM resources").fetchall()
    dump = "\n".join(doc for (doc,) in rows)
    for value in values:
        assert value not in dump
        assert hashlib.sha256(value.encode()).hexdigest() in dump


async def test_change_password(api):
    mia = await customer(api)
    body = {"id": mia["id"], "version": 1, "currentPassword": "wrong", "newPassword": "next"}
    r = await api.post("/customers/password", json=body)
    assert r.status_code == 400 and code(r) == "InvalidCurrentPassword"
    r = await api.post("/customers/password", json={**body, "currentPassword": "old-secret", "version": 3})
    assert r.status_code == 409 and r.json()["errors"][0]["currentVersion"] == 1
    r = await api.post("/customers/password", json={**body, "currentPassword": "old-secret"})
    assert r.status_code == 200 and r.json()["version"] == 2
    assert (await login(api, "mia.meyer@example.com", "next")).json()["customer"]["id"] == mia["id"]
    assert (await login(api, "mia.meyer@example.com", "old-secret")).status_code == 400
    r = await api.post("/customers/password", json={"id": mia["id"], "version": 2})
    assert r.status_code == 400 and code(r) == "InvalidJsonInput"


@pytest.mark.parametrize("email", ["nobody@example.com", "MIA.MEYER@EXAMPLE.COM"])
async def test_sign_in(api, email):
    await customer(api)
    r = await login(api, email, "old-secret")
    if email.startswith("nobody"):
        assert r.status_code == 400 and code(r) == "InvalidCredentials"
    else:
        assert r.status_code == 200 and r.json()["customer"]["email"] == "Mia.Meyer@Example.com"
    assert (await api.post("/login", json={"email": email})).status_code == 400

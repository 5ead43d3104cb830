"""Minimal carts on the emulator, and binding an anonymous cart to a Customer at sign-up."""

from __future__ import annotations


async def sign_up(api, **extra):
    return await api.post("/customers", json={"email": "new@example.com", "password": "p", **extra})


async def test_create_get_query_delete(api):
    cart = await api.create("carts", {"currency": "EUR", "anonymousId": "session-1", "key": "c1"})
    assert cart["cartState"] == "Active" and cart["lineItems"] == [] and cart["version"] == 1
    assert cart["anonymousId"] == "session-1" and "customerId" not in cart
    assert cart["totalPrice"] == {"type": "centPrecision", "currencyCode": "EUR", "centAmount": 0, "fractionDigits": 2}
    assert (await api.get(f"/carts/{cart['id']}")).json()["id"] == cart["id"]
    assert (await api.get("/carts/key=c1")).json()["id"] == cart["id"]
    assert (await api.get("/carts")).json()["total"] == 1
    assert (await api.delete(f"/carts/{cart['id']}", params={"version": 1})).status_code == 200
    assert (await api.get(f"/carts/{cart['id']}")).status_code == 404


async def test_create_errors(api):
    r = await api.post("/carts", json={"anonymousId": "x"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidJsonInput"
    r = await api.post("/carts", json={"currency": "euro"})
    assert r.status_code == 400
    r = await api.post("/carts", json={"currency": "EUR", "customerId": "missing"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "ReferencedResourceNotFound"
    owner = await api.create("customers", {"email": "o@example.com", "password": "p"})
    cart = await api.create("carts", {"currency": "JPY", "customerId": owner["id"]})
    assert cart["customerId"] == owner["id"] and cart["totalPrice"]["fractionDigits"] == 0


async def test_sign_up_binds_the_anonymous_cart(api):
    cart = await api.create("carts", {"currency": "EUR", "anonymousId": "session-1"})
    r = await sign_up(api, anonymousCart={"typeId": "cart", "id": cart["id"]}, anonymousId="session-1")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["cart"]["id"] == cart["id"] and body["cart"]["customerId"] == body["customer"]["id"]
    assert body["cart"]["version"] == 2
    stored = (await api.get(f"/carts/{cart['id']}")).json()
    assert stored["customerId"] == body["customer"]["id"] and stored["customerEmail"] == "new@example.com"


async def test_sign_up_by_anonymous_id_only(api):
    await api.create("carts", {"currency": "EUR", "anonymousId": "session-2"})
    latest = await api.create("carts", {"currency": "USD", "anonymousId": "session-2"})
    other = await api.create("carts", {"currency": "EUR", "anonymousId": "someone-else"})
    body = (await sign_up(api, anonymousId="session-2")).json()
    assert body["cart"]["id"] == latest["id"]
    carts = (await api.get("/carts", params={"where": f'customerId="{body["customer"]["id"]}"'})).json()
    assert carts["total"] == 2
    assert "customerId" not in (await api.get(f"/carts/{other['id']}")).json()
    # nothing to bind: no cart in the result
    assert "cart" not in (await api.post("/customers", json={"email": "b@example.com", "password": "p"})).json()


async def test_sign_up_cart_errors_roll_back(api):
    cart = await api.create("carts", {"currency": "EUR", "anonymousId": "session-1"})
    r = await sign_up(api, anonymousCart={"id": cart["id"]}, anonymousId="another-session")
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidOperation"
    r = await sign_up(api, anonymousCart={"typeId": "cart", "id": "no-such-cart"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "ReferencedResourceNotFound"
    # neither attempt created the customer nor touched the cart
    assert (await api.get("/customers")).json()["total"] == 0
    assert (await api.get(f"/carts/{cart['id']}")).json()["version"] == 1

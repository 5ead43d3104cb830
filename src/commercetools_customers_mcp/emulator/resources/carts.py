"""Carts, minimal: create, get, query and delete empty carts, and binding anonymous carts at customer sign-up.

There are no line items or update actions; carts exist so that ``POST /customers`` with ``anonymousCart`` and/or
``anonymousId`` can assign the anonymous cart to the new Customer and answer ``{customer, cart}``. A cart created
with an anonymous session's token (``POST /oauth/{projectKey}/anonymous/token``) gets its ``anonymousId``.
"""

from __future__ import annotations

import re

from .. import errors
from ..backend import Ctx, Doc, Emulator, Feature, Resource
from . import customers

TYPE_ID = "cart"
CURRENCY = re.compile(r"^[A-Z]{3}$")
ZERO_DECIMAL_CURRENCIES = {"JPY", "KRW", "CLP", "ISK", "VND"}
_COPIED = ("key", "anonymousId", "customerEmail", "country", "locale")


def create(ctx: Ctx, draft: Doc) -> Doc:
    currency = draft.get("currency")
    if not isinstance(currency, str) or not CURRENCY.match(currency):
        raise errors.invalid_json(f"currency: expected a three-letter ISO 4217 code, got '{currency}'")
    for name in _COPIED:
        if name in draft and not isinstance(draft[name], str):
            raise errors.invalid_json(f"{name}: expected a string")
    fields: Doc = {name: draft[name] for name in _COPIED if draft.get(name) is not None}
    if ctx.anonymous_id is not None:  # created in an anonymous session: the cart is that session's
        fields.setdefault("anonymousId", ctx.anonymous_id)
    if draft.get("customerId") is not None:
        fields["customerId"] = ctx.resolve(customers.TYPE_ID, {"id": draft["customerId"]}, "customerId")["id"]
    return ctx.new_doc(
        {
            **fields,
            "cartState": "Active",
            "lineItems": [],
            "customLineItems": [],
            "totalPrice": {
                "type": "centPrecision",
                "currencyCode": currency,
                "centAmount": 0,
                "fractionDigits": 0 if currency in ZERO_DECIMAL_CURRENCIES else 2,
            },
            "taxMode": draft.get("taxMode", "Platform"),
            "taxRoundingMode": "HalfEven",
            "taxCalculationMode": "LineItemLevel",
            "inventoryMode": draft.get("inventoryMode", "None"),
            "priceRoundingMode": "HalfEven",
            "shippingMode": "Single",
            "shipping": [],
            "discountCodes": [],
            "directDiscounts": [],
            "refusedGifts": [],
            "itemShippingAddresses": [],
            "origin": draft.get("origin", "Customer"),
        }
    )


def bind_anonymous_cart(ctx: Ctx, draft: Doc, customer: Doc) -> Doc | None:
    """Sign-up hook: the draft's anonymous cart (by identifier and/or ``anonymousId``) → the customer's.

    Given both, they must name the same cart (InvalidOperation otherwise). Given only ``anonymousId``, every
    active cart of that session is assigned and the most recently modified one is returned.
    """
    ident = draft.get("anonymousCart")
    if ident is None and draft.get("anonymousCartId") is not None:  # deprecated form
        ident = {"id": draft["anonymousCartId"]}
    anonymous_id = draft.get("anonymousId")
    if ident is None and anonymous_id is None:
        return None
    if ident is not None:
        cart = ctx.resolve(TYPE_ID, ident, "anonymousCart")
        if anonymous_id is not None and cart.get("anonymousId") != anonymous_id:
            raise errors.invalid_operation(
                f"The anonymousCart '{cart['id']}' does not belong to the anonymous session '{anonymous_id}'."
            )
        carts = [cart]
    else:
        where = "json_extract(doc, '$.anonymousId') = ? AND json_extract(doc, '$.cartState') = 'Active'"
        carts = ctx.store.find(
            ctx.project, TYPE_ID, where, [anonymous_id], order="json_extract(doc, '$.lastModifiedAt')"
        )
    bound = None
    for cart in carts:
        bound = ctx.bump(cart, {**cart, "customerId": customer["id"]})
        bound.setdefault("customerEmail", customer["email"])
        ctx.replace(TYPE_ID, cart, bound, cause="bindCart")
    return ctx.render(TYPE_ID, bound) if bound is not None else None


def install(emulator: Emulator) -> None:
    emulator.signup_hooks.append(bind_anonymous_cart)


RESOURCE = Resource(
    type_id=TYPE_ID,
    endpoint="carts",
    view_scopes=("view_orders",),
    manage_scopes=("manage_orders",),
    create=create,
)

FEATURE = Feature("carts", resources=(RESOURCE,), install=install)

"""Customers: email rules (case-insensitive, global vs per-Store), passwords stored hashed, customer
number set once, a locale among the project's languages, group references and assignments, Store key
references and the 34 update actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .. import addresses, errors, oauth, passwords
from ..assignments import group_assignment_actions, group_assignments, group_ref, store_refs
from ..backend import Ctx, Doc, Feature, Handler, Req, Resource
from ..clock import iso
from ..expansion import expand
from ..setters import custom_fields_from_draft, set_custom_field, set_custom_type, setter
from ..setters import set_or_unset as _set
from . import customer_groups, projects, references

TYPE_ID = "customer"
MAX_CUSTOMERS = 10_000_000  # per project (docs: Customers, Limits): one more is MaxResourceLimitExceeded
INTERNAL = ("lowercaseEmail",)  # stored for uniqueness checks and `where`, never rendered
_COPIED = (
    "key",
    "customerNumber",
    "externalId",
    "firstName",
    "lastName",
    "middleName",
    "title",
    "salutation",
    "companyName",
    "vatId",
    "dateOfBirth",
    "locale",
)


# ---------------------------------------------------------------- rules


def _ensure_unique_email(ctx: Ctx, doc: Doc) -> None:
    """Global emails are unique in the project, Store emails per Store; a global email blocks every Store."""
    mine = {s["key"] for s in doc.get("stores", [])}
    for other in ctx.store.find(
        ctx.project, TYPE_ID, "json_extract(doc, '$.lowercaseEmail') = ?", [doc["lowercaseEmail"]]
    ):
        theirs = {s["key"] for s in other.get("stores", [])}
        if other["id"] != doc["id"] and (not mine or not theirs or mine & theirs):
            raise errors.duplicate_email(doc["email"])


def _ensure_unique_number(ctx: Ctx, doc: Doc) -> None:
    number = doc.get("customerNumber")
    if number is None:
        return
    for other in ctx.store.find(ctx.project, TYPE_ID, "json_extract(doc, '$.customerNumber') = ?", [number]):
        if other["id"] != doc["id"]:
            raise errors.duplicate_field("customerNumber", number)


def _required_password(ctx: Ctx, password: str | None) -> str:
    if password is None:
        raise errors.required_field("password")
    return passwords.hash_password(ctx, password)


async def _prepare_passwords(ctx: Ctx, req: Req) -> None:
    """Hash, in a worker thread, every password a create or update body carries (draft ``password``,
    ``setAuthenticationMode`` actions); the handler then finds the hashes ready."""
    body = req.body if isinstance(req.body, dict) else {}
    found = [body.get("password")]
    actions = body.get("actions")
    for action in actions if isinstance(actions, list) else ():
        if isinstance(action, dict) and action.get("action") == "setAuthenticationMode":
            found.append(action.get("password"))
    await passwords.prepare(ctx, hash=[p for p in found if isinstance(p, str)])


# ---------------------------------------------------------------- create and render


def build(ctx: Ctx, draft: Doc, password_hash: str | None) -> Doc:
    """A new Customer document from a validated draft; ``password_hash`` is kept only in Password mode."""
    mode = draft.get("authenticationMode") or "Password"
    email = draft["email"]
    doc = ctx.new_doc({"email": email, "lowercaseEmail": email.lower()})
    doc.update({name: draft[name] for name in _COPIED if draft.get(name) is not None})
    if mode == "Password":
        doc["password"] = password_hash
    doc.update(addresses.from_draft(ctx, draft))
    doc["isEmailVerified"] = draft.get("isEmailVerified", False)
    if draft.get("customerGroup") is not None:
        doc["customerGroup"] = group_ref(ctx, draft["customerGroup"], "customerGroup")
    doc["customerGroupAssignments"] = group_assignments(
        ctx, draft.get("customerGroupAssignments") or [], "customerGroupAssignments"
    )
    if draft.get("custom") is not None:
        doc["custom"] = custom_fields_from_draft(ctx, draft["custom"])
    doc["stores"] = store_refs(ctx, draft.get("stores") or [])
    doc["authenticationMode"] = mode
    _ensure_unique_email(ctx, doc)
    _ensure_unique_number(ctx, doc)
    return doc


def _check_locale(ctx: Ctx, locale: str | None) -> None:
    """A Customer's locale "must be one of the languages supported by the Project" (RAML): InvalidField naming
    them otherwise."""
    if locale is None:
        return
    supported = projects.languages(ctx)
    if locale not in supported:
        raise errors.invalid_field("locale", locale, supported)


def create(ctx: Ctx, draft: Doc) -> Doc:
    _check_locale(ctx, draft.get("locale"))
    password = None
    if (draft.get("authenticationMode") or "Password") == "Password":
        password = _required_password(ctx, draft.get("password"))
    return build(ctx, draft, password)


def render(ctx: Ctx, doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if k not in INTERNAL}


def create_response(ctx: Ctx, doc: Doc, req: Req) -> tuple[int, Any]:
    """CustomerSignInResult: ``{customer, cart?}``; expansion paths are rooted at it (``customer.…``)."""
    body: Doc = {"customer": render(ctx, doc)}
    for hook in ctx.emulator.signup_hooks:
        cart = hook(ctx, req.body, doc)
        if cart is not None:
            body["cart"] = cart
            break
    return 201, expand(ctx, body, req.query.getlist("expand"))


def _revoke_tokens(ctx: Ctx, doc: Doc, req: Req) -> None:
    oauth.revoke_customer_tokens(ctx, doc["id"])


# ---------------------------------------------------------------- update actions


def _change_email(ctx: Ctx, doc: Doc, action: Doc) -> None:
    doc["email"], doc["lowercaseEmail"] = action["email"], action["email"].lower()
    doc["isEmailVerified"] = False
    _ensure_unique_email(ctx, doc)


def _set_locale(ctx: Ctx, doc: Doc, action: Doc) -> None:
    _check_locale(ctx, action.get("locale"))
    _set(doc, "locale", action.get("locale"))


def _set_customer_number(ctx: Ctx, doc: Doc, action: Doc) -> None:
    if doc.get("customerNumber") is not None:
        raise errors.invalid_operation("The customerNumber is already set and cannot be changed.")
    _set(doc, "customerNumber", action.get("customerNumber"))
    _ensure_unique_number(ctx, doc)


def _set_customer_group(ctx: Ctx, doc: Doc, action: Doc) -> None:
    ident = action.get("customerGroup")
    _set(doc, "customerGroup", None if ident is None else group_ref(ctx, ident, "customerGroup"))


def _set_store_list(ctx: Ctx, doc: Doc, stores: list[Doc]) -> None:
    doc["stores"] = stores
    _ensure_unique_email(ctx, doc)


def _add_store(ctx: Ctx, doc: Doc, action: Doc) -> None:
    (ref,) = store_refs(ctx, [action["store"]], "store")
    if ref not in doc.get("stores", []):
        _set_store_list(ctx, doc, [*doc.get("stores", []), ref])


def _remove_store(ctx: Ctx, doc: Doc, action: Doc) -> None:
    ident = action["store"]
    key = ident.get("key") or ctx.resolve("store", ident, "store")["key"]
    if not any(s["key"] == key for s in doc.get("stores", [])):
        raise errors.invalid_operation(f"The Customer is not assigned to the Store '{key}'.")
    _set_store_list(ctx, doc, [s for s in doc["stores"] if s["key"] != key])


def _set_stores(ctx: Ctx, doc: Doc, action: Doc) -> None:
    _set_store_list(ctx, doc, store_refs(ctx, action["stores"]))


def _set_authentication_mode(ctx: Ctx, doc: Doc, action: Doc) -> None:
    mode = action["authMode"]
    if doc.get("authenticationMode", "Password") == mode:
        raise errors.invalid_input(f"The Customer already uses the authentication mode '{mode}'.")
    if mode == "Password":
        doc["password"] = _required_password(ctx, action.get("password"))
    else:
        doc.pop("password", None)
    doc["authenticationMode"] = mode


ACTIONS: dict[str, Handler] = {
    **addresses.ACTIONS,
    "changeEmail": _change_email,
    **{
        f"set{name[0].upper()}{name[1:]}": setter(name)
        for name in (
            "firstName",
            "lastName",
            "middleName",
            "title",
            "salutation",
            "dateOfBirth",
            "companyName",
            "vatId",
            "externalId",
            "key",
        )
    },
    "setLocale": _set_locale,
    "setCustomerNumber": _set_customer_number,
    "setCustomerGroup": _set_customer_group,
    **group_assignment_actions("Customer"),
    "setCustomType": set_custom_type,
    "setCustomField": set_custom_field,
    "addStore": _add_store,
    "removeStore": _remove_store,
    "setStores": _set_stores,
    "setAuthenticationMode": _set_authentication_mode,
}

RESOURCE = Resource(
    type_id=TYPE_ID,
    endpoint="customers",
    view_scopes=("view_customers",),
    manage_scopes=("manage_customers",),
    create=create,
    actions=ACTIONS,
    draft_schema="CustomerDraft",
    update_union="CustomerUpdateAction",
    render=render,
    prepare=_prepare_passwords,
    before_delete=_revoke_tokens,
    create_response=create_response,
    delete_params=("dataErasure",),
    max_count=MAX_CUSTOMERS,
)


# ---------------------------------------------------------------- demo data

_GROUPS = (("vip", "VIP"), ("b2b", "B2B"), ("wholesale", "Wholesale"), ("employees", "Employees"))
_STORES = (("de-store", "Germany", "DE"), ("us-store", "United States", "US"), ("uk-store", "United Kingdom", "GB"))
_FIRST = ("Anna", "Ben", "Clara", "David", "Emma", "Felix", "Grace", "Hugo", "Ida", "Jonas", "Lena", "Marco")
_LAST = ("Schmidt", "Miller", "Dubois", "Jansen", "Rossi", "Garcia", "Huber", "Smith", "Weber", "Brown")
_PLACES = (
    ("DE", "Berlin", "10115", "de-DE"),
    ("US", "New York", "10001", "en-US"),
    ("GB", "London", "EC1A 1BB", "en-GB"),
    ("DE", "Munich", "80331", "de-DE"),
    ("FR", "Paris", "75001", "fr-FR"),
    ("US", "Austin", "73301", "en-US"),
    ("NL", "Amsterdam", "1012 AB", "nl-NL"),
    ("AT", "Vienna", "1010", "de-AT"),
    ("ES", "Madrid", "28001", "es-ES"),
    ("IT", "Milan", "20121", "it-IT"),
)
DEMO_PASSWORD = "demo-password"
STORE_EMAIL = "mia.berg@example.com"  # a customer of de-store and another of uk-store (demo data)


def _demo_draft(i: int) -> Doc:
    first, last = _FIRST[i % len(_FIRST)], _LAST[i % len(_LAST)]  # 60 distinct pairs
    country, city, postal, locale = _PLACES[i % len(_PLACES)]
    home = {
        "key": "home",
        "firstName": first,
        "lastName": last,
        "streetName": "Main Street",
        "streetNumber": str(i + 1),
        "postalCode": postal,
        "city": city,
        "country": country,
    }
    draft: Doc = {
        "email": f"{first}.{last}@example.com".lower(),
        "key": f"demo-customer-{i + 1:02d}",
        "customerNumber": f"CN-{10001 + i}",
        "firstName": first,
        "lastName": last,
        "dateOfBirth": f"{1960 + i % 40}-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
        "locale": locale,
        "isEmailVerified": i % 3 != 2,
        "addresses": [home],
        "defaultShippingAddress": 0,
        "defaultBillingAddress": 0,
        "authenticationMode": "ExternalAuth" if i % 10 == 9 else "Password",
    }
    if i % 4 == 0:
        draft["addresses"].append({**home, "key": "work", "streetName": "Market Square", "company": f"{last} GmbH"})
        draft["defaultBillingAddress"] = 1
    if i % 7 == 0:
        draft["customerGroup"] = {"key": "vip"}
    elif i % 5 == 1:
        draft["customerGroup"] = {"key": "b2b"}
        draft["companyName"] = f"{last} Trading"
    draft["customerGroupAssignments"] = [
        {"customerGroup": {"key": key}} for n, (key, _) in enumerate(_GROUPS) if i % (n + 3) == 0
    ]
    if i % 3 == 0:
        draft["stores"] = [{"key": key} for key, _, c in _STORES if c == country]
    if i % 2 == 0:
        tier = ("gold", "silver", "bronze")[i % 3]
        draft["custom"] = {"type": {"key": "customer-loyalty"}, "fields": {"loyaltyTier": tier, "points": 100 * i}}
    return draft


def seed_demo(ctx: Ctx) -> None:
    """Customer groups, Stores, the ``customer-loyalty`` Type, 60 Customers in ten cities (every third in its
    country's Store) and two Store customers sharing one email (``STORE_EMAIL``, in de-store and uk-store)."""

    def insert(resource: Resource, doc: Doc) -> None:
        ctx.insert(resource.type_id, doc)

    for key, name in _GROUPS:
        insert(customer_groups.RESOURCE, customer_groups.create(ctx, {"key": key, "groupName": name}))
    for key, name, _ in _STORES:
        insert(references.STORE, references.create_store(ctx, {"key": key, "name": {"en": name}}))
    loyalty = {
        "key": "customer-loyalty",
        "name": {"en": "Customer loyalty"},
        "resourceTypeIds": ["customer"],
        "fieldDefinitions": [
            {"name": "loyaltyTier", "type": {"name": "String"}, "required": False, "label": {"en": "Tier"}},
            {"name": "points", "type": {"name": "Number"}, "required": False, "label": {"en": "Points"}},
        ],
    }
    insert(references.TYPE, references.create_type(ctx, loyalty))
    password = passwords.new_hash(ctx.emulator, DEMO_PASSWORD)  # one hash for all: seeding stays fast
    start = ctx.emulator.clock.now() - timedelta(days=89)  # all within the demo project's 90 days of Messages
    for i in range(60):
        ctx.now = iso(start + timedelta(days=i, hours=i % 24))
        draft = _demo_draft(i)
        insert(RESOURCE, build(ctx, draft, password if draft["authenticationMode"] == "Password" else None))
    # Store customers with one email in two Stores: two accounts, reached only through their Store's endpoints
    for n, (store, locale) in enumerate((("de-store", "de-DE"), ("uk-store", "en-GB"))):
        ctx.now = iso(start + timedelta(days=60 + n))
        draft = {"email": STORE_EMAIL, "key": f"demo-store-customer-{store}", "firstName": "Mia", "lastName": "Berg",
                 "locale": locale, "stores": [{"key": store}], "isEmailVerified": False}  # fmt: skip
        insert(RESOURCE, build(ctx, draft, password))
    ctx.now = None


FEATURE = Feature("customers", resources=(RESOURCE,), seed_demo=seed_demo)

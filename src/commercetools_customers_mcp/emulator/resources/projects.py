"""The Project endpoint (``GET``/``POST /{projectKey}``): every field of the Project type, every update action of
the official RAML (``spec.union_members("ProjectUpdateAction")``), and the search index status machine.

Each search (customers, businessUnits) goes Deactivated → Indexing → Activated. The index is kept in step
only while the search is on; activation synchronously builds the index afresh (``search.rebuild``).
The status then stays ``Indexing`` for ``Settings.indexing_delay_seconds`` of emulator-clock time (default 0),
so tests can observe it. After 30 days (emulator clock) without a search call a search deactivates itself, as
the API's does. Order and Product search have no index here (no such resources): their status just changes.

A project nobody has changed yet is ``_default``: languages ``en``, currency ``EUR``, both searches Deactivated
and Messages off, as a new project of the API. The demo project is seeded ready to show its data: searches
Activated, the languages its customers speak, and Messages on (``deleteDaysAfterCreation`` 90, the maximum,
so the seeded history, 30 to 89 days old, shows). The project is stored as an internal ``project`` document
(id = project key) once it is first changed; updates go through the generic update path
(``crud.apply_update``). Fields a stored project lacks (added to the emulator since) read as their defaults.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from .. import crud, errors
from .. import search_index as search
from ..backend import Ctx, Doc, Feature, Handler, Req, Resource, Route
from ..clock import iso
from ..store import decode

TYPE_ID = "project"
DEACTIVATED, INDEXING, ACTIVATED = "Deactivated", "Indexing", "Activated"
IDLE_DAYS = 30  # a search nobody calls for this long deactivates itself, as the API does
MESSAGES_DAYS = 15  # MessagesConfiguration.deleteDaysAfterCreation's default
DEMO_MESSAGES_DAYS = 90
# The demo project's languages: every locale its customers have (``customers._PLACES``), and their languages.
DEMO_LANGUAGES = (
    "en",
    "de",
    "fr",
    "nl",
    "es",
    "it",
    "en-US",
    "en-GB",
    "de-DE",
    "de-AT",
    "fr-FR",
    "nl-NL",
    "es-ES",
    "it-IT",
)
BY_ACTION = {kind.status_action: kind for kind in search.SEARCHES}
# Kept by the generic version bump, not fields of a Project.
_HIDDEN = ("id", "versionModifiedAt", "lastModifiedAt", "lastModifiedBy")
# Searches without an index here: their status is just what was last set.
_OTHER_SEARCHES = {"changeOrderSearchStatus": "orders"}
_PRODUCT_SEARCHES = {"ProductProjectionsSearch": "products", "ProductsSearch": "productsSearch"}
_EXTERNAL_OAUTH_SHOWN = 4  # characters of the authorization header shown ("Partially hidden on retrieval")


# The fields of ``_default``: a stored project that has them all is read as it is (see ``load``).
_FIELDS = frozenset(
    [
        "id",
        "key",
        "name",
        "version",
        "countries",
        "currencies",
        "languages",
        "createdAt",
        "messages",
        "carts",
        "shoppingLists",
        "searchIndexing",
        "businessUnits",
        "inventory",
        "discounts",
    ]
)


def _default(ctx: Ctx) -> Doc:
    return {
        "id": ctx.project,
        "key": ctx.project,
        "name": ctx.project,
        "version": 1,
        "countries": [],
        "currencies": ["EUR"],
        "languages": ["en"],
        "createdAt": ctx.timestamp(),
        "messages": {"enabled": False, "deleteDaysAfterCreation": MESSAGES_DAYS},
        "carts": {"deleteDaysAfterLastModification": 90, "countryTaxRateFallbackEnabled": False},
        "shoppingLists": {"deleteDaysAfterLastModification": 360},
        "searchIndexing": {kind.name: {"status": DEACTIVATED} for kind in search.SEARCHES},
        "businessUnits": {"myBusinessUnitStatusOnCreation": "Inactive"},
        "inventory": {"releaseExpiredReservations": True},
        "discounts": {"discountCombinationMode": "Stacking"},
    }


def load(ctx: Ctx) -> Doc:
    """The project as stored (with defaults for fields it lacks), or the defaults of a project nobody has
    changed yet."""
    stored = ctx.get(TYPE_ID, ctx.project)
    if stored is None:
        return _default(ctx)
    if stored.keys() >= _FIELDS:  # read on every write (search, Messages): the common case costs nothing more
        return stored
    return {**{k: v for k, v in _default(ctx).items() if k not in stored}, **stored}


def messages_configuration(ctx: Ctx) -> Doc:
    """The project's MessagesConfiguration alone (read on every write, so without decoding the whole project)."""
    row = ctx.store.conn.execute(
        "SELECT json_extract(doc, '$.messages') FROM resources WHERE project = ? AND type = ? AND id = ?",
        (ctx.project, TYPE_ID, ctx.project),
    ).fetchone()
    return decode(row[0]) if row and row[0] else {"enabled": False, "deleteDaysAfterCreation": MESSAGES_DAYS}


def languages(ctx: Ctx) -> list[str]:
    """The project's languages (a customer's ``locale`` must be one of them)."""
    return load(ctx)["languages"]


def status(ctx: Ctx, name: str, doc: Doc | None = None) -> Doc:
    """The search's state resolved against the clock: Indexing ends at ``readyAt``; Activated ends after
    ``IDLE_DAYS`` without a search call (``lastUsedAt``)."""
    state = dict((doc or load(ctx))["searchIndexing"][name])
    now = ctx.emulator.clock.now()
    if state["status"] == INDEXING and state["readyAt"] <= iso(now):
        state.update(status=ACTIVATED, lastModifiedAt=state["readyAt"])
    if state["status"] == ACTIVATED:
        last_used = state["lastUsedAt"] if "lastUsedAt" in state else state["readyAt"]
        idle_until = datetime.fromisoformat(last_used) + timedelta(days=IDLE_DAYS)
        if idle_until <= now:
            state = {"status": DEACTIVATED, "lastModifiedAt": iso(idle_until)}
    return state


def touch(ctx: Ctx, name: str) -> None:
    """Record a search call (inside the search's write transaction): it keeps the search from going idle."""
    before = ctx.get(TYPE_ID, ctx.project)
    if before is not None:
        after = copy.deepcopy(before)
        after["searchIndexing"][name]["lastUsedAt"] = ctx.timestamp()
        ctx.replace(TYPE_ID, before, after, cause="searchUsed")


def render(ctx: Ctx, doc: Doc) -> Doc:
    out = {k: v for k, v in doc.items() if k not in _HIDDEN}
    out["searchIndexing"] = dict(doc["searchIndexing"])
    for kind in search.SEARCHES:
        state = status(ctx, kind.name, doc)
        out["searchIndexing"][kind.name] = {k: v for k, v in state.items() if k in ("status", "lastModifiedAt")}
    oauth = doc.get("externalOAuth")
    if oauth is not None:
        header = oauth["authorizationHeader"]
        out["externalOAuth"] = {**oauth, "authorizationHeader": header[:_EXTERNAL_OAUTH_SHOWN] + "****"}
    return out


def _change_search_status(ctx: Ctx, doc: Doc, action: Doc) -> None:
    kind = BY_ACTION[action["action"]]
    wanted = action.get("status")
    if wanted not in (ACTIVATED, DEACTIVATED):
        raise errors.invalid_json(f"status: expected one of {ACTIVATED}, {DEACTIVATED}, got '{wanted}'")
    current = status(ctx, kind.name, doc)["status"]
    if wanted == DEACTIVATED:
        if current != DEACTIVATED:
            doc["searchIndexing"][kind.name] = {"status": DEACTIVATED, "lastModifiedAt": ctx.timestamp()}
            search.drop(ctx.store, ctx.project, kind.type_id)
        return
    if current != DEACTIVATED:
        return
    now, delay = ctx.emulator.clock.now(), ctx.emulator.settings.indexing_delay_seconds
    search.rebuild(ctx.store, ctx.project, kind.type_id)
    state = {"startedAt": iso(now), "lastModifiedAt": iso(now), "readyAt": iso(now + timedelta(seconds=delay))}
    doc["searchIndexing"][kind.name] = {"status": INDEXING if delay > 0 else ACTIVATED, **state}


def _search_status(name: str) -> Handler:
    """Order and Product search: no index here, the status is what was set."""

    def handler(ctx: Ctx, doc: Doc, action: Doc) -> None:
        wanted = action["status"] if "status" in action else ACTIVATED if action["enabled"] else DEACTIVATED
        state = doc["searchIndexing"].get(name, {}).get("status", DEACTIVATED)
        if state != wanted:
            doc["searchIndexing"][name] = {"status": wanted, "lastModifiedAt": ctx.timestamp()}

    return handler


def _product_search(ctx: Ctx, doc: Doc, action: Doc) -> None:
    _search_status(_PRODUCT_SEARCHES[action.get("mode", "ProductProjectionsSearch")])(ctx, doc, action)


def _not_empty(field: str, values: list[Any]) -> list[Any]:
    if not values:
        raise errors.invalid_operation(f"'{field}' must not be empty: a project needs at least one.")
    return list(dict.fromkeys(values))


def _change_name(ctx: Ctx, doc: Doc, action: Doc) -> None:
    if not action["name"].strip():
        raise errors.invalid_operation("'name' must not be empty.")
    doc["name"] = action["name"]


def _change_languages(ctx: Ctx, doc: Doc, action: Doc) -> None:
    """Languages in use by a Store cannot be removed (LanguageUsedInStores)."""
    languages = _not_empty("languages", action["languages"])
    removed = set(doc["languages"]) - set(languages)
    if removed:
        for store in ctx.store.find(ctx.project, "store"):
            if removed & set(store.get("languages") or ()):
                raise errors.language_used_in_stores()
    doc["languages"] = languages


def _in(section: str, field: str, source: str | None = None) -> Handler:
    """Set ``doc[section][field]`` from the action's ``source`` field (default: the same name)."""

    def handler(ctx: Ctx, doc: Doc, action: Doc) -> None:
        doc[section] = {**doc[section], field: action[source or field]}

    return handler


def _whole(field: str, source: str, defaults: Doc | None = None, optional: bool = False) -> Handler:
    """Replace ``doc[field]`` with the action's ``source`` object (or remove it when optional and absent)."""

    def handler(ctx: Ctx, doc: Doc, action: Doc) -> None:
        if optional and action.get(source) is None:
            doc.pop(field, None)
        else:
            doc[field] = {**(defaults or {}), **action[source]}

    return handler


def _messages_enabled(ctx: Ctx, doc: Doc, action: Doc) -> None:
    doc["messages"] = {**doc["messages"], "enabled": action["messagesEnabled"]}


def _associate_role_on_creation(ctx: Ctx, doc: Doc, action: Doc) -> None:
    role = ctx.resolve("associate-role", action["associateRole"], "associateRole")
    doc["businessUnits"] = {
        **doc["businessUnits"],
        "myBusinessUnitAssociateRoleOnCreation": ctx.key_reference("associate-role", role),
    }


ACTIONS: dict[str, Handler] = {
    **{action: _change_search_status for action in BY_ACTION},
    **{action: _search_status(name) for action, name in _OTHER_SEARCHES.items()},
    "changeProductSearchIndexingEnabled": _product_search,
    "changeName": _change_name,
    "changeCountries": lambda ctx, doc, a: doc.update(countries=_not_empty("countries", a["countries"])),
    "changeCurrencies": lambda ctx, doc, a: doc.update(currencies=_not_empty("currencies", a["currencies"])),
    "changeLanguages": _change_languages,
    "changeMessagesConfiguration": _whole("messages", "messagesConfiguration"),
    "changeMessagesEnabled": _messages_enabled,
    "changeCartsConfiguration": _whole("carts", "cartsConfiguration", {"countryTaxRateFallbackEnabled": False}),
    "changeCountryTaxRateFallbackEnabled": _in("carts", "countryTaxRateFallbackEnabled"),
    "changePriceRoundingMode": _in("carts", "priceRoundingMode"),
    "changeTaxRoundingMode": _in("carts", "taxRoundingMode"),
    "changeShoppingListsConfiguration": _whole("shoppingLists", "shoppingListsConfiguration"),
    "changeMyBusinessUnitStatusOnCreation": _in("businessUnits", "myBusinessUnitStatusOnCreation", "status"),
    "setMyBusinessUnitAssociateRoleOnCreation": _associate_role_on_creation,
    "setDiscountsConfiguration": _whole("discounts", "discountsConfiguration"),
    "setExternalOAuth": _whole("externalOAuth", "externalOAuth", optional=True),
    "setProductCatalogModel": lambda ctx, doc, a: doc.update(productCatalogModel=a["productCatalogModel"]),
    "setReleaseExpiredReservations": _in("inventory", "releaseExpiredReservations"),
    "setReservationExpirationInMinutes": _in("inventory", "reservationExpirationInMinutes"),
    "setShippingRateInputType": _whole("shippingRateInputType", "shippingRateInputType", optional=True),
}

RESOURCE = Resource(
    type_id=TYPE_ID,
    endpoint=None,  # served at the project root by the routes below
    view_scopes=("view_project_settings",),
    manage_scopes=("manage_project_settings",),
    actions=ACTIONS,
    update_union="ProjectUpdateAction",
    render=render,
)


def _get(ctx: Ctx, req: Req) -> tuple[int, Any]:
    return 200, render(ctx, load(ctx))


def _update(ctx: Ctx, req: Req) -> tuple[int, Any]:
    version, actions = crud.update_body(RESOURCE, req.body)
    stored = ctx.get(TYPE_ID, ctx.project)
    doc = load(ctx)
    return 200, render(ctx, crud.apply_update(ctx, RESOURCE, doc, version, actions, stored=stored is not None))


def seed_demo(ctx: Ctx) -> None:
    """The demo project: ready to search, in the languages of its customers, with Messages on (see the module
    docstring)."""
    doc = _default(ctx)
    now = ctx.timestamp()
    doc["searchIndexing"] = {k.name: {"status": ACTIVATED, "startedAt": now, "readyAt": now} for k in search.SEARCHES}
    doc["messages"] = {"enabled": True, "deleteDaysAfterCreation": DEMO_MESSAGES_DAYS}
    doc["languages"] = list(DEMO_LANGUAGES)
    doc["countries"] = ["AT", "DE", "ES", "FR", "GB", "IT", "NL", "US"]
    ctx.insert(TYPE_ID, doc)


FEATURE = Feature(
    "projects",
    resources=(RESOURCE,),
    routes=(
        Route("GET", "/", _get, RESOURCE.view_scopes),
        Route("POST", "/", _update, RESOURCE.manage_scopes),
    ),
    seed_demo=seed_demo,
)

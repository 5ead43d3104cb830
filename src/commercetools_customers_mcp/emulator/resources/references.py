"""Stores and Types: the emulator keeps them so other resources can reference them.

A Store is complete enough for the Store-scoped Customers and Business Units (stores.raml, types/store/): its draft
(key, name, languages among the Project's, countries; the channel and Product Selection lists, which no resource
here uses, are kept empty), get / query / delete by id and key, and the update actions that touch what Customers
depend on: its name, languages and countries. A Store that a Customer or Business Unit references cannot be deleted
(ReferenceExists, stores.raml). Types keep a minimal create / get / query / delete; neither has tools of its own.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from ..backend import Ctx, Doc, Feature, Handler, Req, Resource
from ..setters import set_or_unset
from . import projects

STORE_TYPE = "store"
_LISTS = ("distributionChannels", "supplyChannels", "productSelections")  # kept empty: nothing here uses them
_REFERRERS = ("customer", "business-unit")


def _localized(value: Any, field: str) -> Doc:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise errors.invalid_json(f"{field}: expected a LocalizedString (an object of strings)")
    return value


def _languages(ctx: Ctx, value: Any) -> list[str]:
    """Locales of the Project only: ProjectNotConfiguredForLanguages otherwise (StoreDraft.raml, languages)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.invalid_json("languages: expected an array of locales")
    if not set(value) <= set(projects.languages(ctx)):
        raise errors.project_not_configured_for_languages(value)
    return list(dict.fromkeys(value))


def _country(value: Any, field: str) -> Doc:
    code = value.get("code") if isinstance(value, dict) else None
    if not isinstance(code, str) or len(code) != 2 or not code.isupper():
        raise errors.invalid_json(f'{field}: expected a StoreCountry {{"code": <ISO 3166-1 alpha-2>}}')
    return {"code": code}


def _countries(value: Any) -> list[Doc]:
    if not isinstance(value, list):
        raise errors.invalid_json("countries: expected an array of StoreCountry")
    out: list[Doc] = []
    for i, country in enumerate(value):
        found = _country(country, f"countries -> {i}")
        if found not in out:
            out.append(found)
    return out


def create_store(ctx: Ctx, draft: Doc) -> Doc:
    """A Store from a StoreDraft; ``key`` is required (``Resource.key_required``)."""
    doc: Doc = {"key": draft["key"]}
    if draft.get("name") is not None:
        doc["name"] = _localized(draft["name"], "name")
    doc["languages"] = _languages(ctx, draft["languages"]) if draft.get("languages") is not None else []
    doc["countries"] = _countries(draft["countries"]) if draft.get("countries") is not None else []
    for name in _LISTS:
        if draft.get(name):
            raise errors.invalid_input(f"{name}: the emulator keeps no Channels or Product Selections; leave it empty.")
        doc[name] = []
    return ctx.new_doc(doc)


def _set_name(ctx: Ctx, doc: Doc, action: Doc) -> None:
    name = action.get("name")
    set_or_unset(doc, "name", None if name is None else _localized(name, "name"))


def _set_languages(ctx: Ctx, doc: Doc, action: Doc) -> None:
    doc["languages"] = _languages(ctx, action.get("languages") or [])


def _set_countries(ctx: Ctx, doc: Doc, action: Doc) -> None:
    doc["countries"] = _countries(action.get("countries") or [])


def _add_country(ctx: Ctx, doc: Doc, action: Doc) -> None:
    country = _country(action.get("country"), "country")
    if country in doc.get("countries", []):
        raise errors.invalid_operation(f"The Store already has the country '{country['code']}'.")
    doc["countries"] = [*doc.get("countries", []), country]


def _remove_country(ctx: Ctx, doc: Doc, action: Doc) -> None:
    country = _country(action.get("country"), "country")
    if country not in doc.get("countries", []):
        raise errors.invalid_operation(f"The Store does not have the country '{country['code']}'.")
    doc["countries"] = [c for c in doc["countries"] if c != country]


STORE_ACTIONS: dict[str, Handler] = {
    "setName": _set_name,
    "setLanguages": _set_languages,
    "setCountries": _set_countries,
    "addCountry": _add_country,
    "removeCountry": _remove_country,
}


def _before_store_delete(ctx: Ctx, doc: Doc, req: Req) -> None:
    """ "If the Store is referenced by a resource, a ReferenceExists error is returned" (stores.raml, DELETE)."""
    key = doc["key"]
    holds = "EXISTS (SELECT 1 FROM json_each(doc, '$.stores') WHERE json_extract(value, '$.key') = ?)"
    for type_id in _REFERRERS:
        if ctx.store.exists(ctx.project, type_id, holds, [key]):
            raise errors.reference_exists(f"The Store '{key}' is referenced by at least one {type_id}.", type_id)


def create_type(ctx: Ctx, draft: Doc) -> Doc:
    fields: Doc = {k: draft[k] for k in ("name", "description", "resourceTypeIds", "fieldDefinitions") if k in draft}
    return ctx.new_doc({"key": draft["key"], **fields})


STORE = Resource(
    type_id=STORE_TYPE,
    endpoint="stores",
    view_scopes=("view_stores",),
    manage_scopes=("manage_stores",),
    create=create_store,
    actions=STORE_ACTIONS,
    before_delete=_before_store_delete,
    key_required=True,
)
TYPE = Resource(
    type_id="type",
    endpoint="types",
    view_scopes=("view_types",),
    manage_scopes=("manage_types",),
    create=create_type,
    key_required=True,
)

FEATURE = Feature("references", resources=(STORE, TYPE))

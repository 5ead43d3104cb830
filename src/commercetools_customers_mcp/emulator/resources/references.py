"""Stores and Types: the emulator keeps them only so other resources can reference them.

They have no tools of their own; a minimal create / get / query / delete keeps tests and demo
data honest about references (a store or type that does not exist is ReferencedResourceNotFound).
"""

from __future__ import annotations

from ..backend import Ctx, Doc, Feature, Resource


def create_store(ctx: Ctx, draft: Doc) -> Doc:
    return ctx.new_doc({"key": draft["key"], **{k: v for k, v in draft.items() if k in ("name", "languages")}})


def create_type(ctx: Ctx, draft: Doc) -> Doc:
    fields: Doc = {k: draft[k] for k in ("name", "description", "resourceTypeIds", "fieldDefinitions") if k in draft}
    return ctx.new_doc({"key": draft["key"], **fields})


STORE = Resource(
    type_id="store",
    endpoint="stores",
    view_scopes=("view_stores",),
    manage_scopes=("manage_stores",),
    create=create_store,
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

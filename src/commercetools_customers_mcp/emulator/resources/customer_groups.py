"""Customer Groups: `groupName` in the draft, `name` on the resource (unique per project); at most 1,000 per
project."""

from __future__ import annotations

from .. import errors
from ..backend import Ctx, Doc, Feature, Resource
from ..setters import custom_fields_from_draft, set_custom_field, set_custom_type, setter
from ..setters import set_or_unset as _set

TYPE_ID = "customer-group"
MAX_GROUPS = 1_000  # per project (docs: Limits; release note 2020-07-08): one more is MaxResourceLimitExceeded


def _ensure_unique_name(ctx: Ctx, doc: Doc) -> None:
    for other in ctx.store.find(ctx.project, TYPE_ID, "json_extract(doc, '$.name') = ?", [doc["name"]]):
        if other["id"] != doc["id"]:
            raise errors.duplicate_field("name", doc["name"])


def create(ctx: Ctx, draft: Doc) -> Doc:
    doc = ctx.new_doc({"name": draft["groupName"]})
    _set(doc, "key", draft.get("key"))
    if draft.get("custom") is not None:
        doc["custom"] = custom_fields_from_draft(ctx, draft["custom"])
    _ensure_unique_name(ctx, doc)
    return doc


def _change_name(ctx: Ctx, doc: Doc, action: Doc) -> None:
    doc["name"] = action["name"]
    _ensure_unique_name(ctx, doc)


RESOURCE = Resource(
    type_id=TYPE_ID,
    endpoint="customer-groups",
    view_scopes=("view_customers", "view_customer_groups"),
    manage_scopes=("manage_customers", "manage_customer_groups"),
    create=create,
    draft_schema="CustomerGroupDraft",
    update_union="CustomerGroupUpdateAction",
    max_count=MAX_GROUPS,
    actions={
        "changeName": _change_name,
        "setKey": setter("key"),
        "setCustomType": set_custom_type,
        "setCustomField": set_custom_field,
    },
)

FEATURE = Feature("customer_groups", resources=(RESOURCE,))

"""Field rules many resources share: "unset if absent", and Custom Fields (drafts, setCustomType/Field)."""

from __future__ import annotations

from typing import Any

from . import errors
from .backend import Ctx, Doc, Handler


def set_or_unset(doc: Doc, name: str, value: Any) -> None:
    """The API's "unset if absent" rule: a missing or null value removes the field."""
    if value is None:
        doc.pop(name, None)
    else:
        doc[name] = value


def setter(name: str) -> Handler:
    """The update action ``set<Name>`` for a plain field: the action's ``name`` value, or unset."""
    return lambda ctx, doc, action: set_or_unset(doc, name, action.get(name))


def custom_fields_from_draft(ctx: Ctx, draft: Any, field_name: str = "custom") -> Doc | None:
    """CustomFieldsDraft → CustomFields (the Type must exist)."""
    if draft is None:
        return None
    type_doc = ctx.resolve("type", draft.get("type"), f"{field_name} -> type")
    return {"type": ctx.reference("type", type_doc), "fields": dict(draft.get("fields") or {})}


def set_custom_type(ctx: Ctx, target: Doc, action: Doc) -> None:
    """setCustomType: no type removes type and fields; a type replaces both."""
    if action.get("type") is None:
        target.pop("custom", None)
        return
    target["custom"] = custom_fields_from_draft(ctx, {"type": action["type"], "fields": action.get("fields")})


def set_custom_field(ctx: Ctx, target: Doc, action: Doc) -> None:
    """setCustomField: a value sets or changes, a missing/null value removes (which must exist)."""
    custom = target.get("custom")
    if custom is None:
        raise errors.invalid_operation("This resource has no custom type set; use setCustomType first.")
    name, value = action["name"], action.get("value")
    fields = custom.setdefault("fields", {})
    if value is None:
        if name not in fields:
            raise errors.invalid_operation(f"Cannot remove custom field '{name}': it is not set.")
        del fields[name]
    else:
        fields[name] = value

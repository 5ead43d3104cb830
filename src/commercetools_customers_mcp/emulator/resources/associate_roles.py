"""Associate Roles: named sets of Permissions that Business Units assign to their Associates.

A role is referenced by key from Business Unit role assignments, so it cannot be deleted while any
Associate (in any unit) holds it: 400 ReferenceExists, the API's message followed by every unit that holds it.
"""

from __future__ import annotations

from ... import spec
from .. import errors
from ..backend import Ctx, Doc, Feature, Req, Resource
from ..setters import custom_fields_from_draft, set_custom_field, set_custom_type, setter
from ..setters import set_or_unset as _set

TYPE_ID = "associate-role"
PERMISSIONS: list[str] = spec.enum("Permission")

# Units with an associate holding the role (bound parameter: the role key).
HOLDERS = (
    "EXISTS (SELECT 1 FROM json_each(doc, '$.associates') a, json_each(a.value, '$.associateRoleAssignments') r "
    "WHERE json_extract(r.value, '$.associateRole.key') = ?)"
)


def _permissions(values: list[str]) -> list[str]:
    """Distinct, in the order given."""
    return list(dict.fromkeys(values))


def create(ctx: Ctx, draft: Doc) -> Doc:
    doc = ctx.new_doc(
        {
            "key": draft["key"],
            "buyerAssignable": draft.get("buyerAssignable", True),
            "permissions": _permissions(draft.get("permissions") or []),
        }
    )
    _set(doc, "name", draft.get("name"))
    if draft.get("custom") is not None:
        doc["custom"] = custom_fields_from_draft(ctx, draft["custom"])
    return doc


def _add_permission(ctx: Ctx, doc: Doc, action: Doc) -> None:
    if action["permission"] in doc["permissions"]:
        raise errors.invalid_operation(f"The role '{doc['key']}' already has the permission '{action['permission']}'.")
    doc["permissions"].append(action["permission"])


def _remove_permission(ctx: Ctx, doc: Doc, action: Doc) -> None:
    if action["permission"] not in doc["permissions"]:
        raise errors.invalid_operation(
            f"The role '{doc['key']}' does not have the permission '{action['permission']}'."
        )
    doc["permissions"].remove(action["permission"])


NAMED = 50  # units a refusal names; beyond them, how many more


def _before_delete(ctx: Ctx, doc: Doc, req: Req) -> None:
    """The API's ReferenceExists, its message the template's sentence, then every unit holding the role (up to
    NAMED, then how many more), so the caller needs no query of its own to find them."""
    units = ctx.store.find(ctx.project, "business-unit", HOLDERS, [doc["key"]])
    if units:
        named = ", ".join(f"'{u['key']}'" for u in units[:NAMED])
        more = f" and {len(units) - NAMED} more" if len(units) > NAMED else ""
        raise errors.reference_exists(
            "Can not delete a associate-role while it is referenced by at least one business-unit. "
            f"Business units whose associates hold '{doc['key']}': {named}{more}.",
            "business-unit",
        )


def seed_demo(ctx: Ctx) -> None:
    """Admin (every permission), Buyer (own carts, orders and quotes) and Approver."""
    my = [p for p in PERMISSIONS if "My" in p and any(w in p for w in ("Cart", "Order", "Quote"))]
    approver = ["UpdateApprovalFlows", "ViewOthersCarts", "ViewOthersOrders", "ViewOthersQuotes"]
    for key, name, permissions in (
        ("admin", "Admin", PERMISSIONS),
        ("buyer", "Buyer", my),
        ("approver", "Approver", approver),
    ):
        doc = create(ctx, {"key": key, "name": name, "permissions": list(permissions)})
        ctx.insert(TYPE_ID, doc)


RESOURCE = Resource(
    type_id=TYPE_ID,
    endpoint="associate-roles",
    view_scopes=("view_associate_roles",),
    manage_scopes=("manage_associate_roles",),
    create=create,
    draft_schema="AssociateRoleDraft",
    update_union="AssociateRoleUpdateAction",
    key_required=True,
    before_delete=_before_delete,
    actions={
        "addPermission": _add_permission,
        "removePermission": _remove_permission,
        "setPermissions": lambda ctx, doc, a: doc.update(permissions=_permissions(a.get("permissions") or [])),
        "changeBuyerAssignable": lambda ctx, doc, a: doc.update(buyerAssignable=a["buyerAssignable"]),
        "setName": setter("name"),
        "setCustomType": set_custom_type,
        "setCustomField": set_custom_field,
    },
)

FEATURE = Feature("associate_roles", resources=(RESOURCE,), seed_demo=seed_demo)

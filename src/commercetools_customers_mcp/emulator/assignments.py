"""Store references and customer-group assignments, as Customers and Business Units share them."""

from __future__ import annotations

from . import errors
from .backend import Ctx, Doc, Handler

GROUP = "customer-group"
MAX_GROUP_ASSIGNMENTS = 500


def store_refs(ctx: Ctx, idents: list[Doc], field_name: str = "stores") -> list[Doc]:
    """StoreResourceIdentifiers → StoreKeyReferences, without duplicates (each store must exist)."""
    out: list[Doc] = []
    for ident in idents:
        ref = ctx.key_reference("store", ctx.resolve("store", ident, field_name))
        if ref not in out:
            out.append(ref)
    return out


def group_ref(ctx: Ctx, ident: Doc, field_name: str) -> Doc:
    return ctx.reference(GROUP, ctx.resolve(GROUP, ident, field_name))


def group_assignments(ctx: Ctx, drafts: list[Doc], field_name: str) -> list[Doc]:
    """CustomerGroupAssignmentDrafts → assignments: each group must exist and appear once, at most 500."""
    if len(drafts) > MAX_GROUP_ASSIGNMENTS:
        raise errors.invalid_input(f"{field_name}: at most {MAX_GROUP_ASSIGNMENTS} Customer Groups can be assigned.")
    out: list[Doc] = []
    for draft in drafts:
        ref = group_ref(ctx, draft["customerGroup"], f"{field_name} -> customerGroup")
        if any(a["customerGroup"]["id"] == ref["id"] for a in out):
            raise errors.invalid_input(f"{field_name}: the Customer Group '{ref['id']}' is assigned more than once.")
        out.append({"customerGroup": ref})
    return out


def group_assignment_actions(owner: str) -> dict[str, Handler]:
    """add/remove/setCustomerGroupAssignment(s) for a resource called ``owner`` in messages."""

    def add(ctx: Ctx, doc: Doc, action: Doc) -> None:
        ref = group_ref(ctx, action["customerGroupAssignment"]["customerGroup"], "customerGroupAssignment")
        current = doc.setdefault("customerGroupAssignments", [])
        if any(a["customerGroup"]["id"] == ref["id"] for a in current):
            raise errors.invalid_operation(f"The {owner} is already assigned to the Customer Group '{ref['id']}'.")
        if len(current) >= MAX_GROUP_ASSIGNMENTS:
            raise errors.invalid_operation(f"A {owner} can have at most {MAX_GROUP_ASSIGNMENTS} Customer Groups.")
        current.append({"customerGroup": ref})

    def remove(ctx: Ctx, doc: Doc, action: Doc) -> None:
        ident = action["customerGroup"]
        # by id a dangling assignment (its group deleted) can still be removed
        group_id = ident.get("id") or ctx.resolve(GROUP, ident, "customerGroup")["id"]
        current = doc.get("customerGroupAssignments", [])
        kept = [a for a in current if a["customerGroup"]["id"] != group_id]
        if len(kept) == len(current):
            raise errors.invalid_operation(f"The {owner} is not assigned to the Customer Group '{group_id}'.")
        doc["customerGroupAssignments"] = kept

    def set_all(ctx: Ctx, doc: Doc, action: Doc) -> None:
        drafts = action.get("customerGroupAssignments")
        if drafts is None:  # optional on Business Unit (required on Customer): absent removes them all
            doc.pop("customerGroupAssignments", None)
        else:
            doc["customerGroupAssignments"] = group_assignments(ctx, drafts, "customerGroupAssignments")

    return {
        "addCustomerGroupAssignment": add,
        "removeCustomerGroupAssignment": remove,
        "setCustomerGroupAssignments": set_all,
    }

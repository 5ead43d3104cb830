"""Business Units: Companies and their Divisions (at most 5 levels), Associates with roles, Stores.

Hierarchy links are KeyReferences (keys are immutable). The computed fields ``topLevelUnit``,
``inheritedAssociates`` and ``inheritedStores`` are stored (so `where` can filter on them) and refreshed
for the written unit and its whole subtree after every write. The real API updates them eventually and
without a version change; the emulator does it at once, also without bumping the descendants' versions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import addresses, errors
from ..assignments import group_assignment_actions, group_assignments, store_refs
from ..backend import Ctx, Doc, Feature, Handler, Req, Resource, Route
from ..crud import load
from ..setters import custom_fields_from_draft, set_custom_field, set_custom_type, setter
from ..setters import set_or_unset as _set
from ..validation import validate
from .associate_roles import PERMISSIONS

TYPE_ID = "business-unit"
ROLE = "associate-role"
MAX_DEPTH = 5
MAX_ASSOCIATES = 2000
MAX_ROLE_ASSIGNMENTS = 5
UNIT_TYPES = ["Company", "Division"]
STATUSES = ["Active", "Inactive"]
INHERITING = {
    "storeMode": "FromParent",
    "associateMode": "ExplicitAndFromParent",
    "approvalRuleMode": "ExplicitAndFromParent",
}
CHILDREN = "json_extract(doc, '$.parentUnit.key') = ?"


def _ref(key: str) -> Doc:
    return {"typeId": TYPE_ID, "key": key}


# ---------------------------------------------------------------- hierarchy


def _parent(ctx: Ctx, doc: Doc) -> Doc | None:
    parent = doc.get("parentUnit")
    return ctx.get_by_key(TYPE_ID, parent["key"]) if parent else None


def _ancestors(ctx: Ctx, doc: Doc) -> list[Doc]:
    """Parent first, the Company last."""
    out: list[Doc] = []
    unit = _parent(ctx, doc)
    while unit is not None and len(out) <= MAX_DEPTH:
        out.append(unit)
        unit = _parent(ctx, unit)
    return out


def _children(ctx: Ctx, key: str) -> list[Doc]:
    return ctx.store.find(ctx.project, TYPE_ID, CHILDREN, [key])


def _height(ctx: Ctx, key: str) -> int:
    """Levels in the subtree rooted at ``key`` (1 for a leaf)."""
    return 1 + max((_height(ctx, child["key"]) for child in _children(ctx, key)), default=0)


def _attach(ctx: Ctx, doc: Doc, ident: Doc, field_name: str) -> None:
    """Make ``doc`` a child of the unit ``ident`` names: no cycles, at most MAX_DEPTH levels."""
    parent = ctx.resolve(TYPE_ID, ident, field_name)
    lineage = [parent, *_ancestors(ctx, parent)]
    existing = ctx.get(TYPE_ID, doc["id"]) is not None
    if existing and any(unit["key"] == doc["key"] for unit in lineage):
        raise errors.invalid_operation(
            f"The business unit '{parent['key']}' cannot become the parent of '{doc['key']}': "
            "it is the unit itself or one of its descendants."
        )
    height = _height(ctx, doc["key"]) if existing else 1
    if len(lineage) + height > MAX_DEPTH:
        raise errors.invalid_operation(
            f"A business unit hierarchy has at most {MAX_DEPTH} levels; below '{parent['key']}' "
            f"(level {len(lineage)}) this would make {len(lineage) + height}."
        )
    doc["parentUnit"] = _ref(parent["key"])
    doc["topLevelUnit"] = parent["topLevelUnit"]


# ---------------------------------------------------------------- computed fields


def _inherited_associates(parent: Doc) -> list[Doc]:
    """What a unit with associateMode ExplicitAndFromParent inherits from ``parent``."""
    merged: dict[str, Doc] = {}
    for inherited in parent.get("inheritedAssociates", []):
        entry = merged.setdefault(inherited["customer"]["id"], {"customer": inherited["customer"], "roles": []})
        entry["roles"] += inherited["associateRoleAssignments"]
    for associate in parent["associates"]:
        for assignment in associate["associateRoleAssignments"]:
            if assignment["inheritance"] == "Enabled":
                entry = merged.setdefault(associate["customer"]["id"], {"customer": associate["customer"], "roles": []})
                entry["roles"].append({"associateRole": assignment["associateRole"], "source": _ref(parent["key"])})
    return [{"customer": e["customer"], "associateRoleAssignments": e["roles"]} for e in merged.values()]


def _compute(ctx: Ctx, doc: Doc) -> None:
    """Set topLevelUnit, inheritedStores and inheritedAssociates from the (already current) parent."""
    parent = _parent(ctx, doc)
    doc["topLevelUnit"] = parent["topLevelUnit"] if parent else _ref(doc["key"])
    doc.pop("inheritedStores", None)
    doc.pop("inheritedAssociates", None)
    if parent is None:
        return
    if doc["storeMode"] == "FromParent":
        doc["inheritedStores"] = (
            parent.get("stores", []) if parent["storeMode"] == "Explicit" else parent.get("inheritedStores", [])
        )
    if doc["associateMode"] == "ExplicitAndFromParent":
        doc["inheritedAssociates"] = _inherited_associates(parent)


def _after_write(ctx: Ctx, before: Doc | None, after: Doc | None) -> None:
    """Refresh the computed fields of the written unit, then of every descendant, top-down."""
    if after is None:
        return
    pending = [after]
    while pending:
        unit = pending.pop()
        old = dict(unit)
        _compute(ctx, unit)
        if unit != old:
            ctx.replace(TYPE_ID, old, unit, cause="derived")
        pending += _children(ctx, unit["key"])


# ---------------------------------------------------------------- drafts


def _customer_ref(ctx: Ctx, ident: Doc, field_name: str) -> Doc:
    return ctx.reference("customer", ctx.resolve("customer", ident, field_name))


def _associate(ctx: Ctx, draft: Doc, field_name: str) -> Doc:
    assignments = draft["associateRoleAssignments"]
    if not 1 <= len(assignments) <= MAX_ROLE_ASSIGNMENTS:
        raise errors.invalid_input(
            f"{field_name} -> associateRoleAssignments: an associate holds 1 to {MAX_ROLE_ASSIGNMENTS} roles, "
            f"got {len(assignments)}."
        )
    roles: list[Doc] = []
    for i, assignment in enumerate(assignments):
        role = ctx.resolve(ROLE, assignment["associateRole"], f"{field_name} -> associateRoleAssignments -> {i}")
        if any(r["associateRole"]["key"] == role["key"] for r in roles):
            raise errors.invalid_input(f"{field_name}: the associate role '{role['key']}' is assigned twice.")
        roles.append(
            {"associateRole": ctx.key_reference(ROLE, role), "inheritance": assignment.get("inheritance", "Disabled")}
        )
    return {
        "customer": _customer_ref(ctx, draft["customer"], f"{field_name} -> customer"),
        "associateRoleAssignments": roles,
    }


def _associates(ctx: Ctx, drafts: list[Doc], field_name: str = "associates") -> list[Doc]:
    if len(drafts) > MAX_ASSOCIATES:
        raise errors.invalid_input(f"{field_name}: a business unit has at most {MAX_ASSOCIATES} associates.")
    out: list[Doc] = []
    for i, draft in enumerate(drafts):
        associate = _associate(ctx, draft, f"{field_name} -> {i}")
        _ensure_new_associate(out, associate["customer"]["id"])
        out.append(associate)
    return out


def _ensure_new_associate(associates: list[Doc], customer_id: str) -> None:
    if any(a["customer"]["id"] == customer_id for a in associates):
        raise errors.invalid_operation(f"The customer '{customer_id}' is already an associate of this business unit.")


def _check_company_modes(doc: Doc, error: Callable[[str], errors.ApiError]) -> None:
    for mode, inheriting in INHERITING.items():
        if doc.get(mode) == inheriting:
            raise error(f"A Company cannot have {mode} '{inheriting}': it has no parent to inherit from.")


def create(ctx: Ctx, draft: Doc) -> Doc:
    unit_type = draft.get("unitType")
    if unit_type not in UNIT_TYPES:
        raise errors.invalid_field("unitType", unit_type, UNIT_TYPES)
    validate(f"{unit_type}Draft", draft)  # the member's own messages, not "not valid under any of oneOf"
    company = unit_type == "Company"
    defaults = {mode: "Explicit" if company else inheriting for mode, inheriting in INHERITING.items()}
    doc = ctx.new_doc(
        {
            "key": draft["key"],
            "unitType": unit_type,
            "name": draft["name"],
            "status": draft.get("status", "Active"),
            **{mode: draft.get(mode, default) for mode, default in defaults.items()},
            **addresses.from_draft(ctx, draft),
            "associates": _associates(ctx, draft.get("associates") or []),
        }
    )
    if company:
        _check_company_modes(doc, errors.invalid_input)
        if draft.get("parentUnit") is not None:
            raise errors.invalid_input("A Company cannot have a parentUnit; create a Division instead.")
        doc["topLevelUnit"] = _ref(doc["key"])
    else:
        _attach(ctx, doc, draft["parentUnit"], "parentUnit")
    if doc["storeMode"] == "Explicit":
        doc["stores"] = store_refs(ctx, draft.get("stores") or [], "stores")
    elif draft.get("stores"):
        raise errors.invalid_input("stores can only be set with storeMode 'Explicit'; this unit inherits its stores.")
    _set(doc, "contactEmail", draft.get("contactEmail"))
    if draft.get("customerGroupAssignments") is not None:
        doc["customerGroupAssignments"] = group_assignments(
            ctx, draft["customerGroupAssignments"], "customerGroupAssignments"
        )
    if draft.get("custom") is not None:
        doc["custom"] = custom_fields_from_draft(ctx, draft["custom"])
    return doc


# ---------------------------------------------------------------- update actions


def _change_status(ctx: Ctx, doc: Doc, action: Doc) -> None:
    if action["status"] not in STATUSES:
        raise errors.invalid_field("status", action["status"], STATUSES)
    doc["status"] = action["status"]


def _set_unit_type(ctx: Ctx, doc: Doc, action: Doc) -> None:
    if action["unitType"] == "Company":
        _check_company_modes(doc, errors.invalid_operation)
        if action.get("parentUnit") is not None:
            raise errors.invalid_operation("A Company cannot have a parentUnit.")
        doc.pop("parentUnit", None)
        doc["topLevelUnit"] = _ref(doc["key"])
    else:
        if action.get("parentUnit") is None:
            raise errors.required_field("parentUnit")
        _attach(ctx, doc, action["parentUnit"], "parentUnit")
    doc["unitType"] = action["unitType"]


def _change_parent_unit(ctx: Ctx, doc: Doc, action: Doc) -> None:
    """A Division moves under any unit (of its Company or another): no cycles, at most MAX_DEPTH levels. Moving
    to another Company changes its topLevelUnit, and its descendants' (BusinessUnitTopLevelUnitSet)."""
    if doc["unitType"] == "Company":
        raise errors.invalid_operation("A Company has no parent unit; use setUnitType to make it a Division.")
    _attach(ctx, doc, action["parentUnit"], "parentUnit")


def _mode_setter(mode: str, then: Handler | None = None) -> Handler:
    def handler(ctx: Ctx, doc: Doc, action: Doc) -> None:
        if doc["unitType"] == "Company" and action[mode] == INHERITING[mode]:
            raise errors.invalid_operation(f"A Company cannot have {mode} '{INHERITING[mode]}'.")
        if then:
            then(ctx, doc, action)
        doc[mode] = action[mode]

    return handler


def _store_mode(ctx: Ctx, doc: Doc, action: Doc) -> None:
    if action["storeMode"] == "Explicit":
        if action.get("stores") is not None or doc["storeMode"] != "Explicit":
            doc["stores"] = store_refs(ctx, action.get("stores") or [], "stores")
    elif action.get("stores"):
        raise errors.invalid_operation("stores can only be given with storeMode 'Explicit'.")
    else:
        doc.pop("stores", None)


def _explicit_stores(doc: Doc) -> list[Doc]:
    if doc["storeMode"] != "Explicit":
        raise errors.invalid_operation(
            f"The business unit '{doc['key']}' inherits its stores (storeMode FromParent); "
            "use setStoreMode with 'Explicit' first."
        )
    return doc.setdefault("stores", [])


def _add_store(ctx: Ctx, doc: Doc, action: Doc) -> None:
    stores = _explicit_stores(doc)
    (ref,) = store_refs(ctx, [action["store"]], "store")
    if ref in stores:
        raise errors.invalid_operation(f"The store '{ref['key']}' is already assigned to this business unit.")
    stores.append(ref)


def _remove_store(ctx: Ctx, doc: Doc, action: Doc) -> None:
    stores = _explicit_stores(doc)
    key = action["store"].get("key") or ctx.resolve("store", action["store"], "store")["key"]
    ref = {"typeId": "store", "key": key}
    if ref not in stores:
        raise errors.invalid_operation(f"The store '{key}' is not assigned to this business unit.")
    stores.remove(ref)


def _set_stores(ctx: Ctx, doc: Doc, action: Doc) -> None:
    _explicit_stores(doc)
    doc["stores"] = store_refs(ctx, action["stores"], "stores")


def _make_inherited_explicit(ctx: Ctx, doc: Doc, action: Doc) -> None:
    """Leaving ExplicitAndFromParent with the flag: inherited role assignments become explicit ones."""
    if action["associateMode"] != "Explicit" or not action.get("makeInheritedAssociatesExplicit"):
        return
    for inherited in doc.get("inheritedAssociates", []):
        associate = next((a for a in doc["associates"] if a["customer"] == inherited["customer"]), None)
        if associate is None:
            associate = {"customer": inherited["customer"], "associateRoleAssignments": []}
            doc["associates"].append(associate)
        held = associate["associateRoleAssignments"]
        for assignment in inherited["associateRoleAssignments"]:
            if all(h["associateRole"] != assignment["associateRole"] for h in held):
                # they were inheritable above, so they stay inheritable for this unit's children
                held.append({"associateRole": assignment["associateRole"], "inheritance": "Enabled"})
        if len(held) > MAX_ROLE_ASSIGNMENTS:
            raise errors.invalid_operation(
                f"Making inherited associates explicit would give the customer '{inherited['customer']['id']}' "
                f"more than {MAX_ROLE_ASSIGNMENTS} roles."
            )


def _associate_index(ctx: Ctx, doc: Doc, ident: Doc, field_name: str) -> int:
    customer_id = ident.get("id") or ctx.resolve("customer", ident, field_name)["id"]
    for i, associate in enumerate(doc["associates"]):
        if associate["customer"]["id"] == customer_id:
            return i
    raise errors.invalid_operation(f"The customer '{customer_id}' is not an associate of this business unit.")


def _add_associate(ctx: Ctx, doc: Doc, action: Doc) -> None:
    associate = _associate(ctx, action["associate"], "associate")
    _ensure_new_associate(doc["associates"], associate["customer"]["id"])
    if len(doc["associates"]) >= MAX_ASSOCIATES:
        raise errors.invalid_operation(f"A business unit has at most {MAX_ASSOCIATES} associates.")
    doc["associates"].append(associate)


def _change_associate(ctx: Ctx, doc: Doc, action: Doc) -> None:
    i = _associate_index(ctx, doc, action["associate"]["customer"], "associate -> customer")
    doc["associates"][i] = _associate(ctx, action["associate"], "associate")


def _remove_associate(ctx: Ctx, doc: Doc, action: Doc) -> None:
    del doc["associates"][_associate_index(ctx, doc, action["customer"], "customer")]


ACTIONS: dict[str, Handler] = {
    **addresses.ACTIONS,
    "changeName": lambda ctx, doc, a: doc.update(name=a["name"]),
    "setContactEmail": setter("contactEmail"),
    "changeStatus": _change_status,
    "setUnitType": _set_unit_type,
    "changeParentUnit": _change_parent_unit,
    "setStoreMode": _mode_setter("storeMode", _store_mode),
    "addStore": _add_store,
    "removeStore": _remove_store,
    "setStores": _set_stores,
    "changeAssociateMode": _mode_setter("associateMode", _make_inherited_explicit),
    "changeApprovalRuleMode": _mode_setter("approvalRuleMode"),
    "addAssociate": _add_associate,
    "changeAssociate": _change_associate,
    "removeAssociate": _remove_associate,
    "setAssociates": lambda ctx, doc, a: doc.update(associates=_associates(ctx, a["associates"])),
    "setCustomType": set_custom_type,
    "setCustomField": set_custom_field,
    **group_assignment_actions("Business Unit"),
}


# ---------------------------------------------------------------- delete, associate lookup, demo data


def _before_delete(ctx: Ctx, doc: Doc, req: Req) -> None:
    children = _children(ctx, doc["key"])
    if children:
        raise errors.reference_exists(
            f"The business unit '{doc['key']}' still has child units (e.g. '{children[0]['key']}'); "
            "move or delete them first.",
            TYPE_ID,
        )


def _roles(ctx: Ctx, assignments: list[Doc]) -> list[Doc]:
    keys = list(dict.fromkeys(a["associateRole"]["key"] for a in assignments))
    docs = [ctx.get_by_key(ROLE, key) for key in keys]
    return [ctx.render(ROLE, d) for d in docs if d is not None]


def _associate_lookup(ctx: Ctx, req: Req) -> tuple[int, Any]:
    unit = load(ctx, RESOURCE, req)
    customer_id = req.path["associateId"]

    def held(associates: list[Doc]) -> list[Doc]:
        return [r for a in associates if a["customer"]["id"] == customer_id for r in a["associateRoleAssignments"]]

    explicit, inherited = held(unit["associates"]), held(unit.get("inheritedAssociates", []))
    if not explicit and not inherited:
        raise errors.not_found(
            f"The customer '{customer_id}' is not an associate of the business unit '{unit['key']}'."
        )
    roles, inherited_roles = _roles(ctx, explicit), _roles(ctx, inherited)
    granted = {p for role in roles + inherited_roles for p in role["permissions"]}
    return 200, {
        "customer": {"typeId": "customer", "id": customer_id},
        "associateRoles": roles,
        "inheritedAssociateRoles": inherited_roles,
        "permissions": [p for p in PERMISSIONS if p in granted],
    }


def seed_demo(ctx: Ctx) -> None:
    """The company "acme" with acme-eu (and acme-eu-berlin below it) and acme-us, associates from the demo
    customers (if any): the first is an inheritable Admin at acme, others Buyers or Approvers below."""
    customers = ctx.store.find(ctx.project, "customer", limit=4)
    ids = [c["id"] for c in customers]

    def associates(*pairs: tuple[int, str, str]) -> list[Doc]:
        return [
            {
                "customer": {"id": ids[i]},
                "associateRoleAssignments": [{"associateRole": {"key": role}, "inheritance": inh}],
            }
            for i, role, inh in pairs
            if i < len(ids)
        ]

    stores = [{"key": s["key"]} for s in ctx.store.find(ctx.project, "store", limit=2)]
    units: list[Doc] = [
        {"unitType": "Company", "key": "acme", "name": "ACME Corporation", "contactEmail": "b2b@acme.example",
         "stores": stores, "addresses": [{"country": "DE", "city": "Munich", "company": "ACME"}],
         "defaultBillingAddress": 0, "associates": associates((0, "admin", "Enabled"))},
        {"unitType": "Division", "key": "acme-eu", "name": "ACME Europe", "parentUnit": {"key": "acme"},
         "associates": associates((1, "approver", "Enabled"))},
        {"unitType": "Division", "key": "acme-us", "name": "ACME United States", "parentUnit": {"key": "acme"},
         "associateMode": "Explicit", "associates": associates((2, "buyer", "Disabled"))},
        {"unitType": "Division", "key": "acme-eu-berlin", "name": "ACME Berlin", "parentUnit": {"key": "acme-eu"},
         "associates": associates((3, "buyer", "Disabled"))},
    ]  # fmt: skip
    for draft in units:
        doc = create(ctx, draft)
        ctx.insert(TYPE_ID, doc)
        _after_write(ctx, None, doc)


RESOURCE = Resource(
    type_id=TYPE_ID,
    endpoint="business-units",
    view_scopes=("view_business_units",),
    manage_scopes=("manage_business_units",),
    create=create,
    update_union="BusinessUnitUpdateAction",
    actions=ACTIONS,
    before_delete=_before_delete,
    after_write=_after_write,
    key_required=True,
    delete_params=("dataErasure",),
)

FEATURE = Feature(
    "business_units",
    resources=(RESOURCE,),
    routes=tuple(
        Route("GET", f"/business-units/{ident}/associates/{{associateId}}", _associate_lookup, RESOURCE.view_scopes)
        for ident in ("key={key}", "{id}")
    ),
    seed_demo=seed_demo,
)

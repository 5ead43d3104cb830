"""Which Messages each change produces, in one table: per resource type, per trigger (an update action, or
``create``, ``delete``, or the flow a ``Change.cause`` names), the Message types in the order they are produced
and the builder of each one's payload. ``produce(ctx, change)`` turns one Change into its Messages.

The words are the official RAML's (``types/message/*Message.raml``): which action or request generates each
Message and what its payload holds. Rules the table follows:

- An update produces one Message per action that has a Message type and changed something (an action that
  changes nothing produces none, as it bumps no version), in the order of the actions; all carry the version
  the update made. A builder that returns ``None`` means "not this type" (``setCustomField`` produces
  CustomFieldAdded, Changed or Removed depending on what was there).
- Builders read the resource just before and just after their own action (``Change.states``), so several
  actions in one request each see what they did.
- A create produces its Created Message with the resource as created (never its password hash), a delete its
  Deleted Message with the last version. The token flows produce CustomerEmailTokenCreated /
  CustomerPasswordTokenCreated on the token itself (its ``resource`` is a ``customer-email-token`` /
  ``customer-password-token`` reference), with the token ``value`` only when the token lives 60 minutes or less.
- A Business Unit whose ``topLevelUnit`` changes (``setUnitType``, ``changeParentUnit``, and their descendants'
  refresh, cause ``derived``) produces BusinessUnitTopLevelUnitSet.

Common fields (``sequenceNumber`` aside, which the message log numbers per resource) are set here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .backend import Change, Ctx, Doc
from .message_log import message_id

TOKEN_VALUE_REPORT = "tokenValue"  # what a token flow reports (``Ctx.report``) so the Message can show the value
SHORT_LIVED = timedelta(minutes=60)  # a token living this long or less shows its value in its Message
HIDDEN = frozenset({"password"})  # never in a Message's copy of a resource
# The user-provided identifiers a Message repeats (``resourceUserProvidedIdentifiers``), by resource type.
IDENTIFIERS = {
    "customer": ("key", "externalId", "customerNumber"),
    "customer-group": ("key",),
    "business-unit": ("key",),
    "associate-role": ("key",),
}


@dataclass(frozen=True)
class Step:
    """What one Message's builder sees: the resource just before and just after what produced it (``None``
    before a create, after a delete), the update action (``{}`` for a create, delete or flow), and the reports
    the write carried."""

    ctx: Ctx
    type_id: str
    before: Doc | None
    after: Doc | None
    action: Doc
    reports: tuple[Doc, ...] = ()

    @property
    def old(self) -> Doc:
        return self.before or {}

    @property
    def new(self) -> Doc:
        return self.after or {}


Build = Callable[[Step], "Doc | None"]


@dataclass(frozen=True)
class Rule:
    """One Message type a trigger may produce, and its payload builder (``None``: not produced this time)."""

    type: str
    build: Build


# ---------------------------------------------------------------- builders


def _some(**fields: Any) -> Doc:
    """The fields that have a value (the payloads' optional fields are absent, never null)."""
    return {k: v for k, v in fields.items() if v is not None}


def _field(name: str) -> Build:
    return lambda s: _some(**{name: s.new.get(name)})


def _added(before: list[Doc], after: list[Doc], key: Callable[[Doc], Any]) -> Doc | None:
    known = {key(x) for x in before}
    return next((x for x in after if key(x) not in known), None)


def _changed(before: list[Doc], after: list[Doc], key: Callable[[Doc], Any]) -> Doc | None:
    old = {key(x): x for x in before}
    return next((x for x in after if key(x) in old and old[key(x)] != x), None)


def _by_id(doc: Doc, address_id: Any) -> Doc | None:
    return next((a for a in doc.get("addresses", []) if a.get("id") == address_id), None)


def _roles(doc: Doc, address_id: str) -> list[str]:
    lists = (("Shipping", "shippingAddressIds"), ("Billing", "billingAddressIds"))
    return [role for role, field in lists if address_id in doc.get(field, [])]


def _address_id(item: Doc) -> Any:
    return item.get("id")


def _address_changed(s: Step) -> Doc | None:
    address = _changed(s.old.get("addresses", []), s.new.get("addresses", []), _address_id)
    return None if address is None else {"address": address, "addressRoles": _roles(s.new, address["id"])}


def _address_removed(s: Step) -> Doc | None:
    address = _added(s.new.get("addresses", []), s.old.get("addresses", []), _address_id)
    return None if address is None else {"address": address, "addressRoles": _roles(s.old, address["id"])}


def _address_id_change(field: str, removed: bool) -> Build:
    """An address id added to ``field`` (e.g. ``shippingAddressIds``), or with ``removed`` taken from it: the
    address it names, as the side that has the id holds it."""

    def build(s: Step) -> Doc | None:
        without, having = (s.new, s.old) if removed else (s.old, s.new)
        ids = set(without.get(field, []))
        found = next((i for i in having.get(field, []) if i not in ids), None)
        return None if found is None else _some(address=_by_id(having, found))

    return build


def _default_set(field: str) -> Build:
    return lambda s: _some(address=_by_id(s.new, s.new.get(field)))


def _type_id(target: Doc | None) -> str | None:
    custom = (target or {}).get("custom")
    return custom["type"]["id"] if custom else None


def _custom_type(old_word: str, removed: bool, at: Callable[[Step], tuple[Doc | None, Doc | None, Doc]]) -> Build:
    """setCustomType / setAddressCustomType: TypeSet (a Type now) or TypeRemoved (none now)."""

    def build(s: Step) -> Doc | None:
        before, after, extra = at(s)
        custom = (after or {}).get("custom")
        if (custom is None) != removed:
            return None
        fields = {} if removed else {"customFields": custom}
        return {**fields, **_some(**{f"{old_word}TypeId": _type_id(before)}), **extra}

    return build


def _custom_field(kind: str, old_word: str, at: Callable[[Step], tuple[Doc | None, Doc | None, Doc]]) -> Build:
    """setCustomField / setAddressCustomField: Added (no value before), Changed (one before), Removed (none now)."""

    def build(s: Step) -> Doc | None:
        before, after, extra = at(s)
        name = s.action.get("name")
        old = ((before or {}).get("custom") or {}).get("fields", {})
        new = ((after or {}).get("custom") or {}).get("fields", {})
        if kind == "Added" and name in new and name not in old:
            return {"name": name, "value": new[name], **extra}
        if kind == "Changed" and name in new and name in old:
            return {"name": name, "value": new[name], f"{old_word}Value": old[name], **extra}
        if kind == "Removed" and name in old and name not in new:
            return {"name": name, **extra}
        return None

    return build


def _whole(s: Step) -> tuple[Doc | None, Doc | None, Doc]:
    return s.before, s.after, {}


def _address(s: Step) -> tuple[Doc | None, Doc | None, Doc]:
    address_id = s.action.get("addressId")
    return _by_id(s.old, address_id), _by_id(s.new, address_id), {"addressId": address_id}


def _rendered(name: str) -> Build:
    """The resource as the API shows it to a client that did not set its secrets: a Customer's password hash is
    never in a Message (a ``view_messages`` token would read it)."""
    return lambda s: {name: {k: v for k, v in s.ctx.render(s.type_id, s.new).items() if k not in HIDDEN}}


def _group(assignment: Doc) -> Any:
    return assignment["customerGroup"]["id"]


def _customer_of(associate: Doc) -> Any:
    return associate["customer"]["id"]


def _store_key(ref: Doc) -> Any:
    return ref["key"]


def _item(field: str, key: Callable[[Doc], Any], name: str, change: str = "added") -> Build:
    """``{name: item}`` for the first item of the list ``field`` (items told apart by ``key``) that the step
    added, or, by ``change``, ``removed`` or ``changed``; None when there is none."""

    def build(s: Step) -> Doc | None:
        old, new = s.old.get(field, []), s.new.get(field, [])
        if change == "changed":
            found = _changed(old, new, key)
        else:
            found = _added(new, old, key) if change == "removed" else _added(old, new, key)
        return None if found is None else {name: found}

    return build


def _assignment(change: str = "added") -> Build:
    return _item("customerGroupAssignments", _group, "customerGroupAssignment", change)


def _associate(change: str = "added") -> Build:
    return _item("associates", _customer_of, "associate", change)


def _top_level_unit(s: Step) -> Doc | None:
    old, new = s.old.get("topLevelUnit"), s.new.get("topLevelUnit")
    return None if old == new or old is None or new is None else {"topLevelUnit": new, "oldTopLevelUnit": old}


def _token_created(s: Step) -> Doc:
    token = s.new
    payload = {
        "customerId": token["customerId"],
        "expiresAt": token["expiresAt"],
        "invalidateOlderTokens": token.get("invalidateOlderTokens", False),
    }
    lifetime = datetime.fromisoformat(token["expiresAt"]) - datetime.fromisoformat(token["createdAt"])
    value = next((r["value"] for r in s.reports if r.get("type") == TOKEN_VALUE_REPORT), None)
    if value is not None and lifetime <= SHORT_LIVED:
        payload["value"] = value
    return payload


# ---------------------------------------------------------------- the table


def _address_rules(owner: str, old_word: str) -> dict[str, tuple[Rule, ...]]:
    """The eleven address actions Customers and Business Units share, and their Messages."""
    return {
        "addAddress": (Rule(f"{owner}AddressAdded", _item("addresses", _address_id, "address")),),
        "changeAddress": (Rule(f"{owner}AddressChanged", _address_changed),),
        "removeAddress": (Rule(f"{owner}AddressRemoved", _address_removed),),
        **{
            f"{verb}{role}AddressId": (
                Rule(f"{owner}{role}Address{done}", _address_id_change(f"{role.lower()}AddressIds", verb == "remove")),
            )
            for role in ("Shipping", "Billing")
            for verb, done in (("add", "Added"), ("remove", "Removed"))
        },
        "setDefaultShippingAddress": (
            Rule(f"{owner}DefaultShippingAddressSet", _default_set("defaultShippingAddressId")),
        ),
        "setDefaultBillingAddress": (
            Rule(f"{owner}DefaultBillingAddressSet", _default_set("defaultBillingAddressId")),
        ),
        "setAddressCustomType": (
            Rule(f"{owner}AddressCustomTypeSet", _custom_type(old_word, False, _address)),
            Rule(f"{owner}AddressCustomTypeRemoved", _custom_type(old_word, True, _address)),
        ),
        "setAddressCustomField": tuple(
            Rule(f"{owner}AddressCustomField{kind}", _custom_field(kind, old_word, _address))
            for kind in ("Added", "Changed", "Removed")
        ),
    }


def _custom_rules(owner: str, old_word: str) -> dict[str, tuple[Rule, ...]]:
    return {
        "setCustomType": (
            Rule(f"{owner}CustomTypeSet", _custom_type(old_word, False, _whole)),
            Rule(f"{owner}CustomTypeRemoved", _custom_type(old_word, True, _whole)),
        ),
        "setCustomField": tuple(
            Rule(f"{owner}CustomField{kind}", _custom_field(kind, old_word, _whole))
            for kind in ("Added", "Changed", "Removed")
        ),
    }


def _set(message_type: str, field: str) -> tuple[Rule, ...]:
    return (Rule(message_type, _field(field)),)


MESSAGES: dict[str, dict[str, tuple[Rule, ...]]] = {
    "customer": {
        "create": (Rule("CustomerCreated", _rendered("customer")),),
        "delete": (Rule("CustomerDeleted", lambda s: _some(email=s.old.get("email"))),),
        **_address_rules("Customer", "previous"),
        "changeEmail": (Rule("CustomerEmailChanged", lambda s: {"email": s.new["email"], "oldEmail": s.old["email"]}),),
        "setFirstName": _set("CustomerFirstNameSet", "firstName"),
        "setLastName": _set("CustomerLastNameSet", "lastName"),
        "setTitle": _set("CustomerTitleSet", "title"),
        "setDateOfBirth": _set("CustomerDateOfBirthSet", "dateOfBirth"),
        "setCompanyName": _set("CustomerCompanyNameSet", "companyName"),
        "setExternalId": _set("CustomerExternalIdSet", "externalId"),
        "setCustomerGroup": _set("CustomerGroupSet", "customerGroup"),
        "addCustomerGroupAssignment": (Rule("CustomerGroupAssignmentAdded", _assignment()),),
        "removeCustomerGroupAssignment": (Rule("CustomerGroupAssignmentRemoved", _assignment("removed")),),
        "setCustomerGroupAssignments": (
            Rule(
                "CustomerGroupAssignmentsSet",
                lambda s: {
                    "customerGroupAssignments": s.new.get("customerGroupAssignments", []),
                    "oldCustomerGroupAssignments": s.old.get("customerGroupAssignments", []),
                },
            ),
        ),
        **_custom_rules("Customer", "previous"),
        "setStores": (
            Rule(
                "CustomerStoresSet", lambda s: {"stores": s.new.get("stores", []), "oldStores": s.old.get("stores", [])}
            ),
        ),
        "confirmEmail": (Rule("CustomerEmailVerified", lambda s: {}),),
        "resetPassword": (Rule("CustomerPasswordUpdated", lambda s: {"reset": True}),),
        "changePassword": (Rule("CustomerPasswordUpdated", lambda s: {"reset": False}),),
    },
    "customer-email-token": {"createEmailToken": (Rule("CustomerEmailTokenCreated", _token_created),)},
    "customer-password-token": {"createPasswordToken": (Rule("CustomerPasswordTokenCreated", _token_created),)},
    "customer-group": _custom_rules("CustomerGroup", "old"),
    "business-unit": {
        "create": (Rule("BusinessUnitCreated", _rendered("businessUnit")),),
        "delete": (Rule("BusinessUnitDeleted", lambda s: {}),),
        **_address_rules("BusinessUnit", "old"),
        "changeName": _set("BusinessUnitNameChanged", "name"),
        "setContactEmail": _set("BusinessUnitContactEmailSet", "contactEmail"),
        "changeStatus": (Rule("BusinessUnitStatusChanged", lambda s: {"active": s.new["status"]}),),
        "setUnitType": (
            Rule(
                "BusinessUnitTypeSet",
                lambda s: _some(
                    parentUnit=s.new.get("parentUnit"),
                    oldParentUnit=s.old.get("parentUnit"),
                    unitType=s.new["unitType"],
                    oldUnitType=s.old["unitType"],
                ),
            ),
            Rule("BusinessUnitTopLevelUnitSet", _top_level_unit),
        ),
        "changeParentUnit": (
            Rule(
                "BusinessUnitParentChanged",
                lambda s: _some(oldParentUnit=s.old.get("parentUnit"), newParentUnit=s.new.get("parentUnit")),
            ),
            Rule("BusinessUnitTopLevelUnitSet", _top_level_unit),
        ),
        "setStoreMode": (
            Rule(
                "BusinessUnitStoreModeChanged",
                lambda s: {
                    "stores": s.new.get("stores", []),
                    "storeMode": s.new["storeMode"],
                    "oldStores": s.old.get("stores", []),
                    "oldStoreMode": s.old["storeMode"],
                },
            ),
        ),
        "addStore": (Rule("BusinessUnitStoreAdded", _item("stores", _store_key, "store")),),
        "removeStore": (Rule("BusinessUnitStoreRemoved", _item("stores", _store_key, "store", "removed")),),
        "setStores": (Rule("BusinessUnitStoresSet", lambda s: {"stores": s.new.get("stores", [])}),),
        "changeAssociateMode": (
            Rule(
                "BusinessUnitAssociateModeChanged",
                lambda s: {"associateMode": s.new["associateMode"], "oldAssociateMode": s.old["associateMode"]},
            ),
        ),
        "changeApprovalRuleMode": (
            Rule(
                "BusinessUnitApprovalRuleModeChanged",
                lambda s: {
                    "approvalRuleMode": s.new["approvalRuleMode"],
                    "oldApprovalRuleMode": s.old["approvalRuleMode"],
                },
            ),
        ),
        "addAssociate": (Rule("BusinessUnitAssociateAdded", _associate()),),
        "changeAssociate": (Rule("BusinessUnitAssociateChanged", _associate("changed")),),
        "removeAssociate": (Rule("BusinessUnitAssociateRemoved", _associate("removed")),),
        "setAssociates": (Rule("BusinessUnitAssociatesSet", lambda s: {"associates": s.new.get("associates", [])}),),
        **_custom_rules("BusinessUnit", "old"),
        "addCustomerGroupAssignment": (Rule("BusinessUnitCustomerGroupAssignmentAdded", _assignment()),),
        "removeCustomerGroupAssignment": (Rule("BusinessUnitCustomerGroupAssignmentRemoved", _assignment("removed")),),
        "setCustomerGroupAssignments": (
            Rule(
                "BusinessUnitCustomerGroupAssignmentsSet",
                lambda s: _some(customerGroupAssignments=s.new.get("customerGroupAssignments")),
            ),
        ),
        "derived": (Rule("BusinessUnitTopLevelUnitSet", _top_level_unit),),
    },
    "associate-role": {
        "create": (Rule("AssociateRoleCreated", _rendered("associateRole")),),
        "delete": (Rule("AssociateRoleDeleted", lambda s: {}),),
        "addPermission": (Rule("AssociateRolePermissionAdded", lambda s: {"permission": s.action["permission"]}),),
        "removePermission": (Rule("AssociateRolePermissionRemoved", lambda s: {"permission": s.action["permission"]}),),
        "setPermissions": (
            Rule("AssociateRolePermissionsSet", lambda s: {"permissions": s.new.get("permissions", [])}),
        ),
        "changeBuyerAssignable": (
            Rule("AssociateRoleBuyerAssignableChanged", lambda s: {"buyerAssignable": s.new["buyerAssignable"]}),
        ),
        "setName": _set("AssociateRoleNameSet", "name"),
    },
}
"""Resource type -> trigger -> the Message types it may produce, in order, with their payload builders."""

# Triggers that are not update actions: what produces them, in words (the README's table says these).
FLOWS = {
    "create": "create",
    "delete": "delete",
    "confirmEmail": "POST /customers/email/confirm",
    "resetPassword": "POST /customers/password/reset",
    "changePassword": "POST /customers/password",
    "createEmailToken": "POST /customers/email-token",
    "createPasswordToken": "POST /customers/password-token",
    "derived": "a parent's setUnitType or changeParentUnit (descendants)",
}


def produces(type_id: str, cause: str) -> bool:
    """Whether a change of this type and cause may produce Messages at all (checked before anything else)."""
    table = MESSAGES.get(type_id)
    return table is not None and (cause == "update" or cause in table)


def _steps(ctx: Ctx, change: Change) -> Iterator[tuple[str, Step]]:
    """(trigger, step) for each thing the change did that may produce Messages."""
    if change.cause == "update" and change.before is not None and change.after is not None:
        states = change.states
        for i, action in enumerate(change.actions):
            if i + 1 < len(states) and states[i] != states[i + 1]:
                step = Step(ctx, change.type_id, states[i], states[i + 1], action, change.reports)
                yield action["action"], step
        return
    trigger = change.cause
    if trigger in ("create", "delete") and (change.before is None) != (trigger == "create"):
        return
    yield trigger, Step(ctx, change.type_id, change.before, change.after, {}, change.reports)


def produce(ctx: Ctx, change: Change) -> list[Doc]:
    """The Messages one change produces, with every common field but ``sequenceNumber``."""
    table = MESSAGES.get(change.type_id, {})
    payloads = [
        (rule.type, payload)
        for trigger, step in _steps(ctx, change)
        for rule in table.get(trigger, ())
        if (payload := rule.build(step)) is not None
    ]
    if not payloads:
        return []
    resource = change.after if change.after is not None else change.before
    assert resource is not None
    # the change's own time (a create's or update's lastModifiedAt), else now
    now = change.after.get("lastModifiedAt") if change.after is not None else None
    now, who = now or ctx.timestamp(), ctx.logging()
    common: Doc = {
        "version": 1,
        "createdAt": now,
        "lastModifiedAt": now,
        "createdBy": who,
        "lastModifiedBy": who,
        "resource": {"typeId": change.type_id, "id": resource["id"]},
        "resourceVersion": resource.get("version", 1),
    }
    identifiers = _some(**{name: resource.get(name) for name in IDENTIFIERS.get(change.type_id, ())})
    if identifiers:
        common["resourceUserProvidedIdentifiers"] = identifiers
    moment = datetime.fromisoformat(now)
    return [{"id": message_id(moment), **common, "type": kind, **payload} for kind, payload in payloads]


def message_types() -> dict[str, list[tuple[str, str]]]:
    """Message type -> [(resource type, trigger)] that produce it: the README's list, from this table."""
    out: dict[str, list[tuple[str, str]]] = {}
    for type_id, triggers in MESSAGES.items():
        for trigger, rules in triggers.items():
            for rule in rules:
                out.setdefault(rule.type, []).append((type_id, trigger))
    return out

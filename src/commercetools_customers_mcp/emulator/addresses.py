"""Addresses as Customers and Business Units share them: stored addresses (ids, keys), drafts with index-based
defaults, and the eleven address update actions (one handler table both resources include)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import errors
from .backend import Ctx, Doc, Handler
from .setters import custom_fields_from_draft, set_custom_field, set_custom_type
from .validation import check_key

_LISTS = (("shippingAddresses", "shippingAddressIds"), ("billingAddresses", "billingAddressIds"))
_DEFAULTS = (
    ("defaultShippingAddress", "defaultShippingAddressId", "shippingAddressIds"),
    ("defaultBillingAddress", "defaultBillingAddressId", "billingAddressIds"),
)


def address_index(doc: Doc, action: Doc, *, key_allowed: bool = True) -> int:
    """Find the address an action names by ``addressId`` or ``addressKey``; InvalidOperation if none."""
    address_id, address_key = action.get("addressId"), action.get("addressKey") if key_allowed else None
    if address_id is None and address_key is None:
        raise errors.invalid_operation("Either 'addressId' or 'addressKey' must be given.")
    for i, address in enumerate(doc.get("addresses", [])):
        if (address_id is not None and address.get("id") == address_id) or (
            address_id is None and address_key is not None and address.get("key") == address_key
        ):
            return i
    ident = f"id '{address_id}'" if address_id is not None else f"key '{address_key}'"
    raise errors.invalid_operation(f"The address with {ident} does not exist.")


def new_address(ctx: Ctx, address: Doc, existing: Sequence[Doc] = ()) -> Doc:
    """A stored address: server-generated id, unique key within the owner, custom fields resolved."""
    out = {k: v for k, v in address.items() if k != "id"}
    out["id"] = ctx.new_id()[:8]
    key = out.get("key")
    if key is not None:
        check_key(key)
        if any(a.get("key") == key for a in existing):
            raise errors.duplicate_field("addresses.key", key)
    if "custom" in out:
        out["custom"] = custom_fields_from_draft(ctx, out["custom"], "address -> custom")
    return out


def from_draft(ctx: Ctx, draft: Doc) -> Doc:
    """The address fields of a new resource from a draft (indexes into ``addresses`` become ids)."""
    addresses: list[Doc] = []
    for address in draft.get("addresses") or []:
        addresses.append(new_address(ctx, address, addresses))

    def id_at(field: str, index: Any) -> str:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(addresses):
            raise errors.invalid_input(f"{field}: index {index} is out of range of addresses ({len(addresses)} given).")
        return addresses[index]["id"]

    out: Doc = {"addresses": addresses, "shippingAddressIds": [], "billingAddressIds": []}
    for draft_field, doc_field in _LISTS:
        for index in draft.get(draft_field) or []:
            address_id = id_at(draft_field, index)
            if address_id not in out[doc_field]:
                out[doc_field].append(address_id)
    for draft_field, doc_field, list_field in _DEFAULTS:
        if draft.get(draft_field) is not None:
            address_id = id_at(draft_field, draft[draft_field])
            out[doc_field] = address_id
            if address_id not in out[list_field]:
                out[list_field].append(address_id)
    return out


def _add_address(ctx: Ctx, doc: Doc, action: Doc) -> None:
    addresses = doc.setdefault("addresses", [])
    addresses.append(new_address(ctx, action["address"], addresses))


def _change_address(ctx: Ctx, doc: Doc, action: Doc) -> None:
    i = address_index(doc, action)
    others = [a for j, a in enumerate(doc["addresses"]) if j != i]
    address = new_address(ctx, action["address"], others)
    address["id"] = doc["addresses"][i]["id"]
    doc["addresses"][i] = address


def _remove_address(ctx: Ctx, doc: Doc, action: Doc) -> None:
    i = address_index(doc, action)
    address_id = doc["addresses"].pop(i)["id"]
    for _, list_field in _LISTS:
        if address_id in doc.get(list_field, []):
            doc[list_field].remove(address_id)
    for _, default_field, _ in _DEFAULTS:
        if doc.get(default_field) == address_id:
            del doc[default_field]


def _add_to(list_field: str) -> Handler:
    def handler(ctx: Ctx, doc: Doc, action: Doc) -> None:
        address_id = doc["addresses"][address_index(doc, action)]["id"]
        ids = doc.setdefault(list_field, [])
        if address_id in ids:
            raise errors.invalid_operation(f"The address '{address_id}' is already in {list_field}.")
        ids.append(address_id)

    return handler


def _remove_from(list_field: str, default_field: str) -> Handler:
    def handler(ctx: Ctx, doc: Doc, action: Doc) -> None:
        address_id = doc["addresses"][address_index(doc, action)]["id"]
        ids = doc.setdefault(list_field, [])
        if address_id not in ids:
            raise errors.invalid_operation(f"The address '{address_id}' is not in {list_field}.")
        ids.remove(address_id)
        if doc.get(default_field) == address_id:
            del doc[default_field]

    return handler


def _set_default(default_field: str, list_field: str) -> Handler:
    """Either addressId or addressKey is required (the RAML's words; neither is InvalidOperation)."""

    def handler(ctx: Ctx, doc: Doc, action: Doc) -> None:
        address_id = doc["addresses"][address_index(doc, action)]["id"]
        doc[default_field] = address_id
        ids = doc.setdefault(list_field, [])
        if address_id not in ids:
            ids.append(address_id)

    return handler


def _set_address_custom_type(ctx: Ctx, doc: Doc, action: Doc) -> None:
    set_custom_type(ctx, doc["addresses"][address_index(doc, action, key_allowed=False)], action)


def _set_address_custom_field(ctx: Ctx, doc: Doc, action: Doc) -> None:
    set_custom_field(ctx, doc["addresses"][address_index(doc, action, key_allowed=False)], action)


ACTIONS: dict[str, Handler] = {
    "addAddress": _add_address,
    "changeAddress": _change_address,
    "removeAddress": _remove_address,
    "addShippingAddressId": _add_to("shippingAddressIds"),
    "removeShippingAddressId": _remove_from("shippingAddressIds", "defaultShippingAddressId"),
    "setDefaultShippingAddress": _set_default("defaultShippingAddressId", "shippingAddressIds"),
    "addBillingAddressId": _add_to("billingAddressIds"),
    "removeBillingAddressId": _remove_from("billingAddressIds", "defaultBillingAddressId"),
    "setDefaultBillingAddress": _set_default("defaultBillingAddressId", "billingAddressIds"),
    "setAddressCustomType": _set_address_custom_type,
    "setAddressCustomField": _set_address_custom_field,
}

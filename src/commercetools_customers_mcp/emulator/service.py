"""Generic resource mechanics shared by every resource module.

A resource module describes itself with a ``Resource`` (draft builder, action-name → handler table,
renderer, hooks, extra routes); this module does the rest the same way for all of them: request
validation against the vendored API structure, versions and concurrency, keys, paging, sorting, `where`,
reference expansion and the create / get / query / update / delete endpoints.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import orjson

from .. import spec
from . import errors
from .clock import iso

if TYPE_CHECKING:
    from .app import Emulator
    from .store import Store

Doc = dict[str, Any]
Handler = Callable[["Ctx", Doc, Doc], None]
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{2,256}$")
MAX_LIMIT, MAX_OFFSET, MAX_ACTIONS = 500, 10_000, 500


@dataclass
class Req:
    """What an endpoint handler sees of a request."""

    method: str
    path: Mapping[str, str]
    query: Any  # starlette QueryParams: .get(name), .getlist(name), .multi_items()
    body: Any = None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.query.get(name)
        if value is None:
            return default
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise errors.invalid_input(f"Malformed parameter: {name}: expected true or false, got '{value}'.")

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.query.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise errors.invalid_input(f"Malformed parameter: {name}: '{value}' is not an integer.") from None
        if not low <= number <= high:
            raise errors.invalid_input(f"Malformed parameter: {name}: must be between {low} and {high}.")
        return number


@dataclass
class Route:
    """An extra endpoint below ``/{projectKey}``; ``path`` uses ``{name}`` placeholders (one segment each)."""

    method: str
    path: str
    handler: Callable[[Ctx, Req], tuple[int, Any]]
    scopes: tuple[str, ...]


@dataclass
class Resource:
    type_id: str
    endpoint: str | None  # URL segment, or None for internal types
    view_scopes: tuple[str, ...]
    manage_scopes: tuple[str, ...]
    create: Callable[[Ctx, Doc], Doc] | None = None
    actions: dict[str, Handler] = field(default_factory=dict)
    draft_schema: str | None = None
    update_union: str | None = None
    render: Callable[[Ctx, Doc], Doc] = lambda ctx, doc: doc
    before_delete: Callable[[Ctx, Doc, Req], None] | None = None
    after_write: Callable[[Ctx, Doc | None, Doc | None], None] | None = None
    create_response: Callable[[Ctx, Doc, Req], tuple[int, Any]] | None = None
    routes: list[Route] = field(default_factory=list)
    key_required: bool = False
    delete_params: tuple[str, ...] = ()  # extra query flags allowed on delete, e.g. ("dataErasure",)


@dataclass
class Ctx:
    """One request's view of the emulator: project, caller, clock and store."""

    emulator: Emulator
    project: str
    client_id: str | None = None
    customer_id: str | None = None
    now: str = ""

    @property
    def store(self) -> Store:
        return self.emulator.store

    def resource(self, type_id: str) -> Resource:
        return self.emulator.registry[type_id]

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def timestamp(self) -> str:
        return self.now or iso(self.emulator.clock.now())

    def logging(self) -> Doc:
        """ClientLogging for createdBy / lastModifiedBy."""
        info: Doc = {"isPlatformClient": False}
        if self.client_id:
            info["clientId"] = self.client_id
        if self.customer_id:
            info["customer"] = {"typeId": "customer", "id": self.customer_id}
        return info

    def get(self, type_id: str, id: str) -> Doc | None:
        return self.store.get(self.project, type_id, id)

    def get_by_key(self, type_id: str, key: str) -> Doc | None:
        return self.store.get_by_key(self.project, type_id, key)

    def resolve(self, type_id: str, ident: Any, field_name: str = "") -> Doc:
        """A ResourceIdentifier (id xor key, optional matching typeId) → the stored document."""
        where = f"{field_name}: " if field_name else ""
        if not isinstance(ident, dict):
            raise errors.invalid_json(f"{where}expected a ResourceIdentifier object")
        if ident.get("typeId") not in (None, type_id):
            raise errors.invalid_json(f"{where}typeId must be '{type_id}', got '{ident.get('typeId')}'")
        has_id, has_key = ident.get("id") is not None, ident.get("key") is not None
        if has_id == has_key:
            raise errors.invalid_json(f"{where}exactly one of 'id' or 'key' must be given")
        doc = self.get(type_id, ident["id"]) if has_id else self.get_by_key(type_id, ident["key"])
        if doc is None:
            if has_id:
                raise errors.referenced_not_found(type_id, id=ident["id"])
            raise errors.referenced_not_found(type_id, key=ident["key"])
        return doc

    def reference(self, type_id: str, doc: Doc) -> Doc:
        return {"typeId": type_id, "id": doc["id"]}

    def key_reference(self, type_id: str, doc: Doc) -> Doc:
        return {"typeId": type_id, "key": doc["key"]}

    def render(self, type_id: str, doc: Doc) -> Doc:
        return self.resource(type_id).render(self, doc)


# ---------------------------------------------------------------- validation


@cache
def _validator(name: str) -> Any:
    return jsonschema_rs.validator_for(spec.schema(name), validate_formats=True)


@cache
def _members(union: str) -> dict[str, Any]:
    return {
        name: jsonschema_rs.validator_for(member, validate_formats=True)
        for name, member in spec.union_members(union).items()
    }


def _path(prefix: str, location: Sequence[Any]) -> str:
    parts = [prefix] if prefix else []
    parts += [str(p) for p in location]
    return " -> ".join(parts)


def _describe(err: Any) -> str:
    kind = type(err.kind).__name__
    if kind == "Required":
        return f"Missing required value '{err.kind.property}'"
    if kind in _LIMITS:  # without quoting the (possibly huge) value
        return _LIMITS[kind].format(err.kind.limit)
    if kind == "Enum":  # name every allowed value, not "A, B or 45 other candidates"
        allowed = ", ".join(f'"{option}"' for option in err.kind.options)
        return f"{orjson.dumps(err.instance).decode()} is not one of the allowed values: {allowed}"
    return err.message


# Schema errors that are a value breaking a documented limit, which the API answers with InvalidInput.
_LIMITS = {
    "MaxItems": "has more than {} items",
    "MinItems": "has fewer than {} items",
    "MaxLength": "is longer than {} characters",
    "MinLength": "is shorter than {} characters",
    "Maximum": "is greater than the maximum of {}",
    "Minimum": "is less than the minimum of {}",
}


def _selected(errors: list[Any]) -> list[Any]:
    """A failed ``oneOf`` replaced by the errors of the member the value comes closest to (fewest errors)."""
    out: list[Any] = []
    for err in errors:
        context = getattr(err.kind, "context", None) if type(err.kind).__name__ == "OneOfNotValid" else None
        out += _selected(min(context, key=len)) if context else [err]
    return out


def validate(name: str, value: Any, prefix: str = "") -> None:
    """Validate ``value`` against the named API component; 400 naming every problem: InvalidInput when every
    problem is a value over a limit (the API's code for that), InvalidJsonInput otherwise."""
    found = _selected(list(_validator(name).iter_errors(value)))
    problems = [
        f"{_path(prefix, e.instance_path)}: {_describe(e)}" if (prefix or e.instance_path) else _describe(e)
        for e in found
    ]
    if problems and all(type(e.kind).__name__ in _LIMITS for e in found):
        raise errors.invalid_input("; ".join(problems[:20]))
    if problems:
        raise errors.invalid_json("; ".join(problems[:20]))


def validate_actions(resource: Resource, actions: list[Any]) -> None:
    if len(actions) > MAX_ACTIONS:
        raise errors.invalid_input(f"Too many update actions: at most {MAX_ACTIONS} per request.")
    members = _members(resource.update_union) if resource.update_union else {}
    for i, action in enumerate(actions):
        prefix = f"actions -> {i}"
        if not isinstance(action, dict) or not isinstance(action.get("action"), str):
            raise errors.invalid_json(f"{prefix}: Missing required value 'action'")
        name = action["action"]
        if name not in resource.actions or (members and name not in members):
            raise errors.invalid_json(
                f"{prefix} -> action: Unknown update action '{name}' for {resource.type_id}. "
                f"Valid actions: {', '.join(sorted(resource.actions))}"
            )
        if members:
            problems = [f"{_path(prefix, e.instance_path)}: {_describe(e)}" for e in members[name].iter_errors(action)]
            if problems:
                raise errors.invalid_json("; ".join(problems[:20]))


def check_key(key: Any) -> None:
    if key is not None and (not isinstance(key, str) or not KEY_PATTERN.match(key)):
        raise errors.invalid_input(
            f"Invalid key '{key}'. Keys may only contain alphanumeric characters, underscores "
            "and hyphens and must have a minimum length of 2 characters and maximum length "
            "of 256 characters."
        )


def ensure_unique_key(ctx: Ctx, resource: Resource, doc: Doc) -> None:
    key = doc.get("key")
    if key is None:
        return
    check_key(key)
    other = ctx.get_by_key(resource.type_id, key)
    if other is not None and other["id"] != doc["id"]:
        raise errors.duplicate_field("key", key)


# ---------------------------------------------------------------- expansion


def expand(ctx: Ctx, doc: Doc, paths: Sequence[str]) -> Doc:
    """Put the referenced resource into ``obj`` for every reference an expand path names."""
    for path in paths:
        steps = [s for s in path.replace("[", ".[").split(".") if s]
        if len(steps) > 10:
            raise errors.invalid_input(f"Malformed parameter: expand: '{path}' is nested too deeply.")
        _expand_at(ctx, doc, steps)
    return doc


def _expand_at(ctx: Ctx, node: Any, steps: list[str]) -> None:
    if not steps:
        if isinstance(node, dict) and "typeId" in node and "id" in node and "obj" not in node:
            type_id = node["typeId"]
            if type_id in ctx.emulator.registry:
                target = ctx.get(type_id, node["id"])
                if target is not None:
                    node["obj"] = ctx.render(type_id, target)
        return
    step, rest = steps[0], steps[1:]
    if step.startswith("["):
        if not isinstance(node, list):
            return
        if step == "[*]":
            for item in node:
                _expand_at(ctx, item, rest)
            return
        index = step.strip("[]")
        if index.isdigit() and int(index) < len(node):
            _expand_at(ctx, node[int(index)], rest)
        return
    if isinstance(node, dict) and step in node:
        _expand_at(ctx, node[step], rest)


# ---------------------------------------------------------------- generic endpoints


def new_doc(ctx: Ctx, resource: Resource, fields: Doc) -> Doc:
    now = ctx.timestamp()
    return {
        "id": ctx.new_id(),
        "version": 1,
        "versionModifiedAt": now,
        "createdAt": now,
        "lastModifiedAt": now,
        "lastModifiedBy": ctx.logging(),
        "createdBy": ctx.logging(),
        **fields,
    }


def output(ctx: Ctx, resource: Resource, doc: Doc, req: Req) -> Doc:
    return expand(ctx, resource.render(ctx, doc), req.query.getlist("expand"))


def create(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    if not isinstance(req.body, dict):
        raise errors.invalid_json("The request body must be a JSON object.")
    if resource.draft_schema:
        validate(resource.draft_schema, req.body)
    if resource.key_required and req.body.get("key") is None:
        raise errors.required_field("key")
    assert resource.create is not None
    doc = resource.create(ctx, copy.deepcopy(req.body))
    ensure_unique_key(ctx, resource, doc)
    ctx.store.insert(ctx.project, resource.type_id, doc)
    if resource.after_write:
        resource.after_write(ctx, None, doc)
    if resource.create_response:
        return resource.create_response(ctx, doc, req)
    return 201, output(ctx, resource, doc, req)


def load(ctx: Ctx, resource: Resource, req: Req) -> Doc:
    """The document the URL names (``{id}`` or ``key={key}``), or 404."""
    if "key" in req.path:
        doc = ctx.get_by_key(resource.type_id, req.path["key"])
        if doc is None:
            raise errors.resource_not_found(req.path["key"], by_key=True)
    else:
        doc = ctx.get(resource.type_id, req.path["id"])
        if doc is None:
            raise errors.resource_not_found(req.path["id"])
    return doc


def get(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    return 200, output(ctx, resource, load(ctx, resource, req), req)


def apply_actions(ctx: Ctx, resource: Resource, doc: Doc, actions: list[Doc]) -> Doc:
    """Apply every action to a copy; return the new version (or the unchanged doc)."""
    new = copy.deepcopy(doc)
    for action in actions:
        resource.actions[action["action"]](ctx, new, action)
    if new != doc:
        now = ctx.timestamp()
        new["version"] = doc["version"] + 1
        new["lastModifiedAt"] = now
        new["versionModifiedAt"] = now
        new["lastModifiedBy"] = ctx.logging()
        ensure_unique_key(ctx, resource, new)
    return new


def update(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    body = req.body
    if not isinstance(body, dict):
        raise errors.invalid_json("The request body must be a JSON object with 'version' and 'actions'.")
    for name in ("version", "actions"):
        if name not in body:
            raise errors.invalid_json(f"Missing required value '{name}'")
    if not isinstance(body["version"], int) or isinstance(body["version"], bool):
        raise errors.invalid_json("version: expected an integer")
    if not isinstance(body["actions"], list):
        raise errors.invalid_json("actions: expected an array")
    validate_actions(resource, body["actions"])
    doc = load(ctx, resource, req)
    if body["version"] != doc["version"]:
        raise errors.concurrent_modification(body["version"], doc["version"])
    new = apply_actions(ctx, resource, doc, body["actions"])
    if new is not doc and new != doc:
        ctx.store.replace(ctx.project, resource.type_id, new, doc)
        if resource.after_write:
            resource.after_write(ctx, doc, new)
    return 200, output(ctx, resource, new, req)


def delete(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    version = req.query.get("version")
    if version is None:
        raise errors.invalid_input("Missing required parameter 'version'.")
    try:
        expected = int(version)
    except ValueError:
        raise errors.invalid_input(f"Malformed parameter: version: '{version}' is not an integer.") from None
    for name in resource.delete_params:
        req.flag(name)
    doc = load(ctx, resource, req)
    if expected != doc["version"]:
        raise errors.concurrent_modification(expected, doc["version"])
    if resource.before_delete:
        resource.before_delete(ctx, doc, req)
    ctx.store.delete(ctx.project, resource.type_id, doc)
    if resource.after_write:
        resource.after_write(ctx, doc, None)
    return 200, output(ctx, resource, doc, req)


def where_variables(req: Req) -> dict[str, list[str]]:
    variables: dict[str, list[str]] = {}
    for name, value in req.query.multi_items():
        if name.startswith("var."):
            variables.setdefault(name[4:], []).append(value)
    return variables


def compile_query(req: Req) -> tuple[str, list[Any]]:
    from .predicates import PredicateError, compile_where

    try:
        return compile_where(req.query.getlist("where"), where_variables(req))
    except PredicateError as exc:
        raise errors.invalid_input(str(exc)) from None


def query(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    from .sorting import SortError, compile_sort

    limit = req.integer("limit", 20, 0, MAX_LIMIT)
    offset = req.integer("offset", 0, 0, MAX_OFFSET)
    with_total = req.flag("withTotal", True)
    where, params = compile_query(req)
    try:
        order = compile_sort(req.query.getlist("sort"))
    except SortError as exc:
        raise errors.invalid_input(str(exc)) from None
    store, type_id = ctx.store, resource.type_id
    if with_total and where != "1":  # filtered: one pass finds the page and counts
        docs, total = store.page(ctx.project, type_id, where, params, order=order, limit=limit, offset=offset)
    else:  # unfiltered: the page stops early and the count comes from an index
        docs = store.find(ctx.project, type_id, where, params, order=order, limit=limit, offset=offset)
        total = store.count(ctx.project, type_id) if with_total else 0
    body: Doc = {"limit": limit, "offset": offset, "count": len(docs)}
    if with_total:
        body["total"] = min(total, MAX_OFFSET) if where != "1" else total
    body["results"] = [output(ctx, resource, doc, req) for doc in docs]
    return 200, body


def head_query(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    where, params = compile_query(req)
    return (200 if ctx.store.exists(ctx.project, resource.type_id, where, params) else 404), None


def head_one(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    load(ctx, resource, req)
    return 200, None


# ---------------------------------------------------------------- shared field helpers


def set_or_unset(doc: Doc, name: str, value: Any) -> None:
    """The API's "unset if absent" rule: a missing or null value removes the field."""
    if value is None:
        doc.pop(name, None)
    else:
        doc[name] = value


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

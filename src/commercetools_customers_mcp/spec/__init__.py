"""The one source of truth for API shapes: the official OpenAPI structure, vendored as data.

The catalogue builds tool input schemas from it, the emulator validates requests with it, and
the tests check responses against it. Nothing here knows about MCP or about the emulator.

``schema(name)`` returns a self-contained JSON Schema (Draft 2020-12 subset) for a component:
``$ref`` inlined, ``allOf`` flattened, OpenAPI formats mapped to JSON Schema ones, and the
update-action / draft unions turned into ``oneOf`` members keyed by a ``const`` discriminator.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

import orjson

JSON = dict[str, Any]

# Which discriminated unions are expanded into their members: every update-action union and every draft
# union (BusinessUnitDraft: Company | Division). The others are only read for what they say about their members
# (ResourceIdentifier, Reference and KeyReference give each member its one typeId); the rest are ignored.
_TYPED_BASES = ("ResourceIdentifier", "Reference", "KeyReference")


def _expands(name: str, raw: JSON) -> bool:
    tag = raw.get("discriminator", {}).get("propertyName")
    return tag == "action" or (tag is not None and name.endswith("Draft"))


_FORMATS = {"date-only": "date", "datetime": "date-time", "time-only": "time"}
# Integer formats become ranges: a value outside them is refused before any work (and JSON encoders fail on
# integers beyond 64 bits).
INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}

# Where the vendored structure is looser or odder than the API, say what the API does.
_PATCHES: dict[str, JSON] = {
    # Custom field values are any JSON value; the vendored pattern-property "required" is bogus.
    "FieldContainer": {"type": "object", "additionalProperties": True},
    "CountryCode": {"type": "string", "pattern": "^[A-Z]{2}$"},
}

# Fields the structure marks required although the API gives them a default (and SDKs omit them).
_DEFAULTED = {"BusinessUnitChangeAssociateModeAction": {"makeInheritedAssociatesExplicit"}}

# The documented page bounds (not in the vendored structure): a query endpoint's `limit` and `offset`, and a search
# request's. Both the tool schemas and the emulator hold callers to them.
MAX_QUERY_LIMIT, MAX_QUERY_OFFSET = 500, 10_000
MIN_SEARCH_LIMIT, MAX_SEARCH_LIMIT, MAX_SEARCH_OFFSET = 1, 100, 9_900
# The Project update action that switches a search on or off, by the type its index holds.
SEARCH_STATUS_ACTIONS = {"customer": "changeCustomerSearchStatus", "business-unit": "changeBusinessUnitSearchStatus"}

# The vendored structure types SearchQuery as a bare object. This is the query language.
# The documented limits: at most 50 expressions per query, string values of at most 256 characters.
MAX_SEARCH_EXPRESSIONS = 50
MAX_SEARCH_STRING = 256
MAX_SEARCH_VALUES = 100  # undocumented; one exact expression with more values is refused
_TEXT = {"type": "string", "maxLength": MAX_SEARCH_STRING}
_SEARCH_COMMON = {
    "field": {"type": "string", "minLength": 1, "maxLength": MAX_SEARCH_STRING},
    "boost": {"type": "number"},
    "fieldType": {"$ref": "#/components/schemas/SearchFieldType"},
    "language": {"type": "string", "maxLength": 16},
}


def _simple(extra: JSON, required: list[str]) -> JSON:
    return {
        "type": "object",
        "properties": {**_SEARCH_COMMON, **extra},
        "required": ["field", *required],
    }


_MUST_MATCH = {"enum": ["all", "any"]}
_ANY = {"maxLength": MAX_SEARCH_STRING}  # a string, number or boolean; strings at most 256 characters
_SEARCH_EXPRESSIONS: dict[str, JSON] = {
    "exact": _simple(
        {
            "value": _ANY,
            "values": {"type": "array", "maxItems": MAX_SEARCH_VALUES, "items": _ANY},
            "caseInsensitive": {"type": "boolean"},
        },
        [],
    ),
    "prefix": _simple({"value": _ANY, "caseInsensitive": {"type": "boolean"}}, ["value"]),
    "wildcard": _simple({"value": _TEXT, "caseInsensitive": {"type": "boolean"}}, ["value"]),
    "fullText": _simple({"value": _TEXT, "mustMatch": _MUST_MATCH}, ["value"]),
    "fullTextPrefix": _simple({"value": _TEXT, "mustMatch": _MUST_MATCH}, ["value"]),
    "fuzzy": _simple(
        {
            "value": _TEXT,
            "level": {"type": "integer", "minimum": 0, "maximum": 2},
            "mustMatch": _MUST_MATCH,
        },
        ["value", "level"],
    ),
    "range": _simple({"gt": _ANY, "gte": _ANY, "lt": _ANY, "lte": _ANY}, []),
    "exists": _simple({}, []),
}
SEARCH_COMPOUNDS = ("and", "or", "not", "filter")
SEARCH_EXPRESSION_KINDS = tuple(_SEARCH_EXPRESSIONS)


@cache
def document() -> JSON:
    """The vendored OpenAPI document (paths and components)."""
    raw = resources.files(__package__).joinpath("data/openapi.json").read_bytes()
    return orjson.loads(raw)


def _schemas() -> JSON:
    return document()["components"]["schemas"]


def search_query_schema() -> JSON:
    """JSON Schema of a SearchQuery: one simple expression or one compound, recursively."""
    members: list[JSON] = []
    for kind, body in _SEARCH_EXPRESSIONS.items():
        members.append(
            {"type": "object", "properties": {kind: body}, "required": [kind], "additionalProperties": False}
        )
    for op in SEARCH_COMPOUNDS:
        members.append(
            {
                "type": "object",
                "properties": {
                    op: {"type": "array", "maxItems": MAX_SEARCH_EXPRESSIONS, "items": {"$ref": "#/$defs/SearchQuery"}}
                },
                "required": [op],
                "additionalProperties": False,
            }
        )
    return {"oneOf": members}


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _resolve(node: Any, stack: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_resolve(x, stack) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _named(_ref_name(node["$ref"]), stack)
    out: JSON = {}
    for k, v in node.items():
        if k == "discriminator" or k.startswith("x-"):
            continue
        if k == "format":
            if v in _FORMATS:
                out[k] = _FORMATS[v]
            elif v in INT_RANGES and node.get("type") == "integer":
                out.setdefault("minimum", INT_RANGES[v][0])
                out.setdefault("maximum", INT_RANGES[v][1])
            continue
        if k == "properties":
            # an expanded reference's "obj" is the whole target resource: do not inline it
            out[k] = {p: ({"type": "object"} if p == "obj" else _resolve(s, stack)) for p, s in v.items()}
        elif k == "allOf":
            continue
        elif (k == "additionalProperties" and isinstance(v, dict)) or k in ("items", "oneOf", "anyOf", "not"):
            out[k] = _resolve(v, stack)
        else:
            out[k] = copy.deepcopy(v)
    if "allOf" in node:
        for part in node["allOf"]:
            base = _resolve_flat(part, stack)
            props = {**base.get("properties", {}), **out.get("properties", {})}
            if props:
                out["properties"] = props
            req = list(dict.fromkeys([*base.get("required", []), *out.get("required", [])]))
            if req:
                out["required"] = req
            out.setdefault("type", base.get("type", "object"))
    return out


def _resolve_flat(part: JSON, stack: tuple[str, ...]) -> JSON:
    """An allOf member: its own properties, never its union expansion."""
    if "$ref" in part:
        name = _ref_name(part["$ref"])
        raw = _schemas()[name]
        flat = _resolve({k: v for k, v in raw.items() if k != "discriminator"}, (*stack, name))
        if "discriminator" in raw:  # the tag is optional input (ResourceIdentifier.typeId); unions re-add it
            tag = raw["discriminator"]["propertyName"]
            flat["required"] = [r for r in flat.get("required", []) if r != tag]
        return flat
    return _resolve(part, stack)


def _named(name: str, stack: tuple[str, ...]) -> JSON:
    if name in _PATCHES:
        return copy.deepcopy(_PATCHES[name])
    if name == "SearchQuery":
        return {"$ref": "#/$defs/SearchQuery"}
    if name in stack:  # a cycle (Customer -> CreatedBy -> CustomerReference -> Customer): stop here
        return {"type": "object"}
    raw = _schemas()[name]
    stack = (*stack, name)
    if _expands(name, raw):
        return _union(name, raw, stack)
    resolved = _without_defaulted(name, _resolve(raw, stack))
    if name in _type_ids():  # e.g. CustomerGroupResourceIdentifier: typeId is "customer-group", nothing else
        resolved.setdefault("properties", {})["typeId"] = {"const": _type_ids()[name]}
    return resolved


@cache
def _type_ids() -> dict[str, str]:
    """Reference and identifier component → its typeId, from the discriminator mappings of their bases."""
    out = {}
    for base in _TYPED_BASES:
        for type_id, target in _schemas().get(base, {}).get("discriminator", {}).get("mapping", {}).items():
            out[_ref_name(target)] = type_id
    return out


def _without_defaulted(name: str, schema: JSON) -> JSON:
    if name in _DEFAULTED:
        schema["required"] = [r for r in schema.get("required", []) if r not in _DEFAULTED[name]]
    return schema


def _union(name: str, raw: JSON, stack: tuple[str, ...]) -> JSON:
    tag = raw["discriminator"]["propertyName"]
    members = []
    for value, target in sorted(raw["discriminator"]["mapping"].items()):
        member_name = _ref_name(target)
        member = _without_defaulted(member_name, _resolve(_schemas()[member_name], (*stack, member_name)))
        member.setdefault("properties", {})[tag] = {"const": value}
        member["type"] = "object"
        member["required"] = [tag, *[r for r in member.get("required", []) if r != tag]]
        member["title"] = value
        members.append(member)
    return {"type": "object", "oneOf": members}


def _with_defs(schema: JSON) -> JSON:
    if '"$ref":"#/$defs/SearchQuery"' in orjson.dumps(schema).decode():
        q = search_query_schema()
        schema = {**schema, "$defs": {"SearchQuery": q}}
        # expressions may carry a fieldType enum
        ft = _named("SearchFieldType", ())
        text = (
            orjson.dumps(schema)
            .decode()
            .replace('{"$ref":"#/components/schemas/SearchFieldType"}', orjson.dumps(ft).decode())
        )
        schema = orjson.loads(text)
    return schema


@cache
def _schema_cached(name: str) -> bytes:
    return orjson.dumps(_with_defs(_named(name, ())))


def schema(name: str) -> JSON:
    """A self-contained JSON Schema for the named component (a fresh copy each call)."""
    return orjson.loads(_schema_cached(name))


def union_members(name: str) -> dict[str, JSON]:
    """The members of an expanded union (every update-action union, every draft union) by discriminator value,
    e.g. update action name -> its schema: the one source of update-action unions for the tool schemas, the
    emulator and the tests. Fresh copies each call, so callers may narrow or annotate them."""
    if not _expands(name, _schemas().get(name, {})):
        raise KeyError(f"{name!r} is not an expanded union (an update-action or draft union)")
    return {m["title"]: m for m in schema(name)["oneOf"]}


_PAYLOAD = "MessagePayload"


@cache
def message_types() -> tuple[str, ...]:
    """Every Message type the vendored structure carries a payload for (those of customers, customer groups,
    business units and associate roles), sorted."""
    return tuple(sorted(n.removesuffix(_PAYLOAD) for n in _schemas() if n.endswith(_PAYLOAD) and n != _PAYLOAD))


def message_schema(message_type: str) -> JSON:
    """A whole Message of one type: the common fields (``Message``, from the RAML) and the type's own payload
    fields (``<type>MessagePayload``), ``type`` fixed to ``message_type`` and nothing else allowed."""
    if message_type not in message_types():
        raise KeyError(f"{message_type!r} is not a Message type of this domain")
    common, payload = schema("Message"), schema(message_type + _PAYLOAD)
    return {
        "type": "object",
        "properties": {**common["properties"], **payload.get("properties", {}), "type": {"const": message_type}},
        "required": list(dict.fromkeys([*common.get("required", []), *payload.get("required", [])])),
        "additionalProperties": False,
    }


def enum(name: str) -> list[str]:
    """The values of an enum component, e.g. ``enum("Permission")``."""
    return list(_schemas()[name]["enum"])


@cache
def components_under(name: str) -> tuple[str, ...]:
    """The components a component's values are made of: those it reaches through ``$ref``, also inside the
    members of its unions (the members themselves, e.g. each update action, are not listed; nor is itself)."""
    schemas = _schemas()
    seen: dict[str, None] = {}
    members: set[str] = set()
    stack: list[Any] = [schemas[name]]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("$ref"), str):
            found = _ref_name(node["$ref"])
            if found not in seen and found != name and found in schemas:
                seen[found] = None
                stack.append(schemas[found])
        for target in node.get("discriminator", {}).get("mapping", {}).values():
            member = _ref_name(target)
            if member in schemas and member not in members:
                members.add(member)
                stack.append(schemas[member])
        stack.extend(v for k, v in node.items() if k != "discriminator" and isinstance(v, dict | list))
    return tuple(seen)

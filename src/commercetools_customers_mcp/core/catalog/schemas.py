"""Tool input schemas built from the vendored API structure, and argument validation against them.

A tool's schema lists exactly its parameters: path arguments, its query parameters and the fields of its
body component (``spec.schema``, where resource identifiers already carry their one valid ``typeId``).
``compact`` keeps each parameter's type, enums and bounds but not its nested structure, reduces update-action
unions to the list of action names, and keeps only the descriptions that carry syntax; validation still checks
every argument against the full schema.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema_rs
import orjson

from ... import spec
from ...querylang.sort import MAX_PATH_LENGTH, MAX_SORTS
from .descriptions import compact_description, param_description
from .publish import share_repeated, size, tighten_unions, unsized
from .tools import DRY_RUN, FIELDS, PCID, PROJECT, PROJECTED_KINDS, STORE_KEY, Tool

JSON = dict[str, Any]

_BOUNDS = {
    ("list", "limit"): (0, spec.MAX_QUERY_LIMIT),
    ("list", "offset"): (0, spec.MAX_QUERY_OFFSET),
    ("search", "limit"): (spec.MIN_SEARCH_LIMIT, spec.MAX_SEARCH_LIMIT),
    ("search", "offset"): (0, spec.MAX_SEARCH_OFFSET),
}

# Bounds on what a caller can send, so oversized input is refused before any work (a million `expand` items
# once stalled the event loop): counts and lengths of the repeated query parameters, identifier lengths, and
# a budget on the number of values in all arguments together.
MAX_IDENTIFIER = 256  # ids, keys, token values, PCIDs
MAX_VALUES = 50_000  # JSON values (objects, arrays, strings, numbers…) in one call's arguments
MAX_QUERY_STRING = 60_000  # encoded query string; HTTP clients refuse URLs over 64 KiB


def _strings(items: int, length: int) -> JSON:
    return {"type": "array", "maxItems": items, "items": {"type": "string", "minLength": 1, "maxLength": length}}


_QUERY = {
    "expand": _strings(16, 256),
    "where": _strings(16, 5_000),
    "sort": _strings(MAX_SORTS, MAX_PATH_LENGTH + len(" desc")),
    "withTotal": {"type": "boolean"},
    "dataErasure": {"type": "boolean"},
    "version": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    DRY_RUN: {"type": "boolean"},
    "fields": _strings(50, 256),
}


def _body_fields(component: str) -> tuple[JSON, list[str], JSON | None]:
    """Properties and required names of a body component.

    A oneOf draft (Company | Division) becomes one flat object with every member's fields, required where every
    member requires them, and its discriminator (unitType) an enum of the members' values. The seed's
    ``create_business_units`` has the fields both members share; ``parentUnit`` (a Division's only own field) is
    the one addition, so a Division is created in one call. The member the discriminator selects is checked in
    full by ``ArgumentValidator``.
    """
    schema = spec.schema(component)
    if "oneOf" not in schema:
        return schema.get("properties", {}), schema.get("required", []), schema.get("$defs")
    props: JSON = {}
    required = None
    for member in schema["oneOf"]:
        for name, sub in member["properties"].items():
            props.setdefault(name, sub)
        req = set(member.get("required", []))
        required = req if required is None else required & req
    for name, sub in list(props.items()):
        if "const" in sub:  # the discriminator (unitType): every member's value
            props[name] = {"type": "string", "enum": [m["properties"][name]["const"] for m in schema["oneOf"]]}
    return props, sorted(required or ()), None


@cache
def draft_members(component: str) -> tuple[str, dict[str, JSON]] | None:
    """For a oneOf draft: its discriminator and its members by discriminator value (cached: do not mutate)."""
    schema = spec.schema(component)
    if "oneOf" not in schema or not component.endswith("Draft"):
        return None
    tag = next(n for n, sub in schema["oneOf"][0]["properties"].items() if "const" in sub)
    return tag, {m["properties"][tag]["const"]: m for m in schema["oneOf"]}


def union_parts(body: str) -> tuple[str, frozenset[str] | None]:
    """An update-action union as a row names it: the component, and the actions it is limited to
    (``ProjectUpdateAction[changeCustomerSearchStatus,…]``), None for all of them."""
    base, _, names = body.partition("[")
    return base, frozenset(names.rstrip("]").split(",")) if names else None


@cache
def _actions_union(component: str) -> JSON:
    base, only = union_parts(component)
    schema = spec.schema(base)
    if only is not None:
        schema = {**schema, "oneOf": [m for m in schema["oneOf"] if m["properties"]["action"].get("const") in only]}
    return schema


def _property(tool: Tool, name: str) -> JSON:
    if name in tool.path_args or name == PCID:
        return {"type": "string", "minLength": 1, "maxLength": MAX_IDENTIFIER}
    bounds = _BOUNDS.get((tool.kind, name))
    if bounds:
        return {"type": "integer", "minimum": bounds[0], "maximum": bounds[1]}
    return dict(_QUERY[name])


@cache
def full_schema(tool: Tool, pcid_required: bool = False) -> JSON:
    """The precise input schema of a tool (with descriptions). Cached: do not mutate."""
    props: JSON = {n: _property(tool, n) for n in tool.path_args}
    required = list(tool.path_args)
    defs = None
    if tool.kind == "update":
        props["actions"] = {"type": "array", "maxItems": 500, "items": _actions_union(tool.body)}
        props["version"] = _property(tool, "version")
        required += ["actions", "version"]
    elif tool.body:
        fields, req, defs = _body_fields(tool.body)
        for name, sub in fields.items():
            bounds = _BOUNDS.get((tool.kind, name))
            if bounds:
                sub = {"type": "integer", "minimum": bounds[0], "maximum": bounds[1]}
            if name == "query":
                sub = {"type": "object", **sub}
            props[name] = sub
        required += req
    for name in tool.query:
        props.setdefault(name, _property(tool, name))
    if tool.kind in PROJECTED_KINDS and tool.family is not PROJECT:  # the reads of a resource (not the project)
        props[FIELDS] = _property(tool, FIELDS)
    if "version" in tool.query:
        required.append("version")
    if tool.destructive:  # the one MCP-side addition to a delete (core/consent.py)
        props[DRY_RUN] = _property(tool, DRY_RUN)
    if tool.store_scoped:  # optional: without it the global endpoint, as the seed
        props[STORE_KEY] = {"type": "string", "maxLength": MAX_IDENTIFIER}  # a wrong key: the API's 404 says it
    props[PCID] = _property(tool, PCID)
    if pcid_required:
        required.append(PCID)
    for name, sub in props.items():
        note = param_description(tool, name)
        if note:
            props[name] = {**sub, "description": note}
    schema: JSON = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = list(dict.fromkeys(required))
    if defs:
        schema["$defs"] = defs
    return schema


# Kept in compact mode: the type and the values a parameter takes (its nested structure and its bounds go; the
# server still checks them and its errors name them). An enum longer than ``MAX_COMPACT_ENUM`` goes too (an
# associate role's 47 permissions): the error for a wrong value lists them.
_SCALAR_KEYWORDS = frozenset({"type", "enum", "const", "pattern", "format"})
MAX_COMPACT_ENUM = 16


def _flat(sub: JSON) -> JSON:
    out = {k: v for k, v in sub.items() if k in _SCALAR_KEYWORDS}
    if len(out.get("enum", ())) > MAX_COMPACT_ENUM:
        del out["enum"]
        out.setdefault("type", "string")
    if "$ref" in sub or "oneOf" in sub or "properties" in sub:
        out.setdefault("type", "object")
    if isinstance(sub.get("items"), dict):
        out["items"] = _flat(sub["items"])
    return out


def compact_schema(tool: Tool, pcid_required: bool = False) -> JSON:
    """Each parameter's type, enum and bounds, without nested structure, with update actions reduced to their
    names, and descriptions only where they carry a parameter's syntax (``where``, a search ``query``…)."""
    full = full_schema(tool, pcid_required)
    props = {}
    for name, sub in full["properties"].items():
        props[name] = _flat(sub)
        note = compact_description(tool, name)
        if note:
            props[name]["description"] = note
    if "actions" in props:
        props["actions"]["items"] = {
            "type": "object",
            "properties": {"action": {"enum": sorted(action_members(tool.body))}},
            "required": ["action"],
        }
    return {k: v for k, v in {**full, "properties": props}.items() if k not in ("$defs", "additionalProperties")}


@cache
def _component_names(tool: Tool) -> dict[bytes, str]:
    """Canonical JSON → component name, for the components a tool's body reaches (to name shared ``$defs``)."""
    if not tool.body:
        return {}
    return {_canon(spec.schema(name)): name for name in spec.components_under(union_parts(tool.body)[0])}


def _canon(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@cache
def input_schema(tool: Tool, *, pcid_required: bool = False, compact: bool = False) -> JSON:
    """The schema published in tools/list (cached: do not mutate): ``full_schema`` or ``compact_schema`` with
    discriminated unions said once and repeated sub-schemas shared in ``$defs`` (``publish.py``); it accepts and
    refuses exactly what they do."""
    schema = compact_schema(tool, pcid_required) if compact else full_schema(tool, pcid_required)
    return share_repeated(tighten_unions(unsized(schema)), _component_names(tool))


def _seed(tool: Tool) -> str:
    return tool.name


# Parameters whose nested structure is the same in several tools of one list, and what makes it the same: the
# by-id and by-key update tools of a resource take one update-action union; the two searches, one grammar.
_SAID_ONCE: dict[str, tuple[tuple[str, ...], Callable[[Tool], str]]] = {
    "update": (("actions",), lambda tool: tool.body or ""),
    "search": (("query", "sort"), lambda tool: "search"),
}


def published_schemas(
    tools: Sequence[Tool],
    *,
    pcid_required: bool = False,
    compact: bool = False,
    name: Callable[[Tool], str] = _seed,
    together: bool = True,
) -> dict[str, JSON]:
    """The input schemas of a tools/list, by seed name: each tool's ``input_schema``, with a structure several
    tools share said once in the list (``_SAID_ONCE``): the first tool listed carries it in full, the others
    keep the parameter's own type with a pointer to that tool (``name`` gives the
    name the list shows). Alone in a list (a selection, a policy), or read one at a time (``together`` false:
    ``describe_tool``), a tool carries all. The server checks every call against the full schema either way."""
    out: dict[str, JSON] = {}
    carrier: dict[tuple[str, str], Tool] = {}
    for tool in tools:
        schema = input_schema(tool, pcid_required=pcid_required, compact=compact)
        shared = _SAID_ONCE.get(tool.kind) if together else None
        if shared is not None:
            first = carrier.setdefault((tool.kind, shared[1](tool)), tool)
            if first is not tool:
                pointed = _pointing(schema, shared[0], name(first), out[first.name])
                schema = pointed if size(pointed) < size(schema) else schema
        out[tool.name] = schema
    return out


def _pointing(schema: JSON, params: tuple[str, ...], name: str, carrier: JSON) -> JSON:
    """``schema`` with the nested structure of ``params`` left to the ``carrier`` schema (listed as ``name``):
    each keeps its type, an update action that it is an object naming its ``action``, and its description behind
    "As in <name>" where it differs from the carrier's (a business unit search's examples)."""
    props = dict(schema["properties"])
    for param in params:
        if param not in props:
            continue
        sub = props[param]
        pointer: JSON = {"type": sub.get("type", "object")}
        if param == "actions":
            pointer["items"] = {"type": "object", "required": ["action"]}
        elif "items" in sub:
            pointer["items"] = {"type": "object"}
        note = sub.get("description", "")
        same = note == carrier["properties"].get(param, {}).get("description", "")
        pointer["description"] = f"As in {name}" + (f": {note[0].lower()}{note[1:]}" if note and not same else ".")
        props[param] = pointer
    return {k: v for k, v in {**schema, "properties": props}.items() if k != "$defs" or _refs(props)}


def _refs(node: Any) -> bool:
    return b'"$ref"' in orjson.dumps(node)


@cache
def action_members(union: str) -> dict[str, JSON]:
    """Action name → member schema of an update-action union, or of the actions it is limited to (cached: do not
    mutate)."""
    base, only = union_parts(union)
    members = spec.union_members(base)
    return members if only is None else {name: m for name, m in members.items() if name in only}


MAX_MESSAGE = 300


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the arguments: where (a dotted path) and what was expected (bounded: a message
    quoting a huge value keeps its start and its end)."""

    path: str
    message: str
    whole: bool = False  # a message built from the schema alone (every allowed value), never shortened

    def __post_init__(self) -> None:
        if len(self.message) > MAX_MESSAGE and not self.whole:
            object.__setattr__(self, "message", f"{self.message[:100]} … {self.message[-(MAX_MESSAGE - 103) :]}")

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


_QUERY_KEYS = ", ".join((*spec.SEARCH_EXPRESSION_KINDS, *spec.SEARCH_COMPOUNDS))


def _dotted(parts: Any) -> str:
    out = "arguments"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _too_many_values(arguments: Mapping[str, Any]) -> bool:
    """More than ``MAX_VALUES`` JSON values, counted without recursion and stopping at the limit."""
    count = 0
    stack: list[Mapping[str, Any] | list[Any]] = [arguments]
    while stack:
        node = stack.pop()
        count += len(node)
        if count > MAX_VALUES:
            return True
        stack.extend(v for v in (node.values() if isinstance(node, Mapping) else node) if isinstance(v, dict | list))
    return False


def expected(sub: Mapping[str, Any]) -> str:
    """What a schema accepts, in a few words: ``0, 1 or 2``, ``Company or Division``, ``a string``…"""
    if "const" in sub:
        return orjson.dumps(sub["const"]).decode()
    if "enum" in sub:
        values = [str(v) for v in sub["enum"]]
        shown = ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) <= 6 else ", ".join(values[:6]) + ", …"
        return shown if len(values) > 1 else values[0]
    kind = sub.get("type")
    low, high = sub.get("minimum"), sub.get("maximum")
    if kind == "integer" and low is not None and high is not None and 0 < high - low <= 4:
        return ", ".join(map(str, range(low, high))) + f" or {high}"
    type_id = sub.get("properties", {}).get("typeId", {}).get("const")
    if type_id:
        return f'{{"typeId": "{type_id}", "id" or "key": …}}'
    if kind == "array" and isinstance(sub.get("items"), dict) and sub["items"].get("properties"):
        return f"a list of {expected(sub['items'])}"
    return {"array": "a list", "object": "an object", "integer": "an integer"}.get(str(kind), f"a {kind or 'value'}")


@dataclass(frozen=True)
class _Checker:
    """A compiled schema that reports problems in a model's words (a missing property says what it takes)."""

    schema: JSON
    validator: jsonschema_rs.Validator

    @classmethod
    def of(cls, schema: JSON) -> _Checker:
        return cls(schema, jsonschema_rs.validator_for(schema, validate_formats=True))

    def problems(self, value: Any, path: list[Any]) -> list[Problem]:
        found = []
        for error in self.validator.iter_errors(value):
            message = error.message
            if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Required):
                name = error.kind.property
                node: Any = self.schema
                for step in error.schema_path[:-1]:
                    if isinstance(node, dict):
                        node = node[step]
                    else:
                        node = node[step] if isinstance(node, list) and isinstance(step, int) else {}
                sub = node.get("properties", {}).get(name) if isinstance(node, dict) else None
                message = f"missing required '{name}'" + (f" ({expected(sub)})" if sub else "")
            elif isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Enum):
                found.append(Problem(_dotted([*path, *error.instance_path]), _not_one_of(error), whole=True))
                continue
            found.append(Problem(_dotted([*path, *error.instance_path]), message))
        return found


def _not_one_of(error: Any) -> str:
    """A value outside an enum: the nearest allowed values, then all of them (compact schemas leave a long enum
    out, so this is where a model learns them), never "A, B or 45 other candidates"."""
    options = [str(option) for option in error.kind.options]
    got = orjson.dumps(error.instance).decode()
    got = got if len(got) <= 80 else f"{got[:40]} … {got[-30:]}"
    near = difflib.get_close_matches(str(error.instance), options, n=3, cutoff=0.6)
    nearest = f"; nearest: {', '.join(near)}" if near else ""
    return f"{got} is not allowed{nearest}; allowed: {', '.join(options)}"


@cache
def _expression_checkers() -> dict[str, _Checker]:
    """One checker per search query key: the simple expressions' bodies, and the compounds' arrays."""
    members = spec.schema("CustomerSearchRequest")["$defs"]["SearchQuery"]["oneOf"]
    out = {}
    for member in members:
        ((kind, body),) = member["properties"].items()
        if kind in spec.SEARCH_COMPOUNDS:
            body = {**body, "items": {}}  # the items are checked one by one
        out[kind] = _Checker.of(body)
    return out


def _query_problems(query: Mapping[str, Any]) -> list[Problem]:
    """A search query checked node by node: each an object with exactly one known key, whose value is checked
    against that key's schema; at most ``MAX_SEARCH_EXPRESSIONS`` expressions in all."""
    validators = _expression_checkers()
    found: list[Problem] = []
    count = 0
    stack: list[tuple[Any, list[Any]]] = [(query, ["query"])]
    while stack:
        node, path = stack.pop()
        count += 1
        keys = list(node) if isinstance(node, dict) else []
        if len(keys) != 1 or keys[0] not in validators:
            got = (
                f"keys {', '.join(map(repr, keys))}"
                if keys
                else "no key"
                if isinstance(node, dict)
                else "not an object"
            )
            found.append(
                Problem(_dotted(path), f"{got}; a search query is an object with exactly one key of: {_QUERY_KEYS}")
            )
            continue
        kind = keys[0]
        found += validators[kind].problems(node[kind], [*path, kind])
        if kind in spec.SEARCH_COMPOUNDS and isinstance(node[kind], list):
            stack.extend((child, [*path, kind, i]) for i, child in reversed(list(enumerate(node[kind]))))
    if count > spec.MAX_SEARCH_EXPRESSIONS:
        found.append(
            Problem("arguments.query", f"{count} expressions; at most {spec.MAX_SEARCH_EXPRESSIONS} per query")
        )
    return found


@cache
def _action_checker(union: str, action: str) -> _Checker:
    return _Checker.of(action_members(union)[action])


class ArgumentValidator:
    """Validates one tool's arguments and reports every problem, precisely."""

    def __init__(self, tool: Tool, pcid_required: bool = False) -> None:
        self.tool = tool
        schema = full_schema(tool, pcid_required)
        self.allowed = tuple(schema["properties"])
        root = {k: v for k, v in schema.items() if k != "additionalProperties"}
        # Unions are checked member by member below, so that a value is judged by the member it selects (its
        # `action`, or its one search-expression key) instead of a bare "not valid under any of oneOf".
        props = dict(schema["properties"])
        if tool.kind == "update":
            loose = {"type": "object", "properties": {"action": {"type": "string"}}, "required": ["action"]}
            props["actions"] = {**props["actions"], "items": loose}
        if tool.kind == "search":
            props["query"] = {"type": "object"}
        root["properties"] = props
        self._root = _Checker.of(root)
        # JSON Schema counts 10.0 as an integer; the API answers 400 to it. The top-level integers are checked
        # here (limit, offset, version, ttlMinutes): those a model writes most.
        self._integers = tuple(n for n, p in props.items() if p.get("type") == "integer")

    def problems(self, arguments: Mapping[str, Any]) -> list[Problem]:
        if _too_many_values(arguments):
            return [Problem("arguments", f"more than {MAX_VALUES} values in all; send less per call")]
        found: list[Problem] = []
        unknown = [n for n in arguments if n not in self.allowed]
        if unknown:
            found.append(
                Problem(
                    "arguments",
                    f"unknown argument(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(self.allowed)}",
                )
            )
        found += self._root.problems(dict(arguments), [])
        found += [
            Problem(f"arguments.{name}", f"{v!r} must be written without a decimal point: send {int(v)}")
            for name in self._integers
            if isinstance(v := arguments.get(name), float) and v.is_integer()
        ]
        if self.tool.kind == "create" and self.tool.body and draft_members(self.tool.body):
            found += self._draft_problems(arguments)
        actions = arguments.get("actions")
        if self.tool.kind == "update" and isinstance(actions, list):
            found += self._action_problems(actions)
        query = arguments.get("query")
        if self.tool.kind == "search" and isinstance(query, dict):
            found += _query_problems(query)
        return found

    def _draft_problems(self, arguments: Mapping[str, Any]) -> list[Problem]:
        """A oneOf draft judged by the member its discriminator selects: that member's required fields, and no
        field only other members have (an unknown discriminator value is the root schema's to report)."""
        tag, members = draft_members(self.tool.body or "") or ("", {})
        value = arguments.get(tag)
        member = members.get(value) if isinstance(value, str) else None
        if member is None:
            return []
        found = []
        for name in member.get("required", []):
            if name not in arguments:
                sub = member["properties"].get(name, {})
                found.append(Problem("arguments", f"missing required '{name}' for {tag} {value!r} ({expected(sub)})"))
        for name in arguments:
            if name not in member["properties"] and any(name in m["properties"] for m in members.values()):
                others = " or ".join(repr(v) for v, m in members.items() if name in m["properties"])
                found.append(Problem(f"arguments.{name}", f"only for {tag} {others}; leave it out for {value!r}"))
        return found

    def _action_problems(self, actions: list[Any]) -> list[Problem]:
        union = self.tool.body or ""
        names = action_members(union)
        found = []
        for i, item in enumerate(actions):
            if not isinstance(item, dict) or not isinstance(item.get("action"), str):
                continue  # already reported by the root schema
            name = item["action"]
            if name not in names:
                near = difflib.get_close_matches(name, names, n=3, cutoff=0.5) or sorted(names)[:3]
                found.append(
                    Problem(
                        _dotted(["actions", i, "action"]),
                        f"unknown action {name!r}; nearest valid actions: {', '.join(near)}",
                    )
                )
                continue
            found += _action_checker(union, name).problems(item, ["actions", i])
        return found

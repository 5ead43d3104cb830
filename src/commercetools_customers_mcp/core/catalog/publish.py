"""The input schema a client sees: the precise schema, said in fewer bytes without losing a field, a type, an
enum, a pattern or a rule of the API.

Five rewrites, each plain JSON Schema 2020-12 that any validator (and the MCP SDKs, the Inspector and the
conformance suite) accepts, and each accepting and refusing exactly what the precise schema does but for sizes
(with shorter descriptions, they are how the default ``tools/list`` got smaller: the README's "tools/list size"):

* **Sizes unsaid.** String lengths, item counts and the ranges of 32- and 64-bit integers are the server's
  guards against oversized input, not something a model must plan around: the server still holds every call to
  them and answers a one-line error naming the bound. Ranges that carry meaning (a page's ``limit`` and
  ``offset``, a fuzzy ``level``, a version's minimum) stay.

* **Defaults unsaid.** ``"additionalProperties": true`` goes.
* **Discriminated unions said once.** In a ``oneOf`` whose members are told apart by a ``const`` property (the
  update actions' ``action``), ``"type": "object"`` and the discriminator's ``required`` move to the union, a
  member's ``title`` that repeats its ``const`` goes, and members alike but for that ``const`` become one member
  whose discriminator is an ``enum`` (``addShippingAddressId``, ``removeAddress``… take the same fields).
* **One-key unions as one object.** A ``oneOf`` of objects that each have exactly one, different, key (a search
  query: ``{"exact": …}``, ``{"and": […]}``…) becomes one object with all those properties and exactly one of
  them (``minProperties``/``maxProperties`` 1).
* **Repeated sub-schemas said once.** A sub-schema that occurs more than once in one tool's schema (an address,
  a store identifier, an enum of permissions) moves to the schema's own ``$defs`` and each occurrence becomes a
  ``{"$ref": "#/$defs/<Name>"}``, when that saves bytes. ``<Name>`` is the API's component name when the
  sub-schema is a whole component (``BaseAddress``, ``StoreResourceIdentifier``), else the property it was found
  under. References never leave the tool's own schema.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from ... import spec

JSON = dict[str, Any]

# Keywords whose value is a schema, a list of schemas, or a map of name → schema.
_SCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames")
_SCHEMA_LISTS = ("oneOf", "anyOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties", "dependentSchemas")
_KEYWORDS = frozenset(_SCHEMA + _SCHEMA_LISTS)
MIN_SAVING = 16  # bytes a shared definition must save to be worth a name


def _canon(node: Any) -> bytes:
    return orjson.dumps(node, option=orjson.OPT_SORT_KEYS)


def _subschemas(node: JSON) -> Iterator[tuple[str, JSON]]:
    """(the key it sits under, schema) for each direct sub-schema of a schema."""
    for key in _SCHEMA:
        if isinstance(node.get(key), dict):
            yield key, node[key]
    for key in _SCHEMA_LISTS:
        for item in node.get(key) or ():
            if isinstance(item, dict):
                yield key, item
    for key in _SCHEMA_MAPS:
        for name, item in (node.get(key) or {}).items():
            if isinstance(item, dict):
                yield name, item


def _map(node: JSON, f: Any) -> JSON:
    """A copy of ``node`` with ``f`` applied to each direct sub-schema."""
    out = dict(node)
    for key in _SCHEMA:
        if isinstance(node.get(key), dict):
            out[key] = f(node[key])
    for key in _SCHEMA_LISTS:
        if isinstance(node.get(key), list):
            out[key] = [f(i) if isinstance(i, dict) else i for i in node[key]]
    for key in _SCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            out[key] = {n: f(i) if isinstance(i, dict) else i for n, i in node[key].items()}
    return out


def _discriminator(members: list[Any]) -> str | None:
    """The property every member requires and fixes with a ``const``, if there is one."""
    if not members or not all(isinstance(m, dict) for m in members):
        return None
    first = members[0]
    for tag in first.get("required", ()):
        if all("const" in m.get("properties", {}).get(tag, {}) and tag in m.get("required", ()) for m in members):
            return tag
    return None


def _one_key(members: list[Any]) -> list[str] | None:
    """The keys, if every member is "an object with exactly this one key" (distinct keys)."""
    keys = []
    for m in members:
        if not (
            isinstance(m, dict)
            and set(m) <= {"type", "properties", "required", "additionalProperties"}
            and m.get("type") == "object"
            and m.get("additionalProperties") is False
            and len(m.get("properties", {})) == 1
            and m.get("required") == list(m["properties"])
        ):
            return None
        keys.append(next(iter(m["properties"])))
    return keys if len(set(keys)) == len(keys) else None


_SIZES = frozenset({"minLength", "maxLength", "minItems", "maxItems"})
_WIDTHS = {bound for bounds in spec.INT_RANGES.values() for bound in bounds}  # the integer formats' ranges


def unsized(node: JSON) -> JSON:
    """A copy without size guards: string lengths, item counts and integer-format ranges."""
    node = _map(node, unsized)
    return {
        k: v
        for k, v in node.items()
        if k not in _SIZES and not (k in ("minimum", "maximum") and isinstance(v, int) and v in _WIDTHS)
    }


def tighten_unions(node: JSON) -> JSON:
    """Say a discriminated union's shared ``type`` and ``required`` once, and drop titles that repeat a const;
    a union of one-key objects (a search query: ``{"exact": …}`` or ``{"and": […]}`` …) becomes one object with
    those properties and exactly one of them."""
    node = _map(node, tighten_unions)
    if node.get("additionalProperties") is True:  # the default: says nothing
        node = {k: v for k, v in node.items() if k != "additionalProperties"}
    members = node.get("oneOf")
    if not isinstance(members, list):
        return node
    keys = _one_key(members) if set(node) == {"oneOf"} else None
    if keys:
        props = {k: v for m in members for k, v in m["properties"].items()}
        return {
            "type": "object",
            "properties": props,
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
        }
    tag = _discriminator(members)
    if tag is None or any(m.get("type", "object") != "object" for m in members):
        return node
    slim = []
    for member in members:
        member = {k: v for k, v in member.items() if k != "type"}
        if member.get("title") == member["properties"][tag]["const"]:
            del member["title"]
        rest = [r for r in member["required"] if r != tag]
        if rest:
            member["required"] = rest
        else:
            del member["required"]
        slim.append(member)
    return {**node, "type": "object", "required": [tag, *node.get("required", ())], "oneOf": _grouped(slim, tag)}


def _grouped(members: list[JSON], tag: str) -> list[JSON]:
    """Members alike but for their tag's ``const`` become one member whose tag is an ``enum`` of those values
    (``addShippingAddressId``, ``removeAddress``… all take ``addressId`` or ``addressKey``)."""
    groups: dict[bytes, list[JSON]] = {}
    for member in members:
        rest = {**member, "properties": {k: v for k, v in member["properties"].items() if k != tag}}
        groups.setdefault(_canon(rest), []).append(member)
    out = []
    for alike in groups.values():
        if len(alike) == 1:
            out.append(alike[0])
            continue
        values = [m["properties"][tag]["const"] for m in alike]
        out.append({**alike[0], "properties": {**alike[0]["properties"], tag: {"enum": values}}})
    return out


def share_repeated(schema: JSON, names: Mapping[bytes, str] | None = None) -> JSON:
    """Move every sub-schema that occurs more than once (and saves bytes) into ``$defs``.

    ``names`` maps a sub-schema's canonical JSON (sorted keys) to the name to give it; others are named after the
    property they were first found under."""
    names = names or {}
    found: Counter[bytes] = Counter()
    first_key: dict[bytes, str] = {}
    original: dict[bytes, JSON] = {}

    def count(node: JSON) -> None:
        for key, sub in _subschemas(node):
            count(sub)
            if node is schema:  # the tool's own parameters stay in place (clients show them as a form)
                continue
            c = _canon(sub)
            found[c] += 1
            first_key.setdefault(c, key)
            original.setdefault(c, sub)

    count(schema)
    defs: JSON = dict(schema.get("$defs", {}))
    root = {k: v for k, v in schema.items() if k != "$defs"}
    text = b"".join(_canon(inner) for _, param in _subschemas(root) for _, inner in _subschemas(param))
    bodies = {name: _canon(body) for name, body in defs.items()}
    chosen: dict[bytes, str] = {}
    for c in sorted((c for c, n in found.items() if n > 1), key=len, reverse=True):
        base = names.get(c) or _list_name(original[c]) or first_key[c]
        if base in _KEYWORDS:  # found only in keyword positions and not a component: no name worth reading
            continue
        name = _name(base, bodies)
        ref = _canon({"$ref": f"#/$defs/{name}"})
        occurrences = text.count(c) + sum(body.count(c) for body in bodies.values())
        if occurrences < 2 or (len(c) - len(ref)) * occurrences - len(c) - len(name) - 4 < MIN_SAVING:
            continue
        chosen[c] = name
        text = text.replace(c, ref)
        bodies = {n: b.replace(c, ref) for n, b in bodies.items()}
        bodies[name] = c

    if not chosen:
        return schema

    def rebuild(node: JSON, top: bool = False) -> JSON:
        c = _canon(node)
        if not top and c in chosen:
            return {"$ref": f"#/$defs/{chosen[c]}"}
        return _map(node, rebuild)

    out = _map(root, lambda param: rebuild(param, top=True))
    new_defs = {name: rebuild(body, top=True) for name, body in defs.items()}
    for c, name in chosen.items():
        new_defs[name] = rebuild(original[c], top=True)
    out["$defs"] = new_defs
    return out


def _list_name(node: JSON) -> str | None:
    ref = node.get("items", {}).get("$ref", "") if node.get("type") == "array" else ""
    return f"{ref.rsplit('/', 1)[-1]}List" if ref else None


def _name(base: str, taken: Mapping[str, Any]) -> str:
    name = base[:1].upper() + base[1:]
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}{n}"
    return candidate


def size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON (how tools/list sizes are measured)."""
    return len(orjson.dumps(value))

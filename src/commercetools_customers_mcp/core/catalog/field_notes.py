"""Field paths a call filters or sorts on that its resource, or its search index, does not have.

The API answers such a call without a sign: ``where=['created > "…"']`` matches nothing, ``sort=["created
desc"]`` leaves the results unsorted. The call is still sent (the structure may lag the API, and custom fields
are open); the result carries a note naming the path and the nearest fields.

A ``where`` or ``sort`` path is looked up in the resource's component of the vendored structure
(``Family.schema``) step by step, arrays by their items; below a node that lists no properties (custom fields, a
localized string, an expanded ``obj``) anything goes. A family's query-only fields (``lowercaseEmail``) count as
fields. A search path is looked up in the search index's fields (``querylang.search_fields``), where ``custom.<name>``,
``all`` and, in a sort, ``score`` are fields too.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from ... import spec
from ...querylang import search_fields as search
from .filters import FieldUse, FilterSyntaxError, field_uses
from .tools import Family, Tool

JSON = dict[str, Any]
MAX_NOTES = 5
MAX_LISTED = 30  # field names listed when none is near


@cache
def _resource(family: Family) -> JSON:
    schema = spec.schema(family.schema)
    props = schema.setdefault("properties", {})
    for name in family.query_only:
        props.setdefault(name, {"type": "string"})
    return schema


def _unknown_step(schema: JSON, path: Sequence[str]) -> tuple[int, list[str]] | None:
    """Where a path leaves the schema: the index of the first unknown step and the names known there; None when
    the whole path is known (or reaches a node that takes any name)."""
    node = schema
    for i, step in enumerate(path):
        while node.get("type") == "array" and isinstance(node.get("items"), dict):
            node = node["items"]
        props = node.get("properties")
        if not props or node.get("additionalProperties") or node.get("patternProperties"):
            return None
        if step not in props:
            return i, sorted(props)
        node = props[step]
    return None


def _nearest(name: str, known: Sequence[str], prefix: str = "") -> str:
    near = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
    if not near:
        near = [k for k in known if k.lower().startswith(name.lower()[:3])][:2]
    if near:
        return "did you mean " + " or ".join(f"'{prefix}{n}'" for n in near) + "?"
    shown = ", ".join(known[:MAX_LISTED]) + (", …" if len(known) > MAX_LISTED else "")
    return f"{prefix.rstrip('.') or 'its'} fields: {shown}."


def _resource_note(tool: Tool, use: FieldUse) -> str | None:
    found = _unknown_step(_resource(tool.family), use.path)
    if found is None:
        return None
    at, known = found
    parent = ".".join(use.path[:at])
    where = f"{tool.family.schema}.{parent}" if parent else tool.family.schema
    near = _nearest(use.path[at], known, f"{parent}." if parent else "")
    return f"'{use.dotted}' ({use.argument}) is not a field of {where}; {near}"


def _search_note(tool: Tool, use: FieldUse) -> str | None:
    fields = search.FIELDS.get(tool.family.type_id)
    name = use.dotted
    if fields is None or name in fields or name.startswith(search.CUSTOM) or name == search.ALL:
        return None
    if name == search.SCORE and use.argument.startswith("sort"):
        return None
    index = f"{tool.family.noun} search"
    return f"'{name}' ({use.argument}) is not a field of the {index} index; {_nearest(name, sorted(fields))}"


def unknown_field_notes(tool: Tool, arguments: Mapping[str, Any]) -> list[str]:
    """One note per field path the call names that its resource or search index does not have (at most
    ``MAX_NOTES``)."""
    if tool.kind not in ("list", "search") or not ({"where", "sort", "query"} & arguments.keys()):
        return []
    try:
        uses = field_uses(tool, arguments)
    except FilterSyntaxError:
        return []  # refused before the call, with its own message
    note = _search_note if tool.kind == "search" else _resource_note
    notes = [text for use in uses if (text := note(tool, use))]
    return list(dict.fromkeys(notes))[:MAX_NOTES]

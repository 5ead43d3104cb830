"""Discovery mode (``--tool-discovery``): three small tools in place of the whole catalogue.

``tools/list`` then shows only ``find_tools`` (names, titles and one-line purposes of the tools matching a few
words), ``describe_tool`` (one tool's full description and input schema) and ``call_tool`` (run a tool by
name). A client with a small context, or one that caps the number of tools, loads ~2 KB instead of the
catalogue, and learns each tool's schema only when it needs it.

Discovery changes what is listed, never what is allowed: ``find_tools`` and ``describe_tool`` see only the
tools the selection publishes to this caller, and ``call_tool`` runs the named tool through exactly the same
path as a direct call (selection, read-only caller, validation, connection limits, observers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema_rs
from mcp import types

from .catalog.tools import PREFIX

FIND = PREFIX + "find_tools"
DESCRIBE = PREFIX + "describe_tool"
CALL = PREFIX + "call_tool"
DEFAULT_LIMIT, MAX_LIMIT = 10, 50

_NAME = {"type": "string", "minLength": 1, "maxLength": 128, "description": "A tool name from find_tools."}
_READ = types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

META_TOOLS: tuple[types.Tool, ...] = (
    types.Tool(
        name=FIND,
        title="Find tools",
        description=(
            'Finds the commercetools customer-management tools that match a few words (e.g. "update customer '
            'address", "business unit associates", "password reset") and lists their names, titles and purposes. '
            "Call describe_tool for a tool's parameters, then call_tool to run it. An empty query lists all."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "query": {"type": "string", "maxLength": 200, "description": "Words describing the task."},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "description": "Default 10."},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        annotations=_READ,
    ),
    types.Tool(
        name=DESCRIBE,
        title="Describe a tool",
        description="Returns one tool's description, annotations and JSON input schema, to build its arguments.",
        input_schema={
            "type": "object",
            "properties": {"name": _NAME},
            "required": ["name"],
            "additionalProperties": False,
        },
        annotations=_READ,
    ),
    types.Tool(
        name=CALL,
        title="Call a tool",
        description=(
            "Runs a tool found with find_tools: pass its name and its arguments object as describe_tool's schema "
            "says. Answers exactly what the tool answers."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "name": _NAME,
                "arguments": {"type": "object", "description": "The tool's arguments."},
            },
            "required": ["name"],
            "additionalProperties": False,
        },
        annotations=types.ToolAnnotations(destructive_hint=True, idempotent_hint=False, open_world_hint=True),
    ),
)
META_NAMES = frozenset(t.name for t in META_TOOLS)


def purpose(description: str) -> str:
    """The first sentence of a description: what the tool does."""
    match = re.match(r"(.+?[.!?])(\s|$)", description.strip())
    return match.group(1) if match else description.strip()


def _words(text: str) -> list[str]:
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in re.findall(r"[a-z0-9]+", text.lower())]


def find(tools: Sequence[types.Tool], query: str, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The published tools best matching ``query``: words in the name count 3, in the title 2, elsewhere 1."""
    wanted = set(_words(query))
    scored = []
    for index, tool in enumerate(tools):
        name, title = set(_words(tool.name.removeprefix(PREFIX))), set(_words(tool.title or ""))
        text = set(_words(tool.description or ""))
        score = sum(3 * (w in name) + 2 * (w in title) + (w in text) for w in wanted)
        if score or not wanted:
            scored.append((-score, index, tool))
    scored.sort(key=lambda item: item[:2])
    found = [
        {"name": tool.name, "title": tool.title, "purpose": purpose(tool.description or "")}
        for _, _, tool in scored[:limit]
    ]
    return {"tools": found, "total": len(scored)}


def describe(tool: types.Tool) -> dict[str, Any]:
    """What ``tools/list`` would have said about one tool."""
    return tool.model_dump(mode="json", by_alias=True, exclude_none=True)


_VALIDATORS = {t.name: jsonschema_rs.validator_for(t.input_schema) for t in META_TOOLS}


def arguments_problem(name: str, arguments: Mapping[str, Any]) -> str | None:
    """A short message when a discovery tool's own arguments do not fit its input schema, else None: an unknown
    argument first, else the first argument that is missing or wrong, with what it must be."""
    schema = next(t.input_schema for t in META_TOOLS if t.name == name)
    props: dict[str, Any] = schema["properties"]
    wrong = None
    for error in _VALIDATORS[name].iter_errors(dict(arguments)):
        kind = error.kind
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            return f"unknown argument(s) {', '.join(sorted(kind.unexpected))}; allowed: {', '.join(sorted(props))}"
        if wrong is None and isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
            wrong = kind.property
        elif wrong is None and error.instance_path:
            wrong = str(error.instance_path[0])
    return None if wrong is None else f"{wrong} must be {_expected(props[wrong])}"


def _expected(prop: Mapping[str, Any]) -> str:
    """What a discovery tool's parameter takes, in words."""
    kind, low, high = prop.get("type"), prop.get("minimum"), prop.get("maximum")
    if kind == "integer" and low is not None and high is not None:
        return f"an integer from {low} to {high}"
    if kind == "string":
        text = "a non-empty string" if prop.get("minLength") else "a string"
        return text + (f" of at most {prop['maxLength']} characters" if "maxLength" in prop else "")
    return "an object" if kind == "object" else f"a {kind}"

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

import math
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


# Words that say nothing about which tool: left out of queries and of the index.
_STOP = frozenset(
    (
        "a",
        "an",
        "and",
        "the",
        "to",
        "of",
        "for",
        "in",
        "on",
        "by",
        "with",
        "from",
        "at",
        "as",
        "is",
        "are",
        "be",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "my",
        "our",
        "your",
        "their",
        "me",
        "i",
        "we",
        "you",
        "do",
        "does",
        "how",
        "what",
        "which",
        "who",
        "can",
        "could",
        "should",
        "would",
        "will",
        "please",
        "all",
        "any",
        "some",
        "one",
    )
)
# Plain words a request uses → the words the catalogue uses for them (each also keeps itself).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "add": ("set", "create", "assign"),
    "assign": ("set", "add"),
    "put": ("set", "add"),
    "move": ("set", "change"),
    "new": ("create",),
    "make": ("create",),
    "register": ("create",),
    "sign": ("create",),
    "signup": ("create",),
    "remove": ("delete", "unset"),
    "erase": ("delete", "erasure"),
    "drop": ("delete", "remove"),
    "gdpr": ("erasure", "delete"),
    "find": ("list", "search", "get"),
    "look": ("get", "list", "find"),
    "lookup": ("get", "list", "find"),
    "fetch": ("get",),
    "read": ("get",),
    "show": ("get", "list"),
    "view": ("get",),
    "see": ("get", "list"),
    "who": ("get",),
    "filter": ("list", "where"),
    "query": ("list", "search"),
    "browse": ("list",),
    "all": ("list",),
    "fulltext": ("search",),
    "fuzzy": ("search",),
    "change": ("update", "set"),
    "modify": ("update", "set", "change"),
    "edit": ("update", "set", "change"),
    "rename": ("update", "change", "set", "name"),
    "forgot": ("reset", "password", "token"),
    "forgotten": ("reset", "password", "token"),
    "confirm": ("verify", "verified", "email"),
    "verification": ("verify", "email", "token"),
    "ready": ("status", "indexing"),
    "indexing": ("status",),
    "enable": ("activate", "activated", "status"),
    "activate": ("activated", "status"),
    "turn": ("activate", "status"),
    "switch": ("activate", "status"),
    "permission": ("role",),
    "permissions": ("role",),
    "company": ("business", "unit"),
    "division": ("business", "unit"),
    "organisation": ("business", "unit"),
    "organization": ("business", "unit"),
    "b2b": ("business", "unit"),
    "member": ("associate",),
    "employee": ("associate",),
    "staff": ("associate",),
    "user": ("customer",),
    "shopper": ("customer",),
    "buyer": ("customer",),
    "client": ("customer",),
    "person": ("customer",),
    "people": ("customer",),
    "account": ("customer",),
    "segment": ("group",),
    "tier": ("group",),
    "history": ("message",),
    "changed": ("message",),
    "changes": ("message",),
    "audit": ("message",),
    "log": ("message",),
    "mail": ("email",),
    "birthday": ("birth",),
}
# How much a word weighs where it is found: the name and title say what the tool is, the update actions what it
# can change, the parameters what it takes, the description the rest.
_FIELDS = (("name", 3.0), ("title", 2.0), ("actions", 2.0), ("params", 1.0), ("description", 1.0))
SYNONYM_WEIGHT = 0.6  # a word the request did not say, but means


def _stem(word: str) -> str:
    """A plural's singular (roles → role, addresses → address, properties → property); other words as they are."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _words(text: str) -> list[str]:
    """Lower-case stems of a text's words, camelCase split (setCustomerGroup → set customer group)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)
    return [_stem(w) for w in re.findall(r"[a-z0-9]+", spaced.lower()) if w not in _STOP]


def _actions(schema: Any) -> list[str]:
    """The update actions an input schema names (``action`` consts and enums), wherever they are."""
    found: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            action = node.get("properties", {}).get("action") if isinstance(node.get("properties"), dict) else None
            if isinstance(action, dict):
                found += [action["const"]] if "const" in action else list(action.get("enum", []))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def index(tool: types.Tool) -> dict[str, set[str]]:
    """The words of each field of a tool, as ``find`` weighs them (a server builds them once: ``find``'s
    ``indexes``)."""
    props = tool.input_schema.get("properties", {})
    params = " ".join(f"{n} {p.get('description', '')}" for n, p in props.items() if isinstance(p, dict))
    return {
        "name": set(_words(tool.name.removeprefix(PREFIX).replace("_", " "))),
        "title": set(_words(tool.title or "")),
        "actions": set(_words(" ".join(_actions(tool.input_schema)))),
        "params": set(_words(params)),
        "description": set(_words(tool.description or "")),
    }


def _query(text: str) -> dict[str, float]:
    """The query's words with their weights: said (1), or meant through a synonym (SYNONYM_WEIGHT)."""
    said = re.findall(r"[a-z0-9]+", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text).lower())
    wanted: dict[str, float] = {}
    for word in said:
        if word in _STOP:
            continue
        wanted[_stem(word)] = 1.0
        for other in _SYNONYMS.get(word, ()):
            wanted.setdefault(_stem(other), SYNONYM_WEIGHT)
    return wanted


def find(
    tools: Sequence[types.Tool],
    query: str,
    limit: int = DEFAULT_LIMIT,
    indexes: Mapping[str, dict[str, set[str]]] | None = None,
) -> dict[str, Any]:
    """The published tools ranked by relevance to ``query``: each word (and the words it means) counts by where it
    is found (name 3, title 2, update actions 2, parameters 1, description 1) times its rarity among the tools
    (a word every tool has, like "customer", tells them apart least). A tool matches when it has at least half of
    the words the request said (or one they mean); ``total`` counts those. ``indexes``: each tool's ``index`` by
    name, built ahead (a tool without one is indexed here)."""
    wanted = _query(query)
    if not wanted:
        listed = [{"name": t.name, "title": t.title, "purpose": purpose(t.description or "")} for t in tools]
        return {"tools": listed[:limit], "total": len(tools)}
    known = indexes or {}
    words_of = [known.get(tool.name) or index(tool) for tool in tools]
    rarity = {}
    for word in wanted:
        having = sum(1 for fields in words_of if any(word in words for words in fields.values()))
        rarity[word] = math.log(1 + len(tools) / (1 + having))
    said = [w for w, weight in wanted.items() if weight == 1.0]
    groups = {w: {w, *(_stem(o) for o in _SYNONYMS.get(w, ()))} for w in said}
    scored = []
    for order, (tool, fields) in enumerate(zip(tools, words_of, strict=True)):
        score = 0.0
        for word, weight in wanted.items():
            best = max((w for field, w in _FIELDS if word in fields[field]), default=0.0)
            score += weight * best * rarity[word]
        everything = set().union(*fields.values())
        covered = sum(1 for group in groups.values() if group & everything)
        if score > 0 and covered * 2 >= len(groups):
            scored.append((-score, order, tool))
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

"""The fields a call filters or sorts on, and the rule that a field hidden from results is off limits.

A field the server hides from results can be neither filtered nor sorted on: otherwise a range predicate such
as ``password >= "scrypt$16384$d"`` answers one bit of the hidden value per call. A customer's ``password``
(its hash) is always hidden, at any depth and in any letter case; an output policy may hide more (any object
given as a ``hides(path) -> bool`` function).

Hiding a field hides every field the API derives from it (``DERIVED``, one table): ``lowercaseEmail`` reads
``email``, Customer Search's ``fullName`` reads the three name fields, the full-text field ``all`` reads every
text field of its search index, and so on. A filter on a derived field is judged by its sources too, so
``lowercaseEmail in (…)`` cannot confirm an email the policy shows as ``[REDACTED]``. A search's ``custom.<name>``
is the resource's ``custom.fields.<name>``.

Field paths come from ``where`` predicates (parsed with the API's own grammar, ``querylang``), ``sort``
expressions, and the ``field`` of every search expression and search sort. A predicate that does not parse
is refused here too: what it filters on cannot be known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ...querylang.search_fields import CUSTOM, FIELDS, TEXT
from ...querylang.sort import SortError, parse_sort
from ...querylang.where import PredicateError, field_paths
from .tools import Tool

ALWAYS_HIDDEN = frozenset({"password"})
Path = tuple[str, ...]
Hides = Callable[[Path], bool]

ALL = "all"  # the full-text field of both searches: every text field of the index (querylang.search_fields.FIELDS)
# The fields the API computes from others, in every resource and search index this server reaches: a derived
# field (any letter case) → the fields beside it that it is computed from. `all` is derived per index, below.
DERIVED: Mapping[str, tuple[str, ...]] = {
    "lowercaseemail": ("email",),  # Customer: `where` and Customer Search; never in results
    "fullname": ("firstName", "middleName", "lastName"),  # Customer Search
    "toplevelunit": ("parentUnit",),  # Business Unit: the root of its parentUnit chain
    "inheritedstores": ("stores",),  # Business Unit: its parent's stores (storeMode FromParent)
}


def always_hidden(path: Path) -> bool:
    return any(part.lower() in ALWAYS_HIDDEN for part in path)


def sources(type_id: str, path: Path) -> list[Path]:
    """The path itself and every field path it is derived from (``DERIVED``; ``all`` of ``type_id``'s index)."""
    out = [path]
    if len(path) >= 2 and path[0] == CUSTOM.rstrip("."):
        out.append(("custom", "fields", *path[1:]))  # a search's custom.<name> is the resource's custom.fields.<name>
    for i, name in enumerate(path):
        parent = path[:i]
        if name.lower() in DERIVED:
            out += [(*parent, source) for source in DERIVED[name.lower()]]
        elif name.lower() == ALL and i == len(path) - 1:
            out += [(*parent, *field.split(".")) for field, kind in FIELDS.get(type_id, {}).items() if kind == TEXT]
    return out


@dataclass(frozen=True)
class FieldUse:
    """One field path a call names, and the argument it came from (``where[0]``, ``query.and[1].exact``)."""

    argument: str
    path: Path

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


class FilterSyntaxError(ValueError):
    """A ``where`` or ``sort`` value that does not parse; ``argument`` names it."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument


def _search_fields(query: Any, label: str) -> Iterator[FieldUse]:
    stack = [(query, label)]
    while stack:
        node, where = stack.pop()
        if not isinstance(node, dict):
            continue
        for kind, body in node.items():
            if isinstance(body, list):  # and / or / not / filter
                stack.extend((child, f"{where}.{kind}[{i}]") for i, child in reversed(list(enumerate(body))))
            elif isinstance(body, dict) and isinstance(body.get("field"), str):
                yield FieldUse(f"{where}.{kind}", tuple(body["field"].split(".")))


def field_uses(tool: Tool, arguments: Mapping[str, Any]) -> list[FieldUse]:
    """Every field path the call filters or sorts on. Raises `FilterSyntaxError` for an unparsable value."""
    uses: list[FieldUse] = []
    if tool.kind == "search":
        uses += _search_fields(arguments.get("query"), "query")
        for i, item in enumerate(arguments.get("sort") or ()):
            if isinstance(item, dict) and isinstance(item.get("field"), str):
                uses.append(FieldUse(f"sort[{i}]", tuple(item["field"].split("."))))
        return uses
    for i, predicate in enumerate(arguments.get("where") or ()):
        try:
            uses += (FieldUse(f"where[{i}]", path) for path in field_paths(predicate))
        except PredicateError as exc:
            raise FilterSyntaxError(f"where[{i}]", str(exc)) from None
    for i, sort in enumerate(arguments.get("sort") or ()):
        try:
            uses.append(FieldUse(f"sort[{i}]", parse_sort(sort)[0]))
        except SortError as exc:
            raise FilterSyntaxError(f"sort[{i}]", str(exc)) from None
    return uses


# Fields hidden from a family's results unless the operator shows them: a token Message's value (a credential,
# core/redaction.TOKEN_MESSAGE_TYPES). A range filter on it would read the token one bit per call.
TOKEN_VALUE_FIELDS: Mapping[str, frozenset[str]] = {"message": frozenset({"value"})}


def hidden_field_problems(
    tool: Tool, arguments: Mapping[str, Any], hidden: Hides | None = None, *, token_values: bool = False
) -> list[str]:
    """One line per argument that filters or sorts on a hidden field, or that does not parse."""
    if not ({"where", "sort", "query"} & arguments.keys()):
        return []
    try:
        uses = field_uses(tool, arguments)
    except FilterSyntaxError as exc:
        return [f"arguments.{exc}"]
    problems = []
    tokens = frozenset() if token_values else TOKEN_VALUE_FIELDS.get(tool.family.type_id, frozenset())
    for use in uses:
        hidden_reads = [
            path for path in sources(tool.family.type_id, use.path)
            if always_hidden(path) or path[0] in tokens or (hidden is not None and hidden(path))
        ]  # fmt: skip
        if not hidden_reads:
            continue
        if hidden_reads[0] == use.path:
            why = f"the field '{use.dotted}' is hidden by this server"
        else:
            names = [f"'{'.'.join(path)}'" for path in dict.fromkeys(hidden_reads)]
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            why = f"the field '{use.dotted}' reads {', '.join(names[:3])}{more}, hidden by this server"
        problems.append(f"arguments.{use.argument}: {why}, so it can be neither filtered nor sorted on")
    return problems

"""`sort` query parameters compiled to an SQL ORDER BY body over the JSON documents in SQLite.

``sort=<path> [asc|desc]``: the path is field names joined by dots (``createdAt``, ``name.en``,
``custom.fields.tier``); the direction is optional (default ``asc``) and case-insensitive. Earlier parameters
sort first. Array indexes, wildcards and anything else are a `SortError`.

Ordering follows SQLite: missing and null values come first in ``asc`` and last in ``desc``; then numbers
(booleans count as 0/1), then strings by code point, then objects/arrays as their JSON text. The body always
ends with the storage sequence ``seq`` (insertion order), so equal values keep a stable order for paging.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_SORTS = 16
MAX_PATH_LENGTH = 256

_FIELD = r"[A-Za-z_][A-Za-z0-9_-]*"
_SORT = re.compile(rf"\s*({_FIELD}(?:\.{_FIELD})*)(?:\s+((?i:asc|desc)))?\s*")


class SortError(ValueError):
    """A `sort` parameter that cannot be used; the message names it and says what is expected."""


def _json_path(path: str) -> str:
    return "$" + "".join(f'."{part}"' if "-" in part else f".{part}" for part in path.split("."))


def _one(sort: str, column: str) -> str:
    if not isinstance(sort, str):
        raise SortError("Malformed parameter: sort: expected a string like 'createdAt desc'.")
    match = _SORT.fullmatch(sort)
    if not match or len(match.group(1)) > MAX_PATH_LENGTH:
        shown = sort if len(sort) <= 80 else sort[:77] + "..."
        raise SortError(
            f"Malformed parameter: sort: Invalid sort expression '{shown}'. Expected '<field>[.<field>...] "
            "[asc|desc]', for example 'createdAt desc' or 'custom.fields.tier asc'; array indexes are not allowed."
        )
    path, direction = match.group(1), (match.group(2) or "asc").upper()
    return f"json_extract({column}, '{_json_path(path)}') {direction}"


def compile_sort(sorts: Sequence[str], column: str = "doc") -> str:
    """ORDER BY body for the sort parameters, ending with the stable tie-break ``seq``."""
    if isinstance(sorts, str):
        sorts = [sorts]
    if len(sorts) > MAX_SORTS:
        raise SortError(f"Malformed parameter: sort: at most {MAX_SORTS} sort parameters are allowed.")
    seq = column.rsplit(".", 1)[0] + ".seq" if "." in column else "seq"
    return ", ".join([*(_one(sort, column) for sort in sorts), seq])

"""`sort` query parameters compiled to an SQL ORDER BY body over the JSON documents in SQLite.

The syntax is ``querylang.sort``. Ordering follows SQLite: missing and null values come first in ``asc`` and
last in ``desc``; then numbers (booleans count as 0/1), then strings by code point, then objects/arrays as their
JSON text. The body always ends with the storage sequence ``seq`` (insertion order), so equal values keep a
stable order for paging.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..querylang.sort import MAX_SORTS, SortError, parse_sort

__all__ = ["SortError", "compile_sort"]


def _json_path(path: Sequence[str]) -> str:
    return "$" + "".join(f'."{part}"' if "-" in part else f".{part}" for part in path)


def compile_sort(sorts: Sequence[str], column: str = "doc") -> str:
    """ORDER BY body for the sort parameters, ending with the stable tie-break ``seq``."""
    if isinstance(sorts, str):
        sorts = [sorts]
    if len(sorts) > MAX_SORTS:
        raise SortError(f"Malformed parameter: sort: at most {MAX_SORTS} sort parameters are allowed.")
    seq = column.rsplit(".", 1)[0] + ".seq" if "." in column else "seq"
    terms = []
    for sort in sorts:
        path, direction = parse_sort(sort)
        terms.append(f"json_extract({column}, '{_json_path(path)}') {direction}")
    return ", ".join([*terms, seq])

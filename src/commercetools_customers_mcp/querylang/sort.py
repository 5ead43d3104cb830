"""`sort` expressions of the query endpoints: ``<field>[.<field>...] [asc|desc]``.

The path is field names joined by dots (``createdAt``, ``name.en``, ``custom.fields.tier``); the direction is
optional (default ``asc``) and case-insensitive. Array indexes, wildcards and anything else are a `SortError`.
"""

from __future__ import annotations

import re

MAX_SORTS = 16
MAX_PATH_LENGTH = 256

_FIELD = r"[A-Za-z_][A-Za-z0-9_-]*"
_SORT = re.compile(rf"\s*({_FIELD}(?:\.{_FIELD})*)(?:\s+((?i:asc|desc)))?\s*")


class SortError(ValueError):
    """A `sort` parameter that cannot be used; the message names it and says what is expected."""


def parse_sort(sort: str) -> tuple[tuple[str, ...], str]:
    """``"name.en desc"`` → ``(("name", "en"), "DESC")``. Raises `SortError`."""
    if not isinstance(sort, str):
        raise SortError("Malformed parameter: sort: expected a string like 'createdAt desc'.")
    match = _SORT.fullmatch(sort)
    if not match or len(match.group(1)) > MAX_PATH_LENGTH:
        shown = sort if len(sort) <= 80 else sort[:77] + "..."
        raise SortError(
            f"Malformed parameter: sort: Invalid sort expression '{shown}'. Expected '<field>[.<field>...] "
            "[asc|desc]', for example 'createdAt desc' or 'custom.fields.tier asc'; array indexes are not allowed."
        )
    return tuple(match.group(1).split(".")), (match.group(2) or "asc").upper()

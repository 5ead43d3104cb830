"""What a backend operation sees of a request, and the parsing of its query parameters.

Nothing here knows HTTP: the HTTP layer (``app.py``) builds a ``Req`` from path parameters, the decoded query
pairs and the parsed JSON body; the bench loader and tests build one by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import errors


class Query:
    """Query parameters as ordered ``(name, value)`` pairs; a repeated name keeps every value."""

    __slots__ = ("_pairs",)

    def __init__(self, pairs: Sequence[tuple[str, str]] = ()) -> None:
        self._pairs = list(pairs)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The last value given for ``name``."""
        found = default
        for key, value in self._pairs:
            if key == name:
                found = value
        return found

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._pairs)


@dataclass
class Req:
    """One request to a backend operation: path parameters, query parameters and the parsed JSON body."""

    method: str
    path: Mapping[str, str]
    query: Query = field(default_factory=Query)
    body: Any = None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.query.get(name)
        if value is None:
            return default
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise errors.invalid_input(f"Malformed parameter: {name}: expected true or false, got '{value}'.")

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.query.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise errors.invalid_input(f"Malformed parameter: {name}: '{value}' is not an integer.") from None
        if not low <= number <= high:
            raise errors.invalid_input(f"Malformed parameter: {name}: must be between {low} and {high}.")
        return number

    def variables(self) -> dict[str, list[str]]:
        """The ``var.<name>`` parameters of a `where` predicate, by name."""
        found: dict[str, list[str]] = {}
        for name, value in self.query.multi_items():
            if name.startswith("var."):
                found.setdefault(name[4:], []).append(value)
        return found

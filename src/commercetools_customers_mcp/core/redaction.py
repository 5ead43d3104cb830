"""What a tool call may show: field filtering (redact, drop, keep) on results and error bodies.

The rules follow commercetools' hosted MCP Server (``McpServerJsonOutputFiltering``), in the policy file's
``[output]`` table:

- ``redact`` replaces a field's value with ``redacted_with`` (default ``[REDACTED]``) and keeps the field;
  ``drop`` removes the field. Each selects fields three ways: ``field_paths`` (exact dotted path from the
  result root, array levels skipped, case-sensitive: ``results.email`` in a list, ``customer.email`` in a
  sign-up result, ``email`` in a get), ``field_names`` (exact name at any depth, case-sensitive) and
  ``field_name_contains`` (a substring of a name at any depth, case-insensitive). Drop wins over redact.
- ``keep_field_paths``: exact dotted paths never redacted or dropped themselves (their children still are).
- Error bodies too: an error object naming a hidden ``field`` has its ``duplicateValue`` / ``invalidValue``
  hidden the same way, and every hidden string value is scrubbed from the error's messages and hint (a
  DuplicateField on ``email`` quotes the very address the policy hides).
- A field the policy hides can be neither filtered nor sorted on (``hides_filter``), nor can a field the API
  derives from it (``catalog/filters.DERIVED``): otherwise a range predicate would read the hidden value one bit
  per call.

Filtering never touches what is sent to the API; it applies to ``structuredContent`` and the text alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

REDACTED = "[REDACTED]"
_VALUE_FIELDS = ("duplicateValue", "invalidValue")
_MIN_SCRUB = 3  # shorter hidden strings are not scrubbed from messages (too likely to hit unrelated text)

# The personal fields of customers, business units and addresses (`[output] preset = "pii"`).
PII_FIELD_NAMES = (
    "email",
    "oldEmail",  # CustomerEmailChanged Messages
    "contactEmail",
    "firstName",
    "lastName",
    "middleName",
    "title",
    "salutation",
    "dateOfBirth",
    "companyName",
    "vatId",
    "streetName",
    "streetNumber",
    "additionalStreetInfo",
    "postalCode",
    "building",
    "apartment",
    "pOBox",
    "additionalAddressInfo",
    "company",  # an address's company and department name a person's employer
    "department",
    "region",  # with streetName and postalCode redacted, region and state still narrow a person down
    "state",
    "phone",
    "mobile",
    "fax",
)
PRESETS = {"pii": PII_FIELD_NAMES}

# Messages that carry a token's value (the API shows it for tokens of 60 minutes or less). A token value is a
# credential: it resets a password or verifies an email, so a read-only caller must not see it by default.
TOKEN_MESSAGE_TYPES = frozenset({"CustomerPasswordTokenCreated", "CustomerEmailTokenCreated"})
TOKEN_VALUE = "value"


def hide_token_values(body: Any, placeholder: str = REDACTED) -> Any:
    """Replace the token value of every token Message in a result, in place (a freshly parsed body)."""
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            kind = node.get("type")
            if isinstance(kind, str) and kind in TOKEN_MESSAGE_TYPES and TOKEN_VALUE in node:
                node[TOKEN_VALUE] = placeholder
            stack.extend(child for child in node.values() if isinstance(child, dict | list))
        elif isinstance(node, list):
            stack.extend(child for child in node if isinstance(child, dict | list))
    return body


@dataclass(frozen=True)
class Matcher:
    """One match group: exact dotted paths, exact names at any depth, name substrings (case-insensitive)."""

    field_paths: frozenset[str] = frozenset()
    field_names: frozenset[str] = frozenset()
    field_name_contains: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.field_paths or self.field_names or self.field_name_contains)

    def name_matches(self, name: str) -> bool:
        lowered = name.lower()
        return name in self.field_names or any(part in lowered for part in self.field_name_contains)

    def matches(self, path: str, name: str) -> bool:
        return path in self.field_paths or self.name_matches(name)


def matcher(field_paths: Iterable[str] = (), field_names: Iterable[str] = (), contains: Iterable[str] = ()) -> Matcher:
    return Matcher(frozenset(field_paths), frozenset(field_names), tuple(c.lower() for c in contains))


@dataclass(frozen=True)
class OutputPolicy:
    """The ``[output]`` rules of a policy file (see the module docstring). The default hides nothing."""

    redact: Matcher = field(default_factory=Matcher)
    drop: Matcher = field(default_factory=Matcher)
    keep: frozenset[str] = frozenset()
    redacted_with: str = REDACTED
    format: str = "json"
    token_values: bool = False  # show the token values of token Messages (hidden unless the operator says so)

    @property
    def filters(self) -> bool:
        return bool(self.redact or self.drop)

    # --- which fields --------------------------------------------------------------------------------------

    def _action(self, path: str, name: str) -> str | None:
        if path in self.keep:
            return None
        if self.drop.matches(path, name):
            return "drop"
        if self.redact.matches(path, name):
            return "redact"
        return None

    def _keeps_below(self, path: str) -> bool:
        prefix = path + "."
        return any(kept.startswith(prefix) for kept in self.keep)

    def hides_filter(self, path: tuple[str, ...]) -> bool:
        """Would a where/sort/search field path (relative to one resource) read a field this policy hides?

        The path is taken as a field of the resources in a page (``results.<path>``); any segment whose name
        matches hides it, as does a matching path of the field itself or of one of its parents."""
        if not self.filters:
            return False
        dotted = "results"
        for name in path:
            dotted = f"{dotted}.{name}"
            if self._action(dotted, name) is not None:
                return True
        return False

    # --- filtering -----------------------------------------------------------------------------------------

    def apply(self, value: Any) -> tuple[Any, set[str]]:
        """A filtered copy of a result, and the hidden string values (to scrub from messages)."""
        hidden: set[str] = set()
        if not self.filters:
            return value, hidden
        return self._walk(value, "", None, hidden), hidden

    def _walk(self, value: Any, path: str, forced: str | None, hidden: set[str]) -> Any:
        if isinstance(value, list):
            return [self._walk(item, path, forced, hidden) for item in value]  # array levels are skipped
        if not isinstance(value, dict):
            if forced is not None:
                _collect(value, hidden)
                return self.redacted_with
            return value
        out: dict[str, Any] = {}
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            action = forced if child_path not in self.keep else None
            if action is None and forced is None:
                action = self._action(child_path, key)
            if action is None:
                out[key] = self._walk(child, child_path, None, hidden)
            elif self._keeps_below(child_path) and isinstance(child, dict | list):
                kept = self._walk(child, child_path, action, hidden)  # hide all but the kept paths below
                if action == "redact" or kept not in ({}, []):
                    out[key] = kept
            else:
                _collect(child, hidden)
                if action == "redact":
                    out[key] = self.redacted_with
        if forced == "drop":
            return {k: v for k, v in out.items() if v not in ({}, [])}
        return out

    def apply_error(self, body: dict[str, Any]) -> dict[str, Any]:
        """An error result filtered like any result, plus: values of errors that name a hidden field are hidden,
        and every hidden string value is scrubbed from the messages and the hint."""
        if not self.filters:
            return body
        filtered, hidden = self.apply(body)
        for error in filtered.get("errors") or ():
            if not isinstance(error, dict) or not isinstance(error.get("field"), str):
                continue
            name = error["field"].rsplit(".", 1)[-1]
            action = self._action(error["field"], name)
            for key in _VALUE_FIELDS:
                if action is not None and key in error:
                    _collect(error[key], hidden)
                    if action == "drop":
                        del error[key]
                    else:
                        error[key] = self.redacted_with
        secrets = sorted((h for h in hidden if len(h) >= _MIN_SCRUB), key=len, reverse=True)
        return _scrub(filtered, secrets, self.redacted_with) if secrets else filtered


def _collect(value: Any, into: set[str]) -> None:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            into.add(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _scrub(value: Any, secrets: list[str], placeholder: str) -> Any:
    """Every hidden string replaced, in any letter case (a hint may quote an email lower-cased for a `where`)."""
    if isinstance(value, str):
        for secret in secrets:
            if secret.lower() in value.lower():
                value = re.sub(re.escape(secret), lambda _: placeholder, value, flags=re.IGNORECASE)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets, placeholder) for v in value]
    return value

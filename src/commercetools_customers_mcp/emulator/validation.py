"""Request validation against the vendored API structure (``spec``), in the API's error shape.

``validate`` checks a body against a named component, ``validate_actions`` an update's action list against the
resource's action table and its spec union (``spec.union_members``), ``check_key`` the key syntax.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import jsonschema_rs
import orjson

from .. import spec
from . import errors
from .backend import Resource

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{2,256}$")
MAX_ACTIONS = 500


@cache
def _validator(name: str) -> Any:
    return jsonschema_rs.validator_for(spec.schema(name), validate_formats=True)


@cache
def _members(union: str) -> dict[str, Any]:
    return {
        name: jsonschema_rs.validator_for(member, validate_formats=True)
        for name, member in spec.union_members(union).items()
    }


def _path(prefix: str, location: Sequence[Any]) -> str:
    parts = [prefix] if prefix else []
    parts += [str(p) for p in location]
    return " -> ".join(parts)


def _describe(err: Any) -> str:
    # jsonschema-rs exposes the error kind as a class per kind (``ValidationErrorKind.Required``, ``.Enum``,
    # ``.MaxLength``, ``.OneOfNotValid``, ...); this module matches on those class names and their fields, which is
    # why pyproject.toml bounds jsonschema-rs to tested releases.
    kind = type(err.kind).__name__
    if kind == "Required":
        return f"Missing required value '{err.kind.property}'"
    if kind in _LIMITS:  # without quoting the (possibly huge) value
        return _LIMITS[kind].format(err.kind.limit)
    if kind == "Enum":  # name every allowed value, not "A, B or 45 other candidates"
        allowed = ", ".join(f'"{option}"' for option in err.kind.options)
        return f"{orjson.dumps(err.instance).decode()} is not one of the allowed values: {allowed}"
    return err.message


# Schema errors that are a value breaking a documented limit, which the API answers with InvalidInput.
_LIMITS = {
    "MaxItems": "has more than {} items",
    "MinItems": "has fewer than {} items",
    "MaxLength": "is longer than {} characters",
    "MinLength": "is shorter than {} characters",
    "Maximum": "is greater than the maximum of {}",
    "Minimum": "is less than the minimum of {}",
}


def _selected(errors: list[Any]) -> list[Any]:
    """A failed ``oneOf`` replaced by the errors of the member the value comes closest to (fewest errors)."""
    out: list[Any] = []
    for err in errors:
        context = getattr(err.kind, "context", None) if type(err.kind).__name__ == "OneOfNotValid" else None
        out += _selected(min(context, key=len)) if context else [err]
    return out


def validate(name: str, value: Any, prefix: str = "") -> None:
    """Validate ``value`` against the named API component; 400 naming every problem: InvalidInput when every
    problem is a value over a limit (the API's code for that), InvalidJsonInput otherwise."""
    found = _selected(list(_validator(name).iter_errors(value)))
    problems = [
        f"{_path(prefix, e.instance_path)}: {_describe(e)}" if (prefix or e.instance_path) else _describe(e)
        for e in found
    ]
    if problems and all(type(e.kind).__name__ in _LIMITS for e in found):
        raise errors.invalid_input("; ".join(problems[:20]))
    if problems:
        raise errors.invalid_json("; ".join(problems[:20]))


def validate_actions(resource: Resource, actions: list[Any]) -> None:
    if len(actions) > MAX_ACTIONS:
        raise errors.invalid_input(f"Too many update actions: at most {MAX_ACTIONS} per request.")
    members = _members(resource.update_union) if resource.update_union else {}
    for i, action in enumerate(actions):
        prefix = f"actions -> {i}"
        if not isinstance(action, dict) or not isinstance(action.get("action"), str):
            raise errors.invalid_json(f"{prefix}: Missing required value 'action'")
        name = action["action"]
        if name not in resource.actions or (members and name not in members):
            raise errors.invalid_json(
                f"{prefix} -> action: Unknown update action '{name}' for {resource.type_id}. "
                f"Valid actions: {', '.join(sorted(resource.actions))}"
            )
        if members:
            problems = [f"{_path(prefix, e.instance_path)}: {_describe(e)}" for e in members[name].iter_errors(action)]
            if problems:
                raise errors.invalid_json("; ".join(problems[:20]))


def check_key(key: Any) -> None:
    if key is not None and (not isinstance(key, str) or not KEY_PATTERN.match(key)):
        raise errors.invalid_input(
            f"Invalid key '{key}'. Keys may only contain alphanumeric characters, underscores "
            "and hyphens and must have a minimum length of 2 characters and maximum length "
            "of 256 characters."
        )

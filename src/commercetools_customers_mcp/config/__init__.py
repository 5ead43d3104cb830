"""The configuration files' common ground: one error type, the TOML readers and the words for pydantic's errors.

Neutral: the connections file (``upstream``), the API keys file (``serving``) and the policy file (``core``) all
read through here, and every mistake in any of them is a ``ConfigError`` whose message names the file and the
table, never a secret value. The CLI turns one into exit status 2. A file read through declared pydantic models
turns the models' ``ValidationError`` into one with ``invalid``.
"""

from __future__ import annotations

import tomllib
import types
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError


class ConfigError(Exception):
    """A configuration file or variable is unusable. The message never contains a secret."""


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML file's content; a ``ConfigError`` naming ``what`` and the file when it cannot be read or parsed."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path} is not valid TOML: {exc}") from None


def read_tables(path: Path, section: str, what: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Each ``[section.<name>]`` table of a TOML file, with a label naming it for error messages."""
    data = read_toml(path, what)
    tables = data.get(section)
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{what} {path} has no [{section}.<name>] tables")
    for name, table in tables.items():
        where = f"[{section}.{name}] in {path}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table")
        yield name, table, where


def secret_from_env(env: Mapping[str, str], variable: Any, field: str, where: str) -> str:
    """The secret held by the environment variable a config field names (never echoed in errors)."""
    if not isinstance(variable, str) or not variable:
        raise ConfigError(f"{where}: {field} must name an environment variable")
    if not env.get(variable):
        raise ConfigError(f"{where}: environment variable {variable} ({field}) is not set")
    return env[variable]


Location = tuple[int | str, ...]

# What a value must be, by pydantic error type, where pydantic's own words ("Input should be a valid boolean") are
# not the ones a TOML file's author knows.
_MUST = {
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "missing": "is required",
}


def invalid(
    exc: ValidationError, where: str, model: type[BaseModel], *, keys: Sequence[str] | None = None
) -> ConfigError:
    """A ``ConfigError`` saying every problem pydantic found reading ``where`` into ``model``: each named by its
    table (``[output.redact] in <where>``) and key, in the words of a TOML file (``read_only must be true or
    false``); unknown keys of a table together, with the keys it allows (``keys`` for the outermost one, when
    the file's keys are not the model's fields). Input values are never quoted (a value may be a secret)."""
    found: dict[Location, list[str]] = {}
    unknown: dict[Location, list[str]] = {}
    for error in exc.errors(include_url=False, include_input=False):
        loc: Location = tuple(error["loc"])
        table = _table_of(model, loc)
        if error["type"] == "extra_forbidden":
            unknown.setdefault(table, []).append(str(loc[-1]))
            continue
        key = _key(loc[len(table) :])
        found.setdefault(table, []).append(f"{key} {_words(error)}" if key else _words(error))
    for table, names in unknown.items():
        allowed = ", ".join(keys if keys is not None and not table else _allowed(_annotation_at(model, table)))
        found.setdefault(table, []).append(f"unknown key(s) {', '.join(names)}; allowed: {allowed}")
    groups = [f"{_place(table, where)}: {'; '.join(problems)}" for table, problems in found.items()]
    return ConfigError("; ".join(groups))


def _words(error: Any) -> str:
    kind, message, ctx = error["type"], str(error["msg"]), error.get("ctx") or {}
    if kind in ("string_too_short", "too_short") and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind in _MUST:
        return _MUST[kind]
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if message.startswith("Input should be "):
        return "must be " + message.removeprefix("Input should be ")
    return message[:1].lower() + message[1:]


def _place(table: Location, where: str) -> str:
    return f"[{'.'.join(map(str, table))}] in {where}" if table else where


def _key(parts: Location) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).removeprefix(".")


def _table_of(model: type[BaseModel], loc: Location) -> Location:
    """The longest start of ``loc`` that names a table (a model): the error's own, for an error about a whole
    table; the one holding the key, for an error about a key."""
    for end in range(len(loc), -1, -1):
        if _is_model(_annotation_at(model, loc[:end])):
            return loc[:end]
    return ()


def _annotation_at(model: type[BaseModel], loc: Location) -> Any:
    """The declared type of the value at ``loc`` below ``model`` (None where nothing is declared)."""
    node: Any = model
    for part in loc:
        node = _bare(node)
        if _is_model(node):
            field = node.model_fields.get(str(part))
            node = field.annotation if field is not None else None
        elif get_origin(node) in (dict, Mapping):
            node = get_args(node)[1]
        elif get_origin(node) in (list, tuple):
            node = get_args(node)[0]
        else:
            return None
    return _bare(node)


def _bare(annotation: Any) -> Any:
    """``X`` of ``X | None`` and ``Annotated[X, ...]``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _allowed(annotation: Any) -> list[str]:
    """A table's keys as its author writes them: ``key``, ``[key]`` for a table, ``[key.<name>]`` for tables."""
    if not _is_model(annotation):
        return []
    keys = []
    for name, field in annotation.model_fields.items():
        value = _bare(field.annotation)
        if _is_model(value):
            keys.append(f"[{name}]")
        elif get_origin(value) in (dict, Mapping) and _is_model(_bare(get_args(value)[1])):
            keys.append(f"[{name}.<name>]")
        else:
            keys.append(name)
    return keys

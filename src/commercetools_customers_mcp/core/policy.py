"""The operator's policy file (``--policy FILE`` or ``$MCP_POLICY_FILE``, TOML): output filtering, tool overrides,
and the tool selection the command-line flags can also set. Names follow commercetools' hosted MCP Server
configuration (``McpServer``), in TOML's snake_case::

    toolsets = ["customers", "customer-groups"]      # and read_only, allow_tools, deny_tools, tool_names,
                                                     # tool_discovery: a flag given on the command line wins
    confirm_destructive = "always"                   # off | if-supported (default) | always: a delete asks its
                                                     # user first (core/consent.py); the flag wins
    [output]
    preset = "pii"                        # redact the personal fields of customers, units and addresses
    redacted_with = "[REDACTED]"          # default
    format = "json"                       # or "tabular"
    token_values = false                  # true: token Messages show the token value (a credential)
    keep_field_paths = ["results.firstName"]
    [output.redact]                       # value replaced, field kept
    field_paths = ["customer.dateOfBirth"]
    field_names = ["email"]
    field_name_contains = ["phone"]
    [output.drop]                         # field removed
    field_names = ["createdBy", "lastModifiedBy"]

    [tools.commercetools_customers_list_customers]   # seed or short name, with or without the prefix
    description = "Customers of the EU shop."
    [tools.commercetools_customers_list_customers.parameters.limit]
    default = 10                          # applied when the caller omits it
    allowed = [10, 20]                    # published as an enum; other values refused naming these
    description = "Page size."            # replaces the parameter's description
    [tools.commercetools_customers_list_customers.parameters.withTotal]
    const = true                          # pinned: removed from the published schema, always sent

Everything is checked when the file is loaded (a ``ConfigError`` naming the table; the CLI exits 2 before
serving): the file's shape through the declared models below (``PolicyFile``: unknown keys, wrong types,
``const`` together with ``default`` or ``allowed``), then unknown tools and parameters, and every ``default``,
``const`` and ``allowed`` value against the parameter's own schema.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema_rs
import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from ..config import ConfigError, invalid, read_toml
from .catalog.names import seed_name
from .catalog.schemas import input_schema
from .catalog.tools import BY_NAME, PREFIX, Tool
from .redaction import PRESETS, REDACTED, OutputPolicy, matcher
from .selection import ToolNames
from .tabular import FORMATS

_UNSET = object()


@dataclass(frozen=True)
class ParameterOverride:
    """How one parameter of one tool is published and filled in."""

    description: str | None = None
    default: Any = _UNSET
    allowed: tuple[Any, ...] | None = None
    const: Any = _UNSET

    @property
    def pinned(self) -> bool:
        return self.const is not _UNSET

    @property
    def defaulted(self) -> bool:
        return self.default is not _UNSET


@dataclass(frozen=True)
class ToolOverride:
    description: str | None = None
    parameters: Mapping[str, ParameterOverride] = field(default_factory=dict)

    def schema(self, published: dict[str, Any]) -> dict[str, Any]:
        """The published input schema with the parameter overrides applied (a copy)."""
        schema = copy.deepcopy(published)
        props, required = schema["properties"], list(schema.get("required", []))
        for name, override in self.parameters.items():
            if override.pinned:
                props.pop(name, None)
                required = [r for r in required if r != name]
                continue
            prop = props[name]
            if override.description is not None:
                prop["description"] = override.description
            if override.allowed is not None:
                prop["enum"] = list(override.allowed)
            if override.defaulted:
                prop["default"] = override.default
                required = [r for r in required if r != name]
        if required:
            schema["required"] = required
        else:
            schema.pop("required", None)
        return schema

    def arguments(self, arguments: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The arguments with defaults and pinned values filled in, and what the caller got wrong."""
        out, problems = dict(arguments), []
        for name, override in self.parameters.items():
            if override.pinned:
                if name in out and out[name] != override.const:
                    problems.append(f"arguments.{name}: fixed by this server's policy; leave it out")
                out[name] = override.const
                continue
            if name not in out and override.defaulted:
                out[name] = override.default
            elif name in out and override.allowed is not None and out[name] not in override.allowed:
                allowed = ", ".join(_show(v) for v in override.allowed)
                problems.append(f"arguments.{name}: {_show(out[name])} is not allowed here; use one of: {allowed}")
        return out, problems


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class Policy:
    """A loaded policy file."""

    output: OutputPolicy = field(default_factory=OutputPolicy)
    tools: Mapping[str, ToolOverride] = field(default_factory=dict)  # seed tool name → override
    selection: Mapping[str, Any] = field(default_factory=dict)  # the SELECTION_KEYS the file sets
    confirm_destructive: str | None = None  # off | if-supported | always (None: not set; the default applies)


def load_policy(path: Path) -> Policy:
    """Read and check a policy file (see the module docstring)."""
    return parse_policy(read_toml(path, "policy file"), str(path))


def parse_policy(data: Mapping[str, Any], source: str = "the policy") -> Policy:
    """Check a policy file's content: its shape against the models below, then what only the catalogue knows
    (which tools and parameters exist, which values fit them). Raises ``ConfigError`` naming the table."""
    try:
        file = PolicyFile.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, source, PolicyFile) from None
    selection = file.model_dump(include=set(SELECTION_KEYS) & file.model_fields_set)
    tools = {}
    for name, table in file.tools.items():
        tool = BY_NAME.get(seed_name(name)) or BY_NAME.get(seed_name(PREFIX + name))  # with or without the prefix
        where = f"[tools.{name}] in {source}"
        if tool is None:
            raise ConfigError(f"{where}: no tool named {name!r} (see `commercetools-customers-mcp tools`)")
        tools[tool.name] = _tool_override(tool, table, f"tools.{name}", source)
    return Policy(file.output.policy(), tools, selection, file.confirm_destructive)


# The file's shape, declared: pydantic refuses unknown keys and wrong types, and config.invalid names the table.

NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatcherTable(_Table):
    """``[output.redact]`` or ``[output.drop]``: which fields."""

    field_paths: list[NonEmpty] = []
    field_names: list[NonEmpty] = []
    field_name_contains: list[NonEmpty] = []


class OutputTable(_Table):
    """``[output]``."""

    preset: str | None = None
    redacted_with: str = REDACTED
    format: str = "json"
    token_values: StrictBool = False
    keep_field_paths: list[NonEmpty] = []
    redact: MatcherTable = MatcherTable()
    drop: MatcherTable = MatcherTable()

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in PRESETS:
            raise ValueError(f"must be one of {', '.join(PRESETS)}, not {value!r}")
        return value

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in FORMATS:
            raise ValueError(f"must be one of {', '.join(FORMATS)}, not {value!r}")
        return value

    def policy(self) -> OutputPolicy:
        preset = PRESETS[self.preset] if self.preset is not None else ()
        redact, drop = self.redact, self.drop
        return OutputPolicy(
            matcher(redact.field_paths, [*redact.field_names, *preset], redact.field_name_contains),
            matcher(drop.field_paths, drop.field_names, drop.field_name_contains),
            frozenset(self.keep_field_paths),
            self.redacted_with,
            self.format,
            self.token_values,
        )


class ParameterTable(_Table):
    """``[tools.<tool>.parameters.<name>]``: ``default``, ``allowed`` (or ``allowed_types``, the hosted server's
    name) and ``const`` are any TOML value, checked against the parameter's schema once the tool is known."""

    description: str | None = None
    default: Any = None
    allowed: list[Any] | None = Field(None, min_length=1)
    allowed_types: list[Any] | None = Field(None, min_length=1)
    const: Any = None

    @model_validator(mode="after")
    def _consistent(self) -> ParameterTable:
        given = self.model_fields_set
        if not given:
            raise ValueError("give description, default, allowed or const")
        if {"allowed", "allowed_types"} <= given:
            raise ValueError("give allowed or allowed_types (the same thing), not both")
        if "const" in given and given & {"default", "allowed", "allowed_types"}:
            raise ValueError("const cannot be combined with default or allowed")
        return self

    @property
    def values(self) -> list[Any] | None:
        return self.allowed if self.allowed is not None else self.allowed_types


class ToolTable(_Table):
    """``[tools.<name>]``: seed or short name, with or without the prefix."""

    description: NonEmpty | None = None
    parameters: dict[str, ParameterTable] = {}

    @field_validator("description")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="after")
    def _says_something(self) -> ToolTable:
        if self.description is None and not self.parameters:
            raise ValueError("give a description or parameters (an empty override has no effect)")
        return self


class PolicyFile(_Table):
    """The whole file: the selection keys (as the command-line flags), ``[output]`` and ``[tools.<name>]``."""

    toolsets: list[NonEmpty] | None = None
    read_only: StrictBool | None = None
    allow_tools: list[NonEmpty] | None = None
    deny_tools: list[NonEmpty] | None = None
    tool_names: ToolNames | None = None
    tool_discovery: StrictBool | None = None
    confirm_destructive: Literal["off", "if-supported", "always"] | None = None
    output: OutputTable = OutputTable()
    tools: dict[str, ToolTable] = {}


SELECTION_KEYS = tuple(
    name for name in PolicyFile.model_fields if name not in ("output", "tools", "confirm_destructive")
)


def _tool_override(tool: Tool, table: ToolTable, name: str, source: str) -> ToolOverride:
    props = input_schema(tool)["properties"]
    parameters = {}
    for param, spec in table.parameters.items():
        where = f"[{name}.parameters.{param}] in {source}"
        if param not in props:
            raise ConfigError(f"{where}: {tool.name} has no parameter {param!r}; it has: {', '.join(props)}")
        parameters[param] = _parameter(spec, props[param], where)
    return ToolOverride(table.description, parameters)


def _parameter(spec: ParameterTable, schema: dict[str, Any], where: str) -> ParameterOverride:
    given, allowed = spec.model_fields_set, spec.values
    validator = jsonschema_rs.validator_for({k: v for k, v in schema.items() if k != "description"})
    for label in ("default", "const"):
        if label in given:
            _check_value(validator, getattr(spec, label), label, where)
    for value in allowed or ():
        _check_value(validator, value, "allowed", where)
    if "default" in given and allowed is not None and spec.default not in allowed:
        raise ConfigError(f"{where}: default {_show(spec.default)} is not one of the allowed values")
    return ParameterOverride(
        description=spec.description,
        default=spec.default if "default" in given else _UNSET,
        allowed=tuple(allowed) if allowed is not None else None,
        const=spec.const if "const" in given else _UNSET,
    )


def _check_value(validator: jsonschema_rs.Validator, value: Any, label: str, where: str) -> None:
    problems = [e.message for e in validator.iter_errors(value)]
    if problems:
        raise ConfigError(f"{where}: {label} {_show(value)} does not fit the parameter: {problems[0]}")

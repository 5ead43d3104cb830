"""The operator's policy file (``--policy FILE`` or ``$MCP_POLICY_FILE``, TOML): output filtering, tool overrides,
and the tool selection the command-line flags can also set. Names follow commercetools' hosted MCP Server
configuration (``McpServer``), in TOML's snake_case::

    toolsets = ["customers", "customer-groups"]      # and read_only, allow_tools, deny_tools, tool_names,
                                                     # tool_discovery: a flag given on the command line wins
    [output]
    preset = "pii"                        # redact the personal fields of customers, units and addresses
    redacted_with = "[REDACTED]"          # default
    format = "json"                       # or "tabular"
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
serving): unknown keys, tools and parameters, ``const`` together with ``default`` or ``allowed``, and every
``default``, ``const`` and ``allowed`` value against the parameter's own schema.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

from ..config import ConfigError, read_toml
from .catalog.names import seed_name
from .catalog.schemas import input_schema
from .catalog.tools import BY_NAME, PREFIX, Tool
from .redaction import PRESETS, REDACTED, OutputPolicy, matcher
from .selection import ToolNames
from .tabular import FORMATS

SELECTION_KEYS = ("toolsets", "read_only", "allow_tools", "deny_tools", "tool_names", "tool_discovery")
_OUTPUT_KEYS = {"preset", "redacted_with", "format", "keep_field_paths", "redact", "drop"}
_MATCHER_KEYS = {"field_paths", "field_names", "field_name_contains"}
_PARAM_KEYS = {"description", "default", "allowed", "allowed_types", "const"}
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


def load_policy(path: Path) -> Policy:
    """Read and check a policy file (see the module docstring)."""
    return parse_policy(read_toml(path, "policy file"), str(path))


def parse_policy(data: Mapping[str, Any], source: str = "the policy") -> Policy:
    unknown = sorted(set(data) - {*SELECTION_KEYS, "output", "tools"})
    if unknown:
        allowed = ", ".join([*SELECTION_KEYS, "[output]", "[tools.<name>]"])
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; allowed: {allowed}")
    selection = {key: data[key] for key in SELECTION_KEYS if key in data}
    _check_selection(selection, source)
    output = _output(data.get("output", {}), f"[output] in {source}")
    tools = {}
    for name, table in _table(data.get("tools", {}), f"[tools] in {source}").items():
        tool = BY_NAME.get(seed_name(name)) or BY_NAME.get(seed_name(PREFIX + name))  # with or without the prefix
        where = f"[tools.{name}] in {source}"
        if tool is None:
            raise ConfigError(f"{where}: no tool named {name!r} (see `commercetools-customers-mcp tools`)")
        tools[tool.name] = _tool_override(tool, _table(table, where), where)
    return Policy(output, tools, selection)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a list of non-empty strings")
    return value


def _check_selection(selection: Mapping[str, Any], source: str) -> None:
    for key in ("read_only", "tool_discovery"):
        if key in selection and not isinstance(selection[key], bool):
            raise ConfigError(f"{key} in {source} must be true or false")
    for key in ("toolsets", "allow_tools", "deny_tools"):
        if key in selection:
            _strings(selection[key], f"{key} in {source}")
    if "tool_names" in selection and selection["tool_names"] not in tuple(ToolNames):
        modes = " or ".join(f'"{mode}"' for mode in ToolNames)
        raise ConfigError(f"tool_names in {source} must be {modes}")


def _output(table: Any, where: str) -> OutputPolicy:
    table = _table(table, where)
    unknown = sorted(set(table) - _OUTPUT_KEYS)
    if unknown:
        allowed = ", ".join(sorted(_OUTPUT_KEYS))
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {allowed}")
    matchers = {}
    for kind in ("redact", "drop"):
        sub_where = where.replace("[output]", f"[output.{kind}]")
        sub = _table(table.get(kind, {}), sub_where)
        bad = sorted(set(sub) - _MATCHER_KEYS)
        if bad:
            allowed = ", ".join(sorted(_MATCHER_KEYS))
            raise ConfigError(f"{sub_where}: unknown key(s) {', '.join(bad)}; allowed: {allowed}")
        lists = {key: _strings(sub.get(key, []), f"{sub_where} {key}") for key in _MATCHER_KEYS}
        names = list(lists["field_names"])
        if kind == "redact" and "preset" in table:
            if table["preset"] not in PRESETS:
                raise ConfigError(f"{where}: preset must be one of {', '.join(PRESETS)}, not {table['preset']!r}")
            names += PRESETS[table["preset"]]
        matchers[kind] = matcher(lists["field_paths"], names, lists["field_name_contains"])
    redacted_with = table.get("redacted_with", REDACTED)
    if not isinstance(redacted_with, str):
        raise ConfigError(f"{where}: redacted_with must be a string")
    fmt = table.get("format", "json")
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    keep = frozenset(_strings(table.get("keep_field_paths", []), f"{where} keep_field_paths"))
    return OutputPolicy(matchers["redact"], matchers["drop"], keep, redacted_with, fmt)


def _tool_override(tool: Tool, table: dict[str, Any], where: str) -> ToolOverride:
    unknown = sorted(set(table) - {"description", "parameters"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: description, parameters")
    description = table.get("description")
    if description is not None and (not isinstance(description, str) or not description.strip()):
        raise ConfigError(f"{where}: description must be a non-empty string")
    props = input_schema(tool)["properties"]
    parameters = {}
    for name, spec in _table(table.get("parameters", {}), f"{where} parameters").items():
        param_where = f"[tools.{tool.name}.parameters.{name}]"
        if name not in props:
            raise ConfigError(f"{param_where}: {tool.name} has no parameter {name!r}; it has: {', '.join(props)}")
        parameters[name] = _parameter(_table(spec, param_where), props[name], param_where)
    if description is None and not parameters:
        raise ConfigError(f"{where}: give a description or parameters (an empty override has no effect)")
    return ToolOverride(description, parameters)


def _parameter(spec: dict[str, Any], schema: dict[str, Any], where: str) -> ParameterOverride:
    unknown = sorted(set(spec) - _PARAM_KEYS)
    if unknown:
        allowed_keys = "description, default, allowed, const"
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {allowed_keys}")
    if "allowed" in spec and "allowed_types" in spec:
        raise ConfigError(f"{where}: give allowed or allowed_types (the same thing), not both")
    allowed = spec.get("allowed", spec.get("allowed_types"))
    if "const" in spec and ("default" in spec or allowed is not None):
        raise ConfigError(f"{where}: const cannot be combined with default or allowed")
    if not spec:
        raise ConfigError(f"{where}: give description, default, allowed or const")
    if "description" in spec and not isinstance(spec["description"], str):
        raise ConfigError(f"{where}: description must be a string")
    if allowed is not None and (not isinstance(allowed, list) or not allowed):
        raise ConfigError(f"{where}: allowed must be a non-empty list of values")
    validator = jsonschema_rs.validator_for({k: v for k, v in schema.items() if k != "description"})
    for label in ("default", "const"):
        if label in spec:
            _check_value(validator, spec[label], f"{where} {label}")
    for value in allowed or ():
        _check_value(validator, value, f"{where} allowed")
    if "default" in spec and allowed is not None and spec["default"] not in allowed:
        raise ConfigError(f"{where}: default {_show(spec['default'])} is not one of the allowed values")
    return ParameterOverride(
        description=spec.get("description"),
        default=spec.get("default", _UNSET),
        allowed=tuple(allowed) if allowed is not None else None,
        const=spec.get("const", _UNSET),
    )


def _check_value(validator: Any, value: Any, where: str) -> None:
    problems = [e.message for e in validator.iter_errors(value)]
    if problems:
        raise ConfigError(f"{where}: {_show(value)} does not fit the parameter: {problems[0]}")

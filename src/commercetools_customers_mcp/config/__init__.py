"""The configuration files' common ground: one error type and the TOML readers.

Neutral: the connections file (``upstream``), the API keys file (``serving``) and the policy file (``core``) all
read through here, and every mistake in any of them is a ``ConfigError`` whose message names the file and the
table, never a secret value. The CLI turns one into exit status 2.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


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

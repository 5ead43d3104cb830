"""Connections to commercetools projects, from the environment and/or a TOML file.

Sources, both optional and combinable:

1. The environment, only when ``CTP_PROJECT_KEY`` is set: ``CTP_PROJECT_KEY``, ``CTP_CLIENT_ID``,
   ``CTP_CLIENT_SECRET``, ``CTP_AUTH_URL``, ``CTP_API_URL`` and ``CTP_SCOPES`` (comma- or space-separated)
   make one connection whose id is ``CTP_PCID`` (default ``"default"``).
2. A TOML file, given as ``file`` or named by ``CTP_CONNECTIONS_FILE`` (``file`` wins), with one
   ``[connections.<id>]`` table per connection: ``project_key``, ``client_id``, ``client_secret`` *or*
   ``client_secret_env`` (the name of an environment variable holding the secret), ``auth_url``, ``api_url``,
   ``scopes`` (list or string) and optionally ``timeout``, ``connect_timeout``, ``max_retries``,
   ``max_retry_time`` and ``store`` (``CTP_STORE_KEY`` in the environment): the Store the Store-scoped tools go
   through when a call names none (a connection whose client holds customer scopes of one Store only finds it
   from its token without it).

Neither source overrides the other: an id defined by both is a ``ConfigError``. Nothing configured gives ``{}``
(the CLI then uses the embedded emulator). Error messages name fields and variables, never secret values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ..config import ConfigError, invalid, read_tables, secret_from_env

DEFAULT_AUTH_URL = "https://auth.europe-west1.gcp.commercetools.com"
DEFAULT_API_URL = "https://api.europe-west1.gcp.commercetools.com"
DEFAULT_PCID = "default"
TOKEN_PATH = "/oauth/token"  # below auth_url: the client-credentials endpoint


class Connection(BaseModel):
    """One commercetools project reached with one API client."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    project_key: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    auth_url: str = DEFAULT_AUTH_URL
    api_url: str = DEFAULT_API_URL
    scopes: list[str] = []
    timeout: float = Field(30.0, gt=0)
    connect_timeout: float = Field(10.0, gt=0)
    max_retries: int = Field(3, ge=0)
    max_retry_time: float = Field(30.0, ge=0)
    store: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{2,256}$")  # the Store's key (StoreDraft.raml)

    @field_validator("client_secret")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty")
        return value

    @field_validator("auth_url", "api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be an http(s) URL with a host and no query or fragment")
        return value.strip().rstrip("/")

    @field_validator("auth_url")
    @classmethod
    def _auth_root(cls, value: str) -> str:
        """The auth server's root: a URL copied with its token path (``…/oauth/token``) means the same server."""
        return value[: -len(TOKEN_PATH)] if value.endswith(TOKEN_PATH) else value

    @field_validator("scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return split_scopes(value)
        return value


def split_scopes(text: str) -> list[str]:
    """Split a comma- and/or space-separated scope string."""
    return [scope for scope in re.split(r"[\s,]+", text) if scope]


def load_connections(file: Path | None = None, env: Mapping[str, str] = os.environ) -> dict[str, Connection]:
    """Load every configured connection, keyed by id (PCID). See the module docstring for the sources."""
    connections: dict[str, Connection] = {}
    if env.get("CTP_PROJECT_KEY"):
        connection = _from_env(env)
        connections[connection.id] = connection
    path = file
    if path is None and env.get("CTP_CONNECTIONS_FILE"):
        path = Path(env["CTP_CONNECTIONS_FILE"])
    if path is not None:
        for connection in _from_file(path, env):
            if connection.id in connections:
                raise ConfigError(f"connection {connection.id!r} is defined both in {path} and in the environment")
            connections[connection.id] = connection
    return connections


def _from_env(env: Mapping[str, str]) -> Connection:
    missing = [name for name in ("CTP_CLIENT_ID", "CTP_CLIENT_SECRET") if not env.get(name)]
    if missing:
        raise ConfigError(f"CTP_PROJECT_KEY is set but {' and '.join(missing)} not")
    fields: dict[str, Any] = {
        "id": env.get("CTP_PCID") or DEFAULT_PCID,
        "project_key": env["CTP_PROJECT_KEY"],
        "client_id": env["CTP_CLIENT_ID"],
        "client_secret": env["CTP_CLIENT_SECRET"],
        "scopes": env.get("CTP_SCOPES", ""),
    }
    for name, var in (("auth_url", "CTP_AUTH_URL"), ("api_url", "CTP_API_URL"), ("store", "CTP_STORE_KEY")):
        if env.get(var):
            fields[name] = env[var]
    return _build(fields, "the environment (CTP_*)")


def _from_file(path: Path, env: Mapping[str, str]) -> list[Connection]:
    result = []
    for pcid, table, where in read_tables(path, "connections", "connections file"):
        fields = {key: value for key, value in table.items() if key != "client_secret_env"}
        secret_env = table.get("client_secret_env")
        if secret_env is not None:
            if "client_secret" in table:
                raise ConfigError(f"{where}: give client_secret or client_secret_env, not both")
            fields["client_secret"] = secret_from_env(env, secret_env, "client_secret_env", where)
        elif "client_secret" not in table:
            raise ConfigError(f"{where}: client_secret or client_secret_env is required")
        result.append(_build({**fields, "id": pcid}, where))
    return result


# A [connections.<id>] table's keys: the id is the table's name, and the secret may come from a variable.
FILE_KEYS = (*(name for name in Connection.model_fields if name != "id"), "client_secret_env")


def _build(fields: dict[str, Any], where: str) -> Connection:
    try:
        return Connection.model_validate(fields)
    except ValidationError as exc:
        raise invalid(exc, f"invalid connection in {where}", Connection, keys=FILE_KEYS) from None

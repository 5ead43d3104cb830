"""Access control for the HTTP transport: bearer API keys, each allowed a set of connections (PCIDs).

Keys come from a TOML file (``--api-keys FILE`` or ``MCP_API_KEYS_FILE``)::

    [keys.alice]
    hash = "sha256:<64 hex digits>"      # from `commercetools-customers-mcp hash-key`
    pcids = ["eu", "us"]                 # or ["*"] for every connection

    [keys.ci]
    secret_env = "CI_MCP_KEY"            # the secret itself, read from this variable and hashed on load
    pcids = ["*"]

and/or from ``MCP_API_KEY=<secret>``: one key named ``env`` allowed every connection. Only SHA-256 digests
are kept in memory; a presented key is hashed and compared with ``hmac.compare_digest`` against every digest.

``AuthMiddleware`` answers 401 with ``WWW-Authenticate: Bearer`` before MCP sees the request when the key
is missing or unknown. Otherwise it puts the key's ``Principal`` into the ``CURRENT_PRINCIPAL`` context variable
for the rest of the request; the tool handler (``core/server.py``) reads it to refuse connections the key may not use.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import ConfigError, read_tables, secret_from_env
from ..core.calls import ALL_PCIDS, CURRENT_PRINCIPAL, Principal

ENV_KEY_NAME = "env"
_HASH = re.compile(r"^sha256:([0-9a-f]{64})$")


@dataclass(frozen=True)
class ApiKey:
    """One API key: its name (for logs), the SHA-256 digest of its secret and the connections it may use (which
    its ``principal`` enforces, as for any caller)."""

    name: str
    digest: bytes
    pcids: frozenset[str]

    @property
    def principal(self) -> Principal:
        return Principal(self.name, self.pcids)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def hash_line(secret: str) -> str:
    """The ``hash = "sha256:<hex>"`` line for a key file."""
    return f'hash = "sha256:{digest(secret).hex()}"'


class KeyRing:
    """The configured API keys. ``authenticate`` compares the presented secret's digest with every key."""

    def __init__(self, keys: Sequence[ApiKey]) -> None:
        self.keys = tuple(keys)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def authenticate(self, secret: str) -> ApiKey | None:
        presented = digest(secret)
        found = None
        for key in self.keys:  # no early exit: the time taken does not depend on which key matched
            if hmac.compare_digest(presented, key.digest) and found is None:
                found = key
        return found

    def pcids(self) -> set[str]:
        return {pcid for key in self.keys for pcid in key.pcids if pcid != ALL_PCIDS}


def load_api_keys(file: Path | None = None, env: Mapping[str, str] = os.environ) -> KeyRing:
    """Keys from ``file`` (else ``MCP_API_KEYS_FILE``) plus ``MCP_API_KEY``. No source gives an empty ring."""
    keys: list[ApiKey] = []
    path = file if file is not None else (Path(env["MCP_API_KEYS_FILE"]) if env.get("MCP_API_KEYS_FILE") else None)
    if path is not None:
        keys.extend(_from_file(path, env))
    if env.get("MCP_API_KEY"):
        if any(key.name == ENV_KEY_NAME for key in keys):
            raise ConfigError(f"API key {ENV_KEY_NAME!r} is defined both in {path} and by MCP_API_KEY")
        keys.append(ApiKey(ENV_KEY_NAME, digest(env["MCP_API_KEY"]), frozenset({ALL_PCIDS})))
    digests = [key.digest for key in keys]
    if len(set(digests)) != len(digests):
        raise ConfigError("two API keys have the same secret; give each client its own key")
    return KeyRing(keys)


def _from_file(path: Path, env: Mapping[str, str]) -> list[ApiKey]:
    keys = []
    for name, table, where in read_tables(path, "keys", "API keys file"):
        unknown = sorted(set(table) - {"hash", "secret_env", "pcids"})
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: hash, secret_env, pcids")
        if ("hash" in table) == ("secret_env" in table):
            raise ConfigError(f"{where}: give exactly one of hash or secret_env")
        if "hash" in table:
            match = _HASH.match(str(table["hash"]).strip().lower())
            if match is None:
                raise ConfigError(f'{where}: hash must be "sha256:" followed by 64 hex digits (see `hash-key`)')
            key_digest = bytes.fromhex(match.group(1))
        else:
            key_digest = digest(secret_from_env(env, table["secret_env"], "secret_env", where))
        pcids = table.get("pcids")
        if not isinstance(pcids, list) or not pcids or not all(isinstance(p, str) and p for p in pcids):
            raise ConfigError(f'{where}: pcids must be a non-empty list of connection ids, or ["*"]')
        keys.append(ApiKey(str(name), key_digest, frozenset(pcids)))
    return keys


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


class AuthMiddleware:
    """401 unless the request carries a configured bearer key; paths in ``public`` need none."""

    def __init__(self, app: ASGIApp, keys: KeyRing, *, public: Sequence[str] = ("/healthz",)) -> None:
        self.app, self.keys, self.public = app, keys, tuple(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.public:
            await self.app(scope, receive, send)
            return
        secret = bearer_token(scope)
        key = self.keys.authenticate(secret) if secret is not None else None
        if key is None:
            await _unauthorized(send, None if secret is None else "invalid API key")
            return
        token = CURRENT_PRINCIPAL.set(key.principal)
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT_PRINCIPAL.reset(token)


async def _unauthorized(send: Send, description: str | None) -> None:
    """RFC 6750: a bare challenge when no key was sent, ``error="invalid_token"`` for a wrong one."""
    challenge = 'Bearer realm="commercetools-customers-mcp"'
    if description is not None:
        challenge += f', error="invalid_token", error_description="{description}"'
    error = "unauthorized" if description is None else "invalid_token"
    await refuse(send, 401, error, description or "an API key is required", challenge=challenge)


async def refuse(
    send: Send,
    status: int,
    error: str,
    description: str,
    *,
    challenge: str | None = None,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Answer a request before MCP sees it, as API keys and OAuth both do: a JSON ``{"error",
    "error_description"}`` body, the ``WWW-Authenticate`` ``challenge`` when given, and any other ``headers``."""
    body = orjson.dumps({"error": error, "error_description": description})
    fields = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    if challenge is not None:
        fields.append((b"www-authenticate", challenge.encode()))
    await send({"type": "http.response.start", "status": status, "headers": fields})
    await send({"type": "http.response.body", "body": body})

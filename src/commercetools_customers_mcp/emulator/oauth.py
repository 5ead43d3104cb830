"""OAuth 2.0 for the emulator, apart from HTTP: clients, the client-credentials and customer password grants,
bearer checks and scopes. The HTTP layer parses forms and headers and calls these.

Access tokens are long random strings; only their SHA-256 (``digest``) is stored, as internal ``oauth-token``
documents of the internal project ``TOKENS``, so restarting on the same data file keeps issued tokens valid.
Every token write goes through the backend's one write path (causes ``issue`` and ``revoke``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import errors
from .backend import Ctx, Doc, Emulator
from .clock import iso

TOKEN_TTL = 172_800  # 48 h, as the API
TOKENS = ""  # the internal project that holds access tokens
TOKEN_TYPE = "oauth-token"
ALL = "*"
MAX_CACHED_TOKENS = 1024


@dataclass(frozen=True)
class Token:
    client_id: str | None
    scopes: list[str]
    customer_id: str | None = None


def digest(value: str) -> str:
    """What is stored of a secret token value (access tokens here, customer email/password tokens too)."""
    return hashlib.sha256(value.encode()).hexdigest()


# ---------------------------------------------------------------- issuing


def check_client(emulator: Emulator, client_id: str | None, secret: str | None) -> str:
    """The client id, if the emulator accepts these credentials (any, unless clients are pinned)."""
    if not client_id:
        raise errors.auth_error(401, "invalid_client", "Client credentials are missing.")
    if emulator.clients is not None and emulator.clients.get(client_id) != secret:
        raise errors.auth_error(401, "invalid_client", "Please provide valid client credentials.")
    return client_id


def issue(
    emulator: Emulator,
    client_id: str,
    scopes: list[str],
    *,
    customer_id: str | None = None,
    project: str | None = None,
    refresh: bool = False,
) -> dict[str, Any]:
    """A new access token (and refresh token) for ``client_id``; the token response body."""
    value = secrets.token_urlsafe(32)
    now = emulator.clock.now()
    doc = {
        "id": digest(value),
        "clientId": client_id,
        "scopes": scopes,
        "customerId": customer_id,
        "projectKey": project,
        "expiresAt": iso(now + timedelta(seconds=TOKEN_TTL)),
        "createdAt": iso(now),
    }
    body = {"access_token": value, "token_type": "Bearer", "expires_in": TOKEN_TTL, "scope": " ".join(scopes)}
    ctx = Ctx(emulator, TOKENS, client_id=client_id)
    with emulator.store.write():
        ctx.insert(TOKEN_TYPE, doc, cause="issue")
        if refresh:
            refresh_value = secrets.token_urlsafe(32)
            ctx.insert(TOKEN_TYPE, {**doc, "id": digest(refresh_value), "refresh": True}, cause="issue")
            body["refresh_token"] = refresh_value
    return body


def _scopes(params: Mapping[str, str], project: str | None = None) -> list[str]:
    requested = params.get("scope", "").split()
    return requested or [f"manage_project:{project or ALL}"]


def client_credentials(emulator: Emulator, client_id: str, params: Mapping[str, str]) -> dict[str, Any]:
    """``POST /oauth/token``: the client-credentials grant (the only one that endpoint serves)."""
    grant = params.get("grant_type")
    if not grant:
        raise errors.auth_error(400, "invalid_request", "Missing required parameter 'grant_type'.")
    if grant != "client_credentials":
        raise errors.auth_error(400, "unsupported_grant_type", f"Grant type '{grant}' is not supported here.")
    return issue(emulator, client_id, _scopes(params))


async def password_grant(emulator: Emulator, project: str, client_id: str, params: Mapping[str, str]) -> dict[str, Any]:
    """``POST /oauth/{projectKey}/customers/token``: ``grant_type=password&username=<email>&password=<password>``.
    The password is checked in a worker thread."""
    if params.get("grant_type") != "password":
        raise errors.auth_error(400, "unsupported_grant_type", "Only grant_type=password is supported here.")
    username, password = params.get("username"), params.get("password")
    if not username or password is None:
        raise errors.auth_error(400, "invalid_request", "Parameters 'username' and 'password' are required.")
    ctx = Ctx(emulator, project, client_id=client_id)
    customer = find_customer_by_email(ctx, username)
    if customer is not None:
        await ctx.prepare_passwords(verify=[(password, customer.get("password"))])
    if customer is None or not ctx.verify_password(password, customer.get("password")):
        raise errors.auth_error(
            400, "invalid_customer_account_credentials", "Customer account with the given credentials not found."
        )
    scopes = [f"manage_my_profile:{project}", f"customer_id:{customer['id']}"]
    return issue(emulator, client_id, scopes, customer_id=customer["id"], project=project, refresh=True)


def find_customer_by_email(ctx: Ctx, email: str) -> Doc | None:
    """A global customer of the context's project by email, case-insensitively."""
    where = "json_extract(doc, '$.lowercaseEmail') = ?"
    found = ctx.store.find(ctx.project, "customer", where, [email.lower()])
    return next((c for c in found if not c.get("stores")), None)


def revoke_customer_tokens(ctx: Ctx, customer_id: str) -> None:
    """Invalidate every token issued through the password flow for this customer of the context's project."""
    tokens = Ctx(ctx.emulator, TOKENS, client_id=ctx.client_id)
    for doc in ctx.store.find(TOKENS, TOKEN_TYPE, "json_extract(doc, '$.customerId') = ?", [customer_id]):
        if doc.get("projectKey") == ctx.project:
            tokens.delete(TOKEN_TYPE, doc, cause="revoke")


# ---------------------------------------------------------------- checking


def authenticate(emulator: Emulator, header: str | None) -> Token:
    """The token an ``Authorization: Bearer …`` header carries, or 401 invalid_token.

    Client-credentials tokens are kept in the emulator's memory once seen (nothing revokes them, so a cached
    one cannot go stale, even with another process on the same file); password-flow tokens, which a password
    reset or a delete revokes, are read from the store every time."""
    if not header or not header[:7].lower() == "bearer ":
        raise errors.invalid_token()
    value = header[7:].strip()
    now = emulator.clock.now()
    cached = emulator.client_tokens.get(value)
    if cached is not None:
        token, expires = cached
        if expires > now:
            return token
        del emulator.client_tokens[value]
        raise errors.invalid_token()
    doc = emulator.store.get(TOKENS, TOKEN_TYPE, digest(value))
    if doc is None or doc.get("refresh") or doc["expiresAt"] <= iso(now):
        raise errors.invalid_token()
    token = Token(doc["clientId"], doc["scopes"], doc.get("customerId"))
    if token.customer_id is None:
        if len(emulator.client_tokens) >= MAX_CACHED_TOKENS:
            emulator.client_tokens.clear()
        emulator.client_tokens[value] = (token, datetime.fromisoformat(doc["expiresAt"]))
    return token


def has_scope(token: Token, project: str, needed: tuple[str, ...]) -> bool:
    """Whether the token grants one of ``needed`` in ``project`` (``manage_x`` implies ``view_x``)."""
    if not needed:
        return True
    names = set()
    for scope in token.scopes:
        name, _, proj = scope.partition(":")
        if proj in (project, ALL):
            names.add(name)
    if "manage_project" in names:
        return True
    return any(need in names or (need.startswith("view_") and "manage_" + need[5:] in names) for need in needed)


def introspect(emulator: Emulator, value: str) -> dict[str, Any]:
    try:
        token = authenticate(emulator, "Bearer " + value)
    except errors.ApiError:
        return {"active": False}
    return {"active": True, "scope": " ".join(token.scopes), "client_id": token.client_id}

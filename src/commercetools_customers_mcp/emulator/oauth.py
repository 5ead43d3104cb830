"""OAuth 2.0 for the emulator: client credentials, the customer password grant, bearer checks.

Access tokens are long random strings; only their SHA-256 is stored (as internal `oauth-token`
documents), so restarting on the same data file keeps issued tokens valid.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from . import errors
from .clock import iso
from .passwords import verify_password

if TYPE_CHECKING:
    from .app import Emulator

TOKEN_TTL = 172_800  # 48 h, as the API
TOKENS = ""  # the internal project that holds access tokens
ALL = "*"


@dataclass
class Token:
    client_id: str | None
    scopes: list[str]
    customer_id: str | None = None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue(
    emulator: Emulator,
    client_id: str,
    scopes: list[str],
    *,
    customer_id: str | None = None,
    project: str | None = None,
    refresh: bool = False,
) -> dict[str, Any]:
    value = secrets.token_urlsafe(32)
    now = emulator.clock.now()
    doc = {
        "id": _digest(value),
        "clientId": client_id,
        "scopes": scopes,
        "customerId": customer_id,
        "projectKey": project,
        "expiresAt": iso(now + timedelta(seconds=TOKEN_TTL)),
        "createdAt": iso(now),
    }
    with emulator.store.write():
        emulator.store.insert(TOKENS, "oauth-token", doc)
    body = {"access_token": value, "token_type": "Bearer", "expires_in": TOKEN_TTL, "scope": " ".join(scopes)}
    if refresh:
        refresh_value = secrets.token_urlsafe(32)
        with emulator.store.write():
            emulator.store.insert(TOKENS, "oauth-token", {**doc, "id": _digest(refresh_value), "refresh": True})
        body["refresh_token"] = refresh_value
    return body


def revoke_customer_tokens(emulator: Emulator, project: str, customer_id: str) -> None:
    """Invalidate every token issued through the password flow for this customer."""
    for doc in emulator.store.find(TOKENS, "oauth-token", "json_extract(doc, '$.customerId') = ?", [customer_id]):
        if doc.get("projectKey") == project:
            emulator.store.delete(TOKENS, "oauth-token", doc)


def authenticate(emulator: Emulator, header: str | None) -> Token:
    if not header or not header.lower().startswith("bearer "):
        raise errors.invalid_token()
    doc = emulator.store.get(TOKENS, "oauth-token", _digest(header[7:].strip()))
    if doc is None or doc.get("refresh") or doc["expiresAt"] <= iso(emulator.clock.now()):
        raise errors.invalid_token()
    return Token(doc["clientId"], doc["scopes"], doc.get("customerId"))


async def _form(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    body = await request.body()
    if body:
        params.update(parse_qsl(body.decode(errors="replace")))
    return params


def _client(emulator: Emulator, request: Request, form: dict[str, str]) -> str:
    header = request.headers.get("authorization", "")
    client_id = secret = None
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise errors.auth_error(401, "invalid_client", "Malformed Basic authorization header.") from None
    else:
        client_id, secret = form.get("client_id"), form.get("client_secret")
    if not client_id:
        raise errors.auth_error(401, "invalid_client", "Client credentials are missing.")
    if emulator.clients is not None and emulator.clients.get(client_id) != secret:
        raise errors.auth_error(401, "invalid_client", "Please provide valid client credentials.")
    return client_id


def _scopes(form: dict[str, str], project: str | None = None) -> list[str]:
    requested = form.get("scope", "").split()
    if requested:
        return requested
    return [f"manage_project:{project or ALL}"]


async def token_endpoint(emulator: Emulator, request: Request) -> dict[str, Any]:
    form = await _form(request)
    client_id = _client(emulator, request, form)
    grant = form.get("grant_type")
    if not grant:
        raise errors.auth_error(400, "invalid_request", "Missing required parameter 'grant_type'.")
    if grant != "client_credentials":
        raise errors.auth_error(400, "unsupported_grant_type", f"Grant type '{grant}' is not supported here.")
    return issue(emulator, client_id, _scopes(form))


async def customer_token_endpoint(emulator: Emulator, request: Request) -> dict[str, Any]:
    """The password flow: ``grant_type=password&username=<email>&password=<password>``."""
    project = request.path_params["project"]
    form = await _form(request)
    client_id = _client(emulator, request, form)
    if form.get("grant_type") != "password":
        raise errors.auth_error(400, "unsupported_grant_type", "Only grant_type=password is supported here.")
    username, password = form.get("username"), form.get("password")
    if not username or password is None:
        raise errors.auth_error(400, "invalid_request", "Parameters 'username' and 'password' are required.")
    customer = find_customer_by_email(emulator, project, username)
    if customer is None or not verify_password(password, customer.get("password")):
        raise errors.auth_error(
            400, "invalid_customer_account_credentials", "Customer account with the given credentials not found."
        )
    scopes = [f"manage_my_profile:{project}", f"customer_id:{customer['id']}"]
    return issue(emulator, client_id, scopes, customer_id=customer["id"], project=project, refresh=True)


def find_customer_by_email(emulator: Emulator, project: str, email: str) -> dict[str, Any] | None:
    """A global customer by email, case-insensitively."""
    found = emulator.store.find(project, "customer", "json_extract(doc, '$.lowercaseEmail') = ?", [email.lower()])
    return next((c for c in found if not c.get("stores")), None)


async def introspect_endpoint(emulator: Emulator, request: Request) -> dict[str, Any]:
    form = await _form(request)
    try:
        token = authenticate(emulator, "Bearer " + form.get("token", ""))
    except errors.ApiError:
        return {"active": False}
    return {"active": True, "scope": " ".join(token.scopes), "client_id": token.client_id}

"""OAuth 2.0 for the emulator, apart from HTTP: API clients and their scopes, the grants (client credentials,
customer password, anonymous session, refresh token), revocation, introspection and bearer checks. The auth
API's endpoints are a table (``ROUTES``: path templates and handlers, ``backend.AuthRoute``); the HTTP layer
matches a path against it, authenticates the API client, parses the form and calls the handler.

Scopes belong to the API client (``backend.ApiClient``), as in the API: a token request gets the scopes it asks
for if the client holds them (``scopes.covers``) and ``invalid_scope`` otherwise; without ``scope`` it gets all
of the client's. Customer and anonymous sessions are tokens of one project: they carry the client's scopes in
that project (or the requested ones) plus ``customer_id:<id>`` / ``anonymous_id:<id>``, and a refresh token.

Token values are long random strings; only their SHA-256 (``digest``) is stored, as internal ``oauth-token``
documents of the internal project ``TOKENS``, so restarting on the same data file keeps issued tokens valid.
A refresh token's document lists the access tokens issued through it, so revoking it ends them too; an
anonymous session's refresh token has the key ``anonymous:<project>:<id>`` (one indexed read tells whether an
anonymous id is taken). Every token write goes through the backend's one write path (causes ``issue``,
``revoke`` and ``expire``): every ``PURGE_EVERY``-th token issued deletes expired ones (at most
``PURGE_AT_MOST``), found through the ``createdAt`` index, so a long-running emulator keeps no more than the
tokens of the last ``TOKEN_TTL`` (and the live refresh tokens).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import errors, in_store, passwords, scopes
from .backend import ApiClient, AuthRequest, AuthRoute, Ctx, Doc, Emulator
from .clock import iso

TOKEN_TTL = 172_800  # 48 h, as the API
REFRESH_TTL = 200 * 86_400  # refresh tokens: 200 days, as the API
TOKENS = ""  # the internal project that holds access tokens
TOKEN_TYPE = "oauth-token"
MAX_CACHED_TOKENS = 1024
MAX_SESSION_TOKENS = 1000  # access tokens a refresh token remembers (to revoke them with it)
PURGE_EVERY = 64  # every 64th token issued deletes expired ones (as every 64th Message prunes expired Messages)
PURGE_AT_MOST = 1024  # expired tokens one purge deletes: more than are issued in between, a bounded pause
ANONYMOUS_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,256}$")


@dataclass(frozen=True)
class Token:
    client_id: str | None
    scopes: tuple[str, ...]
    customer_id: str | None = None
    anonymous_id: str | None = None
    expires: str = ""


class _Issued:
    """How many tokens this emulator has issued (``Emulator.state``): every ``PURGE_EVERY``-th purges."""

    def __init__(self) -> None:
        self.count = 0


class TokenCache:
    """One emulator's client-credentials tokens once seen (``Emulator.state``): value -> (token, expiry), at most
    ``MAX_CACHED_TOKENS`` (then it starts over). Only a revocation in this process ends such a token early, and it
    forgets the token here, so a cached one cannot go stale."""

    def __init__(self) -> None:
        self.tokens: dict[str, tuple[Token, datetime]] = {}


def digest(value: str) -> str:
    """What is stored of a secret token value (access tokens here, customer email/password tokens too)."""
    return hashlib.sha256(value.encode()).hexdigest()


# ---------------------------------------------------------------- API clients


def client_from(value: str, project: str) -> ApiClient:
    """An API client from ``SECRET[:SCOPES]`` (scopes separated by spaces or commas; none given: the one
    project's ``manage_project:<project>``). ValueError with the reason when malformed."""
    secret, _, listed = value.partition(":")
    if not secret:
        raise ValueError("the client secret is empty")
    found = tuple(scopes.check(s) for s in re.split(r"[\s,]+", listed.strip()) if s)
    return ApiClient(secret, found or (f"manage_project:{project}",))


def parse_client(spec: str, project: str) -> tuple[str, ApiClient]:
    """``ID:SECRET[:SCOPES]`` (the ``emulator --client`` option) → (id, client); ValueError when malformed."""
    client_id, sep, rest = spec.partition(":")
    if not sep or not client_id:
        raise ValueError(f"expected ID:SECRET[:SCOPES], got {spec!r}")
    return client_id, client_from(rest, project)


def open_client(project: str, projects: Iterable[str] | None = None) -> ApiClient:
    """The default client set when none is pinned: any id with any secret. Without ``projects`` each holds
    ``manage_project:<project>`` of the one project the emulator serves (so no token spans projects); with
    them, ``manage_project`` of each (``*`` among them: of any project key a token request names, as a local
    test double serves whatever project its client asks for; a request without ``scope`` gets ``project``'s)."""
    if projects is None:
        return ApiClient(None, (f"manage_project:{project}",))
    served = tuple(dict.fromkeys(projects))
    if scopes.ALL in served:
        return ApiClient(None, (f"manage_project:{scopes.ALL}",), (f"manage_project:{project}",))
    return ApiClient(None, tuple(scopes.check(f"manage_project:{p}") for p in served))


def check_client(emulator: Emulator, client_id: str | None, secret: str | None) -> tuple[str, ApiClient]:
    """The client id and its API client, if the emulator accepts these credentials; 401 invalid_client."""
    if not client_id:
        raise errors.auth_error(401, "invalid_client", "Client credentials are missing.")
    client = emulator.clients.get(client_id)
    if client is None and emulator.any_client is not None:
        return client_id, emulator.any_client
    if (
        client is None
        or client.secret is None
        or not hmac.compare_digest(client.secret.encode(), (secret or "").encode())
    ):
        raise errors.auth_error(401, "invalid_client", "Please provide valid client credentials.")
    return client_id, client


def _invalid_scope(scope: str, client: ApiClient | None = None) -> errors.ApiError:
    shown = scope if len(scope) <= 100 else scope[:100] + "…"
    message = f"The client may not request the scope '{shown}'."
    if client is not None:  # say what it holds and how the emulator's operator changes that
        held = " ".join(client.scopes)
        how = "--project KEY" if client.secret is None else "--client ID:SECRET:manage_project:KEY"
        message += f" It holds '{held}' (emulator: start it with {how} for another project)."
    return errors.auth_error(400, "invalid_scope", message)


def _requested(params: Mapping[str, str], client: ApiClient, project: str | None = None) -> list[str]:
    """The scopes a new token gets: the requested ones, each held by the client (and of ``project`` for a
    session of one project; never a wildcard for the open client), or without ``scope`` all the client's
    (its ``default_scopes`` if any; in ``project``)."""
    requested = list(dict.fromkeys(params.get("scope", "").split()))
    for scope in requested:
        if not scopes.covers(client.scopes, scope) or (project is not None and scopes.split(scope)[1] != project):
            raise _invalid_scope(scope, client)
        if client.secret is None and scopes.split(scope)[1] == scopes.ALL:
            raise _invalid_scope(scope, client)
    if requested:
        return requested
    if project is None:
        return list(client.default_scopes or client.scopes)
    found = scopes.in_project(client.scopes, project)
    if not found:
        raise errors.auth_error(400, "invalid_scope", f"The client has no scope in the project '{project}'.")
    return found


def _grant_type(params: Mapping[str, str], *allowed: str) -> str:
    grant = params.get("grant_type")
    if not grant:
        raise errors.auth_error(400, "invalid_request", "Missing required parameter 'grant_type'.")
    if grant not in allowed:
        shown = grant if len(grant) <= 64 else grant[:64] + "…"
        raise errors.auth_error(400, "unsupported_grant_type", f"Grant type '{shown}' is not supported here.")
    return grant


# ---------------------------------------------------------------- issuing


def issue(
    emulator: Emulator,
    client_id: str,
    token_scopes: Iterable[str],
    *,
    customer_id: str | None = None,
    anonymous_id: str | None = None,
    project: str | None = None,
    refresh: bool = False,
    session: Doc | None = None,
) -> dict[str, Any]:
    """A new access token for ``client_id``; with ``refresh`` a refresh token too, or, given the ``session``
    (a refresh token's document), one more access token of that session. The token response body."""
    token_scopes = list(token_scopes)
    value = secrets.token_urlsafe(32)
    now = emulator.clock.now()
    doc = {
        "id": digest(value),
        "clientId": client_id,
        "scopes": token_scopes,
        "customerId": customer_id,
        "anonymousId": anonymous_id,
        "projectKey": project,
        "expiresAt": iso(now + timedelta(seconds=TOKEN_TTL)),
        "createdAt": iso(now),
    }
    body = {"access_token": value, "token_type": "Bearer", "expires_in": TOKEN_TTL, "scope": " ".join(token_scopes)}
    ctx = Ctx(emulator, TOKENS, client_id=client_id)
    with emulator.store.write():
        ctx.insert(TOKEN_TYPE, doc, cause="issue")
        if refresh:
            refresh_value = secrets.token_urlsafe(32)
            refresh_doc = {
                **doc,
                "id": digest(refresh_value),
                "refresh": True,
                "expiresAt": iso(now + timedelta(seconds=REFRESH_TTL)),
                "accessTokens": [doc["id"]],
            }
            if anonymous_id is not None:
                refresh_doc["key"] = _anonymous_key(project or "", anonymous_id)
            ctx.insert(TOKEN_TYPE, refresh_doc, cause="issue")
            body["refresh_token"] = refresh_value
        elif session is not None:
            issued = [*session.get("accessTokens", []), doc["id"]][-MAX_SESSION_TOKENS:]
            ctx.replace(TOKEN_TYPE, session, {**session, "accessTokens": issued}, cause="issue")
        issued_so_far = emulator.state(_Issued)
        issued_so_far.count += 1
        if issued_so_far.count % PURGE_EVERY == 0:
            purge_expired(ctx, now)
    return body


def purge_expired(ctx: Ctx, now: datetime) -> int:
    """Delete up to ``PURGE_AT_MOST`` expired access and refresh tokens, oldest first, through the write path
    (cause ``expire``); how many. A token expires ``TOKEN_TTL`` or more after it is created, so only those created
    that long ago are read (the ``createdAt`` index)."""
    where = "json_extract(doc, '$.createdAt') <= ? AND json_extract(doc, '$.expiresAt') <= ?"
    created_by = iso(now - timedelta(seconds=TOKEN_TTL))
    expired = ctx.store.find(
        TOKENS, TOKEN_TYPE, where, [created_by, iso(now)], order="json_extract(doc, '$.createdAt')", limit=PURGE_AT_MOST
    )
    for doc in expired:
        ctx.delete(TOKEN_TYPE, doc, cause="expire")
    return len(expired)


async def client_credentials(emulator: Emulator, req: AuthRequest) -> dict[str, Any]:
    """``POST /oauth/token``: the client-credentials grant, or the refresh-token grant."""
    if _grant_type(req.form, "client_credentials", "refresh_token") == "refresh_token":
        return refresh_grant(emulator, req.client_id, req.form)
    return issue(emulator, req.client_id, _requested(req.form, req.client))


def refresh_grant(emulator: Emulator, client_id: str, params: Mapping[str, str]) -> dict[str, Any]:
    """``grant_type=refresh_token&refresh_token=…``: a new access token of the refresh token's session (its
    customer or anonymous id, its scopes or the requested subset of them), for the client it was issued to."""
    value = params.get("refresh_token")
    if not value:
        raise errors.auth_error(400, "invalid_request", "Missing required parameter 'refresh_token'.")
    session = emulator.store.get(TOKENS, TOKEN_TYPE, digest(value))
    now = iso(emulator.clock.now())
    if session is None or not session.get("refresh") or session["expiresAt"] <= now or session["clientId"] != client_id:
        raise errors.auth_error(400, "invalid_grant", "The refresh token was not found. It may have expired.")
    held = [s for s in session["scopes"] if scopes.split(s)[0] not in scopes.IDENTITY]
    identity = [s for s in session["scopes"] if scopes.split(s)[0] in scopes.IDENTITY]
    requested = params.get("scope", "").split()
    for scope in requested:
        if scope not in session["scopes"] or scope in identity:
            raise _invalid_scope(scope)
    granted = [s for s in held if s in requested] if requested else held
    return issue(
        emulator,
        client_id,
        [*granted, *identity],
        customer_id=session.get("customerId"),
        anonymous_id=session.get("anonymousId"),
        project=session.get("projectKey"),
        session=session,
    )


async def password_grant(emulator: Emulator, req: AuthRequest) -> dict[str, Any]:
    """``POST /oauth/{projectKey}/customers/token``: ``grant_type=password&username=<email>&password=<password>``;
    ``/oauth/{projectKey}/in-store/key={storeKey}/customers/token``: the same for a Customer of that Store (a
    Customer of another Store, or a global one, is not found there: Customer.raml, ``stores``).

    The password is checked in a worker thread; an unknown email costs the same check (against a dummy hash at
    the emulator's cost), so the answer's timing does not tell whether the email exists."""
    params, project, client_id = req.form, req.path["projectKey"], req.client_id
    _grant_type(params, "password")
    username, password = params.get("username"), params.get("password")
    if not username or password is None:
        raise errors.auth_error(400, "invalid_request", "Parameters 'username' and 'password' are required.")
    granted = _requested(params, req.client, project)
    ctx = Ctx(emulator, project, client_id=client_id)
    store_key = req.path.get("storeKey")
    if store_key is not None:
        in_store.enter(ctx, store_key)
    customer = find_customer_by_email(ctx, username)
    stored = customer.get("password") if customer is not None else None
    await passwords.prepare(ctx, verify=[(password, stored)])
    if customer is None or not passwords.verify_password(ctx, password, stored):
        raise errors.auth_error(
            400, "invalid_customer_account_credentials", "Customer account with the given credentials not found."
        )
    token_scopes = [*granted, f"customer_id:{customer['id']}"]
    return issue(emulator, client_id, token_scopes, customer_id=customer["id"], project=project, refresh=True)


def _anonymous_key(project: str, anonymous_id: str) -> str:
    return f"anonymous:{project}:{anonymous_id}"


async def anonymous_grant(emulator: Emulator, req: AuthRequest) -> dict[str, Any]:
    """``POST /oauth/{projectKey}/anonymous/token``: a session for an anonymous id (generated, or an unused one
    from ``anonymous_id``); the client needs ``create_anonymous_token`` in the project (RAML)."""
    params, project, client_id, client = req.form, req.path["projectKey"], req.client_id, req.client
    _grant_type(params, "client_credentials")
    if not scopes.covers(client.scopes, f"create_anonymous_token:{project}"):
        raise errors.auth_error(
            400, "invalid_scope", f"The client needs the scope 'create_anonymous_token:{project}' for this flow."
        )
    granted = _requested(params, client, project)
    anonymous_id = params.get("anonymous_id")
    if anonymous_id is None:
        anonymous_id = str(uuid.uuid4())
    elif not ANONYMOUS_ID.match(anonymous_id):
        raise errors.auth_error(
            400, "invalid_request", "The anonymous_id must be 1-256 letters, digits or the characters _ . : -."
        )
    elif emulator.store.get_by_key(TOKENS, TOKEN_TYPE, _anonymous_key(project, anonymous_id)) is not None:
        raise errors.auth_error(400, "invalid_request", f"The anonymous_id '{anonymous_id}' is already in use.")
    token_scopes = [*granted, f"anonymous_id:{anonymous_id}"]
    return issue(emulator, client_id, token_scopes, anonymous_id=anonymous_id, project=project, refresh=True)


def find_customer_by_email(ctx: Ctx, email: str) -> Doc | None:
    """The customer of the context's project with that email, case-insensitively: a global one, or, when the
    operation goes through a Store (``in_store.key``), one of that Store (emails are unique per Store)."""
    where = "json_extract(doc, '$.lowercaseEmail') = ?"
    found = ctx.store.find(ctx.project, "customer", where, [email.lower()])
    store_key = in_store.key(ctx)
    if store_key is None:
        return next((c for c in found if not c.get("stores")), None)
    return next((c for c in found if in_store.holds("customer", c, store_key)), None)


# ---------------------------------------------------------------- ending tokens


def revoke_customer_tokens(ctx: Ctx, customer_id: str) -> None:
    """Invalidate every access and refresh token issued through the password and refresh flows for this
    customer of the context's project (a password reset, a delete)."""
    tokens = Ctx(ctx.emulator, TOKENS, client_id=ctx.client_id)
    for doc in ctx.store.find(TOKENS, TOKEN_TYPE, "json_extract(doc, '$.customerId') = ?", [customer_id]):
        if doc.get("projectKey") == ctx.project:
            tokens.delete(TOKEN_TYPE, doc, cause="revoke")


async def revoke(emulator: Emulator, req: AuthRequest) -> None:
    """``POST /oauth/token/revoke`` (RFC 7009): end an access or refresh token issued to this client; a refresh
    token ends with every access token issued through it. An unknown or expired token is not an error."""
    client_id = req.client_id
    value = req.form.get("token")
    if not value:
        raise errors.auth_error(400, "invalid_request", "Missing required parameter 'token'.")
    doc = emulator.store.get(TOKENS, TOKEN_TYPE, digest(value))
    emulator.state(TokenCache).tokens.pop(value, None)
    if doc is None:
        return
    if doc["clientId"] != client_id:
        raise errors.auth_error(400, "invalid_request", "The token was not issued to this client.")
    ctx = Ctx(emulator, TOKENS, client_id=client_id)
    with emulator.store.write():
        for access in doc.get("accessTokens", []):
            issued = emulator.store.get(TOKENS, TOKEN_TYPE, access)
            if issued is not None:
                ctx.delete(TOKEN_TYPE, issued, cause="revoke")
        ctx.delete(TOKEN_TYPE, doc, cause="revoke")


# ---------------------------------------------------------------- checking


def authenticate(emulator: Emulator, header: str | None) -> Token:
    """The token an ``Authorization: Bearer …`` header carries, or 401 invalid_token.

    Client-credentials tokens are kept in the emulator's memory once seen (``TokenCache``); session tokens,
    which a password reset, a delete or a revocation ends, are read from the store every time."""
    if not header or not header[:7].lower() == "bearer ":
        raise errors.invalid_token()
    value = header[7:].strip()
    now = emulator.clock.now()
    cache = emulator.state(TokenCache).tokens
    cached = cache.get(value)
    if cached is not None:
        token, expires = cached
        if expires > now:
            return token
        del cache[value]
        raise errors.invalid_token()
    doc = emulator.store.get(TOKENS, TOKEN_TYPE, digest(value))
    if doc is None or doc.get("refresh") or doc["expiresAt"] <= iso(now):
        raise errors.invalid_token()
    token = Token(
        doc["clientId"], tuple(doc["scopes"]), doc.get("customerId"), doc.get("anonymousId"), doc["expiresAt"]
    )
    if token.customer_id is None and token.anonymous_id is None:
        if len(cache) >= MAX_CACHED_TOKENS:
            cache.clear()
        cache[value] = (token, datetime.fromisoformat(doc["expiresAt"]))
    return token


def has_scope(token: Token, project: str, needed: tuple[str, ...], store: str | None = None) -> bool:
    """Whether the token grants one of ``needed`` in ``project`` (``manage_x`` implies ``view_x``); on a Store's
    endpoint (``store``) a scope of that Store (``manage_customers:<project>:<store>``) does too."""
    return scopes.grants(token.scopes, project, needed, store)


async def introspect(emulator: Emulator, req: AuthRequest) -> dict[str, Any]:
    """``POST /oauth/introspect`` for an authenticated client: ``{active, scope, exp, client_id}`` when the token
    is valid and the client may introspect tokens of every project it names (``introspect_oauth_tokens``,
    which ``manage_project`` implies), ``{active: false}`` otherwise."""
    client = req.client
    try:
        token = authenticate(emulator, "Bearer " + req.form.get("token", ""))
    except errors.ApiError:
        return {"active": False}
    projects = {scopes.split(s)[1] for s in token.scopes if scopes.split(s)[0] not in scopes.IDENTITY}
    if not all(scopes.covers(client.scopes, f"introspect_oauth_tokens:{p}") for p in projects):
        return {"active": False}
    expires = int(datetime.fromisoformat(token.expires).timestamp() * 1000) if token.expires else None
    return {"active": True, "scope": " ".join(token.scopes), "exp": expires, "client_id": token.client_id}


# ---------------------------------------------------------------- the auth API's endpoints

ROUTES = (
    AuthRoute("/oauth/token", client_credentials),
    AuthRoute("/oauth/token/revoke", revoke),
    AuthRoute("/oauth/introspect", introspect),
    AuthRoute("/oauth/{projectKey}/customers/token", password_grant),
    AuthRoute("/oauth/{projectKey}/in-store/key={storeKey}/customers/token", password_grant),
    AuthRoute("/oauth/{projectKey}/anonymous/token", anonymous_grant),
)

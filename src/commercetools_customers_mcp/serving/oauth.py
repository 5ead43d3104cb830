"""OAuth 2.1 for the HTTP transport (the MCP authorization spec): this server as a resource server that accepts
JWT access tokens from one authorization server.

Policy:

- **Discovery.** The issuer's metadata comes from ``{issuer}/.well-known/openid-configuration`` (else RFC 8414's
  ``/.well-known/oauth-authorization-server``); the ``issuer`` it names must be the configured one, character
  for character, and its ``jwks_uri`` gives the signing keys. ``serve`` fetches both once before serving
  (exit 2 when that fails, unless ``--no-check``; then the first token triggers it, retried at most every
  ``RETRY_DISCOVERY`` seconds).
- **Tokens.** A JWT signed with an asymmetric algorithm (``ALGORITHMS``; never ``none`` or HMAC) by a key of the
  issuer's JWKS, with ``iss`` equal to the issuer, an ``aud`` naming one of the configured audiences, and an
  ``exp`` in the future (``LEEWAY`` seconds of clock skew). Keys are cached ``jwks_lifespan`` seconds; a token
  whose ``kid`` is not in the cache refreshes them, at most once per ``jwks_cooldown`` seconds, so a stream of
  forged key ids cannot flood the issuer. Verification is PyJWT (``PyJWKClient`` for the JWKS): no JOSE here.
- **Answers** (RFC 6750 with RFC 9728's ``resource_metadata``): no token → 401; a token that fails any check →
  401 ``invalid_token`` with a description saying which check; a valid token with neither ``<prefix>:read``
  nor ``<prefix>:write`` → 403 ``insufficient_scope``; the issuer unreachable while keys are needed → 503.
  Descriptions never quote the token or its claims.
- **Permissions.** ``<prefix>:write`` grants every tool, ``<prefix>:read`` alone the read-only ones (scopes from
  ``scope``, a space-separated string, or ``scp``, a list). The optional ``pcids`` claim (name configurable)
  lists the connections the token may use; without it, every connection. The caller becomes a
  ``calls.Principal`` (named by ``sub``, else ``client_id``/``azp``) in ``CURRENT_PRINCIPAL`` for the request,
  as with API keys; ``server.py`` enforces it.
- **Public paths.** ``/healthz`` and the protected-resource metadata (RFC 9728):
  ``/.well-known/oauth-protected-resource`` plus one per MCP path (``…/oauth-protected-resource/mcp``).

From the SDK (``mcp.server.auth``): the ``TokenVerifier`` protocol and ``AccessToken`` (``JwtVerifier`` is one),
and ``create_protected_resource_routes`` for the metadata. Not its bearer middleware: it answers every
rejection with the same "Authentication required" and checks that *all* of a list of scopes are granted, where
we need a reason per rejection and read-*or*-write.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
import jwt
import orjson
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import ConfigError
from ..core.calls import ALL_PCIDS, CURRENT_PRINCIPAL, Principal
from .api_keys import bearer_token, is_loopback, refuse

DEFAULT_SCOPE_PREFIX = "commercetools-customers"
DEFAULT_PCIDS_CLAIM = "pcids"
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY = 30.0  # seconds of clock skew allowed on exp, nbf and iat
RETRY_DISCOVERY = 5.0  # seconds between discovery attempts after a failure (lazy discovery only)
MAX_TOKEN_LENGTH = 16384
RESOURCE_NAME = "commercetools-customers-mcp"
_NAME = re.compile(r"[^\x21-\x7e]")


@dataclass(frozen=True)
class OAuthSettings:
    """What the operator configures (``serve --oauth-*``); ``resource_url`` is this server's origin as clients
    reach it (for the metadata), e.g. ``https://mcp.example.com``."""

    issuer: str
    audiences: tuple[str, ...]
    resource_url: str
    scope_prefix: str = DEFAULT_SCOPE_PREFIX
    pcids_claim: str = DEFAULT_PCIDS_CLAIM
    jwks_lifespan: float = 300.0
    jwks_cooldown: float = 30.0
    timeout: float = 10.0

    def __post_init__(self) -> None:
        """Refuse what cannot work or is unsafe, as a ``ConfigError`` naming the flag."""
        _check_url("--oauth-issuer", self.issuer)
        if urlsplit(self.issuer).query or urlsplit(self.issuer).fragment:
            raise ConfigError("--oauth-issuer must not have a query or a fragment")
        if not self.audiences or not all(a.strip() for a in self.audiences):
            raise ConfigError(
                "--oauth-issuer needs --oauth-audience: the aud value the authorization server puts in access "
                "tokens for this server (usually its URL, e.g. https://mcp.example.com/mcp)"
            )
        parts = urlsplit(self.resource_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") or parts.query:
            raise ConfigError("--oauth-resource-url must be an origin such as https://mcp.example.com (no path)")
        if not re.fullmatch(r"[\x21-\x7e]+", self.scope_prefix) or '"' in self.scope_prefix:
            raise ConfigError("--oauth-scope-prefix must be non-empty printable ASCII without spaces or quotes")
        if not re.fullmatch(r"[\x21-\x7e]+", self.pcids_claim) or '"' in self.pcids_claim:
            raise ConfigError("--oauth-pcids-claim must be non-empty printable ASCII without spaces or quotes")

    @property
    def read_scope(self) -> str:
        return f"{self.scope_prefix}:read"

    @property
    def write_scope(self) -> str:
        return f"{self.scope_prefix}:write"

    @property
    def origin(self) -> str:
        return self.resource_url.rstrip("/")


def _check_url(flag: str, url: str) -> None:
    """https, or http on a loopback host (tests, a local issuer): keys fetched over plain HTTP elsewhere could be
    swapped by anyone on the path."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{flag} must be an http(s) URL, got {url[:200]!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(f"{flag} must use https (plain http only on a loopback host), got {url[:200]!r}")


class TokenRejected(Exception):
    """A request the middleware refuses: ``status`` 401/403/503, an RFC 6750 ``error`` and a description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def _invalid(description: str) -> TokenRejected:
    return TokenRejected(401, "invalid_token", description)


def _unavailable(description: str) -> TokenRejected:
    return TokenRejected(503, "temporarily_unavailable", description)


class JwtVerifier:
    """Verifies JWT access tokens against the issuer's JWKS. Implements the SDK's ``TokenVerifier`` protocol
    (``verify_token``: an ``AccessToken`` or None); ``verify`` says why a token is refused."""

    def __init__(self, settings: OAuthSettings) -> None:
        self.settings = settings
        self._jwks: jwt.PyJWKClient | None = None  # set by discovery
        self._failed_at = -RETRY_DISCOVERY
        self._lock: asyncio.Lock | None = None  # made on first use, in the serving event loop
        self._refresh_lock: asyncio.Lock | None = None  # one key refresh at a time (made on first use)
        self._refresh_after = 0.0  # no key refresh before this (time.monotonic), successful or not

    async def discover(self) -> None:
        """Read the issuer's metadata and fetch its keys once; raises ``TokenRejected`` (503) with the reason."""
        metadata = await self._metadata()
        jwks_uri = metadata.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise _unavailable(f"the metadata of {self.settings.issuer} has no jwks_uri")
        try:
            _check_url("the issuer's jwks_uri", jwks_uri)
        except ConfigError as exc:
            raise _unavailable(str(exc)) from None
        keys = jwt.PyJWKClient(
            jwks_uri,
            lifespan=self.settings.jwks_lifespan,
            cooldown_duration=self.settings.jwks_cooldown,
            timeout=self.settings.timeout,
        )
        try:
            await asyncio.to_thread(keys.get_signing_keys)
        except jwt.PyJWKClientConnectionError:
            raise _unavailable(f"cannot fetch the signing keys from {jwks_uri}") from None
        except (jwt.PyJWKClientError, jwt.PyJWKSetError) as exc:
            raise _unavailable(f"no usable signing keys at {jwks_uri}: {exc}") from None
        self._jwks = keys

    async def _metadata(self) -> dict[str, Any]:
        issuer = self.settings.issuer.rstrip("/")
        parts = urlsplit(issuer)
        urls = [
            f"{issuer}/.well-known/openid-configuration",
            f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{parts.path}",
        ]
        problems = []
        async with httpx2.AsyncClient(timeout=self.settings.timeout) as http:
            for url in urls:
                try:
                    response = await http.get(url, headers={"Accept": "application/json"})
                except httpx2.TransportError as exc:
                    problems.append(f"{url}: {type(exc).__name__}")
                    continue
                try:
                    document = orjson.loads(response.content) if response.status_code == 200 else None
                except orjson.JSONDecodeError:
                    document = None
                if not isinstance(document, dict):
                    problems.append(f"{url}: HTTP {response.status_code}, not a JSON metadata document")
                    continue
                if document.get("issuer") != self.settings.issuer:
                    named = str(document.get("issuer"))[:200]
                    raise _unavailable(
                        f"{url} names the issuer {named!r}, not {self.settings.issuer!r}; pass that exact value "
                        "to --oauth-issuer"
                    )
                return document
        raise _unavailable("cannot read the authorization server's metadata: " + "; ".join(problems))

    async def _keys(self) -> jwt.PyJWKClient:
        """The JWKS client, discovering first if the start-up check was skipped (one attempt at a time)."""
        if self._jwks is not None:
            return self._jwks
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._jwks is None:
                if time.monotonic() - self._failed_at < RETRY_DISCOVERY:
                    raise _unavailable("the authorization server's metadata could not be read; retrying shortly")
                try:
                    await self.discover()
                except TokenRejected:
                    self._failed_at = time.monotonic()
                    raise
        assert self._jwks is not None
        return self._jwks

    async def verify(self, token: str) -> AccessToken:
        """The verified token; raises ``TokenRejected`` saying which check failed."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise _invalid("the access token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("the access token is not a well-formed JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise _invalid(f"the access token's signing algorithm is not accepted (accepted: {', '.join(ALGORITHMS)})")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _invalid("the access token names no signing key (kid)")
        key = await self._signing_key(await self._keys(), kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=list(self.settings.audiences),
                issuer=self.settings.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid("the access token has expired; get a new one") from None
        except jwt.ImmatureSignatureError:
            raise _invalid("the access token is not valid yet (nbf or iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise _invalid("the access token was issued for another audience (aud)") from None
        except jwt.InvalidIssuerError:
            raise _invalid("the access token was issued by another issuer (iss)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f"the access token has no {exc.claim} claim") from None
        except jwt.InvalidSignatureError:
            raise _invalid("the access token's signature does not verify") from None
        except jwt.PyJWTError:
            raise _invalid("the access token is not valid") from None
        scopes = _scopes(claims)
        subject = claims.get("sub") if isinstance(claims.get("sub"), str) else None
        client_id = next((v for k in ("client_id", "azp") if isinstance(v := claims.get(k), str)), None)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        return AccessToken(
            token=token,
            client_id=client_id or subject or "unknown",
            scopes=scopes,
            expires_at=int(claims["exp"]),
            resource=next((a for a in audiences if a in self.settings.audiences), None),
            subject=subject,
            claims=claims,
        )

    async def _signing_key(self, keys: jwt.PyJWKClient, kid: str) -> jwt.PyJWK:
        """The cached key for ``kid`` without leaving the event loop; otherwise PyJWKClient in a worker thread
        (it fetches with urllib). A fetch happens at most once per ``jwks_cooldown``, whether it succeeds or not,
        one at a time: PyJWKClient's own cooldown counts successful fetches only, so while the issuer failed,
        every token with an unknown kid fetched again (100 fetches in 0.4 s against a 503)."""
        key = _cached_key(keys, kid)
        if key is not None:
            return key
        if self._refresh_lock is None:
            self._refresh_lock = asyncio.Lock()
        async with self._refresh_lock:
            key = _cached_key(keys, kid)
            if key is not None:
                return key
            now = time.monotonic()
            if now < self._refresh_after:  # the negative cache: this kid, or the keys, were just looked for
                if keys.jwk_set_cache is not None and keys.jwk_set_cache.get() is None:
                    raise _unavailable("cannot fetch the authorization server's signing keys; retry shortly")
                raise _invalid("the access token's key id (kid) is not among the issuer's signing keys")
            self._refresh_after = now + self.settings.jwks_cooldown
            try:
                return await asyncio.to_thread(keys.get_signing_key, kid)
            except jwt.PyJWKClientConnectionError:
                raise _unavailable("cannot fetch the authorization server's signing keys; retry shortly") from None
            except (jwt.PyJWKClientError, jwt.PyJWKSetError):
                raise _invalid("the access token's key id (kid) is not among the issuer's signing keys") from None

    async def verify_token(self, token: str) -> AccessToken | None:
        """``mcp.server.auth.provider.TokenVerifier``: the token, or None for any refusal."""
        try:
            return await self.verify(token)
        except TokenRejected:
            return None


def _cached_key(keys: jwt.PyJWKClient, kid: str) -> jwt.PyJWK | None:
    cached = keys.jwk_set_cache.get() if keys.jwk_set_cache is not None else None
    for key in cached.keys if cached is not None else ():
        if key.key_id == kid and key.public_key_use in ("sig", None):
            return key
    return None


def _scopes(claims: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            found.extend(value.split())
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, str))
    return list(dict.fromkeys(found))


def principal_for(access: AccessToken, settings: OAuthSettings) -> Principal:
    """The caller a verified token makes: ``:write`` → every tool, ``:read`` alone → read-only tools; the PCID
    claim, if present, limits the connections. Raises ``TokenRejected`` (403) without either scope."""
    write = settings.write_scope in access.scopes
    if not write and settings.read_scope not in access.scopes:
        raise TokenRejected(
            403,
            "insufficient_scope",
            f"the access token grants neither {settings.read_scope} nor {settings.write_scope}",
        )
    claims = access.claims or {}
    raw = claims.get(settings.pcids_claim, [ALL_PCIDS])
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise _invalid(f"the {settings.pcids_claim} claim must be a list of connection ids")
    name = _NAME.sub("?", access.subject or access.client_id)[:128]
    return Principal(name, frozenset(raw), read_only=not write, kind="access token")


class ResourceServer:
    """The OAuth pieces the HTTP app wires in: the verifier, the metadata routes and the middleware."""

    def __init__(self, settings: OAuthSettings, verifier: JwtVerifier | None = None) -> None:
        self.settings = settings
        self.verifier = verifier or JwtVerifier(settings)

    def metadata_url(self, mcp_path: str = "") -> str:
        return str(build_resource_metadata_url(self.settings.origin + mcp_path))  # type: ignore[arg-type]

    def routes(self, mcp_paths: Sequence[str]) -> list[Route]:
        """RFC 9728 metadata for the origin and for each MCP path (clients look up either)."""
        scopes = [self.settings.read_scope, self.settings.write_scope]
        routes: list[Route] = []
        for path in ("", *mcp_paths):
            # strings, not AnyHttpUrl: the metadata model keeps "https://h" as is, AnyHttpUrl would add a "/"
            # and the issuer must match the tokens' iss exactly
            routes += create_protected_resource_routes(
                resource_url=self.settings.origin + path,  # type: ignore[arg-type]
                authorization_servers=[self.settings.issuer],  # type: ignore[list-item]
                scopes_supported=scopes,
                resource_name=RESOURCE_NAME,
            )
        return routes

    def public_paths(self, mcp_paths: Sequence[str]) -> tuple[str, ...]:
        return ("/healthz", *(urlsplit(self.metadata_url(p)).path for p in ("", *mcp_paths)))

    async def authenticate(self, token: str | None) -> Principal:
        if token is None:
            raise TokenRejected(401, "", "an access token is required (Authorization: Bearer <token>)")
        return principal_for(await self.verifier.verify(token), self.settings)


class OAuthMiddleware:
    """Lets a request through with its ``Principal`` in ``CURRENT_PRINCIPAL`` or answers 401/403/503 before MCP
    sees it; public paths need no token."""

    def __init__(self, app: ASGIApp, resource: ResourceServer, mcp_paths: Sequence[str]) -> None:
        self.app, self.resource = app, resource
        self.public = frozenset(resource.public_paths(mcp_paths))
        self.metadata = {path: resource.metadata_url(path) for path in mcp_paths}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in self.public:
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.resource.authenticate(bearer_token(scope))
        except TokenRejected as exc:
            await self._refuse(send, exc, self.metadata.get(path) or self.resource.metadata_url())
            return
        token = CURRENT_PRINCIPAL.set(principal)
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT_PRINCIPAL.reset(token)

    async def _refuse(self, send: Send, exc: TokenRejected, metadata_url: str) -> None:
        error = exc.error or "unauthorized"
        if exc.status == 503:
            await refuse(send, exc.status, error, exc.description, headers=[(b"retry-after", b"5")])
            return
        # RFC 6750 §3: no error code when no token was sent; descriptions are fixed ASCII text
        params = [f'error="{exc.error}"', f'error_description="{exc.description}"'] if exc.error else []
        if exc.error == "insufficient_scope":
            params.append(f'scope="{self.resource.settings.read_scope} {self.resource.settings.write_scope}"')
        params.append(f'resource_metadata="{metadata_url}"')
        await refuse(send, exc.status, error, exc.description, challenge="Bearer " + ", ".join(params))

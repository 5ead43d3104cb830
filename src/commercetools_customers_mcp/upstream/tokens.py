"""OAuth2 client-credentials tokens for one connection.

``POST {auth_url}/oauth/token`` with HTTP Basic ``client_id:client_secret`` and the form body
``grant_type=client_credentials`` (plus ``scope=<space-separated>`` when the connection has scopes).
The token is cached until ``expires_in`` minus a margin (10 %, at most 5 minutes); concurrent callers share
one in-flight token request; ``invalidate(token)`` drops a token the API rejected so the next call refreshes.
Each fetch is reported to the optional ``events`` hook as ``("token", "ok" | "refused" | "error")``: issued,
refused by the auth server (``AuthError``), or failed on the network.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

import httpx2
import orjson

from .connections import TOKEN_PATH, Connection

EXPIRY_MARGIN_MAX = 300.0
EXPIRY_MARGIN_RATIO = 0.1
DEFAULT_EXPIRES_IN = 3600.0

EventHook = Callable[[str, int | str], None]
"""Told what the client and token provider did, as plain values (``client.py`` lists the events). Runs inline on
the event loop: it must not block or raise. Metrics attach here; nothing here knows about them."""


def ignore_event(kind: str, value: int | str) -> None:
    """The default hook: no one is listening."""


class AuthError(Exception):
    """The token endpoint refused to issue a token. Never carries the client secret."""

    def __init__(self, status: int, error: str, description: str, host: str) -> None:
        self.status = status
        self.error = error
        self.description = description
        self.host = host
        text = f"token request to {host} failed with HTTP {status}: {error}"
        super().__init__(f"{text} ({description})" if description else text)


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float


class TokenProvider:
    """Fetches and caches the bearer token of one connection, through the given (shared) HTTP client."""

    def __init__(
        self,
        connection: Connection,
        http: httpx2.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        events: EventHook = ignore_event,
    ) -> None:
        self._connection = connection
        self._http = http
        self._clock = clock
        self._events = events
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self.granted: tuple[str, ...] = ()  # the scopes the last token response granted (its ``scope``)
        self.url = connection.auth_url + TOKEN_PATH
        self.host = endpoint(self.url)

    async def get_token(self) -> str:
        """Return a valid access token, fetching one only when none is cached (single flight)."""
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token.value
        async with self._lock:
            token = self._token
            if token is None or self._clock() >= token.refresh_at:
                token = self._token = await self._fetch()
            return token.value

    def invalidate(self, token: str) -> None:
        """Forget ``token`` if it is the cached one, so the next ``get_token`` fetches a new one."""
        if self._token is not None and self._token.value == token:
            self._token = None

    async def _fetch(self) -> _Token:
        form = {"grant_type": "client_credentials"}
        if self._connection.scopes:
            form["scope"] = " ".join(self._connection.scopes)
        secret = self._connection.client_secret.get_secret_value()
        started = self._clock()
        try:
            response = await self._http.post(
                self.url,
                data=form,
                auth=(self._connection.client_id, secret),
                headers={"Accept": "application/json"},
            )
        except httpx2.TransportError:
            self._events("token", "error")
            raise
        body = _parse(response.content)
        if response.status_code != 200 or not isinstance(body.get("access_token"), str):
            self._events("token", "refused")
            first = body["errors"][0] if isinstance(body.get("errors"), list) and body["errors"] else {}
            first = first if isinstance(first, dict) else {}
            error = str(body.get("error") or first.get("code") or "invalid_response")[:200]
            description = str(body.get("error_description") or body.get("message") or first.get("message") or "")[:500]
            hide = secret_forms(self._connection.client_id, secret)
            raise AuthError(response.status_code, mask(error, hide), mask(description, hide), self.host)
        self._events("token", "ok")
        scope = body.get("scope")
        self.granted = tuple(scope.split()) if isinstance(scope, str) else tuple(self._connection.scopes)
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else DEFAULT_EXPIRES_IN
        margin = min(EXPIRY_MARGIN_MAX, lifetime * EXPIRY_MARGIN_RATIO)
        return _Token(body["access_token"], started + lifetime - margin)


def endpoint(url: str) -> str:
    """``host:port`` of a URL, the port spelled out even when it is the scheme's default."""
    parsed = httpx2.URL(url)
    return f"{parsed.host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"


def secret_forms(client_id: str, secret: str) -> list[str]:
    """The secret as a server might reflect it: plain, percent- or form-encoded, and inside the Basic header
    (base64 of ``id:secret``, standard or URL-safe alphabet, with or without padding), longest first."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    for raw in (f"{client_id}:{secret}".encode(), secret.encode()):
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            forms |= {encoded.decode(), encoded.decode().rstrip("=")}
    return sorted((f for f in forms if len(f) >= 4), key=len, reverse=True)


def mask(text: str, forms: list[str]) -> str:
    for form in forms:
        text = text.replace(form, "***")
    return text


def _parse(content: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:  # a proxy's page: its text, tags stripped
        page = content[:4000].decode("utf-8", "replace")
        text = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", page, flags=re.S | re.I)
        return {"message": " ".join(text.split())[:500]}
    return body if isinstance(body, dict) else {}

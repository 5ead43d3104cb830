"""HTTP client for the commercetools API: token, path encoding, correlation id, retries.

Retry policy (one ``request`` call):

* Retried: network failures (the ``httpx2.TransportError`` family) and HTTP 429/502/503/504, with exponential
  backoff and full jitter (``uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**n))``). A ``Retry-After`` header in
  seconds replaces the backoff, capped at ``RETRY_AFTER_CAP``. At most ``connection.max_retries`` retries, and
  none whose wait would end after ``connection.max_retry_time`` seconds from the first attempt.
* Only what cannot apply twice is retried. GET/HEAD always are. Other methods follow ``idempotent``
  (``None`` means DELETE yes, POST no): the MCP layer passes ``True`` for version-carrying updates and
  deletes, whose duplicate would come back as an honest 409. A non-idempotent write is never retried once the
  request may have reached the server (a read timeout, a dropped connection, a 502/503/504); a failure before
  sending (connect error/timeout, pool timeout, token fetch failure) and a 429 (the API applied nothing) are
  retried for every method.
* A 401 from the API drops the token, fetches a new one and retries once, for every method (nothing was applied).
* 409 and every other status are returned, never retried. HTTP errors are ``ApiResponse``s, not exceptions.
* Network failures that cannot (or can no longer) be retried raise ``ApiConnectionError``, which names the
  ``host:port``, tells a timeout from a refused connection, and says whether the request may have been applied;
  a refused token request raises ``tokens.AuthError``.
* A body that is not JSON (a proxy's HTML error page) is returned as its text, at most ``MAX_TEXT_BODY``
  characters.

Every attempt of one call carries the same ``X-Correlation-ID``.

Events (the optional ``events`` hook, ``tokens.EventHook``; plain values, so metrics can count them without this
module knowing about metrics):

* ``("request", status)`` for every API attempt: the HTTP status (an int, 401s and retried ones included), or
  ``"network-error"`` when the attempt ended in a transport error. Token requests are not API attempts.
* ``("retry", reason)`` before each retry: the status that caused it (``"503"``, ``"429"``, ``"401"`` for the
  token refresh), ``"network"`` for a transport error, ``"token"`` for a failed token fetch.
* ``("token", "ok" | "refused" | "error")`` for every token fetch (from ``tokens.TokenProvider``).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx2
import orjson

from .. import __version__
from .connections import Connection
from .tokens import AuthError, EventHook, TokenProvider, endpoint, ignore_event

USER_AGENT = f"commercetools-customers-mcp/{__version__}"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
READ_METHODS = frozenset({"GET", "HEAD"})
NOT_SENT_ERRORS = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 30.0
MAX_TEXT_BODY = 4000


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: Mapping[str, str]
    correlation_id: str
    attempts: int
    content: bytes | None = None  # the raw body as received (None when not known)


class ApiConnectionError(Exception):
    """The API (or its auth server) could not be reached, after any retries the policy allows.

    ``host`` is ``host:port``; ``timed_out`` tells a host that answered too slowly from one that refused or
    dropped the connection; ``may_have_applied`` is true when the request was sent and not retried (a write that
    is not idempotent), so it may have taken effect."""

    def __init__(
        self,
        host: str,
        detail: str,
        correlation_id: str,
        attempts: int = 1,
        *,
        timed_out: bool = False,
        may_have_applied: bool = False,
    ) -> None:
        self.host = host
        self.detail = detail
        self.correlation_id = correlation_id
        self.attempts = attempts
        self.timed_out = timed_out
        self.may_have_applied = may_have_applied
        plural = "attempt" if attempts == 1 else "attempts"
        what = f"timed out waiting for {host}" if timed_out else f"could not reach {host}"
        applied = "; the request may have been applied, so it was not retried" if may_have_applied else ""
        super().__init__(f"{what}: {detail} (after {attempts} {plural}){applied}")


def build_path(path_template: str, project_key: str, path_params: Mapping[str, str]) -> str:
    """Fill ``{projectKey}`` and ``{name}`` placeholders, each value encoded as exactly one path segment."""
    values = {**path_params, "projectKey": project_key}

    def fill(name: str) -> str:
        if name not in values:
            raise ValueError(f"missing path parameter {name!r} for {path_template}")
        return encode_segment(str(values[name]))

    parts = path_template.split("{")
    path = [parts[0]]
    for part in parts[1:]:
        name, sep, rest = part.partition("}")
        if not sep:
            raise ValueError(f"unbalanced braces in path template {path_template}")
        path.append(fill(name) + rest)
    return "".join(path)


def encode_segment(value: str) -> str:
    """Percent-encode ``value`` so it is one opaque path segment (``/?#%`` and dot segments included)."""
    if not value:
        raise ValueError("a path parameter must not be empty")
    if value in (".", ".."):
        return "%2E" * len(value)
    return quote(value, safe="")


def new_correlation_id() -> str:
    return f"commercetools-customers-mcp/{uuid.uuid4()}"


class CommercetoolsClient:
    """One pooled HTTP client and token cache per connection. ``transport`` serves both auth and API calls;
    ``events`` hears what happens (module docstring)."""

    def __init__(
        self,
        connection: Connection,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        events: EventHook = ignore_event,
    ) -> None:
        self.connection = connection
        self._sleep = sleep
        self._clock = clock
        self._events = events
        self._http = httpx2.AsyncClient(
            transport=transport,
            timeout=httpx2.Timeout(connection.timeout, connect=connection.connect_timeout),
            headers={"User-Agent": USER_AGENT},
        )
        self._tokens = TokenProvider(connection, self._http, clock=clock, events=events)
        self._api_host = endpoint(connection.api_url)

    async def request(
        self,
        method: str,
        path_template: str,
        *,
        path_params: Mapping[str, str] = {},
        params: Sequence[tuple[str, str]] = (),
        json: Any = None,
        idempotent: bool | None = None,
        correlation_id: str | None = None,
    ) -> ApiResponse:
        """Send one API request under the retry policy of the module docstring."""
        method = method.upper()
        url = self.connection.api_url + build_path(path_template, self.connection.project_key, path_params)
        content = None if json is None else orjson.dumps(json)
        cid = correlation_id or new_correlation_id()
        headers = {"Accept": "application/json", "X-Correlation-ID": cid}
        if content is not None:
            headers["Content-Type"] = "application/json"
        repeatable = method in READ_METHODS or (idempotent if idempotent is not None else method == "DELETE")

        started = self._clock()
        attempts = retries = 0
        refreshed = False
        while True:
            attempts += 1
            host, to_api = self._tokens.host, False
            try:
                token = await self._tokens.get_token()
                host, to_api = self._api_host, True
                response = await self._http.request(
                    method,
                    url,
                    params=list(params) or None,
                    content=content,
                    headers={**headers, "Authorization": f"Bearer {token}"},
                )
            except AuthError as exc:
                delay = self._delay(retries, None, started) if exc.status in RETRY_STATUSES else None
                if delay is None:
                    raise
                reason = "token"
            except httpx2.TransportError as exc:
                if to_api:
                    self._events("request", "network-error")
                reason = "network" if to_api else "token"
                may_have_applied = to_api and not isinstance(exc, NOT_SENT_ERRORS)
                delay = self._delay(retries, None, started) if repeatable or not may_have_applied else None
                if delay is None:
                    raise ApiConnectionError(
                        host,
                        _describe(exc, self.connection),
                        cid,
                        attempts,
                        timed_out=isinstance(exc, httpx2.TimeoutException),
                        may_have_applied=may_have_applied and not repeatable,
                    ) from exc
            else:
                self._events("request", response.status_code)
                if response.status_code == 401 and not refreshed:
                    refreshed = True
                    self._tokens.invalidate(token)
                    self._events("retry", "401")
                    continue
                delay = None
                if response.status_code in RETRY_STATUSES and (repeatable or response.status_code == 429):
                    delay = self._delay(retries, _retry_after(response.headers.get("Retry-After")), started)
                if delay is None:
                    return ApiResponse(
                        response.status_code, _body(response), response.headers, cid, attempts, response.content
                    )
                reason = str(response.status_code)
            retries += 1
            self._events("retry", reason)
            await self._sleep(delay)

    async def granted_scopes(self) -> tuple[str, ...]:
        """The scopes the connection's token grants (fetching a token if none is cached); AuthError,
        httpx2.TransportError as a token fetch raises them."""
        await self._tokens.get_token()
        return self._tokens.granted

    async def aclose(self) -> None:
        await self._http.aclose()

    def _delay(self, retries: int, retry_after: float | None, started: float) -> float | None:
        """Seconds to wait before the next retry, or None when the retry budget is spent."""
        if retries >= self.connection.max_retries:
            return None
        if retry_after is None:
            delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**retries))
        else:
            delay = min(retry_after, RETRY_AFTER_CAP)
        if self._clock() - started + delay > self.connection.max_retry_time:
            return None
        return delay


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _body(response: httpx2.Response) -> Any:
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:MAX_TEXT_BODY]


def _describe(exc: httpx2.TransportError, connection: Connection) -> str:
    name = type(exc).__name__
    if isinstance(exc, httpx2.ConnectTimeout):
        return f"no connection within {connection.connect_timeout:g} s ({name})"
    if isinstance(exc, httpx2.TimeoutException):
        return f"no answer within {connection.timeout:g} s ({name})"
    text = str(exc) or _SILENT.get(name, "")
    return f"{name}: {text}" if text else name


# What a transport error without a message of its own means, so the line says more than a class name.
_SILENT = {
    "ConnectError": "refused, unreachable, or the host name did not resolve",
    "ReadError": "the connection broke while reading the answer",
    "WriteError": "the connection broke while sending the request",
    "RemoteProtocolError": "the server closed the connection or answered something that is not HTTP",
}

"""HTTP ↔ backend: the emulator's ASGI app. It only translates: routing, the bearer and Basic headers, query
strings and forms, JSON bodies, and errors rendered in the API's shape. The work is the backend's
(``backend.Emulator.run``, ``oauth``).

A plain ASGI callable rather than a framework app: a GET by id spends most of its time in the HTTP server, and
what is left here is kept to the few steps it needs (measured in docs/benchmarks).
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from types import SimpleNamespace
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qsl, unquote

import orjson

from . import errors, oauth
from .accesslog import mask
from .backend import AuthRequest, AuthRoute, Ctx, Emulator
from .faults import FaultMiddleware, Faults
from .requests import Query, Req

log = logging.getLogger("commercetools_customers_mcp.emulator")
MAX_BODY = 16 * 1024 * 1024
MAX_DEPTH = 64  # the API's documents are nowhere near this deep
API_METHODS = frozenset({"GET", "HEAD", "POST", "DELETE"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
_JSON = [(b"content-type", b"application/json")]


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


class Declared(Protocol):
    """What the router needs of a route: ``backend.Route`` (the API, below ``/{projectKey}``) and
    ``backend.AuthRoute`` (the auth API) both are."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...


R = TypeVar("R", bound=Declared)


class Router(Generic[R]):
    """Declared routes, matched on the **raw** (still percent-encoded) path: ``%2F`` inside a key or an id
    stays part of that one segment instead of splitting it, and each parameter is unquoted after matching.
    Routes are grouped by first path segment and number of segments (a placeholder is one segment) and tried in
    declaration order within a group, so a resource's own routes (``/customers/search``) win over the generic
    ones (``/customers/{id}``)."""

    def __init__(self, routes: Sequence[R]) -> None:
        self.groups: dict[tuple[str, int], list[tuple[re.Pattern[str], R]]] = {}
        for route in routes:
            if "{" in route.path.lstrip("/").partition("/")[0]:
                raise ValueError(f"route {route.path!r}: the first path segment must be literal")
            self.groups.setdefault(_group(route.path), []).append((_pattern(route.path), route))

    def find(self, method: str, path: str) -> tuple[R, dict[str, str]] | None:
        """The route of ``method`` on ``path`` and its parameters, None without one."""
        for pattern, route in self.groups.get(_group(path), ()):
            if route.method == method:
                m = pattern.match(path)
                if m:
                    return route, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    def match(self, method: str, path: str) -> tuple[R, dict[str, str]] | None:
        """As ``find``, but 405 MethodNotAllowed when only another method's route is on ``path``."""
        found = self.find(method, path)
        if found is None and any(pattern.match(path) for pattern, _ in self.groups.get(_group(path), ())):
            raise errors.ApiError(405, [{"code": "MethodNotAllowed", "message": f"Method {method} not allowed here."}])
        return found


def _group(path: str) -> tuple[str, int]:
    return path.lstrip("/").partition("/")[0], path.count("/")


def _pattern(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(path))
    return re.compile(f"^{regex}$")


# ---------------------------------------------------------------- reading and writing HTTP


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _query(scope: Scope) -> list[tuple[str, str]]:
    raw = scope.get("query_string", b"")
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if raw else []


def _too_large() -> errors.ApiError:
    return errors.ApiError(
        413, [{"code": "InvalidInput", "message": f"The request body is too large (at most {MAX_BODY} bytes)."}]
    )


def _check_length(scope: Scope) -> None:
    """413 before reading a body whose declared length is over the limit."""
    declared = _header(scope, b"content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > MAX_BODY:
        raise _too_large()


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    """The request body, cut off at the limit: a declared length over it is refused before reading, a streamed
    body as soon as it passes it (nothing past the limit is kept)."""
    _check_length(scope)
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_large()
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _read_json(scope: Scope, receive: Receive) -> Any:
    raw = await _read_body(scope, receive)
    if not raw.strip():
        return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.invalid_json(f"Malformed JSON: {exc}") from None
    if _depth(body) > MAX_DEPTH:
        raise errors.invalid_json(f"The JSON document is nested more than {MAX_DEPTH} levels deep.")
    return body


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, level = 0, [(value, 1)]
    while level:
        node, depth = level.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        level.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


async def _form(scope: Scope, receive: Receive) -> dict[str, str]:
    """OAuth parameters: the query string, then the urlencoded body."""
    params = dict(_query(scope))
    body = await _read_body(scope, receive)
    if body:
        params.update(parse_qsl(body.decode(errors="replace")))
    return params


def _basic(scope: Scope) -> tuple[str, str] | None:
    """Client id and secret from a Basic authorization header, None without one (then the form has them)."""
    header = _header(scope, b"authorization") or ""
    if header[:6].lower() != "basic ":
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise errors.auth_error(401, "invalid_client", "Malformed Basic authorization header.") from None
    return client_id, secret


async def _send(send: Send, status: int, payload: Any, head: bool = False) -> None:
    if payload is None or head:
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    body = orjson.dumps(payload)
    headers = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------- the app


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Whether a Host header value matches an allow-list entry: exact, or ``name:*`` for ``name`` on any port."""
    host = host.lower()
    for pattern in allowed:
        pattern = pattern.lower()
        if host == pattern:
            return True
        if pattern.endswith(":*"):
            base = pattern[:-2]
            if host == base or (host.startswith(base + ":") and host[len(base) + 1 :].isdigit()):
                return True
    return False


class EmulatorApp:
    """The emulator over HTTP. ``state.emulator`` is the backend (for tests), ``state.faults`` the fault
    injection config or None. With ``allowed_hosts`` every request's Host header must match one of them (DNS
    rebinding protection for a server on loopback; ``host_allowed``), else 421."""

    def __init__(
        self, emulator: Emulator, faults: Faults | None = None, allowed_hosts: Sequence[str] | None = None
    ) -> None:
        self.emulator = emulator
        self.allowed_hosts = tuple(allowed_hosts) if allowed_hosts is not None else None
        self.router = Router(emulator.routes)
        self.auth_router = Router(emulator.auth_routes)
        self.state = SimpleNamespace(emulator=emulator, faults=faults)
        self._app: Callable[[Scope, Receive, Send], Awaitable[None]] = self._handle
        self.middleware: tuple[type, ...] = ()  # what wraps the handler, outermost first
        if faults is not None and faults.rules:
            self._app = FaultMiddleware(self._handle, faults=faults)
            self.middleware = (FaultMiddleware,)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self.allowed_hosts is not None and not host_allowed(_header(scope, b"host") or "", self.allowed_hosts):
            refused = errors.ApiError(
                421, [{"code": "InvalidInput", "message": "Invalid Host header: this emulator does not serve it."}]
            )
            await _send(send, 421, refused.body())
            return
        method = scope["method"]
        raw = scope.get("raw_path") or scope["path"].encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        try:
            auth = self.auth_router.find(method, path)
            if auth is not None:
                await self._auth(scope, receive, send, *auth)
            else:
                await self._api(scope, receive, send, method, path)
        except errors.ApiError as exc:
            await _send(send, exc.status, exc.body())
        except ClientGone:
            return
        except Exception:  # never a stack trace to the client; the log keeps it
            log.exception("emulator error on %s %s", method, mask(scope["path"]))
            internal = errors.ApiError(500, [{"code": "General", "message": "Internal emulator error."}])
            await _send(send, 500, internal.body())

    async def _api(self, scope: Scope, receive: Receive, send: Send, method: str, path: str) -> None:
        project_raw, _, rest = path.lstrip("/").partition("/")
        if not project_raw:
            raise errors.not_found(f"The endpoint '{method} {scope['path']}' does not exist.")
        if method not in API_METHODS:
            raise errors.ApiError(405, [{"code": "MethodNotAllowed", "message": f"Method {method} not allowed."}])
        project = unquote(project_raw)
        rest = "/" + rest.rstrip("/")
        emulator = self.emulator
        token = oauth.authenticate(emulator, _header(scope, b"authorization"))
        found = self.router.match(method, rest)
        if found is None:
            raise errors.not_found(f"The endpoint '{method} /{project}{rest}' does not exist.")
        route, params = found
        store = params.get("storeKey")  # a Store's endpoint: that Store's scopes grant it too
        if not oauth.has_scope(token, project, route.scopes, store):
            wanted = [f"{s}:{project}" for s in route.scopes]
            raise errors.insufficient_scope(wanted + [f"{s}:{store}" for s in wanted] if store else wanted)
        body = await _read_json(scope, receive) if route.write else None
        ctx = Ctx(
            emulator,
            project,
            client_id=token.client_id,
            customer_id=token.customer_id,
            scopes=token.scopes,
            anonymous_id=token.anonymous_id,
        )
        status, payload = await emulator.run(route, ctx, Req(method, params, Query(_query(scope)), body))
        await _send(send, status, payload, head=method == "HEAD")

    async def _auth(self, scope: Scope, receive: Receive, send: Send, route: AuthRoute, params: dict[str, str]) -> None:
        """An endpoint of the auth API (``Emulator.auth_routes``): the API client is authenticated first, from the
        Basic header (before the body is read) or else from the form."""
        emulator = self.emulator
        basic = _basic(scope)
        if basic is not None:
            client_id, client = oauth.check_client(emulator, *basic)
        form = await _form(scope, receive)
        if basic is None:
            client_id, client = oauth.check_client(emulator, form.get("client_id"), form.get("client_secret"))
        await _send(send, 200, await route.handler(emulator, AuthRequest(client_id, client, form, params)))


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

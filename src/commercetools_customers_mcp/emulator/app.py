"""HTTP glue: routes → resource services, bearer-token and scope checks, errors in the API's shape."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from . import errors, oauth, service
from .clock import Clock
from .service import Ctx, Req, Resource
from .store import Store

log = logging.getLogger("commercetools_customers_mcp.emulator")
MAX_BODY = 16 * 1024 * 1024
MAX_DEPTH = 64  # the API's documents are nowhere near this deep
Endpoint = Callable[[Ctx, Req], tuple[int, Any]]


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Endpoint
    scopes: tuple[str, ...]
    write: bool


@dataclass
class Emulator:
    """The emulator's state: its store, clock, resource registry, routes and options."""

    store: Store
    clock: Clock
    clients: dict[str, str] | None = None
    registry: dict[str, Resource] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # behaviour knobs, e.g. indexing_delay_seconds
    routes: list[_Route] = field(default_factory=list)

    def register(self, resource: Resource) -> None:
        self.registry[resource.type_id] = resource
        for extra in resource.routes:
            self._add(extra.method, extra.path, extra.handler, extra.scopes)

    def finish_routes(self) -> None:
        """Generic endpoints go after every resource's extra routes, so `/customers/search` wins."""
        for r in list(self.registry.values()):
            if r.endpoint is None:
                continue
            base = f"/{r.endpoint}"
            view, manage = r.view_scopes, r.manage_scopes

            def bind(fn: Callable[[Ctx, Resource, Req], tuple[int, Any]], res: Resource = r) -> Endpoint:
                return lambda ctx, req: fn(ctx, res, req)

            self._add("GET", base, bind(service.query), view)
            self._add("HEAD", base, bind(service.head_query), view)
            if r.create is not None:
                self._add("POST", base, bind(service.create), manage)
            for ident in ("key={key}", "{id}"):
                self._add("GET", f"{base}/{ident}", bind(service.get), view)
                self._add("HEAD", f"{base}/{ident}", bind(service.head_one), view)
                if r.actions:
                    self._add("POST", f"{base}/{ident}", bind(service.update), manage)
                self._add("DELETE", f"{base}/{ident}", bind(service.delete), manage)

    def _add(self, method: str, path: str, handler: Endpoint, scopes: tuple[str, ...]) -> None:
        regex = re.sub(
            r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
        )
        self.routes.append(_Route(method, re.compile(f"^{regex}$"), handler, scopes, method in ("POST", "DELETE")))

    def match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        allowed = False
        for route in self.routes:
            m = route.pattern.match(path)
            if m:
                if route.method == method:
                    return route, {k: unquote(v) for k, v in m.groupdict().items()}
                allowed = True
        if allowed:
            raise errors.ApiError(405, [{"code": "MethodNotAllowed", "message": f"Method {method} not allowed here."}])
        return None


def _error_response(exc: errors.ApiError) -> Response:
    return JSONResponse(exc.body(), status_code=exc.status)


async def _read_json(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise errors.ApiError(413, [{"code": "InvalidInput", "message": "The request body is too large."}])
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


def _has_scope(granted: list[str], project: str, needed: tuple[str, ...]) -> bool:
    if not needed:
        return True
    names = set()
    for scope in granted:
        name, _, proj = scope.partition(":")
        if proj in (project, "*"):
            names.add(name)
    if "manage_project" in names:
        return True
    return any(need in names or (need.startswith("view_") and "manage_" + need[5:] in names) for need in needed)


def build_app(emulator: Emulator) -> Starlette:
    async def api(request: Request) -> Response:
        project = request.path_params["project"]
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1").split("?", 1)[0]
        rest = "/" + raw.lstrip("/").partition("/")[2]
        rest = rest.rstrip("/") or "/"
        try:
            token = oauth.authenticate(emulator, request.headers.get("authorization"))
            found = emulator.match(request.method, rest)
            if found is None:
                raise errors.not_found(f"The endpoint '{request.method} /{project}{rest}' does not exist.")
            route, params = found
            if not _has_scope(token.scopes, project, route.scopes):
                raise errors.insufficient_scope([f"{s}:{project}" for s in route.scopes])
            body = await _read_json(request) if route.write else None
            ctx = Ctx(emulator, project, client_id=token.client_id, customer_id=token.customer_id)
            req = Req(request.method, params, request.query_params, body)
            if route.write:
                with emulator.store.write():
                    status, payload = route.handler(ctx, req)
            else:
                status, payload = route.handler(ctx, req)
        except errors.ApiError as exc:
            return _error_response(exc)
        except Exception:  # never a stack trace to the client; the log keeps it
            log.exception("emulator error on %s %s", request.method, request.url.path)
            return _error_response(errors.ApiError(500, [{"code": "General", "message": "Internal emulator error."}]))
        if request.method == "HEAD" or payload is None:
            return Response(status_code=status)
        return JSONResponse(payload, status_code=status)

    async def token(request: Request) -> Response:
        try:
            return JSONResponse(await oauth.token_endpoint(emulator, request))
        except errors.ApiError as exc:
            return _error_response(exc)

    async def customer_token(request: Request) -> Response:
        try:
            return JSONResponse(await oauth.customer_token_endpoint(emulator, request))
        except errors.ApiError as exc:
            return _error_response(exc)

    async def introspect(request: Request) -> Response:
        return JSONResponse(await oauth.introspect_endpoint(emulator, request))

    methods = ["GET", "HEAD", "POST", "DELETE"]
    routes = [
        StarletteRoute("/oauth/token", token, methods=["POST"]),
        StarletteRoute("/oauth/introspect", introspect, methods=["POST"]),
        StarletteRoute("/oauth/{project}/customers/token", customer_token, methods=["POST"]),
        StarletteRoute("/{project}", api, methods=methods),
        StarletteRoute("/{project}/{rest:path}", api, methods=methods),
    ]

    async def no_route(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        if status == 405:
            error = errors.ApiError(
                405, [{"code": "MethodNotAllowed", "message": f"Method {request.method} not allowed."}]
            )
        else:
            error = errors.not_found(f"The endpoint '{request.method} {request.url.path}' does not exist.")
        return _error_response(error)

    app = Starlette(routes=routes, exception_handlers={404: no_route, 405: no_route})
    app.state.emulator = emulator
    return app

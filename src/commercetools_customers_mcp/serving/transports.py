"""Serving the MCP server: stdio, and stateless streamable HTTP in one Starlette app.

HTTP serves the same endpoint at ``/commercetools-customers`` and ``/mcp``, plus ``GET /healthz`` and, when the
server keeps metrics, ``GET /metrics`` (Prometheus text, ``metrics.py``).
Every request stands alone (stateless), so ``tools/list`` and ``tools/call`` work without initialize and
any replica can answer. A POST is answered with one SSE stream (progress and log messages can travel),
or with plain JSON when the client accepts only ``application/json`` or the server runs ``json_response``.

Controls on the HTTP app, outermost first: API keys (``api_keys.AuthMiddleware``: 401 before MCP, except
``/healthz``) or OAuth access tokens (``oauth.OAuthMiddleware``: 401/403 before MCP, except ``/healthz`` and
the protected-resource metadata; ``/metrics`` needs a key or token like MCP), the request body limit (413, in the
SDK's transport), and DNS-rebinding protection (Host and Origin allow-lists, 421/403, in the SDK's transport;
``/healthz`` and ``/metrics`` apply the same checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sniffio
import uvicorn
from mcp.server import Server
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG

from .. import __version__
from ..core.calls import ALL_PCIDS, CURRENT_PRINCIPAL, Principal
from .api_keys import AuthMiddleware, KeyRing, is_loopback

if TYPE_CHECKING:  # PyJWT/cryptography and prometheus-client load only in servers that use OAuth or metrics
    from .metrics import Metrics
    from .oauth import ResourceServer

MCP_PATHS = ("/commercetools-customers", "/mcp")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
_LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
_LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run a serving coroutine to its end on uvloop when it is installed, else on asyncio's own loop.

    uvloop's transports write to sockets and run callbacks in C: a call over HTTP takes a fifth fewer
    instructions than on asyncio's selector loop (docs/performance.md)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


async def run_stdio(server: Server[Any]) -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def transport_security(
    host: str, allowed_hosts: Sequence[str] = (), allowed_origins: Sequence[str] = ()
) -> TransportSecuritySettings:
    """DNS-rebinding protection: on for loopback binds (plus extra hosts), elsewhere only when hosts are given."""
    if host in LOOPBACK or is_loopback(host):
        return TransportSecuritySettings(
            allowed_hosts=[*_LOOPBACK_HOSTS, *allowed_hosts], allowed_origins=[*_LOOPBACK_ORIGINS, *allowed_origins]
        )
    if allowed_hosts or allowed_origins:
        return TransportSecuritySettings(allowed_hosts=list(allowed_hosts), allowed_origins=list(allowed_origins))
    return TransportSecuritySettings(enable_dns_rebinding_protection=False)


def _accepts_only_json(scope: Scope) -> bool:
    accept = dict(scope.get("headers") or ()).get(b"accept", b"").decode("latin-1").lower()
    types = {part.split(";")[0].strip() for part in accept.split(",")}
    return "application/json" in types and not types & {"text/event-stream", "text/*", "*/*"}


class _Endpoint:
    """Routes each request to the SSE or the JSON session manager."""

    def __init__(self, sse: StreamableHTTPSessionManager, json: StreamableHTTPSessionManager, json_only: bool) -> None:
        self.sse, self.json, self.json_only = sse, json, json_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # anyio asks sniffio which event loop runs on every Event, CancelScope, checkpoint and task group the SDK
        # and httpcore create for a request, and sniffio finds out by looking up the current task (a getpid()
        # system call each on Python 3.11); uvicorn runs asyncio, so say so once for this request's context.
        sniffio.current_async_library_cvar.set("asyncio")
        use_json = self.json_only or (scope.get("method") == "POST" and _accepts_only_json(scope))
        await (self.json if use_json else self.sse).handle_request(scope, receive, send)


def http_app(
    server: Server[Any],
    *,
    connection_ids: Sequence[str] = (),
    json_response: bool = False,
    security: TransportSecuritySettings | None = None,
    keys: KeyRing | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    oauth: ResourceServer | None = None,
    metrics: Metrics | None = None,
    metrics_readers: frozenset[str] = frozenset(),
    worker: int | None = None,
) -> Starlette:
    """The app serving MCP at both paths plus /healthz (and /metrics with ``metrics``); its lifespan runs the
    session managers.

    With ``keys`` every request but ``/healthz`` needs ``Authorization: Bearer <key>`` (401 otherwise), and
    /healthz no longer lists the connection ids. ``oauth`` (instead of keys) makes it an OAuth resource server
    (``oauth``). Bodies over ``max_body_bytes`` are answered with 413. A ``worker`` of ``serve --workers``
    says its number and pid in /healthz. /metrics counts every connection's calls, so an authenticated caller
    reads it only when named in ``metrics_readers`` (key names, token subjects) or, with none named, when it may
    use every connection (``pcids = ["*"]``); others get 403."""
    if keys and oauth is not None:
        raise ValueError("use API keys or OAuth, not both")
    security = security or transport_security("127.0.0.1")
    managers = [
        StreamableHTTPSessionManager(
            app=server,
            json_response=mode,
            stateless=True,
            security_settings=security,
            max_request_body_size=max_body_bytes,
        )
        for mode in (False, True)
    ]
    endpoint = _Endpoint(managers[0], managers[1], json_response)

    checks = TransportSecurityMiddleware(security)

    async def healthz(request: Request) -> Response:
        refused = await checks.validate_request(request)  # the MCP paths' Host/Origin checks (DNS rebinding)
        if refused is not None:
            return refused
        body: dict[str, Any] = {"status": "ok", "version": __version__}
        if not keys and oauth is None:
            body["connections"] = list(connection_ids)
        if worker is not None:
            body.update(worker=worker, pid=os.getpid())
        return JSONResponse(body)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with managers[0].run(), managers[1].run():
            yield

    async def metrics_page(request: Request) -> Response:
        refused = await checks.validate_request(request)
        if refused is not None or metrics is None:
            return refused or Response(status_code=404)
        caller = CURRENT_PRINCIPAL.get()
        if caller is not None and not may_read_metrics(caller, metrics_readers):
            message = f"this {caller.kind} may not read /metrics (it counts every connection's calls)"
            return JSONResponse({"error": "forbidden", "message": message}, status_code=403)
        body, content_type = metrics.exposition(request.headers.get("accept", ""))
        return Response(body, headers={"Content-Type": content_type})

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if metrics is not None:
        routes.append(Route("/metrics", metrics_page, methods=["GET"]))
    routes += [Route(path, endpoint, methods=["GET", "POST", "DELETE"]) for path in MCP_PATHS]
    middleware = [Middleware(AuthMiddleware, keys=keys)] if keys else []
    if oauth is not None:
        from .oauth import OAuthMiddleware

        routes += oauth.routes(MCP_PATHS)
        middleware = [Middleware(OAuthMiddleware, resource=oauth, mcp_paths=MCP_PATHS)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


def may_read_metrics(caller: Principal, readers: frozenset[str]) -> bool:
    """Named readers only, when any are named; else a caller that may use every connection."""
    return caller.name in readers if readers else ALL_PCIDS in caller.pcids


GRACEFUL_SHUTDOWN_SECONDS = 30
"""On SIGTERM/SIGINT, requests in flight get this long to finish before they are cancelled."""


class _Server(uvicorn.Server):
    """uvicorn, except that a SIGTERM/SIGINT it handled gracefully is not raised again once it has stopped: uvicorn
    re-raises it, which killed the process before the clients were closed and made a requested stop exit 143.

    The signals uvicorn will re-raise are its internal ``Server._captured_signals`` (pyproject.toml bounds uvicorn
    to the releases tested); a release without that list stops the start here, saying so, instead of failing or
    exiting 143 at the end."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        if not isinstance(getattr(self, "_captured_signals", None), list):
            raise RuntimeError(
                f"uvicorn {uvicorn.__version__} keeps no Server._captured_signals list, which serve empties to stop "
                "gracefully on SIGTERM; install a release the package's dependencies allow"
            )

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()


def check_uvicorn() -> None:
    """The start-up check of what ``_Server`` relies on: ``RuntimeError``, saying why, when this uvicorn lacks it."""
    _Server(uvicorn.Config("unused:app", log_config=None))


async def run_http(
    app: ASGIApp,
    host: str,
    port: int,
    log_level: str = "warning",
    *,
    sock: socket.socket | None = None,
    worker: bool = False,
) -> None:
    """Serve ``app`` until SIGTERM/SIGINT, then stop gracefully; on ``sock`` when given (already listening). A
    ``worker`` of ``serve --workers`` lets uvicorn's own log lines go through the root logger (whose format names
    the worker)."""
    # h11, not httptools: httptools keeps the surrounding whitespace of header values, and MCP requires
    # `Mcp-Name: " x "` to match the body's name (the conformance suite's sep-2243 check).
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level.lower(),
        lifespan="on",
        http="h11",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        log_config=None if worker else LOGGING_CONFIG,
    )
    await _Server(config).serve(sockets=[sock] if sock is not None else None)

"""Serving the MCP server: stdio, and stateless streamable HTTP in one Starlette app.

HTTP serves the same endpoint at ``/commercetools-customers`` and ``/mcp``, plus ``GET /healthz``.
Every request stands alone (stateless), so ``tools/list`` and ``tools/call`` work without initialize and
any replica can answer. A POST is answered with one SSE stream (progress and log messages can travel),
or with plain JSON when the client accepts only ``application/json`` or the server runs ``json_response``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import uvicorn
from mcp.server import Server
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import __version__

MCP_PATHS = ("/commercetools-customers", "/mcp")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
_LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


async def run_stdio(server: Server[Any]) -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def transport_security(
    host: str, allowed_hosts: Sequence[str] = (), allowed_origins: Sequence[str] = ()
) -> TransportSecuritySettings:
    """DNS-rebinding protection: on for loopback binds (plus extra hosts), elsewhere only when hosts are given."""
    if host in LOOPBACK:
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
        use_json = self.json_only or (scope.get("method") == "POST" and _accepts_only_json(scope))
        await (self.json if use_json else self.sse).handle_request(scope, receive, send)


def http_app(
    server: Server[Any],
    *,
    connection_ids: Sequence[str] = (),
    json_response: bool = False,
    security: TransportSecuritySettings | None = None,
) -> Starlette:
    """The Starlette app serving MCP at both paths plus /healthz. Its lifespan runs the session managers."""
    security = security or transport_security("127.0.0.1")
    managers = [
        StreamableHTTPSessionManager(app=server, json_response=mode, stateless=True, security_settings=security)
        for mode in (False, True)
    ]
    endpoint = _Endpoint(managers[0], managers[1], json_response)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__, "connections": list(connection_ids)})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with managers[0].run(), managers[1].run():
            yield

    routes = [Route("/healthz", healthz, methods=["GET"])]
    routes += [Route(path, endpoint, methods=["GET", "POST", "DELETE"]) for path in MCP_PATHS]
    return Starlette(routes=routes, lifespan=lifespan)


async def run_http(app: Starlette, host: str, port: int, log_level: str = "warning") -> None:
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level.lower(), lifespan="on")
    await uvicorn.Server(config).serve()

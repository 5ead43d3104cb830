"""The MCP server: lists the catalogue and turns each tool call into one commercetools request.

Flow of a call: find the tool → check a connection exists → validate the arguments (every problem is
reported) → resolve ``PCID`` → build the request from the catalogue row → ``client.request`` → a result.
Nothing escapes as an exception: every failure is an ``isError`` result with a hint and a correlation id.
One line per call is logged to stderr: tool, PCID, status, duration, correlation id (never argument values).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import orjson
from mcp import types
from mcp.server import Server, ServerRequestContext

from . import __version__
from .auth import AuthError
from .catalog.hints import error_hint, tool_description
from .catalog.schemas import ArgumentValidator, input_schema
from .catalog.tools import BY_NAME, PCID, TOOLS, Tool, build_request
from .client import ApiConnectionError, ApiResponse, CommercetoolsClient, new_correlation_id

SERVER_NAME = "commercetools-customers"
log = logging.getLogger("commercetools_customers_mcp")

NO_CONNECTION = (
    "No commercetools connection is configured. Set CTP_PROJECT_KEY, CTP_CLIENT_ID, CTP_CLIENT_SECRET, "
    "CTP_AUTH_URL, CTP_API_URL and CTP_SCOPES, or pass --connections FILE (a TOML file with "
    "[connections.<id>] tables), or run `commercetools-customers-mcp serve` without connections to use the "
    "embedded emulator."
)


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _result(structured: dict[str, Any] | None, *, error: bool = False, text: str | None = None) -> types.CallToolResult:
    body = text if text is not None else _json_text(structured)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=body)], structured_content=structured, is_error=error
    )


def error_result(
    message: str, *, hint: str = "", correlation_id: str | None = None, **extra: Any
) -> types.CallToolResult:
    """An isError result for a failure that did not come from the API."""
    structured: dict[str, Any] = {"message": message, **extra}
    if hint:
        structured["hint"] = hint
    if correlation_id:
        structured["correlationId"] = correlation_id
    return _result(structured, error=True)


def strip_passwords(value: Any) -> Any:
    """Drop the ``password`` hash from every customer object (any dict with ``authenticationMode``)."""
    if isinstance(value, list):
        return [strip_passwords(v) for v in value]
    if isinstance(value, dict):
        return {
            k: strip_passwords(v) for k, v in value.items() if not (k == "password" and "authenticationMode" in value)
        }
    return value


def api_result(tool: Tool, response: ApiResponse) -> types.CallToolResult:
    body = strip_passwords(response.body)
    if response.status < 400:
        if isinstance(body, dict):
            return _result(body)
        if body is None:
            return _result(None, text=f"HTTP {response.status} (no body)")
        return _result(None, text=_json_text(body))
    raw = body if isinstance(body, dict) else {}
    errors = raw.get("errors") if isinstance(raw.get("errors"), list) else []
    structured = {
        "statusCode": response.status,
        "message": raw.get("message") or f"HTTP {response.status}",
        "errors": errors,
        "hint": error_hint(tool, response.status, raw, response.attempts),
        "correlationId": response.correlation_id,
    }
    return _result(structured, error=True)


class ToolServer:
    """The state behind the MCP handlers: connections, published tools and validators."""

    def __init__(self, clients: Mapping[str, CommercetoolsClient], *, compact: bool = False) -> None:
        self.clients = dict(clients)
        pcid_required = len(self.clients) > 1
        self.schemas = {t.name: input_schema(t, pcid_required=pcid_required, compact=compact) for t in TOOLS}
        self.tools = [
            types.Tool(
                name=t.name,
                title=t.title,
                description=tool_description(t),
                input_schema=self.schemas[t.name],
                annotations=types.ToolAnnotations(
                    title=t.title,
                    read_only_hint=t.read_only,
                    destructive_hint=t.destructive,
                    idempotent_hint=t.idempotent,
                    open_world_hint=True,
                ),
            )
            for t in TOOLS
        ]
        self._pcid_required = pcid_required
        self._validators: dict[str, ArgumentValidator] = {}

    def validator(self, tool: Tool) -> ArgumentValidator:
        if tool.name not in self._validators:
            self._validators[tool.name] = ArgumentValidator(tool, self._pcid_required)
        return self._validators[tool.name]

    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tools)

    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        started = time.perf_counter()
        correlation_id = new_correlation_id()
        arguments = dict(params.arguments or {})
        pcid = arguments.get(PCID)
        status: str | int = "error"
        try:
            result, status = await self._call(params.name, arguments, correlation_id)
        except Exception:
            log.exception("tool %s failed unexpectedly (correlation id %s)", params.name, correlation_id)
            result = error_result(
                "Internal error while running the tool; the server log has details.", correlation_id=correlation_id
            )
        duration = (time.perf_counter() - started) * 1000
        log.info(
            "tool=%s pcid=%s status=%s duration_ms=%.1f correlation_id=%s",
            params.name,
            self._pcid_label(pcid),
            status,
            duration,
            correlation_id,
        )
        return result

    async def _call(
        self, name: str, arguments: dict[str, Any], correlation_id: str
    ) -> tuple[types.CallToolResult, str | int]:
        tool = BY_NAME.get(name)
        if tool is None:
            return error_result(f"Unknown tool {name!r}.", hint="Call tools/list for the available tools."), "unknown"
        if not self.clients:
            return error_result(NO_CONNECTION), "unconfigured"
        problems = self.validator(tool).problems(arguments)
        if problems:
            lines = [str(p) for p in problems]
            message = f"Invalid arguments for {name}: " + "; ".join(lines)
            return error_result(message, hint="Fix the listed arguments and call again.", problems=lines), "invalid"
        client = self._client(arguments.get(PCID))
        if client is None:
            known = ", ".join(sorted(self.clients))
            return error_result(
                f"Unknown connection {arguments.get(PCID)!r}." if PCID in arguments else "PCID is required.",
                hint=f"Pass PCID as one of: {known}.",
                knownConnections=sorted(self.clients),
            ), "unknown-pcid"
        req = build_request(tool, arguments)
        try:
            response = await client.request(
                req.method,
                req.path,
                path_params=req.path_params,
                params=req.params,
                json=req.json,
                idempotent=req.idempotent,
                correlation_id=correlation_id,
            )
        except ApiConnectionError as exc:
            return error_result(
                f"Could not reach {exc.host}: {exc.detail} (after {exc.attempts} attempt(s)).",
                hint="Check the connection's api_url/auth_url and the network; the call may be retried.",
                correlation_id=exc.correlation_id,
            ), "unreachable"
        except AuthError as exc:
            return error_result(
                f"The auth server {exc.host} refused a token: HTTP {exc.status} {exc.error}.",
                hint="Check the connection's client id, client secret, scopes and auth_url.",
                correlation_id=correlation_id,
            ), "auth"
        return api_result(tool, response), response.status

    def _pcid_label(self, pcid: Any) -> str:
        if isinstance(pcid, str) and pcid in self.clients:
            return pcid
        return next(iter(self.clients)) if pcid is None and len(self.clients) == 1 else "-"

    def _client(self, pcid: Any) -> CommercetoolsClient | None:
        if pcid is None:
            return next(iter(self.clients.values())) if len(self.clients) == 1 else None
        return self.clients.get(pcid)


def build_server(clients: Mapping[str, CommercetoolsClient], *, compact: bool = False) -> Server[Any]:
    """The MCP server for these connections (id → client). Serves both protocol eras."""
    state = ToolServer(clients, compact=compact)
    server: Server[Any] = Server(
        SERVER_NAME,
        version=__version__,
        instructions=(
            "Manage commercetools customers, customer groups, business units and associate roles. "
            "Read a resource before updating or deleting it: writes need its current version."
        ),
        on_list_tools=state.list_tools,
        on_call_tool=state.call_tool,
        get_tool_input_schema=state.schemas.get,
    )
    return server

"""The MCP server: lists the catalogue and turns each tool call into one commercetools request.

Flow of a call: find the tool → is it published to this caller (``selection``, a read-only caller) → fill in
the policy's parameter defaults and pinned values → validate the arguments (every problem is reported) →
refuse filters and sorts on hidden fields (``catalog/filters``) → resolve ``PCID`` (and the caller's
connection limits) → build the request from the catalogue row → a delete's dry run or confirmation
(``consent``) → ``client.request`` → a result (a refused delete names its blockers) → what the output policy lets
the caller see (``output``). In discovery mode ``call_tool`` enters the same flow.
Nothing escapes as an exception: every failure is an ``isError`` result with a hint and a correlation id.
Every call ends as a ``CallRecord`` that the observers see; the first logs one stderr line per call: tool,
PCID, status, duration, correlation id, caller (never argument values).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec

import anyio
import orjson
from mcp import types
from mcp.server import Server, ServerRequestContext
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .. import __version__
from ..upstream.client import ApiConnectionError, ApiResponse, CommercetoolsClient, new_correlation_id
from ..upstream.tokens import AuthError
from . import discovery as discovery_tools
from .calls import CURRENT_PRINCIPAL, CallRecord, Observer, Outcome, Principal
from .catalog.descriptions import tool_description
from .catalog.field_notes import unknown_field_notes
from .catalog.filters import hidden_field_problems
from .catalog.hints import auth_hint, describe_body, error_code, error_hint, unreachable_hint
from .catalog.impact import BLOCKERS, IMPACT
from .catalog.names import SHORT_NAMES, seed_name
from .catalog.schemas import MAX_QUERY_STRING, ArgumentValidator, published_schemas
from .catalog.tools import BY_NAME, FIELDS, MESSAGES, PCID, STORE_KEY, Tool, build_request, query_string_length
from .consent import DEFAULT_MODE, STATE_TTL, Asker, Consent, form_elicitation, listing
from .policy import Policy, ToolOverride
from .projection import project
from .redaction import OutputPolicy, hide_token_values
from .selection import ToolPolicy
from .stores import HIDDEN_NOTE, checks_reset_email, connection_store, unusable_reset_token
from .tabular import tabular

SERVER_NAME = "commercetools-customers"
log = logging.getLogger("commercetools_customers_mcp")

NO_CONNECTION = (
    "No commercetools connection is configured. Set CTP_PROJECT_KEY, CTP_CLIENT_ID, CTP_CLIENT_SECRET, "
    "CTP_AUTH_URL, CTP_API_URL and CTP_SCOPES, or pass --connections FILE (a TOML file with "
    "[connections.<id>] tables), or run `commercetools-customers-mcp serve` without connections to use the "
    "embedded emulator."
)


# Arguments whose where/sort/search text is longer than this are checked in a worker thread: parsing 16
# predicates of 5,000 characters took long enough on the event loop to raise every other caller's p50 from 7 to
# 388 ms (issue #18 item 2). Below it, a thread hop would cost more than the parse.
OFF_LOOP_CHARS = 4_000


def _filter_chars(arguments: Mapping[str, Any]) -> int:
    """The length of the text a call asks to parse (where, sort; a search query counted by its JSON size)."""
    total = 0
    for name in ("where", "sort"):
        value = arguments.get(name)
        for item in value if isinstance(value, list) else ():
            total += len(item) if isinstance(item, str) else 0
    query = arguments.get("query")
    if isinstance(query, dict | list):
        total += len(orjson.dumps(query))
    return total


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
    """Drop the ``password`` hash from every customer object (any dict with ``authenticationMode``), in place:
    the value is a freshly parsed response body, and rebuilding it cost more than the rest of a call's work."""
    stack = [value]
    while stack:
        node = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        if isinstance(node, dict) and "password" in node and "authenticationMode" in node:
            del node["password"]
        stack.extend(child for child in children if isinstance(child, dict | list))
    return value


def may_hold_password(content: bytes | None) -> bool:
    """Whether a raw API body may carry a ``password`` key, so ``strip_passwords`` must walk it: unless the bytes
    are known and hold neither the key nor any ``\\u`` escape (a JSON key may be spelled with escapes). Walking a
    page of 20 customers costs ~0.2 ms; a search for the key in its bytes, microseconds."""
    return content is None or b'"password"' in content or b"\\u" in content


def has_header_annotations(schema: dict[str, Any]) -> bool:
    """Whether an input schema names an ``x-mcp-header`` anywhere (2026-07-28: a property mirrored in a header)."""
    return b'"x-mcp-header"' in orjson.dumps(schema)


def loggable_name(name: Any) -> str:
    """A tool name as logs and messages may show it: a known name as is, anything else escaped and bounded,
    so a caller can neither forge log lines (a newline in the name) nor bloat the log."""
    if isinstance(name, str) and (seed_name(name) in BY_NAME or name in discovery_tools.META_NAMES):
        return name
    text = repr(name[:64] if isinstance(name, str) else type(name).__name__)
    return f"unknown:{text}" + ("…" if isinstance(name, str) and len(name) > 64 else "")


def api_result(
    tool: Tool,
    response: ApiResponse,
    policy: ToolPolicy | None = None,
    notes: Sequence[str] = (),
    *,
    token_values: bool = False,
    fields: Sequence[str] | None = None,
) -> types.CallToolResult:
    """The API's answer as a tool result; ``notes`` (fields the call named that do not exist) follow the JSON as
    a second text block, or go into an error's ``notes``. Token Messages lose their token value unless
    ``token_values`` (the output policy's choice). ``fields`` trims a read's answer (``projection``) before the
    output policy sees it."""
    body = strip_passwords(response.body) if may_hold_password(response.content) else response.body
    if tool.family is MESSAGES and not token_values:
        hide_token_values(body)
    if response.status < 400 and fields is not None:
        body = project(tool, body, fields)
    if response.status < 400:
        if isinstance(body, dict):
            result = _result(body)
        elif body is None:
            result = _result(None, text=f"HTTP {response.status} (no body)")
        else:
            result = _result(None, text=_json_text(body))
        if notes:
            text = "Note: the API does not check field names (a filter on a missing field matches nothing, a sort on "
            text += "one is ignored). " + " ".join(notes)
            result.content.append(types.TextContent(type="text", text=text))
        return result
    raw = body if isinstance(body, dict) else {}
    errors = raw.get("errors") if isinstance(raw.get("errors"), list) else []
    structured = {
        "statusCode": response.status,
        "message": describe_body(body) or f"HTTP {response.status}",
        "errors": errors,
        "hint": (policy or ToolPolicy()).rename_text(error_hint(tool, response.status, body, response.attempts)),
        "correlationId": response.correlation_id,
    }
    if notes:
        structured["notes"] = list(notes)
    return _result(structured, error=True)


def tool_annotations(tool: Tool) -> types.ToolAnnotations:
    """A tool's behaviour hints, each said where it differs from the MCP default (readOnly false, destructive true,
    idempotent false, openWorld true: every tool reaches an outside API) and where it means something (destructive
    and idempotent only for writes); ``destructiveHint`` is said on every write, so a client that ignores the
    defaults still tells a delete from an update."""
    if tool.read_only:
        return types.ToolAnnotations(read_only_hint=True)
    return types.ToolAnnotations(destructive_hint=tool.destructive, idempotent_hint=tool.idempotent or None)


class LogObserver:
    """One stderr line per call: tool, PCID, status, duration, correlation id, caller (never argument values)."""

    def call_started(self, name: str) -> None:
        pass

    def call_finished(self, record: CallRecord) -> None:
        log.info(
            "tool=%s pcid=%s status=%s duration_ms=%.1f correlation_id=%s%s",
            record.name,
            record.pcid,
            record.outcome,
            record.duration_ms,
            record.correlation_id,
            f" key={record.principal.name}" if record.principal is not None else "",
        )


class ToolServer:
    """The state behind the MCP handlers: connections, published tools, validators and call observers.

    ``clients`` are the connections (id → client); ``compact`` publishes compact schemas; ``policy`` selects the
    published tools (toolsets, read-only mode, allow/deny lists) and picks seed or short names; ``observers`` see
    every call (the log line is always one); ``discovery`` lists three discovery tools instead of the catalogue
    (``discovery.py``); ``rules`` is the operator's policy file (output filtering and tool overrides,
    ``policy.py``); ``confirm_destructive`` (off | if-supported | always; else the policy file's, else
    if-supported) whether a delete asks its user first (``consent.py``); ``state_key`` seals its 2026-07-28
    request states (None: a key of this process; ``--workers`` hands every worker the same one).
    Raises ``selection.SelectionError`` if no tool is published."""

    def __init__(
        self,
        clients: Mapping[str, CommercetoolsClient],
        *,
        compact: bool = False,
        policy: ToolPolicy | None = None,
        observers: Sequence[Observer] = (),
        discovery: bool = False,
        rules: Policy | None = None,
        confirm_destructive: str | None = None,
        state_key: bytes | None = None,
    ) -> None:
        rules = rules or Policy()
        self.clients = dict(clients)
        self.policy = policy or ToolPolicy()
        self.output: OutputPolicy = rules.output
        mode = confirm_destructive or rules.confirm_destructive or DEFAULT_MODE
        self._state_key = state_key
        self.consent = Consent(lambda tool, response: api_result(tool, response, self.policy), mode, self.output)
        self.overrides: dict[str, ToolOverride] = dict(rules.tools)
        self.observers: tuple[Observer, ...] = (LogObserver(), *observers)
        self.discovery = discovery
        self._compact = compact
        pcid_required = len(self.clients) > 1
        published = self.policy.published()
        self._messages = any(t.family is MESSAGES for t in published)
        self.visible = {t.name for t in published}
        self.schemas: dict[str, dict[str, Any]] = {}
        schemas = published_schemas(
            published,
            pcid_required=pcid_required,
            compact=compact,
            name=self.policy.published_name,
            together=not discovery,
        )
        for t in published:
            schema = schemas[t.name]
            if t.name in self.overrides:
                schema = self.overrides[t.name].schema(schema)
            self.schemas[t.name] = self.schemas[SHORT_NAMES[t.name]] = schema
        if discovery:
            self.schemas.update((t.name, t.input_schema) for t in discovery_tools.META_TOOLS)
        self.tools = [
            types.Tool(
                name=self.policy.published_name(t),
                title=None if compact else t.title,
                description=self._description(t),
                input_schema=self.schemas[t.name],
                annotations=tool_annotations(t),
            )
            for t in published
        ]
        self._by_seed_name = {t.name: listed for t, listed in zip(published, self.tools, strict=True)}
        # find_tools' word index of each tool, built once (~5 ms for the catalogue, once per call otherwise)
        self._indexes = {t.name: discovery_tools.index(t) for t in self.tools} if discovery else {}
        self._pcid_required = pcid_required
        self._validators: dict[str, ArgumentValidator] = {}
        # The SDK checks a 2026-07-28 call's Mcp-Param-* headers against the schema ``header_schema`` returns,
        # walking all of it twice per call to find ``x-mcp-header`` annotations (~0.4 ms for an update tool).
        # Only an annotated schema can fail that check, so only those are handed over; the others (all today)
        # answer None, which the SDK reads as nothing to check.
        self._header_schemas = {name: s for name, s in self.schemas.items() if has_header_annotations(s)}

    def header_schema(self, name: str) -> dict[str, Any] | None:
        """The input schema the SDK checks Mcp-Param-* headers against: only a schema with annotations."""
        return self._header_schemas.get(name)

    def _description(self, tool: Tool) -> str:
        override = self.overrides.get(tool.name)
        if override is not None and override.description is not None:
            return override.description
        return self.policy.rename_text(tool_description(tool, self._compact, self._messages))

    def validator(self, tool: Tool) -> ArgumentValidator:
        if tool.name not in self._validators:
            self._validators[tool.name] = ArgumentValidator(tool, self._pcid_required)
        return self._validators[tool.name]

    def usable(self, tool: Tool, principal: Principal | None) -> bool:
        """Published by the selection, and allowed to this caller (a read-only caller gets read-only tools)."""
        return tool.name in self.visible and (principal is None or not principal.read_only or tool.read_only)

    def listed(self, principal: Principal | None) -> list[types.Tool]:
        """The catalogue tools this caller sees."""
        if principal is None or not principal.read_only:
            return self.tools
        return [listed for name, listed in self._by_seed_name.items() if BY_NAME[name].read_only]

    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        if self.discovery:
            return types.ListToolsResult(tools=list(discovery_tools.META_TOOLS))
        return types.ListToolsResult(tools=self.listed(CURRENT_PRINCIPAL.get()))

    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        started = time.perf_counter()
        name, given = params.name, dict(params.arguments or {})
        arguments: object = given
        discovered = self.discovery and name in discovery_tools.META_NAMES
        if discovered and name == discovery_tools.CALL and isinstance(given.get("name"), str):
            name, arguments = given["name"], given.get("arguments")  # observed as the tool it runs
        record = CallRecord(loggable_name(name), new_correlation_id(), CURRENT_PRINCIPAL.get())
        for observer in self.observers:
            observer.call_started(record.name)
        result: types.CallToolResult | types.InputRequiredResult
        try:
            if not isinstance(arguments, dict):  # call_tool's arguments, for the tool it runs
                record.tool = BY_NAME.get(seed_name(name))  # a refused write is audited like any other
                record.outcome = Outcome.INVALID
                result = error_result(
                    "Invalid arguments for call_tool: arguments must be an object.",
                    hint="Pass the tool's arguments as an object, as describe_tool's inputSchema says.",
                )
            elif discovered and name in discovery_tools.META_NAMES:
                result = self._discover(name, arguments, record)
            else:
                result = await self._call(name, arguments, record, _asker(ctx, params))
        except Exception:
            log.exception("tool %s failed unexpectedly (correlation id %s)", record.name, record.correlation_id)
            record.outcome = Outcome.ERROR
            result = error_result(
                "Internal error while running the tool; the server log has details.",
                correlation_id=record.correlation_id,
            )
        except BaseException:  # cancelled (the caller went away): observers still see the call end
            record.outcome = Outcome.CANCELLED
            self._finished(record, started)
            raise
        if isinstance(result, types.CallToolResult) and not (discovered and name in discovery_tools.META_NAMES):
            result = self._shown(result)
        self._finished(record, started)
        return result

    def _finished(self, record: CallRecord, started: float) -> None:
        record.duration_ms = (time.perf_counter() - started) * 1000
        for observer in self.observers:
            observer.call_finished(record)

    def _shown(self, result: types.CallToolResult) -> types.CallToolResult:
        """What the output policy lets the caller see of a result: filtered, and as JSON or tabular text."""
        output, body = self.output, result.structured_content
        if not isinstance(body, dict) or not (output.filters or output.format != "json"):
            return result
        if result.is_error:
            return _result(output.apply_error(body), error=True)
        shown, _ = output.apply(body)
        text = tabular(shown) if output.format == "tabular" else None
        filtered = _result(shown, text=text)
        filtered.content.extend(result.content[1:])  # notes that follow the JSON (unknown fields)
        return filtered

    def _discover(self, name: str, arguments: dict[str, Any], record: CallRecord) -> types.CallToolResult:
        """find_tools / describe_tool (call_tool runs the tool itself): only what this caller may use."""
        problem = discovery_tools.arguments_problem(name, arguments)
        if problem:
            record.outcome = Outcome.INVALID
            return error_result(f"Invalid arguments for {name}: {problem}.", hint="Fix the arguments and call again.")
        principal = record.principal
        if name == discovery_tools.FIND:
            listed = self.listed(principal)
            record.outcome = Outcome.OK
            limit = int(arguments.get("limit", discovery_tools.DEFAULT_LIMIT))  # the schema lets 2.0 pass as 2
            return _result(discovery_tools.find(listed, arguments["query"], limit, self._indexes))
        tool = BY_NAME.get(seed_name(arguments["name"]))
        if tool is None or not self.usable(tool, principal):
            record.outcome = Outcome.UNKNOWN
            return error_result(
                f"No tool {loggable_name(arguments['name'])} on this server.",
                hint=f"Call {discovery_tools.FIND} to find the tools you may use.",
            )
        record.outcome = Outcome.OK
        return _result(discovery_tools.describe(self._by_seed_name[tool.name]))

    async def _call(
        self, name: str, arguments: dict[str, Any], record: CallRecord, asker: Asker
    ) -> types.CallToolResult | types.InputRequiredResult:
        """Run one call, noting on ``record`` how far it got."""
        tool = record.tool = BY_NAME.get(seed_name(name))
        if tool is None:
            record.outcome = Outcome.UNKNOWN
            listing = discovery_tools.FIND if self.discovery else "tools/list"
            return error_result(f"Unknown tool {record.name}.", hint=f"Call {listing} for the available tools.")
        principal = record.principal
        if not self.usable(tool, principal):
            record.outcome = Outcome.DISABLED
            if principal is not None and tool.name in self.visible:  # published, but this caller may only read
                return error_result(
                    f"Tool {name!r} is disabled for this {principal.kind}, which may use read-only tools only.",
                    hint="Use a read-only tool; writes need a credential with write access.",
                )
            return error_result(
                f"Tool {name!r} is disabled on this server (toolsets, read-only mode or tool allow/deny lists).",
                hint="Call tools/list for the available tools.",
            )
        if not self.clients:
            record.outcome = Outcome.UNCONFIGURED
            return error_result(NO_CONNECTION)
        override = self.overrides.get(tool.name)
        problems: list[Any] = []
        if override is not None:
            arguments, problems = override.arguments(arguments)
        named = arguments.get(PCID)
        if principal is not None and isinstance(named, str) and named in self.clients and not principal.allows(named):
            return self._forbidden(record, principal, named)  # before any costly work on the arguments
        allowed = sorted(p for p in self.clients if principal is None or principal.allows(p))
        # Without PCID on a server of several connections, the answer names those this caller may use (and any
        # other problem of the arguments, judged as if PCID had been given).
        unnamed = PCID not in arguments and len(self.clients) > 1
        checked = {**arguments, PCID: next(iter(self.clients))} if unnamed else arguments
        if _filter_chars(arguments) > OFF_LOOP_CHARS:  # long where/sort/search: parse in a worker thread
            problems = problems or await anyio.to_thread.run_sync(self._problems, tool, checked)
        else:
            problems = problems or self._problems(tool, checked)
        if unnamed:
            record.outcome = Outcome.UNKNOWN_PCID
            extra: dict[str, Any] = {"knownConnections": allowed}
            if problems:
                extra["problems"] = [str(p) for p in problems]
            return error_result(
                "PCID is required: this server has several connections (commercetools projects).",
                hint=f"Pass PCID as one of: {', '.join(allowed)}." if allowed else "This caller may use none of them.",
                **extra,
            )
        if problems:
            record.outcome = Outcome.INVALID
            lines = [str(p) for p in problems]
            message = f"Invalid arguments for {name}: " + "; ".join(lines)
            return error_result(message, hint="Fix the listed arguments and call again.", problems=lines)
        pcid, client = self._client(arguments.get(PCID))
        if client is None:
            record.outcome = Outcome.UNKNOWN_PCID
            return error_result(
                f"Unknown connection {arguments.get(PCID)!r}." if PCID in arguments else "PCID is required.",
                hint=f"Pass PCID as one of: {', '.join(allowed)}.",
                knownConnections=allowed,
            )
        record.pcid = pcid
        if principal is not None and not principal.allows(pcid):
            return self._forbidden(record, principal, pcid)
        if tool.store_scoped:  # a connection limited to one Store goes through it (stores.py)
            try:
                store = await connection_store(client)
            except AuthError as exc:
                return self._auth_failed(record, exc)
            if store is not None and arguments.get(STORE_KEY) is None:
                arguments = {**arguments, STORE_KEY: store}
            elif store is not None and arguments[STORE_KEY] != store:
                record.outcome = Outcome.INVALID
                return error_result(
                    f"Connection {pcid!r} reaches the Store {store!r} only; "
                    f"storeKey {arguments[STORE_KEY]!r} is refused.",
                    hint=f"Leave storeKey out or pass {store!r}; another Store needs a connection with its scopes.",
                    allowedStore=store,
                )
        req = record.request = build_request(tool, arguments)
        if query_string_length(req) > MAX_QUERY_STRING:
            record.outcome = Outcome.INVALID
            return error_result(
                f"Invalid arguments for {name}: the where/sort/expand values make the URL longer than "
                f"{MAX_QUERY_STRING} characters.",
                hint="Send shorter or fewer where/sort/expand values.",
            )
        try:
            if tool.destructive:  # a dry run, or the user's confirmation first
                ended = await self.consent.before_delete(tool, arguments, client, record, req, asker)
                if ended is not None:
                    return ended
            response = record.response = await client.request(
                req.method,
                req.path,
                path_params=req.path_params,
                params=req.params,
                json=req.json,
                idempotent=req.idempotent,
                correlation_id=record.correlation_id,
            )
        except ApiConnectionError as exc:
            record.outcome = Outcome.UNREACHABLE
            text = str(exc)
            return error_result(
                f"{text[:1].upper()}{text[1:]}.",
                hint=self.policy.rename_text(
                    unreachable_hint(tool, timed_out=exc.timed_out, may_have_applied=exc.may_have_applied)
                ),
                correlation_id=exc.correlation_id,
            )
        except AuthError as exc:
            return self._auth_failed(record, exc)
        record.outcome = response.status
        notes = unknown_field_notes(tool, arguments)
        if checks_reset_email(tool, arguments, response.status):  # no silent success (stores.py)
            if self.output.hides_filter(("email",)):
                notes = [*notes, HIDDEN_NOTE]
            else:
                found = await unusable_reset_token(client, tool.name, arguments["email"], record.correlation_id)
                if found is not None:
                    extra = {"stores": found.stores} if found.stores else {}
                    hint = self.policy.rename_text(found.hint)
                    return error_result(found.message, hint=hint, correlation_id=record.correlation_id, **extra)
        fields = arguments.get(FIELDS)
        result = api_result(tool, response, self.policy, notes, token_values=self.output.token_values, fields=fields)
        if tool.destructive and response.status >= 400 and error_code(response.body) == "ReferenceExists":
            await self._name_blockers(tool, req, client, record, result)
        return result

    async def _name_blockers(
        self, tool: Tool, req: Any, client: CommercetoolsClient, record: CallRecord, result: types.CallToolResult
    ) -> None:
        """A delete refused for references: every resource that blocks it (up to 50 each, then the count), found by
        the API's own queries, added to the result's message and as ``blockedBy``."""
        try:
            blockers = await self.consent.blockers(tool, req, client, record)
        except (ApiConnectionError, AuthError):
            return
        body = result.structured_content
        named = {name: row for name, row in blockers.items() if row.get("count")}
        if not named or not isinstance(body, dict):
            return
        body["blockedBy"] = named
        nouns = {row.name: row.noun for row in IMPACT.get(tool.family, ())}
        found = (f"{row['count']} {nouns.get(name, name)}: {listing(row, BLOCKERS)}" for name, row in named.items())
        told = all(row["count"] <= len(row["examples"]) for row in named.values()) and all(
            f"'{e}'" in body["message"] for row in named.values() for e in row["examples"]
        )
        if not told:  # the API's message does not name them all (the real API names none)
            body["message"] += " Blocked by " + "; ".join(found) + "."
        result.content[0] = types.TextContent(type="text", text=_json_text(body))

    def _auth_failed(self, record: CallRecord, exc: AuthError) -> types.CallToolResult:
        record.outcome = Outcome.AUTH
        detail = f": {exc.description}" if exc.description else ""
        failed = exc.status >= 500 or exc.status == 429
        said = f"answered {exc.status}" if failed else f"refused a token: HTTP {exc.status} {exc.error}"
        return error_result(
            f"The auth server {exc.host} {said}{detail}.",
            hint=auth_hint(exc.error, exc.status),
            correlation_id=record.correlation_id,
        )

    def _problems(self, tool: Tool, arguments: dict[str, Any]) -> list[Any]:
        """What is wrong with the arguments: the schema's findings, else filters on hidden fields."""
        return self.validator(tool).problems(arguments) or hidden_field_problems(
            tool, arguments, self.output.hides_filter, token_values=self.output.token_values
        )

    def _forbidden(self, record: CallRecord, principal: Principal, pcid: str) -> types.CallToolResult:
        record.pcid, record.outcome = pcid, Outcome.FORBIDDEN
        allowed = sorted(p for p in self.clients if principal.allows(p))
        return error_result(
            f"This {principal.kind} may not use connection {pcid!r}.",
            hint=f"Connections this {principal.kind} may use: {', '.join(allowed) or 'none'}.",
            knownConnections=allowed,
        )

    def _client(self, pcid: Any) -> tuple[str, CommercetoolsClient | None]:
        if pcid is None:
            if len(self.clients) == 1:
                return next(iter(self.clients.items()))
            return "", None
        if not isinstance(pcid, str):
            return "", None
        return pcid, self.clients.get(pcid)

    def mcp_server(self) -> Server[Any]:
        """The MCP server answering with this state. Serves both protocol eras; a 2026-07-28 ``requestState`` (a
        delete's confirmation) is sealed and checked by the SDK's boundary, and one that fails is an isError
        result like every other failure."""
        server: Server[Any] = Server(
            SERVER_NAME,
            version=__version__,
            instructions=(
                "Manage commercetools customers, customer groups, business units and associate roles. "
                "Read a resource before updating or deleting it: writes need its current version."
            ),
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
            get_tool_input_schema=self.header_schema,
        )
        security = (
            RequestStateSecurity(keys=[self._state_key], ttl=STATE_TTL)
            if self._state_key
            else RequestStateSecurity.ephemeral(ttl=STATE_TTL)
        )
        boundary = RequestStateBoundary(security, default_audience=SERVER_NAME)
        server.middleware += [_state_refused_as_result, boundary]
        return server


def _asker(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> Asker:
    """How this call can ask its user: the era's way, if the client declared form elicitation. On 2025-11-25 the
    question is a request to the client during the call, so it also needs a channel back (stdio has one; this
    server's stateless HTTP keeps no session, so neither the client's capabilities nor a way back)."""
    can_ask = form_elicitation(ctx.session.client_capabilities)
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return Asker(can_ask, round_trip=True, state=params.request_state, responses=params.input_responses)
    can_ask = can_ask and ctx.session.can_send_request

    async def elicit(message: str, schema: dict[str, Any]) -> types.ElicitResult:
        return await ctx.session.elicit_form(message, schema, related_request_id=ctx.request_id)

    return Asker(can_ask, elicit=elicit)


async def _state_refused_as_result(ctx: ServerRequestContext[Any], call_next: Any) -> Any:
    """A tools/call whose requestState the boundary refuses (altered, expired, another call's): an isError result."""
    try:
        return await call_next(ctx)
    except MCPError as exc:
        data = exc.data
        if ctx.method != "tools/call" or not (isinstance(data, dict) and data.get("reason") == "invalid_request_state"):
            raise
        log.warning("tools/call refused: requestState invalid or expired")
        return error_result(
            "Nothing was deleted: the confirmation state sent back is invalid, altered or expired.",
            hint="Call the delete again without requestState to be asked again.",
        )


_Arguments = ParamSpec("_Arguments")


def _serving(make: Callable[_Arguments, ToolServer]) -> Callable[_Arguments, Server[Any]]:
    """A function taking exactly ``make``'s arguments and answering the MCP server of what it makes."""

    def build_server(*args: _Arguments.args, **kwargs: _Arguments.kwargs) -> Server[Any]:
        """The MCP server for these connections (id → client), with ``ToolServer``'s arguments."""
        return make(*args, **kwargs).mcp_server()

    return build_server


build_server = _serving(ToolServer)
"""``ToolServer(...).mcp_server()``: the MCP server for these connections, its arguments said once (``ToolServer``)."""

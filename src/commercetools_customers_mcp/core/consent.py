"""Before a delete: its impact (``dry_run``), the user's confirmation through the client, and every blocker named.

``Consent.before_delete`` runs between building a delete's request and sending it, and answers None (send it)
or the result that ends the call instead:

- ``dry_run: true``: the target (id, key, version) and its impact (``catalog/impact.py``: exact counts with
  ``withTotal``, up to 10 examples each, read through the output policy), nothing sent but reads.
- the operator's ``confirm_destructive`` mode: ``off`` never asks; ``if-supported`` (the default) asks a client
  that declares form elicitation and runs the delete unasked otherwise; ``always`` refuses a client that cannot
  ask. Asking is the era's own way (``Asker``): on 2025-11-25 a live ``elicitation/create``; on 2026-07-28 an
  ``InputRequiredResult`` whose ``requestState`` the SDK's ``RequestStateBoundary`` seals (AES-GCM, bound to the
  tool call's name and arguments, expiring after ``STATE_TTL``) and whose plaintext names the tool, connection,
  target and version; each state is good for one answer (its nonce is spent).
  Accept runs the delete (the API still checks the version); decline or cancel is an ``isError`` result saying
  nothing was deleted.

What this proves: the answer came through the client's own user interface, not from the model — a prompt
injection in data the model reads cannot produce it. What it does not: a client that auto-accepts elicitations
(or a ``call --yes``) answers for its user.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from mcp import types
from mcp.shared.exceptions import NoBackChannelError

from ..upstream.client import ApiConnectionError, ApiResponse, CommercetoolsClient
from ..upstream.tokens import AuthError
from .calls import CallRecord, Outcome
from .catalog.impact import BLOCKERS, EXAMPLES, IMPACT, Impact
from .catalog.tools import Request, Tool
from .redaction import OutputPolicy

MODES = ("off", "if-supported", "always")
DEFAULT_MODE = "if-supported"
STATE_TTL = 300.0  # seconds a 2026-07-28 confirmation stays answerable
DRY_RUN = "dry_run"
_QUESTION = "confirm"  # the input request's key, and the form's one field
FORM: dict[str, Any] = {
    "type": "object",
    "properties": {_QUESTION: {"type": "boolean", "title": "Delete it", "description": "Check to delete for good."}},
    "required": [_QUESTION],
}


class Confirmation:
    """What the audit log's ``confirmation`` says of a delete."""

    DRY_RUN = "dry-run"  # a dry run: nothing deleted
    NOT_ASKED = "not-asked"  # mode off, or a client that cannot ask under if-supported
    ASKED = "asked"  # 2026-07-28: the question went back to the client (the call ends here)
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    UNAVAILABLE = "unavailable"  # mode always, and this client cannot ask: refused
    REFUSED = "refused"  # a state that does not fit this call, or was already answered


@dataclass
class Asker:
    """How this call can reach its user: ``elicit`` (2025-11-25, live), or the 2026-07-28 round trip's
    ``state`` (the plaintext the boundary unsealed, None on the first round) and ``responses``."""

    can_ask: bool = False
    round_trip: bool = False
    state: str | None = None
    responses: Mapping[str, Any] | None = None
    elicit: Callable[[str, dict[str, Any]], Awaitable[types.ElicitResult]] | None = None


def form_elicitation(capabilities: types.ClientCapabilities | None) -> bool:
    """Whether a client declared form-mode elicitation (an empty ``elicitation`` object means form)."""
    el = capabilities.elicitation if capabilities is not None else None
    return el is not None and (el.form is not None or el.url is None)


def _error(message: str, hint: str, **extra: Any) -> types.CallToolResult:
    body = {"message": message, "hint": hint, **extra}
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=orjson.dumps(body).decode())],
        structured_content=body,
        is_error=True,
    )


def _ok(body: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=orjson.dumps(body).decode())], structured_content=body
    )


def _dig(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


class Consent:
    """The operator's confirmation mode and the spent 2026-07-28 states of one server."""

    def __init__(
        self,
        error: Callable[[Tool, ApiResponse], types.CallToolResult],
        mode: str = DEFAULT_MODE,
        output: OutputPolicy | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"confirm_destructive must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self._error = error  # an API error as a tool result (server.api_result)
        self.output = output or OutputPolicy()
        self._spent: dict[str, float] = {}  # nonce → when it expires

    # -- the gate -----------------------------------------------------------------------------------------------

    async def before_delete(
        self,
        tool: Tool,
        arguments: Mapping[str, Any],
        client: CommercetoolsClient,
        record: CallRecord,
        req: Request,
        asker: Asker,
    ) -> types.CallToolResult | types.InputRequiredResult | None:
        """None: send the delete. Otherwise the result that ends the call (``record`` says how)."""
        if arguments.get(DRY_RUN) is True:
            record.confirmation = Confirmation.DRY_RUN
            return await self._dry_run(tool, arguments, client, record, req)
        if self.mode == "off" or (not asker.can_ask and self.mode == "if-supported"):
            record.confirmation = Confirmation.NOT_ASKED
            return None
        if not asker.can_ask:
            record.outcome, record.confirmation = Outcome.UNCONFIRMED, Confirmation.UNAVAILABLE
            return _error(
                "Nothing was deleted: this server's operator requires a confirmation by the user before a delete, "
                "and this client cannot show one (it does not declare form elicitation).",
                "Call again with dry_run: true to see what the delete would affect; the delete itself needs a "
                "client that can ask its user (or, with the call command, --yes).",
            )
        binding = {
            "tool": tool.name,
            "pcid": record.pcid,
            "target": req.path_params,
            "version": arguments.get("version"),
        }
        if asker.round_trip and asker.state is not None:
            return self._answered(asker, binding, record)
        target = await self._read(tool, client, req, record)
        if isinstance(target, types.CallToolResult):
            return target
        impact = await self._impact(tool, target, client, record)
        message = question(tool, target, impact)
        if asker.round_trip:
            record.outcome, record.confirmation = Outcome.ASKED, Confirmation.ASKED
            state = orjson.dumps({**binding, "nonce": secrets.token_urlsafe(16)}).decode()
            request = types.ElicitRequest(params=types.ElicitRequestFormParams(message=message, requested_schema=FORM))
            return types.InputRequiredResult(input_requests={_QUESTION: request}, request_state=state)
        assert asker.elicit is not None
        try:
            answer = await asker.elicit(message, FORM)
        except NoBackChannelError:  # declared, but this transport has no way back to the client during a call
            if self.mode == "if-supported":
                record.confirmation = Confirmation.NOT_ASKED
                return None
            record.outcome, record.confirmation = Outcome.UNCONFIRMED, Confirmation.UNAVAILABLE
            return _error(
                "Nothing was deleted: this server's operator requires a confirmation by the user before a delete, "
                "and this connection cannot carry the question to the client.",
                "Call again with dry_run: true to see what the delete would affect.",
            )
        except Exception as exc:  # the client declared elicitation but failed to answer it
            record.outcome, record.confirmation = Outcome.UNCONFIRMED, Confirmation.UNAVAILABLE
            return _error(
                f"Nothing was deleted: asking the user for a confirmation failed ({type(exc).__name__}).",
                "Call again; dry_run: true shows the impact without asking.",
            )
        return self._decided(answer.action, answer.content, record)

    def _answered(self, asker: Asker, binding: dict[str, Any], record: CallRecord) -> types.CallToolResult | None:
        """The 2026-07-28 second round: the state must fit this very call and be unspent."""
        try:
            state = orjson.loads(asker.state or "")
            nonce = state.pop("nonce")
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            state, nonce = None, None
        now = time.monotonic()
        self._spent = {n: t for n, t in self._spent.items() if t > now}
        if state != binding or not isinstance(nonce, str) or nonce in self._spent:
            record.outcome, record.confirmation = Outcome.UNCONFIRMED, Confirmation.REFUSED
            return _error(
                "Nothing was deleted: the confirmation sent back does not belong to this call (another tool, "
                "target or version), or was already used.",
                "Call the delete again without requestState to be asked again.",
            )
        self._spent[nonce] = now + STATE_TTL
        answer = (asker.responses or {}).get(_QUESTION)
        if isinstance(answer, Mapping):
            action, content = answer.get("action"), answer.get("content")
        else:
            action, content = getattr(answer, "action", None), getattr(answer, "content", None)
        return self._decided(action, content, record)

    def _decided(self, action: Any, content: Any, record: CallRecord) -> types.CallToolResult | None:
        confirmed = action == "accept" and isinstance(content, Mapping) and content.get(_QUESTION) is True
        if confirmed:
            record.confirmation = Confirmation.ACCEPTED
            return None
        cancelled = action == "cancel" or action is None
        record.outcome = Outcome.DECLINED
        record.confirmation = Confirmation.CANCELLED if cancelled else Confirmation.DECLINED
        how = "dismissed the confirmation" if cancelled else "did not confirm the delete"
        return _error(
            f"Nothing was deleted: the user {how}.",
            "Do not retry unless the user asks for the delete again.",
            confirmation=record.confirmation,
        )

    # -- reads ---------------------------------------------------------------------------------------------------

    async def _read(
        self, tool: Tool, client: CommercetoolsClient, req: Request, record: CallRecord
    ) -> dict[str, Any] | types.CallToolResult:
        """The target as it is now (the delete's own path, read): a dict, or the API's error as the result."""
        response = await client.request(
            "GET", req.path, path_params=req.path_params, idempotent=True, correlation_id=record.correlation_id
        )
        if response.status < 400 and isinstance(response.body, dict):
            return response.body
        record.outcome, record.response = response.status, response
        return self._error(tool, response)

    async def _impact(
        self,
        tool: Tool,
        target: dict[str, Any],
        client: CommercetoolsClient,
        record: CallRecord,
        *,
        only_blocking: bool = False,
        limit: int = EXAMPLES,
    ) -> dict[str, dict[str, Any]]:
        """Each impact row of the family: exact count, examples (after the output policy), whether it blocks."""
        rows = [r for r in IMPACT.get(tool.family, ()) if r.blocks or not only_blocking]
        found: dict[str, dict[str, Any]] = {}

        async def one(row: Impact) -> None:
            try:
                found[row.name] = await self._row(row, target, client, record, limit)
            except (ApiConnectionError, AuthError) as exc:  # in a task group it would leave as an ExceptionGroup
                found[row.name] = {"count": None, "blocks": row.blocks, "error": f"could not be counted: {exc}"}

        async with anyio.create_task_group() as group:
            for row in rows:
                group.start_soon(one, row)
        return {r.name: found[r.name] for r in rows}

    async def _row(
        self, row: Impact, target: dict[str, Any], client: CommercetoolsClient, record: CallRecord, limit: int
    ) -> dict[str, Any]:
        if row.field:
            items = target.get(row.field) or []
            shown, _ = self.output.apply({"results": items})
            return self._counted(row, len(items), shown.get("results", []))
        params = [("where", row.predicate(str(target.get("id", "")), target.get("key"))), ("limit", str(limit)),
                  ("withTotal", "true")]  # fmt: skip
        response = await client.request(
            "GET", f"/{{projectKey}}/{row.segment}", params=params, idempotent=True,
            correlation_id=record.correlation_id,
        )  # fmt: skip
        body = response.body if isinstance(response.body, dict) else {}
        if response.status >= 400 or not isinstance(body.get("total"), int):
            return {"count": None, "blocks": row.blocks, "error": f"HTTP {response.status}: could not be counted"}
        shown, _ = self.output.apply(body)
        return self._counted(row, body["total"], shown.get("results", []))

    def _counted(self, row: Impact, count: int, items: list[Any]) -> dict[str, Any]:
        hidden = self.output.redacted_with
        examples = []
        for item in items:
            value = _dig(item, row.example)
            if not isinstance(value, str) or value == hidden:
                value = item.get("id") if isinstance(item, dict) else None
            if isinstance(value, str) and value != hidden:
                examples.append(value)
        return {"count": count, "examples": examples, "blocks": row.blocks}

    async def _dry_run(
        self, tool: Tool, arguments: Mapping[str, Any], client: CommercetoolsClient, record: CallRecord, req: Request
    ) -> types.CallToolResult:
        target = await self._read(tool, client, req, record)
        if isinstance(target, types.CallToolResult):
            return target
        impact = await self._impact(tool, target, client, record)
        record.outcome = Outcome.DRY_RUN
        version = target.get("version")
        return _ok(
            {
                "dryRun": True,
                "deleted": False,
                "resource": {"typeId": tool.family.type_id, "id": target.get("id"), "key": target.get("key"),
                             "version": version},
                "versionMatches": version == arguments.get("version"),
                "impact": impact,
                "summary": question(tool, target, impact, dry_run=True),
            }
        )  # fmt: skip

    async def blockers(
        self, tool: Tool, req: Request, client: CommercetoolsClient, record: CallRecord
    ) -> dict[str, dict[str, Any]]:
        """After a refused delete: every blocking row, up to ``BLOCKERS`` examples each ({} if none is known)."""
        if not any(r.blocks for r in IMPACT.get(tool.family, ())):
            return {}
        target = await self._read(tool, client, req, record)
        if isinstance(target, types.CallToolResult):
            return {}
        return await self._impact(tool, target, client, record, only_blocking=True, limit=BLOCKERS)


def _named(tool: Tool, target: Mapping[str, Any]) -> str:
    key = target.get("key")
    return (
        f"{tool.family.noun} {key!r} (id {target.get('id')}, version {target.get('version')})"
        if key
        else (f"{tool.family.noun} {target.get('id')} (version {target.get('version')})")
    )


def listing(row: Mapping[str, Any], limit: int = EXAMPLES) -> str:
    """'a', 'b', 'c' — and how many more."""
    examples, count = row.get("examples") or [], row.get("count") or 0
    text = ", ".join(repr(e) for e in examples[:limit])
    more = count - min(len(examples), limit)
    return text + (f" and {more} more" if more > 0 else "")


def question(
    tool: Tool, target: Mapping[str, Any], impact: Mapping[str, Mapping[str, Any]], *, dry_run: bool = False
) -> str:
    """One or two lines: the target, then what references it."""
    head = f"{'Would delete' if dry_run else 'Delete'} {_named(tool, target)}{'.' if dry_run else '?'}"
    parts = []
    nouns = {r.name: r for r in IMPACT.get(tool.family, ())}
    for name, row in impact.items():
        count = row.get("count")
        if count is None:
            parts.append(f"{nouns[name].noun}: not known ({row.get('error')})")
        elif count:
            examples = listing(row, 3)
            parts.append(f"{count} {nouns[name].noun}" + (f" (e.g. {examples})" if examples else ""))
    if not parts:
        return f"{head} Nothing references it."
    blocked = any(row.get("blocks") and row.get("count") for row in impact.values())
    tail = " — the API will refuse the delete while these remain." if blocked else " keep a reference to it."
    return f"{head} {'; '.join(parts)}{tail}"

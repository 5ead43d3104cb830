"""A tool call as the serving side and observers see it: who calls (``Principal``), how a call ended
(``Outcome``) and its record (``CallRecord``) handed to every ``Observer`` (the log line, audit, metrics).

The serving side makes principals (API keys, OAuth access tokens) and sets ``CURRENT_PRINCIPAL`` for the
request it serves; the MCP core reads it and fills the record; observers read records. None of them needs
another's module for these types.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ..upstream.client import ApiResponse
from .catalog.tools import Request, Tool

ALL_PCIDS = "*"  # in a principal's PCIDs: every connection


@dataclass(frozen=True)
class Principal:
    """Who is calling over HTTP, as an API key or an access token names them, and what they may use: the
    connections (PCIDs, or ``*``) and, with ``read_only``, only read-only tools."""

    name: str
    pcids: frozenset[str]
    read_only: bool = False
    kind: str = "API key"  # what the caller presented, as messages name it ("access token" with OAuth)

    def allows(self, pcid: str) -> bool:
        return ALL_PCIDS in self.pcids or pcid in self.pcids


class Outcome(StrEnum):
    """How a call ended when not with the API's HTTP status: the word the log line, the audit log's ``status``
    and the metrics' ``outcome`` label show (a ``str``, so each of them writes it as is)."""

    OK = "ok"  # a discovery tool (find_tools, describe_tool) answered
    INVALID = "invalid"  # arguments refused (schema, policy, hidden fields, URL length)
    UNKNOWN = "unknown"  # no such tool, or not one this caller may use (discovery)
    DISABLED = "disabled"  # a tool the selection does not publish, or a write for a read-only caller
    UNCONFIGURED = "unconfigured"  # no connection configured
    UNKNOWN_PCID = "unknown-pcid"  # PCID missing where required, or naming no connection
    FORBIDDEN = "forbidden"  # a connection the caller may not use
    UNREACHABLE = "unreachable"  # the API could not be reached (after retries)
    AUTH = "auth"  # the auth server refused a token
    ERROR = "error"  # failed inside the server
    CANCELLED = "cancelled"  # the caller went away (the request may have been applied)
    DRY_RUN = "dry-run"  # a delete's dry run answered (nothing changed)
    ASKED = "asked"  # a delete asked its user through an InputRequiredResult (2026-07-28); nothing changed yet
    DECLINED = "declined"  # the user declined or dismissed a delete's confirmation; nothing changed
    UNCONFIRMED = "unconfirmed"  # a delete the operator wants confirmed could not be (client, state); nothing changed


CURRENT_PRINCIPAL: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("mcp_principal", default=None)
"""The caller of the HTTP request being served (None on stdio, in memory, or without keys)."""


@dataclass
class CallRecord:
    """One tool call as observers see it once it is over (the log line, and whatever else is attached)."""

    name: str  # as called, made safe to log (``loggable_name``)
    correlation_id: str
    principal: Principal | None  # the HTTP caller (API key or token); None on stdio and in process
    tool: Tool | None = None  # None for an unknown tool
    pcid: str = "-"  # the connection used, once known
    outcome: Outcome | int = Outcome.ERROR  # the API's HTTP status, or what ended the call before it
    duration_ms: float = 0.0
    request: Request | None = None  # the request sent to the API, if one was built
    response: ApiResponse | None = None  # the API's answer, if one came
    confirmation: str | None = None  # a delete's consent.Confirmation (dry-run, not-asked, asked, accepted, …)


class Observer(Protocol):
    """Sees every call: ``call_started`` when it begins, ``call_finished`` with its record when it ends. Both run
    on the event loop and must not block or raise."""

    def call_started(self, name: str) -> None: ...

    def call_finished(self, record: CallRecord) -> None: ...

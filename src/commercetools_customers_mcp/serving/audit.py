"""The audit log (``--audit-log FILE`` or ``MCP_AUDIT_LOG``): one JSON line per call that can change data.

What is audited: every call of a tool that is not read-only — creates, updates, deletes, password change and
reset, password and email tokens, email confirmation — successful or not. Calls refused before any API request
are audited too (``status`` is the ``core.calls.Outcome`` saying why, e.g. ``invalid`` arguments or a
``forbidden`` PCID), as are calls that could not reach the API, failed inside the server or were cancelled by
the caller (``cancelled``: the request may have been applied). Reads (gets, lists, searches, token lookups,
indexing status) and calls of unknown tool names are not logged here.

Each line is one JSON object with every key below (``null`` when not known), in this order::

    time           UTC, ISO 8601 with milliseconds ("2026-12-01T10:15:02.123Z")
    who            the caller: the API key's (or token's) principal name over HTTP; otherwise what the server
                   was started as: "stdio", "http" (HTTP without keys), "cli" (the `call` command)
    tool           the tool's seed name (also when called by its short name)
    pcid           the connection used; null when the call was refused before one was chosen
    type           the resource's typeId ("customer", "customer-group", "business-unit", "associate-role")
    id, key        the resource: from the path (by-id / by-key tools), else from the API's answer (a create's
                   new resource; a token's customerId, never the token), else the id or draft key the call
                   sent (password change, email token, a failed create); at most 256 characters. Only
                   values of a validated request: a call refused before its request was built has no id, key,
                   versions or actions
    versionBefore  the version the call sent (updates, deletes, password change)
    versionAfter   the version in the API's successful answer (for a delete: the deleted resource's)
    actions        the update actions' names, in order (nothing else from them)
    actionCount    how many actions the update sent (``actions`` is cut short only if the line would pass
                   MAX_LINE bytes)
    status         the API's HTTP status, or the ``Outcome`` that ended the call before an answer (a delete's
                   dry-run, asked, declined, unconfirmed)
    confirmation   deletes only (else null): dry-run, not-asked (mode off, or a client that cannot ask),
                   asked (2026-07-28: the question went back to the client), accepted, declined, cancelled,
                   unavailable (mode always, a client that cannot ask), refused (a request state that does not
                   fit the call or was used) — ``core/consent.py``
    errorCodes     the ``code`` of each error in an API error answer (never its message: a DuplicateField
                   message quotes the duplicate value)
    correlationId  as in the tool result, the stderr log line and the X-Correlation-ID sent to the API
    durationMs     the call's duration

Never written: argument values other than the ids, keys, versions and action names above (so no emails,
names, addresses, passwords, where-predicates), token values, error messages, response bodies.

Writing: the file is opened once at start-up with ``O_WRONLY|O_APPEND|O_CREAT`` (created with mode 0600) and
must be a regular file; a file that cannot be opened is a start-up error. Each line is written with one
``os.write`` of at most ``MAX_LINE`` bytes, with no user-space buffer: a line is in the kernel when the call
answers, so it survives a crash or SIGKILL of the server, not a crash of the OS (there is no fsync; ship the
file off the machine for that). Several processes may append to one file (``--workers``, or a second server):
with ``O_APPEND`` the kernel moves to the end and writes in one step, and local Linux file systems write a
regular file under the inode lock, so lines never interleave or tear; keeping lines within ``MAX_LINE`` (the
Linux ``PIPE_BUF``) keeps that true for pipes too. Not on NFS, whose appends are not atomic.

Rotation: before each line the path is looked up again; when the file was renamed or deleted (log rotation),
the path is reopened (created 0600) and the line goes to the new file, as ``WatchedFileHandler`` does.

Failures: a write that fails (disk full, file system gone read-only) never fails or delays the call: the call
answers as usual, the line is lost, an error is logged at the first failure and every ``WARN_EVERY``-th after
(never with the line's content), and the ``events`` hook hears ``("audit", "error")`` (``/metrics`` counts it);
``("audit", "ok")`` for each line written. A line cut short by a failing write is ended by a newline before
the next line, so at worst one line is unparseable and the rest stay whole.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from ..core.calls import CallRecord
from ..core.catalog.schemas import MAX_IDENTIFIER
from ..upstream.tokens import EventHook, ignore_event

log = logging.getLogger("commercetools_customers_mcp.serving.audit")

MAX_LINE = 4096
WARN_EVERY = 100
MAX_ERROR_CODES = 10
_CODE = re.compile(r"^[A-Za-z0-9_:.-]{1,64}$")


class AuditOpenError(Exception):
    """The audit file cannot be opened for appending (a start-up error)."""


def _text(value: Any, limit: int = MAX_IDENTIFIER) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _version(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def audit_entry(record: CallRecord, who: str, now: float) -> dict[str, Any] | None:
    """The audit line of a finished call as a dict, or None when the call is not audited (reads, unknown tools).

    Reads only the fields the module docstring lists: never the arguments or response bodies as a whole."""
    tool = record.tool
    if tool is None or tool.read_only:
        return None
    request, response = record.request, record.response
    sent: dict[str, Any] = request.json if request is not None and isinstance(request.json, dict) else {}
    path: dict[str, str] = request.path_params if request is not None else {}
    query: dict[str, str] = dict(request.params) if request is not None else {}

    answer: dict[str, Any] = {}
    error_codes: list[str] | None = None
    if response is not None and isinstance(response.body, dict):
        if response.status < 400:
            body = response.body
            answer = body["customer"] if isinstance(body.get("customer"), dict) else body  # customer create
        else:
            errors = response.body.get("errors")
            codes = [e.get("code") for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
            error_codes = [c if isinstance(c, str) and _CODE.match(c) else "?" for c in codes][:MAX_ERROR_CODES]

    token = "customerId" in answer  # a password or email token: its customer is the resource, its value is secret
    resource_id = _text(path.get("ID")) or _text(answer.get("customerId" if token else "id")) or _text(sent.get("id"))
    key = _text(path.get("key")) or (None if token else _text(answer.get("key"))) or _text(sent.get("key"))
    actions = sent.get("actions")
    names = None
    if isinstance(actions, list):
        names = [a["action"] for a in actions if isinstance(a, dict) and isinstance(a.get("action"), str)]
    principal = record.principal
    return {
        "time": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "who": _text(principal.name, 128) if principal is not None else who,
        "tool": tool.name,
        "pcid": None if record.pcid == "-" else _text(record.pcid, 128),
        "type": tool.family.type_id,
        "id": resource_id,
        "key": key,
        "versionBefore": _version(sent.get("version", query.get("version"))),
        "versionAfter": None if token else _version(answer.get("version")),
        "actions": names,
        "actionCount": None if names is None else len(names),
        "status": record.outcome,
        "confirmation": record.confirmation,
        "errorCodes": error_codes,
        "correlationId": record.correlation_id,
        "durationMs": round(record.duration_ms, 1),
    }


def encode_line(entry: dict[str, Any]) -> bytes:
    """One JSON line of at most ``MAX_LINE`` bytes: ``actions`` is cut short if the whole would be longer."""
    line = orjson.dumps(entry) + b"\n"
    if len(line) <= MAX_LINE:
        return line
    names: list[str] = entry.get("actions") or []
    budget = MAX_LINE - len(orjson.dumps({**entry, "actions": []})) - 1
    kept = 0
    for name in names:
        budget -= len(orjson.dumps(name)) + (1 if kept else 0)
        if budget < 0:
            break
        kept += 1
    line = orjson.dumps({**entry, "actions": names[:kept]}) + b"\n"
    return line if len(line) <= MAX_LINE else orjson.dumps({**entry, "actions": None}) + b"\n"


def _identity(status: os.stat_result) -> tuple[int, int]:
    return status.st_dev, status.st_ino


def open_append(path: str | os.PathLike[str]) -> int:
    """Open ``path`` for appending (created 0600), refusing anything but a regular file. Raises AuditOpenError."""
    try:
        # O_NONBLOCK: a FIFO must not hang start-up; it is refused below.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        raise AuditOpenError(f"cannot open the audit log {os.fspath(path)!r}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise AuditOpenError(f"the audit log {os.fspath(path)!r} is not a regular file")
    os.set_blocking(fd, True)
    return fd


class AuditLog:
    """A ``calls.Observer`` appending one line per audited call to a file (the policy is the module docstring).

    ``who`` names the caller when the call has no principal ("stdio", "http", "cli"); ``clock`` gives the time
    written; ``events`` hears ``("audit", "ok" | "error")`` per line."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        who: str = "stdio",
        clock: Callable[[], float] = time.time,
        events: EventHook = ignore_event,
    ) -> None:
        self.path = os.fspath(path)
        self.who = who
        self.failures = 0
        self._clock = clock
        self._events = events
        self._fd: int | None = open_append(path)
        self._file = _identity(os.fstat(self._fd))  # the file the descriptor writes to (reopened when moved)
        self._torn = False  # the last line was cut short by a failing write

    def call_started(self, name: str) -> None:
        pass

    def call_finished(self, record: CallRecord) -> None:
        entry = audit_entry(record, self.who, self._clock())
        if entry is not None:
            self.write(encode_line(entry))

    def write(self, line: bytes) -> None:
        """Append one encoded line; a failure is counted and logged, never raised."""
        if self._torn:
            line = b"\n" + line
        written = 0
        try:
            if self._fd is None:
                raise OSError(errno.EBADF, "the audit log is closed")
            self._follow_the_path()
            while written < len(line):  # one write, unless a full disk cuts it short
                count = os.write(self._fd, line[written:])
                if count <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written += count
        except OSError as exc:
            self._torn = self._torn or written > 0
            self.failures += 1
            self._events("audit", "error")
            if self.failures % WARN_EVERY == 1:
                log.error(
                    "audit log %s: write failed (%s); %d line(s) lost so far; calls go on",
                    self.path,
                    exc.strerror or type(exc).__name__,
                    self.failures,
                )
            return
        self._torn = False
        self._events("audit", "ok")

    def _follow_the_path(self) -> None:
        """Reopen the path when the open file is no longer there (renamed or deleted by log rotation), as
        ``logging.handlers.WatchedFileHandler`` does: one ``stat`` per line (~1 µs)."""
        try:
            current = _identity(os.stat(self.path))
        except FileNotFoundError:
            current = None
        if current == self._file or self._fd is None:
            return
        try:
            fd = open_append(self.path)
        except AuditOpenError as exc:
            raise OSError(errno.ENOENT, str(exc)) from None
        os.close(self._fd)
        self._fd, self._file, self._torn = fd, _identity(os.fstat(fd)), False

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

"""Messages: ``GET /{projectKey}/messages`` (``where``, ``sort``, ``limit``, ``offset``, ``withTotal``,
``expand``), ``GET /{projectKey}/messages/{id}`` and their HEADs, and the listener that writes them.

The listener sees every Change inside its write transaction (``Emulator.listeners``) and appends what
``messages.produce`` makes of it to the message log, numbering each resource's Messages on from its last one;
a request that fails writes nothing, as its transaction rolls back. The project's ``messages`` configuration
governs it: while ``enabled`` is false nothing is written (and updates record no per-action states). Messages
older than ``deleteDaysAfterCreation`` days (emulator clock) are neither shown nor kept: reads skip them, and
every 64th Message stored deletes its project's expired ones. Scopes: ``view_messages`` (``manage_project``
implies it; the deprecated ``view_orders`` is accepted too, as the API says).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .. import errors, message_log
from .. import message_rules as messages
from ..backend import Change, Ctx, Doc, Emulator, Feature, Req, Route
from ..clock import iso
from ..crud import MAX_FILTERED_TOTAL, MAX_LIMIT, MAX_OFFSET
from ..expansion import expand
from ..predicates import PredicateError, compile_where
from ..sorting import SortError, compile_sort
from . import projects

SCOPES = ("view_messages", "view_orders")
# Expired Messages are deleted by every 64th Message stored (the statement on every write cost about 1 % of an
# update, measured); reads never show them in between.
PRUNE_EVERY = 64


class _Configuration:
    """The project's MessagesConfiguration as one operation read it (``Ctx.scratch``): asked on every write."""

    def __init__(self) -> None:
        self.doc: Doc | None = None


def configuration(ctx: Ctx) -> Doc:
    """The project's MessagesConfiguration, looked up once per operation."""
    slot = ctx.scratch(_Configuration)
    if slot.doc is None:
        slot.doc = projects.messages_configuration(ctx)
    return slot.doc


def enabled(ctx: Ctx) -> bool:
    return bool(configuration(ctx).get("enabled"))


def _expiry(ctx: Ctx) -> datetime:
    """Messages created before this are expired (``deleteDaysAfterCreation``)."""
    days = configuration(ctx).get("deleteDaysAfterCreation", projects.MESSAGES_DAYS)
    return ctx.emulator.clock.now() - timedelta(days=days)


def _cutoff(ctx: Ctx) -> str:
    return iso(_expiry(ctx))


def _on_change(ctx: Ctx, change: Change) -> None:
    if change.type_id == projects.TYPE_ID:
        ctx.scratch.drop(_Configuration)  # the configuration may have changed
        return
    if not messages.produces(change.type_id, change.cause) or not enabled(ctx):
        return
    produced = messages.produce(ctx, change)
    if not produced:
        return
    store = ctx.store
    first = message_log.reserve(store, ctx.project, produced[0]["resource"]["id"], len(produced))
    for i, message in enumerate(produced):
        message["sequenceNumber"] = first + i
    if message_log.append(store, ctx.project, produced) % PRUNE_EVERY < len(produced):
        message_log.prune(store, ctx.project, _expiry(ctx))


def _watch(ctx: Ctx) -> bool:
    return enabled(ctx)


def install(emulator: Emulator) -> None:
    message_log.install(emulator.store)
    emulator.listeners.append(_on_change)
    emulator.state_watchers.append(_watch)


# ---------------------------------------------------------------- reads


def _where(req: Req) -> tuple[str, list[Any]]:
    try:
        return compile_where(req.query.getlist("where"), req.variables())
    except PredicateError as exc:
        raise errors.invalid_input(str(exc)) from None


def query(ctx: Ctx, req: Req) -> tuple[int, Any]:
    limit = req.integer("limit", 20, 0, MAX_LIMIT)
    offset = req.integer("offset", 0, 0, MAX_OFFSET)
    with_total = req.flag("withTotal", True)
    where, params = _where(req)
    try:
        order = compile_sort(req.query.getlist("sort"))
    except SortError as exc:
        raise errors.invalid_input(str(exc)) from None
    docs, total = message_log.page(
        ctx.store, ctx.project, _cutoff(ctx), where, params, order=order, limit=limit, offset=offset,
        with_total=with_total,
    )  # fmt: skip
    body: Doc = {"limit": limit, "offset": offset, "count": len(docs)}
    if with_total:
        body["total"] = min(total, MAX_FILTERED_TOTAL) if where != "1" else total
    paths = req.query.getlist("expand")
    body["results"] = [expand(ctx, doc, paths) for doc in docs]
    return 200, body


def head_query(ctx: Ctx, req: Req) -> tuple[int, Any]:
    where, params = _where(req)
    return (200 if message_log.exists(ctx.store, ctx.project, _cutoff(ctx), where, params) else 404), None


def _load(ctx: Ctx, req: Req) -> Doc:
    doc = message_log.get(ctx.store, ctx.project, req.path["id"], _cutoff(ctx))
    if doc is None:
        raise errors.resource_not_found(req.path["id"])
    return doc


def get(ctx: Ctx, req: Req) -> tuple[int, Any]:
    return 200, expand(ctx, _load(ctx, req), req.query.getlist("expand"))


def head(ctx: Ctx, req: Req) -> tuple[int, Any]:
    _load(ctx, req)
    return 200, None


FEATURE = Feature(
    "messages",
    routes=(
        # queries read as many Messages as their `where` and `sort` make them: in a worker thread (Route.offload)
        Route("GET", "/messages", query, SCOPES, offload=True),
        Route("HEAD", "/messages", head_query, SCOPES, offload=True),
        Route("GET", "/messages/{id}", get, SCOPES),
        Route("HEAD", "/messages/{id}", head, SCOPES),
    ),
    install=install,
)

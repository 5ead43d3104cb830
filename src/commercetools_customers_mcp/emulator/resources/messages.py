"""Messages: ``GET /{projectKey}/messages`` (``where``, ``sort``, ``limit``, ``offset``, ``withTotal``,
``expand``), ``GET /{projectKey}/messages/{id}`` and their HEADs, and the listener that writes them.

The reads are the generic ones (``crud``, the one query path): Messages are a ``Resource`` whose ``Source`` is
the message log (``message_log``: a table of their own, so that a Message costs a write one B-tree page).

The listener sees every Change inside its write transaction (``Emulator.listeners``) and appends what
``messages.produce`` makes of it to the message log, numbering each resource's Messages on from its last one;
a request that fails writes nothing, as its transaction rolls back. The project's ``messages`` configuration
governs it: while ``enabled`` is false nothing is written (and updates record no per-action states). Messages
older than ``deleteDaysAfterCreation`` days (emulator clock) are neither shown nor kept: reads skip them, and
every 64th Message stored deletes its project's expired ones. Scopes: ``view_messages`` (``manage_project``
implies it; the deprecated ``view_orders`` is accepted too, as the API says).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from .. import message_log
from .. import message_rules as messages
from ..backend import Change, Ctx, Doc, Emulator, Feature, Resource, Selection
from ..clock import iso
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


class _Log:
    """The message log as the Messages collection's ``Source``: the generic reads (``crud``: query, get by id,
    HEAD) over the ``messages`` table, without what ``deleteDaysAfterCreation`` has expired. Messages have no
    keys and are written by the listener only; no value-table prefilter (the log keeps none)."""

    keyed = False
    writable = False

    def get(self, ctx: Ctx, type_id: str, id: str) -> Doc | None:
        return message_log.get(ctx.store, ctx.project, id, _cutoff(ctx))

    def get_by_key(self, ctx: Ctx, type_id: str, key: str) -> Doc | None:
        return None

    def prefilter(
        self, ctx: Ctx, type_id: str, predicates: Sequence[str], variables: Mapping[str, Sequence[str]]
    ) -> tuple[str, list[Any]]:
        return "", []

    def page(self, ctx: Ctx, type_id: str, selected: Selection) -> tuple[list[Doc], int]:
        s = selected
        return message_log.page(
            ctx.store, ctx.project, _cutoff(ctx), s.where, s.params, order=s.order, limit=s.limit, offset=s.offset,
            with_total=s.with_total,
        )  # fmt: skip

    def exists(self, ctx: Ctx, type_id: str, where: str, params: Sequence[Any]) -> bool:
        return message_log.exists(ctx.store, ctx.project, _cutoff(ctx), where, params)


RESOURCE = Resource(type_id="message", endpoint="messages", view_scopes=SCOPES, manage_scopes=(), source=_Log())

FEATURE = Feature("messages", resources=(RESOURCE,), install=install)

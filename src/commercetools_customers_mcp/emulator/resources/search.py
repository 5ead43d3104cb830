"""Customer Search and Business Unit Search endpoints: search, HEAD readiness and the indexing status.

The index itself, the query compiler and the table of searches (``search.SEARCHES``) are in
``emulator/search.py``; the status machine is in ``projects.py``.
"""

from __future__ import annotations

from typing import Any

from ... import spec
from .. import errors
from .. import search_index as search
from ..backend import Ctx, Emulator, Feature, Operation, Prepare, Req, Route
from ..search_index import SearchKind
from ..validation import validate
from . import projects

MAX_LIMIT, MAX_OFFSET = spec.MAX_SEARCH_LIMIT, spec.MAX_SEARCH_OFFSET


def _ready(ctx: Ctx, kind: SearchKind) -> None:
    state = projects.status(ctx, kind.name)["status"]
    if state != projects.ACTIVATED:
        raise errors.search_not_ready(
            f"{kind.label} Search is not ready: its index is {state}. "
            f"Activate it with the Project update action '{kind.status_action}' and wait until it is Activated."
        )


def _int(body: dict[str, Any], name: str, default: int, high: int, low: int) -> int:
    value = body.get(name, default)
    if not low <= value <= high:
        raise errors.invalid_input(f"'{name}' must be between {low} and {high}, got {value}.")
    return value


class _Found:
    """What a search's ``prepare`` step found, for its handler (``Ctx.scratch``)."""

    def __init__(self) -> None:
        self.body: dict[str, Any] = {}


def _search(kind: SearchKind) -> tuple[Prepare, Operation]:
    """The search runs in the ``prepare`` step, in a worker thread on a read connection (``Ctx.offload``): one
    large fuzzy query takes most of a second. The handler then only records the use (a write)."""

    async def prepare(ctx: Ctx, req: Req) -> None:
        body = req.body if req.body is not None else {}
        validate(kind.request_schema, body)
        _ready(ctx, kind)
        limit = _int(body, "limit", 20, MAX_LIMIT, spec.MIN_SEARCH_LIMIT)
        offset = _int(body, "offset", 0, MAX_OFFSET, 0)
        run = (ctx.store, ctx.project, kind.type_id, body.get("query"), body.get("sort"), limit, offset)
        ctx.scratch(_Found).body = await ctx.offload(search.search, *run)

    def handler(ctx: Ctx, req: Req) -> tuple[int, Any]:
        projects.touch(ctx, kind.name)
        return 200, ctx.scratch(_Found).body

    return prepare, handler


def _head(kind: SearchKind) -> Operation:
    def handler(ctx: Ctx, req: Req) -> tuple[int, Any]:
        _ready(ctx, kind)
        return 200, None

    return handler


def _indexing_status(kind: SearchKind) -> Operation:
    """Activated → Ready, Indexing → Indexing (with progress); a deactivated search has no index: 404."""

    def handler(ctx: Ctx, req: Req) -> tuple[int, Any]:
        state = projects.status(ctx, kind.name)
        if state["status"] == projects.DEACTIVATED:
            raise errors.not_found(f"{kind.label} Search is deactivated for this project; there is no index.")
        body: dict[str, Any] = {k: state[k] for k in ("startedAt", "lastModifiedAt") if k in state}
        if state["status"] == projects.ACTIVATED:
            return 200, {"status": "Ready", **body}
        total = ctx.store.count(ctx.project, kind.type_id)  # the emulator indexes synchronously: all are done
        return 200, {"status": "Indexing", "states": {"indexed": total, "failed": 0, "estimatedTotal": total}, **body}

    return handler


def install(emulator: Emulator) -> None:
    by_type = {kind.type_id: kind.name for kind in search.SEARCHES}

    def active(ctx: Ctx, type_id: str) -> bool:
        return projects.status(ctx, by_type[type_id])["status"] != projects.DEACTIVATED

    search.install_index(emulator, active)


def _routes(kind: SearchKind) -> tuple[Route, ...]:
    prepare, handler = _search(kind)
    return (
        Route("POST", f"/{kind.endpoint}/search", handler, (kind.view_scope,), prepare),
        Route("HEAD", f"/{kind.endpoint}/search", _head(kind), (kind.view_scope,)),
        Route("GET", f"/{kind.endpoint}/search/indexing-status", _indexing_status(kind), ("view_project_settings",)),
    )


FEATURE = Feature(
    "search",
    routes=tuple(route for kind in search.SEARCHES for route in _routes(kind)),
    install=install,
)

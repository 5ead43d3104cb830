"""The Project endpoint (``GET``/``POST /{projectKey}``): only what search needs — the index status machine.

Each search (customers, businessUnits) goes Deactivated → Indexing → Activated. The index is kept in step
only while the search is on; activation synchronously builds the index afresh (``search.rebuild``).
The status then stays ``Indexing`` for ``Settings.indexing_delay_seconds`` of emulator-clock time (default 0),
so tests can observe it. After 30 days (emulator clock) without a search call a search deactivates itself, as
the API's does. A project starts with both searches Deactivated, like the API; the demo project starts
Activated. The project is stored as an internal ``project`` document (id = project key) once it is first
changed; updates go through the generic update path (``crud.apply_update``).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from .. import crud, errors, search
from ..backend import Ctx, Doc, Feature, Req, Resource, Route
from ..clock import iso

TYPE_ID = "project"
DEACTIVATED, INDEXING, ACTIVATED = "Deactivated", "Indexing", "Activated"
IDLE_DAYS = 30  # a search nobody calls for this long deactivates itself, as the API does
BY_ACTION = {kind.status_action: kind for kind in search.SEARCHES}
_HIDDEN = ("id", "versionModifiedAt", "lastModifiedBy")  # kept by the generic version bump, not in a Project


def _default(ctx: Ctx) -> Doc:
    return {
        "id": ctx.project,
        "key": ctx.project,
        "name": ctx.project,
        "version": 1,
        "countries": [],
        "currencies": ["EUR"],
        "languages": ["en"],
        "createdAt": ctx.timestamp(),
        "messages": {"enabled": False},
        "carts": {"deleteDaysAfterLastModification": 90, "countryTaxRateFallbackEnabled": False},
        "searchIndexing": {kind.name: {"status": DEACTIVATED} for kind in search.SEARCHES},
    }


def load(ctx: Ctx) -> Doc:
    """The project as stored, or the defaults of a project nobody has changed yet."""
    return ctx.get(TYPE_ID, ctx.project) or _default(ctx)


def status(ctx: Ctx, name: str, doc: Doc | None = None) -> Doc:
    """The search's state resolved against the clock: Indexing ends at ``readyAt``; Activated ends after
    ``IDLE_DAYS`` without a search call (``lastUsedAt``)."""
    state = dict((doc or load(ctx))["searchIndexing"][name])
    now = ctx.emulator.clock.now()
    if state["status"] == INDEXING and state["readyAt"] <= iso(now):
        state.update(status=ACTIVATED, lastModifiedAt=state["readyAt"])
    if state["status"] == ACTIVATED:
        idle_until = datetime.fromisoformat(state.get("lastUsedAt", state["readyAt"])) + timedelta(days=IDLE_DAYS)
        if idle_until <= now:
            state = {"status": DEACTIVATED, "lastModifiedAt": iso(idle_until)}
    return state


def touch(ctx: Ctx, name: str) -> None:
    """Record a search call (inside the search's write transaction): it keeps the search from going idle."""
    before = ctx.get(TYPE_ID, ctx.project)
    if before is not None:
        after = copy.deepcopy(before)
        after["searchIndexing"][name]["lastUsedAt"] = ctx.timestamp()
        ctx.replace(TYPE_ID, before, after, cause="searchUsed")


def render(ctx: Ctx, doc: Doc) -> Doc:
    out = {k: v for k, v in doc.items() if k not in _HIDDEN}
    out["searchIndexing"] = {}
    for kind in search.SEARCHES:
        state = status(ctx, kind.name, doc)
        out["searchIndexing"][kind.name] = {k: v for k, v in state.items() if k in ("status", "lastModifiedAt")}
    return out


def _change_search_status(ctx: Ctx, doc: Doc, action: Doc) -> None:
    kind = BY_ACTION[action["action"]]
    wanted = action.get("status")
    if wanted not in (ACTIVATED, DEACTIVATED):
        raise errors.invalid_json(f"status: expected one of {ACTIVATED}, {DEACTIVATED}, got '{wanted}'")
    current = status(ctx, kind.name, doc)["status"]
    if wanted == DEACTIVATED:
        if current != DEACTIVATED:
            doc["searchIndexing"][kind.name] = {"status": DEACTIVATED, "lastModifiedAt": ctx.timestamp()}
            search.drop(ctx.store, ctx.project, kind.type_id)
        return
    if current != DEACTIVATED:
        return
    now, delay = ctx.emulator.clock.now(), ctx.emulator.settings.indexing_delay_seconds
    search.rebuild(ctx.store, ctx.project, kind.type_id)
    state = {"startedAt": iso(now), "lastModifiedAt": iso(now), "readyAt": iso(now + timedelta(seconds=delay))}
    doc["searchIndexing"][kind.name] = {"status": INDEXING if delay > 0 else ACTIVATED, **state}


RESOURCE = Resource(
    type_id=TYPE_ID,
    endpoint=None,  # served at the project root by the routes below
    view_scopes=("view_project_settings",),
    manage_scopes=("manage_project_settings",),
    actions={action: _change_search_status for action in BY_ACTION},
    render=render,
)


def _get(ctx: Ctx, req: Req) -> tuple[int, Any]:
    return 200, render(ctx, load(ctx))


def _update(ctx: Ctx, req: Req) -> tuple[int, Any]:
    version, actions = crud.update_body(RESOURCE, req.body)
    stored = ctx.get(TYPE_ID, ctx.project)
    doc = stored if stored is not None else _default(ctx)
    return 200, render(ctx, crud.apply_update(ctx, RESOURCE, doc, version, actions, stored=stored is not None))


def seed_demo(ctx: Ctx) -> None:
    """The demo project is ready to search right away."""
    doc = _default(ctx)
    now = ctx.timestamp()
    doc["searchIndexing"] = {k.name: {"status": ACTIVATED, "startedAt": now, "readyAt": now} for k in search.SEARCHES}
    ctx.insert(TYPE_ID, doc)


FEATURE = Feature(
    "projects",
    resources=(RESOURCE,),
    routes=(
        Route("GET", "/", _get, RESOURCE.view_scopes),
        Route("POST", "/", _update, RESOURCE.manage_scopes),
    ),
    seed_demo=seed_demo,
)

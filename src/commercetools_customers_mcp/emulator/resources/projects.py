"""The Project endpoint (``GET``/``POST /{projectKey}``): only what search needs — the index status machine.

Each search (customers, businessUnits) goes Deactivated → Indexing → Activated. The index is kept in step
only while the search is on; activation synchronously builds the index afresh (``search.rebuild``).
The status then stays ``Indexing`` for ``emulator.options["indexing_delay_seconds"]`` (env
``CTP_EMULATOR_INDEXING_DELAY_SECONDS``, default 0) of emulator-clock time, so tests can observe it.
After 30 days (emulator clock) without a search call a search deactivates itself, as the API's does.
A project starts with both searches Deactivated, like the API; the demo project starts Activated.
The project is stored as an internal ``project`` document (id = project key) once it is first changed.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from .. import errors, search
from ..clock import iso
from ..service import Ctx, Doc, Req, Resource, Route

TYPE_ID = "project"
DEACTIVATED, INDEXING, ACTIVATED = "Deactivated", "Indexing", "Activated"
IDLE_DAYS = 30  # a search nobody calls for this long deactivates itself, as the API does
# searchIndexing key → (update action, indexed type)
SEARCHES = {
    "customers": ("changeCustomerSearchStatus", "customer"),
    "businessUnits": ("changeBusinessUnitSearchStatus", "business-unit"),
}
ACTIONS = {action: name for name, (action, _) in SEARCHES.items()}


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
        "searchIndexing": {name: {"status": DEACTIVATED} for name in SEARCHES},
    }


def load(ctx: Ctx) -> Doc:
    """The project as stored, or the defaults of a project nobody has changed yet."""
    return ctx.get(TYPE_ID, ctx.project) or _default(ctx)


def _delay(ctx: Ctx) -> float:
    default = os.environ.get("CTP_EMULATOR_INDEXING_DELAY_SECONDS", "0")
    return float(ctx.emulator.options.get("indexing_delay_seconds", default))


def _now(ctx: Ctx) -> datetime:
    return ctx.emulator.clock.now()


def status(ctx: Ctx, name: str, doc: Doc | None = None) -> Doc:
    """The search's state resolved against the clock: Indexing ends at ``readyAt``; Activated ends after
    ``IDLE_DAYS`` without a search call (``lastUsedAt``)."""
    state = dict((doc or load(ctx))["searchIndexing"][name])
    now = _now(ctx)
    if state["status"] == INDEXING and state["readyAt"] <= iso(now):
        state.update(status=ACTIVATED, lastModifiedAt=state["readyAt"])
    if state["status"] == ACTIVATED:
        idle_until = datetime.fromisoformat(state.get("lastUsedAt", state["readyAt"])) + timedelta(days=IDLE_DAYS)
        if idle_until <= now:
            state = {"status": DEACTIVATED, "lastModifiedAt": iso(idle_until)}
    return state


def touch(ctx: Ctx, name: str) -> None:
    """Record a search call (inside the search's write transaction): it keeps the search from going idle."""
    doc = ctx.get(TYPE_ID, ctx.project)
    if doc is not None:
        doc["searchIndexing"][name]["lastUsedAt"] = ctx.timestamp()
        ctx.store.replace(ctx.project, TYPE_ID, doc)


def render(ctx: Ctx, doc: Doc) -> Doc:
    out = dict(doc)
    out.pop("id")
    out["searchIndexing"] = {}
    for name in SEARCHES:
        state = status(ctx, name, doc)
        out["searchIndexing"][name] = {k: v for k, v in state.items() if k in ("status", "lastModifiedAt")}
    return out


def _get(ctx: Ctx, req: Req) -> tuple[int, Any]:
    return 200, render(ctx, load(ctx))


def _change_search_status(ctx: Ctx, doc: Doc, action: Doc) -> None:
    name = ACTIONS[action["action"]]
    wanted = action.get("status")
    if wanted not in (ACTIVATED, DEACTIVATED):
        raise errors.invalid_json(f"status: expected one of {ACTIVATED}, {DEACTIVATED}, got '{wanted}'")
    current = status(ctx, name, doc)["status"]
    if wanted == DEACTIVATED:
        if current != DEACTIVATED:
            doc["searchIndexing"][name] = {"status": DEACTIVATED, "lastModifiedAt": ctx.timestamp()}
            search.drop(ctx.store, ctx.project, SEARCHES[name][1])
        return
    if current != DEACTIVATED:
        return
    now = _now(ctx)
    search.rebuild(ctx.store, ctx.project, SEARCHES[name][1])
    state = {"startedAt": iso(now), "lastModifiedAt": iso(now), "readyAt": iso(now + timedelta(seconds=_delay(ctx)))}
    doc["searchIndexing"][name] = {"status": INDEXING if _delay(ctx) > 0 else ACTIVATED, **state}


def _update(ctx: Ctx, req: Req) -> tuple[int, Any]:
    body = req.body
    if not isinstance(body, dict) or not isinstance(body.get("actions"), list):
        raise errors.invalid_json("The request body must be a JSON object with 'version' and 'actions'.")
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise errors.invalid_json("Missing required value 'version'")
    for i, action in enumerate(body["actions"]):
        if not isinstance(action, dict) or action.get("action") not in ACTIONS:
            name = action.get("action") if isinstance(action, dict) else None
            raise errors.invalid_json(
                f"actions -> {i} -> action: Unknown update action '{name}' for project. "
                f"Valid actions: {', '.join(ACTIONS)}"
            )
    stored = ctx.get(TYPE_ID, ctx.project)
    doc = stored or _default(ctx)
    if version != doc["version"]:
        raise errors.concurrent_modification(version, doc["version"])
    new = {**doc, "searchIndexing": dict(doc["searchIndexing"])}
    for action in body["actions"]:
        _change_search_status(ctx, new, action)
    if new != doc:
        new["version"] = doc["version"] + 1
        new["lastModifiedAt"] = ctx.timestamp()
        if stored is None:
            ctx.store.insert(ctx.project, TYPE_ID, new)
        else:
            ctx.store.replace(ctx.project, TYPE_ID, new, doc)
    return 200, render(ctx, new)


def seed_demo(ctx: Ctx) -> None:
    """The demo project is ready to search right away."""
    doc = _default(ctx)
    now = ctx.timestamp()
    doc["searchIndexing"] = {name: {"status": ACTIVATED, "startedAt": now, "readyAt": now} for name in SEARCHES}
    ctx.store.insert(ctx.project, TYPE_ID, doc)


RESOURCE = Resource(
    type_id=TYPE_ID,
    endpoint=None,
    view_scopes=("view_project_settings",),
    manage_scopes=("manage_project_settings",),
    render=render,
    routes=[
        Route("GET", "/", _get, ("view_project_settings",)),
        Route("POST", "/", _update, ("manage_project_settings",)),
    ],
)

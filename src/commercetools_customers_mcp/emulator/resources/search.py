"""Customer Search and Business Unit Search endpoints: search, HEAD readiness and the indexing status.

The index itself and the query compiler are in ``emulator/search.py``; the status machine in ``projects.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import errors, search
from ..service import Ctx, Req, Resource, Route, validate
from . import projects

if TYPE_CHECKING:
    from ..app import Emulator

MAX_LIMIT, MAX_OFFSET = 100, 9900
# endpoint → (searchIndexing key, indexed type, request schema, label, view scope)
SEARCHES = {
    "customers": ("customers", "customer", "CustomerSearchRequest", "Customer", "view_customers"),
    "business-units": (
        "businessUnits",
        "business-unit",
        "BusinessUnitSearchRequest",
        "Business Unit",
        "view_business_units",
    ),
}
Handler = Callable[[Ctx, Req], tuple[int, Any]]


def _ready(ctx: Ctx, name: str, label: str) -> None:
    state = projects.status(ctx, name)["status"]
    if state != projects.ACTIVATED:
        action = projects.SEARCHES[name][0]
        raise errors.search_not_ready(
            f"{label} Search is not ready: its index is {state}. "
            f"Activate it with the Project update action '{action}' and wait until it is Activated."
        )


def _int(body: dict[str, Any], name: str, default: int, high: int, low: int) -> int:
    value = body.get(name, default)
    if not low <= value <= high:
        raise errors.invalid_input(f"'{name}' must be between {low} and {high}, got {value}.")
    return value


def _search(endpoint: str) -> Handler:
    name, type_id, schema, label, _ = SEARCHES[endpoint]

    def handler(ctx: Ctx, req: Req) -> tuple[int, Any]:
        body = req.body if req.body is not None else {}
        validate(schema, body)
        _ready(ctx, name, label)
        projects.touch(ctx, name)
        limit = _int(body, "limit", 20, MAX_LIMIT, 1)
        offset = _int(body, "offset", 0, MAX_OFFSET, 0)
        return 200, search.search(ctx.store, ctx.project, type_id, body.get("query"), body.get("sort"), limit, offset)

    return handler


def _head(endpoint: str) -> Handler:
    name, _, _, label, _ = SEARCHES[endpoint]

    def handler(ctx: Ctx, req: Req) -> tuple[int, Any]:
        _ready(ctx, name, label)
        return 200, None

    return handler


def _indexing_status(endpoint: str) -> Handler:
    """Activated → Ready, Indexing → Indexing (with progress); a deactivated search has no index: 404."""
    name, type_id, _, label, _ = SEARCHES[endpoint]

    def handler(ctx: Ctx, req: Req) -> tuple[int, Any]:
        state = projects.status(ctx, name)
        if state["status"] == projects.DEACTIVATED:
            raise errors.not_found(f"{label} Search is deactivated for this project; there is no index.")
        body: dict[str, Any] = {k: state[k] for k in ("startedAt", "lastModifiedAt") if k in state}
        if state["status"] == projects.ACTIVATED:
            return 200, {"status": "Ready", **body}
        total = ctx.store.count(ctx.project, type_id)  # the emulator indexes synchronously: all are done
        return 200, {"status": "Indexing", "states": {"indexed": total, "failed": 0, "estimatedTotal": total}, **body}

    return handler


def install(emulator: Emulator) -> None:
    searches = {type_id: name for name, (_, type_id) in projects.SEARCHES.items()}

    def active(project: str, type_id: str) -> bool:
        return projects.status(Ctx(emulator, project), searches[type_id])["status"] != projects.DEACTIVATED

    search.install_index(emulator.store, active)


RESOURCE = Resource(
    type_id="search",
    endpoint=None,
    view_scopes=(),
    manage_scopes=(),
    routes=[
        route
        for endpoint, (*_, scope) in SEARCHES.items()
        for route in (
            Route("POST", f"/{endpoint}/search", _search(endpoint), (scope,)),
            Route("HEAD", f"/{endpoint}/search", _head(endpoint), (scope,)),
            Route("GET", f"/{endpoint}/search/indexing-status", _indexing_status(endpoint), ("view_project_settings",)),
        )
    ],
)

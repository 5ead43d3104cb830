"""The embedded commercetools emulator: a local implementation of the HTTP API (ASGI + SQLite).

It imports nothing from the MCP server; the CLI wires the two together. ``create_app`` gives an ASGI app
to serve with uvicorn or to call in-process through ``httpx2.ASGITransport``; ``create_emulator`` the backend
alone (no HTTP), e.g. for loading data. This module is the package face: the only one that imports the HTTP
layer (``app``).
"""

from __future__ import annotations

from . import crud, where_index
from .app import EmulatorApp
from .backend import Emulator, Settings
from .clock import Clock
from .faults import Faults
from .resources import FEATURES
from .store import Store

__all__ = [
    "UVICORN_OPTIONS",
    "Clock",
    "Emulator",
    "EmulatorApp",
    "Faults",
    "Settings",
    "create_app",
    "create_emulator",
]

DEMO_PROJECT = "demo"
# How uvicorn should serve the standalone emulator: a local development server is never behind a proxy, so
# X-Forwarded-* handling (a middleware on every request) and the Server header are left out (~5 % of a GET).
UVICORN_OPTIONS = {"proxy_headers": False, "server_header": False}


def create_emulator(
    data: str = ":memory:",
    *,
    clients: dict[str, str] | None = None,
    clock: Clock | None = None,
    settings: Settings | None = None,
) -> Emulator:
    """The backend on the SQLite file ``data``: every feature registered and wired in."""
    emulator = Emulator(Store(data), clock, clients, settings)
    for feature in FEATURES:
        for resource in feature.resources:
            emulator.add_resource(resource)
        emulator.add_routes(feature.routes)  # before the generic routes: `/customers/search` wins
    for feature in FEATURES:
        for resource in feature.resources:
            emulator.add_routes(crud.routes(resource))
    for feature in FEATURES:
        if feature.install is not None:
            feature.install(emulator)
    where_index.install(emulator.store, emulator.queryable_types())
    return emulator


def create_app(
    data: str = ":memory:",
    *,
    clients: dict[str, str] | None = None,
    demo: bool = True,
    clock: Clock | None = None,
    project: str = DEMO_PROJECT,
    faults: Faults | None = None,
    settings: Settings | None = None,
) -> EmulatorApp:
    """The emulator as an ASGI app. An empty database is seeded with demo data unless ``demo`` is false.

    ``faults`` (off by default) injects errors, dropped connections, lost responses and latency; see
    ``emulator.faults``. ``settings`` (``Settings``) holds the password hashing cost and the search indexing
    delay. ``app.state.emulator`` is the backend, ``app.state.faults`` the faults (None when off)."""
    emulator = create_emulator(data, clients=clients, clock=clock, settings=settings)
    if demo:
        from .demo import seed

        seed(emulator, project)
    return EmulatorApp(emulator, faults)

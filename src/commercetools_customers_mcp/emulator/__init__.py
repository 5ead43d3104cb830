"""The embedded commercetools emulator: a local implementation of the HTTP API (Starlette + SQLite).

It imports nothing from the MCP server; the CLI wires the two together. ``create_app`` gives an ASGI app
to serve with uvicorn or to call in-process through ``httpx2.ASGITransport``.
"""

from __future__ import annotations

from starlette.applications import Starlette

from .app import Emulator, build_app
from .clock import Clock
from .faults import FaultMiddleware, Faults
from .store import Store

__all__ = ["Clock", "Emulator", "Faults", "create_app", "create_emulator"]

DEMO_PROJECT = "demo"


def create_emulator(
    data: str = ":memory:", *, clients: dict[str, str] | None = None, clock: Clock | None = None
) -> Emulator:
    from .resources import modules

    emulator = Emulator(Store(data), clock or Clock(), clients)
    for module in modules():
        for resource in getattr(module, "RESOURCES", None) or [module.RESOURCE]:
            emulator.register(resource)
        if hasattr(module, "install"):
            module.install(emulator)
    emulator.finish_routes()
    return emulator


def create_app(
    data: str = ":memory:",
    *,
    clients: dict[str, str] | None = None,
    demo: bool = True,
    clock: Clock | None = None,
    project: str = DEMO_PROJECT,
    faults: Faults | None = None,
) -> Starlette:
    """The emulator as an ASGI app. An empty database is seeded with demo data unless ``demo`` is false.

    ``faults`` (off by default) injects errors, dropped connections, lost responses and latency; see
    ``emulator.faults``. It is reachable as ``app.state.faults`` (None when off) for its counters."""
    emulator = create_emulator(data, clients=clients, clock=clock)
    if demo:
        from .demo import seed

        seed(emulator, project)
    app = build_app(emulator)
    app.state.faults = faults
    if faults is not None and faults.rules:
        app.add_middleware(FaultMiddleware, faults=faults)
    return app

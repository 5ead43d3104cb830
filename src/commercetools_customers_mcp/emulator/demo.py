"""Demo data for an empty project: each resource module may export ``seed_demo(ctx)``."""

from __future__ import annotations

from .app import Emulator
from .service import Ctx


def seed(emulator: Emulator, project: str) -> None:
    """Seed ``project`` once: a project that already holds customers is left alone."""
    from .resources import modules

    if emulator.store.count(project, "customer") or emulator.store.count(project, "customer-group"):
        return
    ctx = Ctx(emulator, project, client_id="demo-seed")
    with emulator.store.write():
        for module in modules():
            if hasattr(module, "seed_demo"):
                module.seed_demo(ctx)

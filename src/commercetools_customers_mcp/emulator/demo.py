"""Demo data for an empty project: each feature may seed some (``Feature.seed_demo``)."""

from __future__ import annotations

from .backend import Ctx, Emulator
from .resources import FEATURES


def seed(emulator: Emulator, project: str) -> None:
    """Seed ``project`` once: a project that already holds customers is left alone. The check is repeated inside
    the write transaction, so processes opening one new database together seed it once."""

    def seeded() -> bool:
        return bool(emulator.store.count(project, "customer") or emulator.store.count(project, "customer-group"))

    if seeded():
        return
    ctx = Ctx(emulator, project, client_id="demo-seed")
    with emulator.store.write():
        if seeded():
            return
        for feature in FEATURES:
            if feature.seed_demo is not None:
                feature.seed_demo(ctx)

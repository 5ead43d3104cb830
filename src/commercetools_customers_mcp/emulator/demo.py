"""Demo data for an empty project: each feature may seed some (``Feature.seed_demo``)."""

from __future__ import annotations

from .backend import Ctx, Emulator
from .resources import FEATURES


def seed(emulator: Emulator, project: str) -> None:
    """Seed ``project`` once: a project that already holds customers is left alone."""
    if emulator.store.count(project, "customer") or emulator.store.count(project, "customer-group"):
        return
    ctx = Ctx(emulator, project, client_id="demo-seed")
    with emulator.store.write():
        for feature in FEATURES:
            if feature.seed_demo is not None:
                feature.seed_demo(ctx)

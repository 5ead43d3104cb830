"""The resource modules, in the order they are registered and seeded with demo data."""

from __future__ import annotations

import importlib
from types import ModuleType

MODULES = (
    "references",  # stores and types
    "projects",  # project settings: search index status
    "customer_groups",
    "customers",
    "tokens",  # email-verification and password-reset flows
    "associate_roles",
    "business_units",
    "carts",
    "search",
)


def modules() -> list[ModuleType]:
    found = []
    for name in MODULES:
        try:
            found.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as exc:  # a module still being written
            if exc.name != f"{__name__}.{name}":
                raise
    return found

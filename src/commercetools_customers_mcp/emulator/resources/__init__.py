"""The resource modules, in the order they are registered and seeded with demo data.

Each exports ``FEATURE`` (``backend.Feature``): its resource types, its own routes, how it wires itself into
an emulator and what demo data it seeds. A module that fails to import fails the emulator: nothing is skipped.
"""

from __future__ import annotations

from ..backend import Feature
from . import (
    associate_roles,
    business_units,
    carts,
    customer_groups,
    customers,
    in_store,
    messages,
    projects,
    references,
    search,
    tokens,
)

FEATURES: tuple[Feature, ...] = (
    references.FEATURE,  # stores and types
    projects.FEATURE,  # project settings: languages, Messages, search index status
    customer_groups.FEATURE,
    customers.FEATURE,
    tokens.FEATURE,  # email-verification and password-reset flows, sign-in
    associate_roles.FEATURE,
    business_units.FEATURE,
    carts.FEATURE,
    in_store.FEATURE,  # the Store-scoped Customers and Business Units: the modules above, under a Store
    search.FEATURE,
    messages.FEATURE,  # GET /messages, and the listener that writes them
)

"""The Store a request goes through (``/{projectKey}/in-store/key={storeKey}/…``) and what it lets the request see.

The Store-scoped endpoints reuse the resource modules' handlers; the Store rides on the operation
(``Ctx.scratch(InStore)``), set by the Store-scoped route before the handler runs, and every read those handlers
make of a Customer or Business Unit asks ``visible``. What is in a Store:

- a Customer whose ``stores`` names it. The release that introduced these endpoints gives them access to
  "customers belonging to a specific store" (API release notes, 29 August 2019, Stores for customers); a global
  Customer (empty ``stores``) logs in "using the Password Flow for global Customers" only (Customer.raml,
  ``stores``), and one whose ``stores`` names another Store is ResourceNotFound (customers-in-store.raml).
- a Business Unit whose ``stores`` or ``inheritedStores`` names it: the Store-scoped endpoints "give access only
  to Business Units associated with specific Stores", inherited Stores included (API release notes,
  10 January 2025, Store-based data fencing for Business Units).

Nothing here knows HTTP or a resource module: ``resources/in_store.py`` declares the routes.
"""

from __future__ import annotations

from .backend import Ctx, Doc

# the Store fields of each resource type that the Store-scoped endpoints filter on
STORE_FIELDS = {"customer": ("stores",), "business-unit": ("stores", "inheritedStores")}


class InStore:
    """The Store key of one operation (``Ctx.scratch``); None on the global endpoints."""

    def __init__(self) -> None:
        self.key: str | None = None


def key(ctx: Ctx) -> str | None:
    """The Store the operation goes through, None for a global endpoint."""
    return ctx.scratch(InStore).key


def enter(ctx: Ctx, store_key: str) -> None:
    ctx.scratch(InStore).key = store_key


def holds(type_id: str, doc: Doc, store_key: str) -> bool:
    """Whether ``doc`` of ``type_id`` is in the Store ``store_key``."""
    return any(s.get("key") == store_key for name in STORE_FIELDS[type_id] for s in doc.get(name) or ())


def visible(ctx: Ctx, type_id: str, doc: Doc | None) -> Doc | None:
    """``doc`` if the operation may see it (always on a global endpoint), else None."""
    store_key = key(ctx)
    if doc is None or store_key is None or type_id not in STORE_FIELDS:
        return doc
    return doc if holds(type_id, doc, store_key) else None


def condition(project: str, type_id: str, store_key: str) -> tuple[str, list[str]]:
    """An SQL condition on the ``resources`` table (its ``id``): the document is in the Store. Answered from the
    `where` value table (``where_index``: every string of a document by field path, ``stores.key`` included), an
    index read, instead of opening each document's ``stores``; measured in bench/in_store_cost.py."""
    paths = [f"{name}.key" for name in STORE_FIELDS[type_id]]
    marks = ", ".join("?" * len(paths))
    sql = f"id IN (SELECT id FROM where_values WHERE project = ? AND type = ? AND path IN ({marks}) AND value = ?)"
    return sql, [project, type_id, *paths, store_key]

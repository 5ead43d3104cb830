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

from .backend import Change, Ctx, Doc, Emulator
from .store import decode

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
    """An SQL condition on the ``resources`` table: the document is in the Store (one probe of ``store_members``
    per candidate the rest of the query leaves; measured in bench/in_store_cost.py)."""
    sql = (
        "EXISTS (SELECT 1 FROM store_members AS m WHERE m.project = ? AND m.type = ? AND m.store = ? "
        "AND m.seq = resources.seq)"
    )
    return sql, [project, type_id, store_key]


# ---------------------------------------------------------------- the Store's members, in the order of the resources


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS store_members (project TEXT NOT NULL, type TEXT NOT NULL, store TEXT NOT NULL, "
    "seq INTEGER NOT NULL, id TEXT NOT NULL, PRIMARY KEY (project, type, store, seq)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS store_members_id ON store_members(project, type, id)",
)


def stores_of(type_id: str, doc: Doc | None) -> set[str]:
    """The keys of the Stores ``doc`` is in (none for None)."""
    if doc is None:
        return set()
    return {s["key"] for name in STORE_FIELDS[type_id] for s in doc.get(name) or () if isinstance(s, dict)}


def install(emulator: Emulator) -> None:
    """Keep ``store_members`` (project, type, Store, the document's ``seq``) in step with every write of the
    Store-filtered types, through the one write path (filled from the documents already stored when the table
    is new). A Store's first page is then an index range in the resources' own order (``first_page``), where
    the `where` value table, keyed by id, had to read and sort every member: measured in bench/in_store_cost.py
    (the SQL of an unfiltered first page of 20 among 1,000 members: 2.1 ms through the value table, 0.07 ms here)."""
    store = emulator.store
    types = tuple(STORE_FIELDS)
    conn = store.conn
    with store.write():
        existed = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'store_members'").fetchone()
        for statement in _SCHEMA:
            conn.execute(statement)
        if not existed:
            marks = ", ".join("?" * len(types))
            rows = conn.execute(f"SELECT project, type, seq, id, doc FROM resources WHERE type IN ({marks})", types)
            for project, type_id, seq, doc_id, text in rows.fetchall():
                for key in stores_of(type_id, decode(text)):
                    conn.execute("INSERT OR IGNORE INTO store_members VALUES (?, ?, ?, ?, ?)",
                                 (project, type_id, key, seq, doc_id))  # fmt: skip

    def listener(ctx: Ctx, change: Change) -> None:
        if change.type_id not in STORE_FIELDS:
            return
        conn = ctx.store.conn
        project, type_id = change.project, change.type_id
        before, after = stores_of(type_id, change.before), stores_of(type_id, change.after)
        if before == after:
            return
        doc_id = (change.after or change.before or {})["id"]
        for key in before - after:
            conn.execute(
                "DELETE FROM store_members WHERE project = ? AND type = ? AND id = ? AND store = ?",
                (project, type_id, doc_id, key),
            )
        if after - before:
            (seq,) = conn.execute(
                "SELECT seq FROM resources WHERE project = ? AND type = ? AND id = ?", (project, type_id, doc_id)
            ).fetchone()
            for key in after - before:
                conn.execute(
                    "INSERT OR IGNORE INTO store_members VALUES (?, ?, ?, ?, ?)", (project, type_id, key, seq, doc_id)
                )

    emulator.listeners.append(listener)


def first_page(
    ctx: Ctx, type_id: str, store_key: str, limit: int, offset: int, with_total: bool
) -> tuple[list[Doc], int]:
    """An unfiltered page of the Store's members in the default order (``seq``): the members' index range, then
    the page's documents by ``seq``; the total is the range's length."""
    conn = ctx.store.conn
    rows = conn.execute(
        "SELECT r.doc FROM store_members AS m CROSS JOIN resources AS r ON r.seq = m.seq "
        "WHERE m.project = ? AND m.type = ? AND m.store = ? ORDER BY m.seq LIMIT ? OFFSET ?",
        (ctx.project, type_id, store_key, limit, offset),
    ).fetchall()
    total = 0
    if with_total:
        (total,) = conn.execute(
            "SELECT count(*) FROM store_members WHERE project = ? AND type = ? AND store = ?",
            (ctx.project, type_id, store_key),
        ).fetchone()
    return [decode(text) for (text,) in rows], total

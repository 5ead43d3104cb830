"""The `where` value table: every string value of every queryable document, by field path.

A predicate such as ``companyName = "Company 0042"`` or ``addresses(country = "LU")`` can only match a document
that holds that string at that path (``addresses.country``; array positions do not count). ``where_values``
keeps one row per (document, path, string value), in step with the documents through a listener of the one
write path (``Emulator.listeners``, inside every write transaction), so the query reads its candidates from an
index and runs the full predicate on them alone instead of on every document of the project. It is a necessary
condition only: ``predicates.py`` still decides every match, so the two cannot disagree about semantics.

Left out, so the table stays small: top-level fields with an expression index of their own
(``store.INDEXED_FIELDS``, which a top-level `where` uses directly), the password hash, and values longer than
``MAX_VALUE`` characters. A clause that would need any of them is simply not used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..querylang.where import And, Compare, Nested, Or, parse
from .backend import Change, Ctx, Emulator
from .store import INDEXED_FIELDS, decode

MAX_VALUE = 512
MAX_CLAUSES = 4
MAX_CLAUSE_VALUES = 1000
# Top-level fields an expression index answers, and the password hash (a secret, never a useful predicate).
SKIPPED_PATHS = frozenset((*INDEXED_FIELDS, "password"))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS where_values (
    project TEXT NOT NULL,
    type TEXT NOT NULL,
    path TEXT NOT NULL,
    value TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (project, type, path, value, id)
) WITHOUT ROWID
"""
_INSERT = "INSERT OR IGNORE INTO where_values(project, type, path, value, id) VALUES (?, ?, ?, ?, ?)"
_DELETE = "DELETE FROM where_values WHERE project = ? AND type = ? AND path = ? AND value = ? AND id = ?"

Pair = tuple[str, str]  # (path, value)


def values(doc: Mapping[str, Any]) -> set[Pair]:
    """The (path, string value) pairs of a document that the table keeps."""
    found: set[Pair] = set()
    stack: list[tuple[Any, str]] = [(value, key) for key, value in doc.items() if key not in SKIPPED_PATHS]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if len(node) <= MAX_VALUE:
                found.add((path, node))
        elif isinstance(node, dict):
            stack.extend((value, f"{path}.{key}") for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((item, path) for item in node)
    return found


def install(emulator: Emulator, types: Iterable[str]) -> None:
    """Create the table (filling it from the documents already stored, e.g. a data file from before it
    existed) and keep it in step with every write of the given resource types (a listener of the emulator)."""
    indexed = frozenset(types)
    store = emulator.store
    conn = store.conn
    with store.write():
        existed = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'where_values'").fetchone()
        conn.execute(_SCHEMA)
        if not existed and indexed:
            marks = ", ".join("?" * len(indexed))
            rows = conn.execute(f"SELECT project, type, id, doc FROM resources WHERE type IN ({marks})", list(indexed))
            for project, type_id, doc_id, text in rows.fetchall():
                pairs = values(decode(text))
                conn.executemany(_INSERT, [(project, type_id, path, value, doc_id) for path, value in pairs])

    def listener(ctx: Ctx, change: Change) -> None:
        if change.type_id not in indexed:
            return
        project, type_id, before, after = change.project, change.type_id, change.before, change.after
        old = values(before) if before is not None else set()
        new = values(after) if after is not None else set()
        if before is not None and old - new:
            doc_id = before["id"]
            conn.executemany(_DELETE, [(project, type_id, path, value, doc_id) for path, value in old - new])
        if after is not None and new - old:
            doc_id = after["id"]
            conn.executemany(_INSERT, [(project, type_id, path, value, doc_id) for path, value in new - old])

    emulator.listeners.append(listener)


# ---------------------------------------------------------------- the prefilter


def _clauses(node: Any, prefix: str) -> list[frozenset[Pair]]:
    """Clauses a matching document must satisfy: for each, it holds at least one of the (path, value) pairs."""
    if isinstance(node, Compare):
        if node.op in ("=", "in") and node.cands and all(kind == "text" for kind, _ in node.cands):
            return [frozenset((prefix + node.field, value) for _, value in node.cands)]
        return []
    if isinstance(node, Nested):
        return _clauses(node.inner, f"{prefix}{node.field}.")
    if isinstance(node, And):
        return [clause for item in node.items for clause in _clauses(item, prefix)]
    if isinstance(node, Or):
        firsts = [_clauses(item, prefix) for item in node.items]
        if all(firsts):
            return [frozenset().union(*(clauses[0] for clauses in firsts))]
    return []  # Not, Defined, Empty: nothing is necessary


def _usable(clause: frozenset[Pair]) -> bool:
    return len(clause) <= MAX_CLAUSE_VALUES and all(
        path not in SKIPPED_PATHS and len(value) <= MAX_VALUE for path, value in clause
    )


def prefilter(
    project: str, type_id: str, predicates: Sequence[str], variables: Mapping[str, Sequence[str]]
) -> tuple[str, list[Any]]:
    """An SQL condition on ``resources`` (its ``id``) that every match of the predicates satisfies, answered
    from the value table; ``""`` when the predicates need no string at any kept path."""
    clauses = [c for p in predicates for c in _clauses(parse(p, variables), "") if _usable(c)]
    conditions, params = [], []
    for clause in sorted(clauses, key=len)[:MAX_CLAUSES]:
        by_path: dict[str, list[str]] = {}
        for path, value in sorted(clause):
            by_path.setdefault(path, []).append(value)
        selects = []
        for path, wanted in by_path.items():
            marks = ", ".join("?" * len(wanted))
            selects.append(
                "SELECT id FROM where_values WHERE project = ? AND type = ? AND path = ? "
                f"AND value {'= ?' if len(wanted) == 1 else f'IN ({marks})'}"
            )
            params += [project, type_id, path, *wanted]
        conditions.append(f"id IN ({' UNION ALL '.join(selects)})")
    return " AND ".join(conditions), params

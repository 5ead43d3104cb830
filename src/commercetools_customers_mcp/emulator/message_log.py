"""Where a project's Messages are kept: a ``messages`` table beside ``resources``, in the same SQLite file and
written in the same transaction as the change that produced them.

Every B-tree a write touches costs a page at commit (about 15 us each, measured), so a Message costs as few as
possible: a table of its own (not the ten expression indexes of ``resources``) with one index, on its ``id``.
Message ids are time-ordered UUIDs (version 7, ``message_id``: the first 48 bits are the milliseconds of
``createdAt``), so the same index finds one Message and the expired ones (``prune``: every id below the cutoff's).
Each resource's last ``sequenceNumber`` is kept apart, in ``message_sequences``, so it survives pruning: the next
Message of a resource always numbers on from its last one. Queries use the same compiled `where` and `sort` as
resources (both work on the ``doc`` column and end on ``seq``); ``since`` hides what ``deleteDaysAfterCreation``
has expired before ``prune`` deletes it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .store import Store, decode, encode

Doc = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_id ON messages(project, id);
CREATE TABLE IF NOT EXISTS message_sequences (
    project TEXT NOT NULL,
    resource TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (project, resource)
) WITHOUT ROWID;
"""


_VERSION_7 = (0x7 << 76) | (0b10 << 62)  # the version and variant bits
_RANDOM = ((2**12 - 1) << 64) | (2**62 - 1)  # the random bits: 12 after the version, 62 after the variant


def message_id(moment: datetime) -> str:
    """A new Message id: a UUID version 7 whose time is ``moment`` (so ids sort as their Messages were made)."""
    ms = int(moment.timestamp() * 1000) & (2**48 - 1)
    h = f"{(ms << 80) | _VERSION_7 | (int.from_bytes(os.urandom(10)) & _RANDOM):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _id_floor(moment: datetime) -> str:
    """The smallest Message id made at ``moment`` or later."""
    return str(uuid.UUID(int=(int(moment.timestamp() * 1000) & (2**48 - 1)) << 80))


def install(store: Store) -> None:
    """Create the tables (once per file)."""
    store.conn.executescript(_SCHEMA)


def reserve(store: Store, project: str, resource_id: str, count: int) -> int:
    """The first of ``count`` consecutive sequence numbers for the resource's next Messages (1 for its first)."""
    row = store.conn.execute(
        "INSERT INTO message_sequences VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET last = last + excluded.last "
        "RETURNING last",
        (project, resource_id, count),
    ).fetchone()
    return row[0] - count + 1


def append(store: Store, project: str, messages: Sequence[Doc]) -> int:
    """Store the Messages; the storage sequence (``seq``) of the last one."""
    last = 0
    for m in messages:
        cursor = store.conn.execute(
            "INSERT INTO messages(project, id, created_at, doc) VALUES (?, ?, ?, ?)",
            (project, m["id"], m["createdAt"], encode(m)),
        )
        last = cursor.lastrowid or 0
    return last


def prune(store: Store, project: str, before: datetime) -> None:
    """Delete the project's Messages created before ``before``."""
    store.conn.execute("DELETE FROM messages WHERE project = ? AND id < ?", (project, _id_floor(before)))


def get(store: Store, project: str, message_id: str, since: str) -> Doc | None:
    row = store.conn.execute(
        "SELECT doc FROM messages WHERE project = ? AND id = ? AND created_at >= ?", (project, message_id, since)
    ).fetchone()
    return decode(row[0]) if row else None


def _scope(where: str) -> str:
    return f"project = ? AND created_at >= ? AND ({where})"


def page(
    store: Store,
    project: str,
    since: str,
    where: str,
    params: Sequence[Any],
    *,
    order: str,
    limit: int,
    offset: int,
    with_total: bool,
) -> tuple[list[Doc], int]:
    """One page of the project's Messages since ``since`` that match, in ``order``, and how many match (0 when
    ``with_total`` is false)."""
    args = [project, since, *params]
    docs = [
        decode(row[0])
        for row in store.conn.execute(
            f"SELECT doc FROM messages WHERE {_scope(where)} ORDER BY {order} LIMIT ? OFFSET ?", [*args, limit, offset]
        )
    ]
    total = 0
    if with_total:
        total = store.conn.execute(f"SELECT count(*) FROM messages WHERE {_scope(where)}", args).fetchone()[0]
    return docs, total


def exists(store: Store, project: str, since: str, where: str, params: Sequence[Any]) -> bool:
    sql = f"SELECT 1 FROM messages WHERE {_scope(where)} LIMIT 1"
    return store.conn.execute(sql, [project, since, *params]).fetchone() is not None

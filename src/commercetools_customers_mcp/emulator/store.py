"""SQLite document store: every resource of every project in one ``resources`` table.

``doc`` holds the resource JSON (plus internal fields its module strips when rendering). Writes run in
``BEGIN IMMEDIATE`` transactions on the one write connection, on the event loop's thread, so a request's
version check and write are one atomic step; reads run there too, without a thread hop (a get by id takes
microseconds). The store only writes: what must stay in step with a write (the `where` value table, the search
index, Messages) is a listener of the backend's one write path (``backend.Emulator.commit``), which calls the
store's writes and its listeners inside one transaction.

Reads whose cost grows with the data (queries, searches) can run in worker threads instead
(``Store.reading``): each worker thread has its own read-only connection, and WAL gives it one committed
snapshot, so it never sees half of a write, never blocks one and is never blocked by one (a shared connection
would do both: SQLite holds a connection's mutex for a whole statement). An in-memory store has no second
connection to its data, so its reads stay on the calling thread (``parallel_reads`` is False).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson


def encode(doc: Any) -> str:
    """The stored JSON text of a document (or of one value: the `where` text prefilter looks for it)."""
    return orjson.dumps(doc).decode()


def decode(text: str | bytes) -> Any:
    return orjson.loads(text)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    key TEXT,
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS resources_id ON resources(project, type, id);
CREATE UNIQUE INDEX IF NOT EXISTS resources_key ON resources(project, type, key) WHERE key IS NOT NULL;
"""
# Expression indexes on what users filter and sort by most. A top-level `where` field compiles to exactly
# json_extract(doc, '$.<field>'), which is what lets SQLite use these.
INDEXED_FIELDS = (
    "lowercaseEmail",
    "email",
    "customerNumber",
    "firstName",
    "lastName",
    "createdAt",
    "lastModifiedAt",
    "key",
    "externalId",
    "customerId",
)


WAL_TRIES = 100


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode=WAL``, tried again for up to ~5 s while another process holds the new file: SQLite
    answers a concurrent switch with "database is locked" at once, without waiting for the busy timeout."""
    for attempt in range(WAL_TRIES):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_TRIES - 1:
                raise
            time.sleep(0.05)


_TOO_COMPLEX = ("parser stack overflow", "Expression tree is too large", "too many SQL variables", "too many terms")


def too_complex(exc: BaseException) -> bool:
    """Whether SQLite refused a statement as too deep or too large to run: the input was too complex, the
    store is fine."""
    return isinstance(exc, sqlite3.OperationalError) and any(text in str(exc) for text in _TOO_COMPLEX)


class Store:
    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._local = threading.local()  # a worker thread's read connection, while it reads
        # First, so that opening a file another process is writing (serve --workers) waits instead of failing.
        self.conn.execute("PRAGMA busy_timeout=5000")
        _switch_to_wal(self.conn)
        self.conn.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints are where WAL mode syncs to disk; with the search index on, a create touches ~80 pages,
        # so the default (every 1,000 pages) synced every dozen writes. Every 10,000 pages halves commit time.
        self.conn.execute("PRAGMA wal_autocheckpoint=10000")
        # Up to 64 MiB of page cache (SQLite's default is 2 MiB): with the `where` value table and the search
        # index, a 100k-customer project's hot indexes no longer fit in 2 MiB; bulk loading 20k more customers
        # on 20k took 17.1 s with the default and 9.9 s with this.
        self.conn.execute("PRAGMA cache_size=-65536")
        self.conn.executescript(_SCHEMA)
        for field in INDEXED_FIELDS:
            self.conn.execute(
                f"CREATE INDEX IF NOT EXISTS resources_{field} "
                f"ON resources(project, type, json_extract(doc, '$.{field}'))"
            )
        self._lock = threading.RLock()
        self._depth = 0
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self.parallel_reads = path != ":memory:" and not path.startswith("file:")
        self._tables: tuple[int, tuple[str, ...]] | None = None  # (schema version, tables keyed by project)

    @property
    def conn(self) -> sqlite3.Connection:
        """The write connection, except inside ``reading()`` on a worker thread: there every read of every
        module (the search compiler included) goes to that thread's read connection."""
        return getattr(self._local, "conn", None) or self._conn

    def close(self) -> None:
        for reader in self._readers:
            reader.close()
        self._conn.close()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Run the block's reads on this thread's read connection, in one read transaction (one snapshot).
        For worker threads of a store with ``parallel_reads``; writes inside raise (the connection is
        query-only)."""
        local = self._local
        reader = getattr(local, "reader", None)
        if reader is None:
            reader = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            reader.execute("PRAGMA query_only=1")
            reader.execute("PRAGMA busy_timeout=5000")
            reader.execute("PRAGMA cache_size=-16384")
            reader.execute("PRAGMA mmap_size=268435456")
            local.reader = reader
            with self._readers_lock:
                self._readers.append(reader)
        reader.execute("BEGIN")
        local.conn = reader
        try:
            yield
        finally:
            local.conn = None
            reader.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[None]:
        """One atomic write transaction (re-entrant: nested calls join the outer one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    # reads
    def get(self, project: str, type_id: str, id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT doc FROM resources WHERE project = ? AND type = ? AND id = ?", (project, type_id, id)
        ).fetchone()
        return decode(row[0]) if row else None

    def get_by_key(self, project: str, type_id: str, key: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT doc FROM resources WHERE project = ? AND type = ? AND key = ?", (project, type_id, key)
        ).fetchone()
        return decode(row[0]) if row else None

    def find(
        self,
        project: str,
        type_id: str,
        where: str = "1",
        params: Sequence[Any] = (),
        *,
        order: str = "seq",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        sql = f"SELECT doc FROM resources WHERE project = ? AND type = ? AND ({where}) ORDER BY {order}"
        args: list[Any] = [project, type_id, *params]
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        return [decode(r[0]) for r in self.conn.execute(sql, args)]

    def page(
        self, project: str, type_id: str, where: str, params: Sequence[Any], *, order: str, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of matches and the total, evaluating the filter once: a filter that is not answered by an
        index parses every document, so a second pass just to count would double the cost."""
        sql = (
            f"SELECT seq, count(*) OVER () FROM resources WHERE project = ? AND type = ? AND ({where}) "
            f"ORDER BY {order} LIMIT ? OFFSET ?"
        )
        rows = self.conn.execute(sql, [project, type_id, *params, max(limit, 1), offset]).fetchall()
        if not rows:
            return [], self.count(project, type_id, where, params) if offset else 0
        total = rows[0][1]
        seqs = [seq for seq, _ in rows[:limit]]
        found = dict(
            self.conn.execute(f"SELECT seq, doc FROM resources WHERE seq IN ({', '.join('?' * len(seqs))})", seqs)
        )
        return [decode(found[seq]) for seq in seqs], total

    def count(self, project: str, type_id: str, where: str = "1", params: Sequence[Any] = ()) -> int:
        sql = f"SELECT count(*) FROM resources WHERE project = ? AND type = ? AND ({where})"
        return self.conn.execute(sql, [project, type_id, *params]).fetchone()[0]

    def count_reaches(self, project: str, type_id: str, limit: int) -> bool:
        """Whether the project holds ``limit`` or more documents of the type. Nothing is counted while the whole
        store holds fewer rows than that (every row has its own positive ``seq``, so the largest bounds every
        count: one read); past that, at most ``limit`` index entries are read. A count kept by triggers cost a
        page at every commit: creates 7 % slower, measured against the emulator without it."""
        if (self.conn.execute("SELECT max(seq) FROM resources").fetchone()[0] or 0) < limit:
            return False
        sql = "SELECT 1 FROM resources WHERE project = ? AND type = ? LIMIT 1 OFFSET ?"
        return self.conn.execute(sql, (project, type_id, limit - 1)).fetchone() is not None

    def exists(self, project: str, type_id: str, where: str = "1", params: Sequence[Any] = ()) -> bool:
        sql = f"SELECT 1 FROM resources WHERE project = ? AND type = ? AND ({where}) LIMIT 1"
        return self.conn.execute(sql, [project, type_id, *params]).fetchone() is not None

    # writes (call inside `write()`; the backend's ``Emulator.commit`` is their one caller)
    def insert(self, project: str, type_id: str, doc: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO resources(project, type, id, key, doc) VALUES (?, ?, ?, ?, ?)",
            (project, type_id, doc["id"], doc.get("key"), encode(doc)),
        )

    def replace(self, project: str, type_id: str, doc: dict[str, Any]) -> None:
        self.conn.execute(
            "UPDATE resources SET key = ?, doc = ? WHERE project = ? AND type = ? AND id = ?",
            (doc.get("key"), encode(doc), project, type_id, doc["id"]),
        )

    def delete(self, project: str, type_id: str, doc: dict[str, Any]) -> None:
        self.conn.execute(
            "DELETE FROM resources WHERE project = ? AND type = ? AND id = ?", (project, type_id, doc["id"])
        )

    def _project_tables(self) -> tuple[str, ...]:
        """The tables other than ``resources`` with a ``project`` column, read again when the schema changed."""
        version = self.conn.execute("PRAGMA schema_version").fetchone()[0]
        if self._tables is None or self._tables[0] != version:
            found = self.conn.execute(
                "SELECT m.name FROM sqlite_master AS m WHERE m.type = 'table' AND m.name <> 'resources' "
                "AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) AS c WHERE c.name = 'project')"
            )
            self._tables = (version, tuple(name for (name,) in found))
        return self._tables[1]

    def drop_project(self, project: str) -> int:
        """Delete every row of ``project`` from every table with a ``project`` column: the resources and each
        feature's tables keyed by project (the `where` value table, the search index's values, Messages, Store
        members), found in the schema so that a table added later is not forgotten. Each of them leads an index
        with ``project``, so a project's rows are found without a scan. The number of resources deleted."""
        if not project:
            raise ValueError("drop_project needs a project key")
        for table in self._project_tables():
            self.conn.execute(f'DELETE FROM "{table}" WHERE project = ?', (project,))
        return self.conn.execute("DELETE FROM resources WHERE project = ?", (project,)).rowcount

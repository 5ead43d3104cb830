"""`sort` parameters -> ORDER BY, run against a real SQLite table."""

from __future__ import annotations

import json
import sqlite3

import pytest

from commercetools_customers_mcp.emulator.sorting import SortError, compile_sort

DOCS = [
    {"id": "a", "key": "k2", "email": "b@x.org", "lastName": "Lee", "version": 3,
     "createdAt": "2024-02-01T00:00:00.000Z", "name": {"en": "Beta"}, "custom": {"fields": {"x": 2, "my-f": "b"}}},
    {"id": "b", "key": "k1", "email": "a@x.org", "lastName": "Kim", "version": 1,
     "createdAt": "2024-01-01T00:00:00.000Z", "name": {"en": "Alpha"}, "custom": {"fields": {"x": 10, "my-f": "a"}}},
    {"id": "c", "email": "c@x.org", "lastName": "Lee", "version": 2, "createdAt": "2024-03-01T00:00:00.000Z"},
    {"id": "d", "key": "k3", "email": "d@x.org", "lastName": "Kim", "version": 1,
     "createdAt": "2024-01-01T00:00:00.000Z", "custom": {"fields": {"x": 2}}},
]  # fmt: skip


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE resources(seq INTEGER PRIMARY KEY, project TEXT, type TEXT, id TEXT, key TEXT, doc TEXT)"
    )
    for doc in DOCS:
        conn.execute(
            "INSERT INTO resources(project, type, id, doc) VALUES ('p', 'x', ?, ?)", (doc["id"], json.dumps(doc))
        )
    return conn


def order(db: sqlite3.Connection, sorts: list[str]) -> list[str]:
    return [row[0] for row in db.execute(f"SELECT id FROM resources ORDER BY {compile_sort(sorts)}")]


@pytest.mark.parametrize(
    ("sorts", "expected"),
    [
        ([], ["a", "b", "c", "d"]),
        (["createdAt asc"], ["b", "d", "a", "c"]),
        (["createdAt desc"], ["c", "a", "b", "d"]),
        (["createdAt"], ["b", "d", "a", "c"]),
        (["email DESC"], ["d", "c", "a", "b"]),
        (["lastName asc", "version desc"], ["b", "d", "a", "c"]),
        (["lastName desc", "email asc"], ["a", "c", "b", "d"]),
        (["version"], ["b", "d", "c", "a"]),
        (["key asc"], ["c", "b", "a", "d"]),  # missing first in asc
        (["key desc"], ["d", "a", "b", "c"]),  # and last in desc
        (["custom.fields.x asc", "id desc"], ["c", "d", "a", "b"]),
        (["custom.fields.x desc"], ["b", "a", "d", "c"]),
        (["name.en"], ["c", "d", "b", "a"]),
        (["custom.fields.my-f"], ["c", "d", "b", "a"]),
        (["  version   asc  "], ["b", "d", "c", "a"]),
    ],
)
def test_order(db: sqlite3.Connection, sorts: list[str], expected: list[str]) -> None:
    assert order(db, sorts) == expected


def test_sql_shape() -> None:
    assert compile_sort(["createdAt desc", "custom.fields.tier"]) == (
        "json_extract(doc, '$.createdAt') DESC, json_extract(doc, '$.custom.fields.tier') ASC, seq"
    )
    assert compile_sort([]) == "seq"
    assert compile_sort(["email"], column="r.doc") == "json_extract(r.doc, '$.email') ASC, r.seq"
    assert compile_sort(["a.b-c"]) == "json_extract(doc, '$.a.\"b-c\"') ASC, seq"


@pytest.mark.parametrize(
    "sort",
    ["", "   ", "addresses[0].city asc", "addresses[*].city", "a..b", ".a", "a.", "x dsc", "x asc desc", "x'y",
     "1abc", "a b", "email; DROP TABLE x", "a" * 300, "é asc", "\u017f", "x asc\x00"],
)  # fmt: skip
def test_invalid(sort: str) -> None:
    with pytest.raises(SortError) as info:
        compile_sort([sort])
    assert str(info.value).startswith("Malformed parameter: sort: ")


def test_too_many_and_wrong_types() -> None:
    with pytest.raises(SortError):
        compile_sort(["id"] * 17)
    with pytest.raises(SortError):
        compile_sort([None])  # type: ignore[list-item]

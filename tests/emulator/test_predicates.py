"""The `where` compiler: every operator against a real SQLite table, errors, indexes, and property tests that
the SQL agrees with the plain-Python reference semantics, with and without the value-table prefilter.

Tables are filled with the store's own encoder (``store.encode``): the text prefilter looks for the encoded
value in the stored text, so another encoder (``json.dumps`` escapes "é") would test something else."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from commercetools_customers_mcp.emulator import where_index
from commercetools_customers_mcp.emulator.backend import Change, Ctx, Emulator
from commercetools_customers_mcp.emulator.predicates import PredicateError, compile_where, evaluate
from commercetools_customers_mcp.emulator.store import Store, encode

DOCS: dict[str, dict[str, Any]] = {
    "c1": {
        "id": "c1",
        "key": "alice",
        "version": 3,
        "email": "Alice@Example.com",
        "lowercaseEmail": "alice@example.com",
        "firstName": "Alice",
        "lastName": "Smith",
        "isEmailVerified": True,
        "createdAt": "2024-01-05T10:00:00.000Z",
        "dateOfBirth": "1990-05-01",
        "customerGroup": {"typeId": "customer-group", "id": "g1"},
        "addresses": [{"id": "a1", "country": "DE", "city": "Berlin"}, {"id": "a2", "country": "FR", "city": "Paris"}],
        "shippingAddressIds": ["a1"],
        "stores": [{"typeId": "store", "key": "de-store"}],
        "custom": {"type": {"typeId": "type", "id": "t1"}, "fields": {"tier": "gold", "score": 10, "tags": ["vip"]}},
    },
    "c2": {
        "id": "c2",
        "key": "bob",
        "version": 1,
        "email": "bob@example.com",
        "lowercaseEmail": "bob@example.com",
        "firstName": "Bob",
        "lastName": "Jones",
        "companyName": 'Say "hi" \\ there',
        "isEmailVerified": False,
        "createdAt": "2024-03-01T08:30:00.000Z",
        "customerGroup": {"typeId": "customer-group", "id": "g2"},
        "addresses": [{"country": "DE", "city": "Munich"}, {"country": "AT", "city": "Berlin"}],
        "stores": [{"typeId": "store", "key": "at-store"}, {"typeId": "store", "key": "de-store"}],
        "custom": {"type": {"typeId": "type", "id": "t1"}, "fields": {"tier": "silver", "score": 2.5, "code": 1}},
    },
    "c3": {
        "id": "c3",
        "key": "c-3",
        "version": 12,
        "email": "carol@x.org",
        "lowercaseEmail": "carol@x.org",
        "customerNumber": "1",
        "createdAt": "2025-07-20T00:00:00.000Z",
        "addresses": [],
        "stores": [],
        "custom": {"fields": {"code": "1", "first-day": "2025-01-01"}},
    },
    "bu1": {
        "id": "bu1",
        "key": "acme",
        "version": 2,
        "unitType": "Company",
        "status": "Active",
        "name": "ACME",
        "storeMode": "Explicit",
        "associates": [
            {
                "customer": {"typeId": "customer", "id": "c1"},
                "associateRoleAssignments": [{"associateRole": {"key": "admin"}, "inheritance": "Enabled"}],
            }
        ],
    },
    "bu2": {
        "id": "bu2",
        "key": "acme-east",
        "version": 1,
        "unitType": "Division",
        "status": "Inactive",
        "name": "ACME East",
        "parentUnit": {"typeId": "business-unit", "key": "acme"},
        "associates": [{"customer": {"typeId": "customer", "id": "c2"}, "associateRoleAssignments": []}],
    },
    "r1": {
        "id": "r1",
        "key": "buyer",
        "version": 1,
        "name": "Buyer",
        "buyerAssignable": True,
        "permissions": ["CreateMyCarts", "UpdateMyCarts"],
    },
    "r2": {"id": "r2", "key": "admin", "version": 4, "name": "Admin", "buyerAssignable": False, "permissions": []},
}


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE resources(seq INTEGER PRIMARY KEY, project TEXT, type TEXT, id TEXT, key TEXT, doc TEXT)"
    )
    for doc_id, doc in DOCS.items():
        conn.execute(
            "INSERT INTO resources(project, type, id, key, doc) VALUES ('p', 'x', ?, ?, ?)",
            (doc_id, doc.get("key"), encode(doc)),
        )
    return conn


def run(db: sqlite3.Connection, predicates: list[str], variables: dict | None = None) -> set[str]:
    sql, params = compile_where(predicates, variables)
    return {row[0] for row in db.execute(f"SELECT id FROM resources WHERE project = 'p' AND {sql}", params)}


def reference(predicates: list[str], variables: dict | None = None) -> set[str]:
    return {i for i, d in DOCS.items() if all(evaluate(p, d, variables) for p in predicates)}


ALL = set(DOCS)

CASES: list[tuple[str, set[str]]] = [
    # equality and types
    ('lowercaseEmail = "alice@example.com"', {"c1"}),
    ('email = "alice@example.com"', set()),
    ('email = "Alice@Example.com"', {"c1"}),
    ('email != "bob@example.com"', ALL - {"c2"}),
    ('email <> "bob@example.com"', ALL - {"c2"}),
    ("version = 1", {"c2", "bu2", "r1"}),
    ("version = 1.0", {"c2", "bu2", "r1"}),
    ('version = "1"', set()),
    ('customerNumber = "1"', {"c3"}),
    ("customerNumber = 1", set()),
    ("isEmailVerified = true", {"c1"}),
    ("isEmailVerified = false", {"c2"}),
    ("isEmailVerified = 1", set()),
    ("isEmailVerified != true", ALL - {"c1"}),
    ("buyerAssignable = TRUE", {"r1"}),
    # ordering
    ("version > 2", {"c1", "c3", "r2"}),
    ("version >= 3", {"c1", "c3", "r2"}),
    ("version < 2", {"c2", "bu2", "r1"}),
    ("version <= -1", set()),
    ("version > -1.5", ALL),
    ('createdAt > "2024-02-01T00:00:00.000Z"', {"c2", "c3"}),
    ('createdAt <= "2024-03-01T08:30:00.000Z"', {"c1", "c2"}),
    ('dateOfBirth < "1991-01-01"', {"c1"}),
    ('key >= "b"', {"c2", "c3", "r1"}),
    # membership
    ('key in ("alice", "bob", "nobody")', {"c1", "c2"}),
    ('key not in ("alice", "bob")', ALL - {"c1", "c2"}),
    ("version in (1, 12)", {"c2", "c3", "bu2", "r1"}),
    ('version in ("1", 4)', {"r2"}),
    ('key IN ("acme")', {"bu1"}),
    # arrays of primitives
    ('permissions contains any ("UpdateMyCarts", "X")', {"r1"}),
    ('permissions contains all ("UpdateMyCarts", "CreateMyCarts")', {"r1"}),
    ('permissions contains all ("UpdateMyCarts", "X")', set()),
    ('permissions contains "CreateMyCarts"', {"r1"}),
    ('permissions = "CreateMyCarts"', {"r1"}),
    ('permissions != "CreateMyCarts"', ALL - {"r1"}),
    ('permissions in ("UpdateMyCarts")', {"r1"}),
    ('shippingAddressIds contains any ("a1")', {"c1"}),
    ('custom(fields(tags contains all ("vip")))', {"c1"}),
    ('firstName contains any ("Bob", "Zed")', {"c2"}),
    ('nothing contains any ("x")', set()),
    # defined / empty
    ("customerGroup is defined", {"c1", "c2"}),
    ("customerGroup is not defined", ALL - {"c1", "c2"}),
    ("addresses is empty", {"c3"}),
    ("addresses is not empty", {"c1", "c2"}),
    ("permissions is empty", {"r2"}),
    ("key is empty", set()),
    ("firstName is not defined", {"c3", "bu1", "bu2", "r1", "r2"}),
    # nesting
    ('addresses(country = "DE" and city = "Berlin")', {"c1"}),
    ('addresses(country = "DE") and addresses(city = "Berlin")', {"c1", "c2"}),
    ('addresses(country = "AT" or city = "Paris")', {"c1", "c2"}),
    ('addresses(not(country = "DE"))', {"c1", "c2"}),
    ("addresses(id is not defined)", {"c2"}),
    ('customerGroup(id = "g1")', {"c1"}),
    ('customerGroup(id = "g1" or id = "g2")', {"c1", "c2"}),
    ('associates(customer(id = "c1"))', {"bu1"}),
    ('associates(associateRoleAssignments(associateRole(key = "admin")))', {"bu1"}),
    ('custom(fields(tier = "gold"))', {"c1"}),
    ('custom(type(id = "t1") and fields(score > 2))', {"c1", "c2"}),
    ("custom(fields(score = 2.5))", {"c2"}),
    ('custom(fields(code = "1"))', {"c3"}),
    ("custom(fields(code = 1))", {"c2"}),
    ('custom(fields(first-day = "2025-01-01"))', {"c3"}),
    ('stores(key = "de-store")', {"c1", "c2"}),
    ('stores(key = "de-store") and not(stores(key = "at-store"))', {"c1"}),
    ('parentUnit(key = "acme")', {"bu2"}),
    ('key(x = "y")', set()),
    # boolean logic and precedence
    ('key = "alice" or key = "bob" and version = 3', {"c1"}),
    ('(key = "alice" or key = "bob") and version = 1', {"c2"}),
    ('not(key = "alice" or key = "bob")', ALL - {"c1", "c2"}),
    ('NOT(unitType = "Company") AND status is defined', {"bu2"}),
    ('key = "r" Or name = "Admin"', {"r2"}),
    # strings
    (r'companyName = "Say \"hi\" \\ there"', {"c2"}),
    (r"companyName = 'Say \"hi\" \\ there'", {"c2"}),
    ('name = "ACME\\u0020East"', {"bu2"}),
    ('lastName = "smith"', set()),
]


@pytest.mark.parametrize(("predicate", "expected"), CASES)
def test_case(db: sqlite3.Connection, predicate: str, expected: set[str]) -> None:
    assert run(db, [predicate]) == expected
    assert reference([predicate]) == expected


def test_several_predicates_are_anded(db: sqlite3.Connection) -> None:
    assert run(db, ['addresses(country = "DE")', "version > 1"]) == {"c1"}
    assert compile_where([]) == ("1", [])


@pytest.mark.parametrize(
    ("predicate", "variables", "expected"),
    [
        ("lowercaseEmail = :email", {"email": ["bob@example.com"]}, {"c2"}),
        ("key in :keys", {"keys": ["alice", "acme", "zzz"]}, {"c1", "bu1"}),
        ("key not in :keys", {"keys": ["alice"]}, ALL - {"c1"}),
        ("version = :v", {"v": ["12"]}, {"c3"}),
        ("version >= :v", {"v": ["4"]}, {"c3", "r2"}),
        ("customerNumber = :v", {"v": ["1"]}, {"c3"}),
        ("isEmailVerified = :b", {"b": ["true"]}, {"c1"}),
        ("custom(fields(code = :c))", {"c": ["1"]}, {"c2", "c3"}),
        ('key in ("bob", :k)', {"k": ["r", "admin"]}, {"c2", "r2"}),
        ("permissions contains any :p", {"p": ["UpdateMyCarts"]}, {"r1"}),
    ],
)
def test_variables(db: sqlite3.Connection, predicate: str, variables: dict, expected: set[str]) -> None:
    assert run(db, [predicate], variables) == expected
    assert reference([predicate], variables) == expected


@pytest.mark.parametrize(
    ("predicate", "variables", "fragment"),
    [
        ("email = ", None, "Unexpected end of input, expected ':', a number, a string, false or true"),
        ('email == "x"', None, "Invalid input '=', expected"),
        ('email == "x"', None, "(line 1, column 8)"),
        ('email = "x" and', None, "expected '(', a field name or not"),
        ('(email = "x"', None, "expected ')'"),
        ('email = "x")', None, "Invalid input ')'"),
        ('email ~ "x"', None, "Invalid input '~', expected '(', an operator (=, !=, <>, <, <=, >, >=)"),
        ('email = "x', None, "Invalid input '\"'"),
        ("", None, "empty"),
        ("   ", None, "empty"),
        ("email = :e", None, "The variable ':e' has no value; pass it as query parameter 'var.e' (line 1, column 10)"),
        ("email = :e", {"e": ["a", "b"]}, "has 2 values but is used as a single value"),
        ("email = :e", {"e": []}, "has no value"),
        ("geo within circle(13.37, 52.51, 1000)", None, "'within circle' is not supported"),
        ("isEmailVerified < true", None, "A boolean cannot be compared with '<'"),
        (r'email = "\q"', None, "Invalid escape sequence '\\q'"),
        ('email = "\\ud800"', None, "not valid UTF-8"),
        ("x = " + "9" * 400, None, "out of range"),
        ("(" * 21 + "a = 1" + ")" * 21, None, "deeper than 20"),
        ("a = 1 or " * 1200 + "a = 1", None, "at most 10000"),
        ("".join(f"a{i}(" for i in range(15)) + "x = 1" + ")" * 15, None, "nested more than 5 deep"),
        ("".join(f"a{i}(" for i in range(6)) + "x = 1" + ")" * 6, None, "nested more than 5 deep"),
        ("a(b = 1) and not(c(d(e(f(g(h(x = 1)))))))", None, "nested more than 5 deep"),
        ("x in :v", {"v": [str(i) for i in range(10_001)]}, "too many values"),
        ('key = "a" and and', None, "Unexpected end of input, expected '(', an operator"),
        ("1 = key", None, "Invalid input '1', expected '(', a field name or not"),
    ],
)
def test_errors(predicate: str, variables: dict | None, fragment: str) -> None:
    with pytest.raises(PredicateError) as info:
        compile_where([predicate], variables)
    message = str(info.value)
    assert message.startswith("Malformed parameter: where: ")
    assert fragment in message


def test_error_position_attributes() -> None:
    with pytest.raises(PredicateError) as info:
        compile_where(['key = "a" and\nversion >> 2'])
    assert (info.value.line, info.value.column) == (2, 10)
    assert "(line 2, column 10)" in str(info.value)


def test_keywords_are_case_insensitive_and_fields_may_look_like_keywords(db: sqlite3.Connection) -> None:
    assert run(db, ['key IN ("alice") AnD email IS DEFINED']) == {"c1"}
    assert run(db, ['notes = "x" or isolated is defined or orders contains any ("x")']) == set()


def test_moderate_nesting_and_long_predicates_run(db: sqlite3.Connection) -> None:
    deep = "".join(f"a{i}(" for i in range(5)) + "x = 1" + ")" * 5  # MAX_FIELD_DEPTH
    assert run(db, [deep]) == set()
    values = {"v": [f"k{i}" for i in range(5000)] + ["bob"]}  # a long `in :var`: no OR chain of 5,000
    assert run(db, ["key in :v"], values) == {"c2"}
    parens = "(" * 20 + 'key = "alice"' + ")" * 20
    assert run(db, [parens]) == {"c1"}
    negations = "not(" * 20 + 'key = "alice"' + ")" * 20
    assert run(db, [negations]) == {"c1"}
    chain = " or ".join(f'key = "k{i}"' for i in range(600)) + ' or key = "bob"'
    assert run(db, [chain]) == {"c2"}


def test_indexed_field_compiles_to_the_index_expression(db: sqlite3.Connection) -> None:
    sql, params = compile_where(['lowercaseEmail = "a@b.com"'])
    assert sql.endswith("(json_extract(doc, '$.lowercaseEmail') = ?)") and params[-1] == "a@b.com"
    sql, params = compile_where(["lowercaseEmail = :e"], {"e": ["a@b.com"]})
    assert "json_extract(doc, '$.lowercaseEmail') = ?" in sql
    assert "json_extract(doc, '$.key') IN (?, ?)" in compile_where(['key in ("a", "b")'])[0]
    assert "json_extract(r.doc, '$.email') = ?" in compile_where(['email = "x"'], column="r.doc")[0]
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_email ON resources(project, type, json_extract(doc, '$.lowercaseEmail'))"
    )
    sql, params = compile_where(['lowercaseEmail = "alice@example.com"'])
    plan = db.execute(
        f"EXPLAIN QUERY PLAN SELECT id FROM resources WHERE project = ? AND type = ? AND {sql}", ["p", "x", *params]
    ).fetchall()
    assert any("USING INDEX idx_email" in row[-1] for row in plan), plan


def test_text_equality_prefilters_on_the_stored_json_text() -> None:
    sql, params = compile_where(['addresses(country = "DE" and city = "Berlin")', 'firstName in ("Ann", "Bo")'])
    assert sql.startswith("(instr(doc, ?)) AND (instr(doc, ?)) AND (instr(doc, ?) OR instr(doc, ?)) AND ")
    assert params[:4] == ['"DE"', '"Berlin"', '"Ann"', '"Bo"']
    # negations, numbers and or-branches without a common need add nothing
    assert not compile_where(['not(firstName = "x")', "version = 2", 'firstName = "a" or key is defined'])[
        0
    ].startswith("(instr")


def test_compile_speed() -> None:
    simple = 'lowercaseEmail = "ann{}@example.com"'
    nine = (
        'email = "ann{}@example.com" and (firstName = "Ann" or lastName in ("Lee", "Kim")) and '
        'addresses(country = "DE" and city is defined) and version >= 2 and not(isEmailVerified = true) and '
        'customerGroup(id = "g1") and custom(fields(tier = "gold")) and key != "x"'
    )
    timings = {}
    for name, predicate in (("simple", simple), ("nine", nine)):
        compile_where([predicate.format("")])  # warm: the grammar is built once
        texts = [predicate.format(i) for i in range(200)]  # all distinct: no parse-cache hits
        start = time.perf_counter()
        for text in texts:
            compile_where([text])
        timings[name] = (time.perf_counter() - start) / len(texts)
    print(f"compile_where: simple {timings['simple'] * 1e6:.0f} us, 9-clause {timings['nine'] * 1e6:.0f} us")
    assert timings["simple"] < 0.005 and timings["nine"] < 0.02


# --- property test: SQL == reference semantics ---------------------------------------------------------

TOP = ["key", "version", "isEmailVerified", "tags", "n", "addr", "custom"]
INNER = ["k", "n", "tags", "sub"]
STRINGS = ["a", "b", "B", "1", "é", "{}", "[]", 'q"\\']
PRIMS = st.one_of(
    st.sampled_from(STRINGS),
    st.integers(-2, 2),
    st.sampled_from([0.5, 1.0, -1.5]),
    st.booleans(),
    st.none(),
)
VALUES = st.recursive(
    PRIMS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(INNER), inner, max_size=3),
    ),
    max_leaves=6,
)
DOCS_ST = st.lists(st.dictionaries(st.sampled_from(TOP), VALUES, max_size=5), min_size=1, max_size=6)

LITERALS = st.one_of(
    st.sampled_from(STRINGS).map(json.dumps),
    st.sampled_from(["0", "1", "2", "-1", "1.0", "0.5", "-1.5", "true", "false", ":v"]),
)
LIST_LIT = st.one_of(
    st.lists(LITERALS, min_size=1, max_size=3).map(lambda xs: "(" + ", ".join(xs) + ")"),
    st.just(":w"),
)
FIELDS = st.sampled_from(TOP + INNER)


def _leaf(field: str, kind: int, op: str, lit: str, lst: str) -> str:
    if kind == 0:
        if op in ("<", "<=", ">", ">=") and lit in ("true", "false"):
            lit = "1"
        return f"{field} {op} {lit}"
    return [
        f"{field} in {lst}",
        f"{field} not in {lst}",
        f"{field} contains any {lst}",
        f"{field} contains all {lst}",
        f"{field} is defined",
        f"{field} is not defined",
        f"{field} is empty",
        f"{field} is not empty",
    ][kind - 1]


LEAVES = st.builds(
    _leaf, FIELDS, st.integers(0, 8), st.sampled_from(["=", "!=", "<>", "<", "<=", ">", ">="]), LITERALS, LIST_LIT
)
PREDICATES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda p: f"not({p})"),
        st.tuples(st.sampled_from(["addr", "custom", "sub", "tags"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
    ),
    max_leaves=5,
)
VARIABLES = {"v": ["1"], "w": ["a", "2", "true"]}


@pytest.fixture(scope="module")
def scratch() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE resources(seq INTEGER PRIMARY KEY, doc TEXT)")
    return conn


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=DOCS_ST, predicate=PREDICATES)
@example(docs=[{"key": "é"}, {"tags": ["é", 'q"\\']}], predicate='key = "é" or tags = "é" or tags = "q\\"\\\\"')
def test_sql_matches_reference(scratch: sqlite3.Connection, docs: list[dict], predicate: str) -> None:
    scratch.execute("DELETE FROM resources")
    scratch.executemany("INSERT INTO resources(seq, doc) VALUES (?, ?)", [(i, encode(d)) for i, d in enumerate(docs)])
    sql, params = compile_where([predicate], VARIABLES)
    got = {row[0] for row in scratch.execute(f"SELECT seq FROM resources WHERE {sql}", params)}
    expected = {i for i, d in enumerate(docs) if evaluate(predicate, d, VARIABLES)}
    assert got == expected, (predicate, sql, params)


@pytest.fixture(scope="module")
def indexed() -> Emulator:
    """An emulator whose `where` value table covers type "x" (documents go in by hand: "key" is not a column
    here, so the listeners are shown each Change directly)."""
    emulator = Emulator(Store(":memory:"))
    where_index.install(emulator, ["x"])
    return emulator


def _write(emulator: Emulator, doc_id: str, before: dict | None, after: dict | None) -> None:
    store = emulator.store
    if before is not None:
        store.conn.execute("DELETE FROM resources WHERE id = ?", (doc_id,))
    if after is not None:
        store.conn.execute(
            "INSERT INTO resources(project, type, id, doc) VALUES ('p', 'x', ?, ?)", (doc_id, encode(after))
        )
    change = Change("p", "x", before and {**before, "id": doc_id}, after and {**after, "id": doc_id}, "update")
    for listener in emulator.listeners:
        listener(Ctx(emulator, "p"), change)


# Documents and predicates aimed at the value table: strings in lists, objects in lists, lists in lists.
VT_STRINGS = st.sampled_from(["a", "b", "é"])
VT_VALUES = st.recursive(
    VT_STRINGS | st.integers(0, 1),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["k", "tags"]), inner, max_size=2),
    max_leaves=5,
)
VT_DOCS = st.lists(st.dictionaries(st.sampled_from(["tags", "addr", "key"]), VT_VALUES, max_size=3), max_size=5)
VT_LEAVES = st.builds(
    lambda field, values, nested: f"addr({field} in ({values}))" if nested else f"{field} in ({values})",
    st.sampled_from(["tags", "addr", "key", "k"]),
    st.lists(VT_STRINGS.map(json.dumps), min_size=1, max_size=2).map(", ".join),
    st.booleans(),
)
VT_PREDICATES = st.recursive(
    VT_LEAVES,
    lambda inner: (
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        | inner.map(lambda p: f"not({p})")
    ),
    max_leaves=3,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=VT_DOCS | DOCS_ST, replacements=VT_DOCS | DOCS_ST, predicate=VT_PREDICATES | PREDICATES)
def test_value_table_prefilter_keeps_every_match(
    indexed: Emulator, docs: list[dict], replacements: list[dict], predicate: str
) -> None:
    """Inserted, then partly replaced and deleted through the listener: the prefiltered query still finds
    exactly what the reference semantics find."""
    with indexed.store.write():
        indexed.store.conn.execute("DELETE FROM resources")
        indexed.store.conn.execute("DELETE FROM where_values")
        for i, doc in enumerate(docs):
            _write(indexed, f"d{i}", None, doc)
        current = dict(enumerate(docs))
        for i, new in enumerate(replacements):
            if i in current:
                _write(indexed, f"d{i}", current[i], new)
                current[i] = new
        if len(current) > 1:
            _write(indexed, "d0", current.pop(0), None)
    prefilter, pre_params = where_index.prefilter("p", "x", [predicate], VARIABLES)
    where, params = compile_where([predicate], VARIABLES)
    condition = f"{prefilter} AND ({where})" if prefilter else where
    sql = f"SELECT id FROM resources WHERE project = 'p' AND type = 'x' AND {condition}"
    got = {row[0] for row in indexed.store.conn.execute(sql, [*pre_params, *params])}
    expected = {f"d{i}" for i, d in current.items() if evaluate(predicate, d, VARIABLES)}
    assert got == expected, (predicate, prefilter, pre_params)


def test_value_table_answers_nested_and_unindexed_fields_from_its_index(indexed: Emulator) -> None:
    """The prefilter is what makes these fast: it must be there, and SQLite must read it through its key."""
    for predicate in ('addresses(country = "LU")', 'companyName in ("A", "B")', 'custom(fields(tier = "gold"))'):
        prefilter, params = where_index.prefilter("p", "x", [predicate], {})
        assert prefilter.startswith("id IN (SELECT id FROM where_values"), predicate
        explain = f"EXPLAIN QUERY PLAN SELECT 1 FROM resources WHERE {prefilter}"
        plan = " ".join(row[3] for row in indexed.store.conn.execute(explain, params))
        assert "USING PRIMARY KEY" in plan, plan
    # fields an expression index answers, comparisons without a necessary string, negations: no prefilter
    for predicate in ('lowercaseEmail = "a@x.com"', "version > 2", 'not(companyName = "A")', 'key = "k"'):
        assert where_index.prefilter("p", "x", [predicate], {}) == ("", []), predicate


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*'ab =<>!"\\():,.-_1tT ndorsi()', "\x00", "é"]), max_size=40))
def test_garbage_only_raises_predicate_error(text: str) -> None:
    with contextlib.suppress(PredicateError):
        compile_where([text], {"a": ["x"]})


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_any_text_only_raises_predicate_error(text: str) -> None:
    try:
        sql, params = compile_where([text])
    except PredicateError:
        return
    sqlite3.connect(":memory:").execute("CREATE TABLE resources(doc)").execute(
        f"SELECT 1 FROM resources WHERE {sql}", params
    )

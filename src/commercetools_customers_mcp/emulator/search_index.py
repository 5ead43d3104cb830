"""Customer and Business Unit Search: the search index and the query language compiled to SQL.

The index lives next to the documents, in the same SQLite database, and a listener of the one write path
(``Emulator.listeners``) keeps it in step inside every write transaction:

- ``search_fields`` holds one row per searchable value (array fields give several rows): the value as text,
  lower-cased text and number, with indexes for exact, prefix, wildcard, range, exists and sorting.
- ``search_text`` (FTS5, unicode61 tokenizer without diacritics) holds the analysed text of the text fields,
  keyed by the ``search_fields`` row id, plus one combined row per document for the ``all`` field.
  ``fullText`` / ``fullTextPrefix`` use FTS5 ``MATCH`` and its ``bm25`` as relevance.
- ``fuzzy`` takes candidate terms from the FTS5 vocabulary (``fts5vocab``) filtered in SQL by length and in
  Python by Levenshtein distance (the vocabulary is small next to the documents), then matches them via FTS.

A query compiles to one SQL statement returning ``(id, score)``; nothing scans documents in Python. Scores:
``bm25`` (sign flipped) for full-text kinds, 1.0 per matched exact/prefix/wildcard/range/exists expression,
times ``boost``; ``and`` / ``or`` add their children's scores, ``filter`` and ``not`` add nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..querylang.search_fields import ALL, CUSTOM, FIELDS, TEXT
from . import errors
from .backend import Change, Ctx, Emulator
from .store import Store


@dataclass(frozen=True)
class SearchKind:
    """One search of the API: its Project status key and update action, endpoint, indexed type and request."""

    name: str  # the key under Project.searchIndexing
    status_action: str  # the Project update action that switches it
    endpoint: str  # URL segment: POST /{projectKey}/<endpoint>/search
    type_id: str  # the indexed resource type
    request_schema: str  # spec component of the request body
    label: str  # in messages
    view_scope: str


SEARCHES = (
    SearchKind(
        name="customers",
        status_action="changeCustomerSearchStatus",
        endpoint="customers",
        type_id="customer",
        request_schema="CustomerSearchRequest",
        label="Customer",
        view_scope="view_customers",
    ),
    SearchKind(
        name="businessUnits",
        status_action="changeBusinessUnitSearchStatus",
        endpoint="business-units",
        type_id="business-unit",
        request_schema="BusinessUnitSearchRequest",
        label="Business Unit",
        view_scope="view_business_units",
    ),
)
MAX_EXPRESSIONS = 50  # the API's documented limit, as the string length
MAX_STRING = 256
# Compound expressions (and / or / not / filter) nest at most this deep. The API documents no depth (its 50
# expressions allow 49 levels); compounds compile to flat CTEs, which run at 30 levels too (measured), so this
# is a bound on work, far above what a real query needs.
MAX_NESTING = 10
_FUZZY_WORDS_BY_SQL = 4  # fuzzy words looked up one by one before the whole vocabulary is read once
NUMERIC_FIELD_TYPES = {"number", "money", "set_number", "set_money"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS search_fields (
    rowid INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    field TEXT NOT NULL,
    value_text TEXT,
    value_lower TEXT,
    value_num REAL
);
CREATE INDEX IF NOT EXISTS search_fields_text ON search_fields(project, type, field, value_text);
CREATE INDEX IF NOT EXISTS search_fields_lower ON search_fields(project, type, field, value_lower);
CREATE INDEX IF NOT EXISTS search_fields_num ON search_fields(project, type, field, value_num);
CREATE INDEX IF NOT EXISTS search_fields_doc ON search_fields(project, type, id);
CREATE VIRTUAL TABLE IF NOT EXISTS search_text USING fts5(body, tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS search_vocab USING fts5vocab(search_text, 'row');
"""


# ---------------------------------------------------------------- the index


@dataclass
class _Row:
    field: str
    text: str | None
    num: float | None
    analysed: str | None  # the text that goes to FTS, if any


def _walk(node: Any, steps: list[str]) -> Iterator[Any]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, steps)
        return
    if not steps:
        if node is not None:
            yield node
        return
    if isinstance(node, dict) and steps[0] in node:
        yield from _walk(node[steps[0]], steps[1:])


def _scalar(value: Any) -> tuple[str | None, float | None]:
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if isinstance(value, int | float):
        return None, float(value)
    return str(value), None


def _custom_rows(fields: dict[str, Any]) -> Iterator[_Row]:
    """Custom field values: enum/lenum by key, money by centAmount, reference by id, ltext per language."""
    for name, raw in fields.items():
        for value in raw if isinstance(raw, list) else [raw]:
            path = CUSTOM + name
            if isinstance(value, dict):
                if "key" in value and "label" in value:
                    value = value["key"]
                elif "centAmount" in value:
                    value = value["centAmount"]
                elif "typeId" in value:
                    value = value.get("id")
                else:
                    for lang, text in value.items():
                        yield _Row(f"{path}.{lang}", str(text), None, str(text))
                    continue
            text, num = _scalar(value)
            yield _Row(path, text, num, text if isinstance(value, str) else None)


def _rows(type_id: str, doc: dict[str, Any]) -> list[_Row]:
    rows = []
    for field, kind in FIELDS[type_id].items():
        if field == "fullName":
            names = [doc.get(n) for n in ("firstName", "middleName", "lastName")]
            values: list[Any] = [" ".join(n for n in names if n)] if any(names) else []
        else:
            values = list(_walk(doc, field.split(".")))
        for value in values:
            text, num = _scalar(value)
            rows.append(_Row(field, text, num, text if kind == TEXT else None))
    body = " ".join(r.analysed for r in rows if r.analysed and r.field != "fullName")
    if body:
        rows.append(_Row(ALL, None, None, body))
    custom = (doc.get("custom") or {}).get("fields") or {}
    rows.extend(_custom_rows(custom))
    return rows


def _unindex(store: Store, project: str, type_id: str, doc_id: str | None = None) -> None:
    where, args = "project = ? AND type = ?", [project, type_id]
    if doc_id is not None:
        where, args = where + " AND id = ?", [*args, doc_id]
    store.conn.execute(f"DELETE FROM search_text WHERE rowid IN (SELECT rowid FROM search_fields WHERE {where})", args)
    store.conn.execute(f"DELETE FROM search_fields WHERE {where}", args)


def _index(store: Store, project: str, type_id: str, docs: Iterable[dict[str, Any]]) -> None:
    """Index documents with two bulk inserts (one for the values, one for the analysed text)."""
    start = store.conn.execute("SELECT coalesce(max(rowid), 0) FROM search_fields").fetchone()[0] + 1
    fields, texts = [], []
    for doc in docs:
        for r in _rows(type_id, doc):
            fields.append(
                (start, project, type_id, doc["id"], r.field, r.text, r.text.lower() if r.text else None, r.num)
            )
            if r.analysed:
                texts.append((start, r.analysed))
            start += 1
    store.conn.executemany(
        "INSERT INTO search_fields(rowid, project, type, id, field, value_text, value_lower, value_num) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        fields,
    )
    store.conn.executemany("INSERT INTO search_text(rowid, body) VALUES (?, ?)", texts)


def install_index(emulator: Emulator, active: Callable[[Ctx, str], bool]) -> None:
    """Create the index tables and keep them in step with every write of an indexed type (a listener of the
    emulator).

    ``active(ctx, type_id)`` says whether that search is switched on in the context's project: like the API, an
    inactive search keeps no index (writes stay cheap) and activation builds it afresh (``rebuild``).
    """
    store = emulator.store
    store.conn.executescript(_SCHEMA)

    def listener(ctx: Ctx, change: Change) -> None:
        type_id = change.type_id
        if type_id not in FIELDS or not active(ctx, type_id):
            return
        if change.before is not None:
            _unindex(store, change.project, type_id, change.before["id"])
        if change.after is not None:
            _index(store, change.project, type_id, [change.after])

    emulator.listeners.append(listener)

    def drop(store: Store, project: str) -> None:  # the full-text rows are keyed by search_fields' rowid only
        store.conn.execute(
            "DELETE FROM search_text WHERE rowid IN (SELECT rowid FROM search_fields WHERE project = ?)", (project,)
        )

    emulator.project_droppers.append(drop)


def drop(store: Store, project: str, type_id: str) -> None:
    """Forget one project's index of one type (call inside a write transaction)."""
    _unindex(store, project, type_id)


def rebuild(store: Store, project: str, type_id: str) -> int:
    """Index every document of one project and type afresh (call inside a write transaction)."""
    _unindex(store, project, type_id)
    docs = store.find(project, type_id)
    _index(store, project, type_id, docs)
    return len(docs)


# ---------------------------------------------------------------- text helpers


def terms(value: str) -> list[str]:
    """Roughly what FTS5's unicode61 tokenizer (remove_diacritics 2) makes of ``value``."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", plain.lower())


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def fuzzy_level(term: str, level: int) -> int:
    """The effective edit distance: capped by term length (1-2 chars → 0, 3-5 → 1, longer → 2)."""
    cap = 0 if len(term) <= 2 else 1 if len(term) <= 5 else 2
    return max(0, min(level, cap))


def levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance, giving up (returning limit + 1) once every path exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


# ---------------------------------------------------------------- the compiler


@dataclass
class Compiled:
    sql: str  # SELECT id, score
    params: list[Any]


class Compiler:
    """SearchQuery → SQL over the index, for one project and indexed type."""

    def __init__(self, store: Store, project: str, type_id: str) -> None:
        self.store = store
        self.project = project
        self.type_id = type_id
        self.fields = FIELDS[type_id]
        self.count = 0
        self.ctes: list[tuple[str, str]] = []  # (name, SELECT id, score): the compounds' parts, in order
        self.cte_params: list[Any] = []
        self._vocab: dict[int, list[tuple[str, bool]]] | None = None  # the FTS5 vocabulary by term length
        self._fuzzy: dict[tuple[str, int], list[str]] = {}

    # fields and values
    def field(self, expr: dict[str, Any]) -> str:
        name = expr["field"]
        if name.startswith(CUSTOM) and len(name) > len(CUSTOM):
            if "fieldType" not in expr:
                raise errors.invalid_input(f"The custom field '{name}' needs a 'fieldType'.")
            language = expr.get("language")
            return f"{name}.{language}" if expr["fieldType"] in ("ltext", "set_ltext") and language else name
        if name != ALL and name not in self.fields:
            searchable = ", ".join([ALL, *self.fields, "custom.<name>"])
            raise errors.invalid_input(f"The field '{name}' is not searchable. Searchable fields: {searchable}.")
        return name

    def _check(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > MAX_STRING:
            raise errors.invalid_input(f"Search values can be at most {MAX_STRING} characters long.")
        if isinstance(value, list):
            for item in value:
                self._check(item)
        return value

    def _string(self, expr: dict[str, Any], kind: str) -> str:
        value = self._check(expr.get("value"))
        if not isinstance(value, str):
            raise errors.invalid_input(f"'{kind}' on field '{expr['field']}' needs a string value.")
        return value

    # the language
    def compile(self, query: dict[str, Any] | None) -> Compiled:
        if query is None:
            return Compiled("SELECT id, 1.0 AS score FROM resources WHERE project = ? AND type = ?", self.scope())
        if self._nesting(query) > MAX_NESTING:
            raise errors.invalid_input(
                f"Compound expressions (and, or, not, filter) can be nested at most {MAX_NESTING} deep."
            )
        return self.node(query)

    def _nesting(self, query: dict[str, Any]) -> int:
        """How deep compound expressions nest (iteratively: a deep document must not exhaust the stack)."""
        deepest, stack = 0, [(query, 0)]
        while stack:
            node, depth = stack.pop()
            for kind, body in node.items() if isinstance(node, dict) else ():
                if kind in ("and", "or", "not", "filter") and isinstance(body, list):
                    deepest = max(deepest, depth + 1)
                    stack.extend((child, depth + 1) for child in body)
        return deepest

    def scope(self) -> list[Any]:
        return [self.project, self.type_id]

    def node(self, query: dict[str, Any]) -> Compiled:
        (kind, body), *_ = query.items()
        if kind in ("and", "or", "not", "filter"):
            if not body:
                raise errors.invalid_input(f"The compound expression '{kind}' needs at least one expression.")
            return getattr(self, f"_{kind}")([self.node(q) for q in body])
        self.count += 1
        if self.count > MAX_EXPRESSIONS:
            raise errors.invalid_input(f"A search query can contain at most {MAX_EXPRESSIONS} expressions.")
        field = self.field(body)
        boost = float(body.get("boost", 1.0))
        if kind in ("fullText", "fullTextPrefix", "fuzzy"):
            return self._text(kind, field, body, boost)
        condition, params = getattr(self, f"_{kind}")(body)
        # name the index: left alone, SQLite prefers the (project, type, id) one for the GROUP BY, and scans
        columns = [c for c in ("value_text", "value_lower", "value_num") if c in condition]
        index = f"search_fields_{columns[0][6:]}" if len(columns) == 1 else "search_fields_text"
        sql = (
            f"SELECT id, {boost!r} AS score FROM search_fields INDEXED BY {index} "
            f"WHERE project = ? AND type = ? AND field = ? AND ({condition}) GROUP BY id"
        )
        return Compiled(sql, [*self.scope(), field, *params])

    def _union(self, parts: list[Compiled]) -> tuple[str, list[Any]]:
        """The parts' rows, one after the other. Each part becomes a named CTE (``WITH qN AS (…)``) instead of a
        nested subquery, so however deep compounds nest, every statement is flat: nested subqueries overflowed
        SQLite's parser stack at 4 levels of ``not``."""
        names = []
        for part in parts:
            name = f"q{len(self.ctes) + 1}"
            self.ctes.append((name, part.sql))
            self.cte_params.extend(part.params)
            names.append(name)
        return " UNION ALL ".join(f"SELECT id, score FROM {name}" for name in names), []

    def _and(self, parts: list[Compiled], score: str = "sum(score)") -> Compiled:
        sql, params = self._union(parts)
        return Compiled(f"SELECT id, {score} AS score FROM ({sql}) GROUP BY id HAVING count(*) = {len(parts)}", params)

    def _filter(self, parts: list[Compiled]) -> Compiled:
        return self._and(parts, "0.0")

    def _or(self, parts: list[Compiled]) -> Compiled:
        sql, params = self._union(parts)
        return Compiled(f"SELECT id, sum(score) AS score FROM ({sql}) GROUP BY id", params)

    def _not(self, parts: list[Compiled]) -> Compiled:
        sql, params = self._union(parts)
        return Compiled(
            "SELECT id, 0.0 AS score FROM resources WHERE project = ? AND type = ? "
            f"AND id NOT IN (SELECT id FROM ({sql}))",
            [*self.scope(), *params],
        )

    def with_clause(self, root: Compiled) -> tuple[str, list[Any]]:
        """``WITH q1 AS (…), …, m(id, score) AS (<root>)`` and its parameters, in order."""
        ctes = "".join(f"{name} AS ({sql}), " for name, sql in self.ctes)
        return f"WITH {ctes}m(id, score) AS ({root.sql})", [*self.cte_params, *root.params]

    # simple expressions: a condition on one search_fields row
    def _exact(self, expr: dict[str, Any]) -> tuple[str, list[Any]]:
        if ("value" in expr) == ("values" in expr):
            raise errors.invalid_input(f"'exact' on field '{expr['field']}' needs either 'value' or 'values'.")
        values = self._check(expr["values"] if "values" in expr else [expr["value"]])
        column = "value_lower" if expr.get("caseInsensitive") else "value_text"
        texts, numbers = [], []
        for value in values:
            if not isinstance(value, str | int | float):
                raise errors.invalid_input(
                    f"'exact' on field '{expr['field']}': values must be strings, numbers or booleans."
                )
            text, num = _scalar(value)  # exactly one of them is set
            if text is not None:
                texts.append(text.lower() if expr.get("caseInsensitive") else text)
            elif num is not None:
                numbers.append(num)
        # IN lists, not chains of OR: a chain of 1,000 was deeper than SQLite's expression limit
        conditions = [
            f"{name} IN ({', '.join('?' * len(found))})"
            for name, found in ((column, texts), ("value_num", numbers))
            if found
        ]
        return " OR ".join(conditions) or "0", [*texts, *numbers]

    def _prefix(self, expr: dict[str, Any]) -> tuple[str, list[Any]]:
        value = self._string(expr, "prefix")
        column, value = ("value_lower", value.lower()) if expr.get("caseInsensitive") else ("value_text", value)
        return f"{column} >= ? AND {column} < ?", [value, value + "\U0010ffff"]

    def _wildcard(self, expr: dict[str, Any]) -> tuple[str, list[Any]]:
        value = self._string(expr, "wildcard")
        column, value = ("value_lower", value.lower()) if expr.get("caseInsensitive") else ("value_text", value)
        pattern = "".join("[[]" if c == "[" else c for c in value)
        literal = re.split(r"[*?]", value, maxsplit=1)[0]
        return f"{column} >= ? AND {column} < ? AND {column} GLOB ?", [literal, literal + "\U0010ffff", pattern]

    def _range(self, expr: dict[str, Any]) -> tuple[str, list[Any]]:
        conditions, params = [], []
        for name, op in (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")):
            if name not in expr:
                continue
            text, num = _scalar(self._check(expr[name]))
            conditions.append(f"value_num {op} ?" if num is not None else f"value_text {op} ?")
            params.append(num if num is not None else text)
        if not conditions:
            raise errors.invalid_input(f"'range' on field '{expr['field']}' needs one of gt, gte, lt or lte.")
        return " AND ".join(conditions), params

    def _exists(self, expr: dict[str, Any]) -> tuple[str, list[Any]]:
        return "1", []

    # full text
    def _text(self, kind: str, field: str, expr: dict[str, Any], boost: float) -> Compiled:
        words = terms(self._string(expr, kind))
        joiner = " OR " if expr.get("mustMatch") == "any" else " AND "
        if kind == "fuzzy":
            groups = [self._fuzzy_terms(w, fuzzy_level(w, expr["level"])) for w in words]
            if joiner == " OR ":
                groups = [g for g in groups if g]
            clauses = ["(" + " OR ".join(_quote(t) for t in g) + ")" if g else "" for g in groups]
        else:
            clauses = [_quote(w) for w in words]
            if kind == "fullTextPrefix" and clauses:
                clauses[-1] += " *"
        if not clauses or not all(clauses):
            return Compiled("SELECT NULL AS id, 0.0 AS score WHERE 0", [])
        sql = (
            f"SELECT f.id AS id, max(-t.rank) * {boost!r} AS score "
            "FROM (SELECT rowid, rank FROM search_text WHERE search_text MATCH ?) t "
            "JOIN search_fields f NOT INDEXED ON f.rowid = t.rowid "  # FTS first, then row id lookups
            "WHERE f.project = ? AND f.type = ? AND f.field = ? GROUP BY f.id"
        )
        return Compiled(sql, [joiner.join(clauses), *self.scope(), field])

    def _fuzzy_terms(self, word: str, level: int) -> list[str]:
        """Vocabulary terms within ``level`` edits of ``word``, remembered per word (a word repeated across
        expressions costs once). The first few words each read the terms of their lengths from the FTS5
        vocabulary; a query with more reads the whole vocabulary once instead (64 words read it 64 times: one
        64-word expression took 1.37 s on 10k customers, 0.24 s so)."""
        if level == 0:
            return [word]
        found = self._fuzzy.get((word, level))
        if found is not None:
            return found
        # a word with more than `level` non-digits is further than `level` edits from any all-digit term
        # (postal codes, numbers): those are left out before the Python distance check
        letters = sum(not c.isdigit() for c in word) > level
        if self._vocab is None and len(self._fuzzy) < _FUZZY_WORDS_BY_SQL:
            sql = "SELECT term FROM search_vocab WHERE length(term) BETWEEN ? AND ?"
            if letters:
                sql += " AND term GLOB '*[^0-9]*'"
            candidates: Iterable[str] = (
                t for (t,) in self.store.conn.execute(sql, (len(word) - level, len(word) + level))
            )
        else:
            candidates = (
                term
                for length in range(len(word) - level, len(word) + level + 1)
                for term, digits_only in self._vocabulary().get(length, ())
                if not (letters and digits_only)
            )
        found = self._fuzzy[(word, level)] = [t for t in candidates if levenshtein(word, t, level) <= level]
        return found

    def _vocabulary(self) -> dict[int, list[tuple[str, bool]]]:
        if self._vocab is None:
            self._vocab = {}
            for (term,) in self.store.conn.execute("SELECT term FROM search_vocab"):
                self._vocab.setdefault(len(term), []).append((term, term.isascii() and term.isdigit()))
        return self._vocab


# ---------------------------------------------------------------- running a search


def _sort_key(compiler: Compiler, sort: dict[str, Any], params: list[Any]) -> str:
    order = "DESC" if sort["order"] == "desc" else "ASC"
    if sort.get("filter") is not None:
        raise errors.invalid_input("The emulator does not support 'filter' in search sorting.")
    if sort["field"] == "score":
        return f"m.score {order}"
    field = compiler.field(sort)
    numeric = sort.get("fieldType") in NUMERIC_FIELD_TYPES
    mode = sort.get("mode") or ("max" if order == "DESC" else "min")
    if mode in ("avg", "sum") and not numeric:
        raise errors.invalid_input(f"Sort mode '{mode}' needs a numeric field; '{sort['field']}' is not.")
    column = "value_num" if numeric else "value_lower"
    key = (
        f"(SELECT {mode}({column}) FROM search_fields s "
        "WHERE s.project = ? AND s.type = ? AND s.id = m.id AND s.field = ?)"
    )
    # the key appears twice (missing values last), so its parameters do too
    params.extend([*compiler.scope(), field] * 2)
    return f"{key} IS NULL, {key} {order}"


def search(
    store: Store,
    project: str,
    type_id: str,
    query: dict[str, Any] | None,
    sort: list[dict[str, Any]] | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Run a validated search request; the response body ``{total, offset, limit, results}``."""
    compiler = Compiler(store, project, type_id)
    compiled = compiler.compile(query)
    sort_params: list[Any] = []
    keys = [_sort_key(compiler, s, sort_params) for s in sort or [{"field": "score", "order": "desc"}]]
    with_clause, params = compiler.with_clause(compiled)
    sql = (
        f"{with_clause} SELECT m.id, m.score, count(*) OVER () FROM m ORDER BY {', '.join(keys)}, m.id LIMIT ? OFFSET ?"
    )
    rows = store.conn.execute(sql, [*params, *sort_params, limit, offset]).fetchall()
    count_sql = f"{with_clause} SELECT count(*) FROM m"
    total = rows[0][2] if rows else store.conn.execute(count_sql, params).fetchone()[0]
    return {
        "total": total,
        "offset": offset,
        "limit": limit,
        "results": [{"id": doc_id, "relevance": score} for doc_id, score, _ in rows],
    }

"""The `where` query predicate language, compiled to SQL over the JSON documents in SQLite.

`compile_where` parses (lark LALR, grammar in ``where.lark``) and compiles predicates to one SQL boolean
expression plus bound parameters; `evaluate` gives the same semantics in plain Python (the property test
checks that the two agree).

Semantics (decisions where commercetools documents nothing):

- Values are typed: a string literal only matches JSON strings, a number only JSON numbers (so ``"1"``
  never matches ``1`` and ``= 1`` never matches ``true``), ``true``/``false`` only JSON booleans.
  Strings (dates and datetimes included) compare by code point, numbers numerically. Ordering a boolean
  is a `PredicateError`.
- A variable (``:name``, from the ``var.name`` query parameters) holds strings. Each value matches a JSON
  string equal to it, a JSON number when the value reads as a number (``-?digits[.digits]``), and a JSON
  boolean when it is ``true``/``false``. ``= :v`` needs exactly one value; ``in :v`` takes them all.
- A comparison (``=``, ``<``, ``in``, ``contains``) against a missing or null field is false.
  ``!=``, ``<>``, ``not in``, ``is not defined`` and ``not(...)`` are the exact negations of their positive
  forms, so ``email != "x"`` matches documents without an email.
- Arrays of primitives: ``=``, ``<``…, ``in`` and ``contains any`` match if ANY element matches;
  ``contains all`` needs every listed value to equal some element; ``!=`` means no element equals.
  On a non-array value ``contains any`` is ``in`` and ``contains all`` is ``=`` for every value.
  Exception: top-level fields the API declares as scalars (`scalar_fields`) are compared as a whole, so
  they compile to plain ``json_extract(doc, '$.field') = ?`` and hit the expression indexes.
- ``field(inner)``: on an object the inner predicate applies to it; on an array, the match needs ONE
  object element that satisfies the whole inner predicate; on anything else it is false.
- ``is defined``: present and not null. ``is empty`` / ``is not empty``: an array with 0 / at least 1
  elements (anything else, missing included, is neither).
- ``within circle`` is not supported (no geo fields in this domain).
- Limits: 10,000 characters per predicate, 20 levels of parentheses (``querylang.where``); here, so that
  every predicate the parser accepts runs (SQLite's parser stack and expression depth are the real bounds):
  fields nested at most ``MAX_FIELD_DEPTH`` deep (``a(b(c(d(e(f = 1)))))`` is 5; the deepest real path,
  ``associates(associateRoleAssignments(associateRole(key = "x")))``, is 3) and at most ``MAX_PARAMS`` values
  in all (``in :var`` takes one per ``var.<name>`` parameter). Going over is ``InvalidInput``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from .. import spec
from ..querylang.where import (
    And,
    Cand,
    Compare,
    Defined,
    Empty,
    Nested,
    Not,
    Or,
    PredicateError,
    _parse,
    parse,
)
from .store import encode

__all__ = ["PredicateError", "compile_where", "evaluate", "parse", "scalar_fields"]

MAX_PARAMS = 10_000
MAX_FIELD_DEPTH = 5  # measured: 6 nested fields run in every query shape, 7 overflow SQLite's parser stack
_MAX_NEEDLES = 64  # alternatives in one instr() prefilter clause (each is one more level of OR)
_CHECK_DEPTH = 6  # up to 6 levels SQLite always accepts what we generate (measured: 7 nested fields)
_CHECK_LENGTH = 1_000
_PREFIX = "Malformed parameter: where: "
_MISSING = object()
_RESOURCE_SCHEMAS = ("Customer", "CustomerGroup", "BusinessUnit", "AssociateRole")
_INTERNAL_SCALARS = frozenset({"lowercaseEmail"})


@cache
def scalar_fields() -> frozenset[str]:
    """Top-level fields the API declares as string/number/boolean in every resource that has them."""
    scalars: set[str] = set()
    others: set[str] = set()
    for name in _RESOURCE_SCHEMAS:
        for field, prop in spec.schema(name).get("properties", {}).items():
            kind = prop.get("type")
            (scalars if kind in ("string", "integer", "number", "boolean") else others).add(field)
    return frozenset((scalars - others) | _INTERNAL_SCALARS)


# --- SQL -------------------------------------------------------------------------------------------------


def _path(path: str, field: str) -> str:
    return f'{path}."{field}"' if "-" in field else f"{path}.{field}"


def _join(op: str, frags: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    """Balanced so that long and/or chains stay shallow for SQLite's expression-depth limit."""
    if len(frags) == 1:
        return frags[0]
    if len(frags) > 4:
        mid = len(frags) // 2
        frags = [_join(op, frags[:mid]), _join(op, frags[mid:])]
    return f" {op} ".join(f"({sql})" for sql, _ in frags), [p for _, params in frags for p in params]


def _needs_text_guard(value: str) -> bool:
    return value.startswith(("{", "["))  # json_extract renders objects and arrays as JSON text


def _compare_sql(x: str, t: str, op: str, cands: Sequence[Cand]) -> tuple[str, list[Any]]:
    """`x`/`t` are the SQL value and json type of ONE value (never an array being searched)."""
    frags: list[tuple[str, list[Any]]] = []
    texts = [v for k, v in cands if k == "text"]
    numbers = [v for k, v in cands if k == "number"]
    bools = sorted({v for k, v in cands if k == "bool"})
    if op == "in":
        if texts:
            sql = f"{x} = ?" if len(texts) == 1 else f"{x} IN ({', '.join('?' * len(texts))})"
            if any(_needs_text_guard(v) for v in texts):
                sql += f" AND {t} = 'text'"
            frags.append((sql, list(texts)))
        if numbers:
            sql = f"{x} = ?" if len(numbers) == 1 else f"{x} IN ({', '.join('?' * len(numbers))})"
            frags.append((f"{sql} AND {t} IN ('integer', 'real')", list(numbers)))
    else:
        for v in texts:
            guard = op != "=" or _needs_text_guard(v)
            frags.append((f"{x} {op} ?" + (f" AND {t} = 'text'" if guard else ""), [v]))
        for v in numbers:
            frags.append((f"{x} {op} ? AND {t} IN ('integer', 'real')", [v]))
    if bools:
        frags.append((f"{t} IN ({', '.join(repr(str(b).lower()) for b in bools)})", []))
    if not frags:
        return "0", []
    return _join("OR", frags)


class _Compiler:
    """Every JSON access is `json_extract(<column>, <path>)` on the whole document. At the top level the path is
    an SQL literal; inside `field(...)` it is built from the enclosing element's path (`jN.p || '.city'`), so
    nothing ever parses a non-JSON value and the SQL grows linearly with the nesting depth."""

    def __init__(self, column: str) -> None:
        self.column = column
        self.aliases = 0

    def alias(self) -> str:
        self.aliases += 1
        return f"j{self.aliases}"

    def node(self, node: Any, scope: str | None) -> tuple[str, list[Any]]:
        if isinstance(node, (Or, And)):
            op = "OR" if isinstance(node, Or) else "AND"
            return _join(op, [self.node(item, scope) for item in node.items])
        if isinstance(node, Not):
            sql, params = self.node(node.item, scope)
            return f"({sql}) IS NOT 1", params
        key = _path("", node.field)
        path = f"'${key}'" if scope is None else f"{scope}.p || '{key}'"
        doc = self.column
        x = f"json_extract({doc}, {path})"
        t = f"json_type({doc}, {path})"
        if isinstance(node, Compare):
            scalar = _compare_sql(x, t, node.op, node.cands)
            if scope is None and node.field in scalar_fields():
                return scalar
            j = self.alias()
            each, each_params = _compare_sql(f"{j}.value", f"{j}.type", node.op, node.cands)
            sql = (
                f"CASE {t} WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each({doc}, {path}) AS {j} "
                f"WHERE {each}) ELSE {scalar[0]} END"
            )
            return sql, each_params + scalar[1]
        if isinstance(node, Defined):
            return f"{t} <> 'null'", []
        if isinstance(node, Empty):
            return f"{t} = 'array' AND json_array_length({doc}, {path}) {'=' if node.empty else '>'} 0", []
        if isinstance(node, Nested):
            # One row per array element (path `...[i]`), or one row for the value itself; keep the objects.
            j = self.alias()
            inner, params = self.node(node.inner, j)
            rows = (
                f"SELECT CASE {t} WHEN 'array' THEN {path} || '[' || e.key || ']' ELSE {path} END AS p "
                f"FROM json_each(CASE {t} WHEN 'array' THEN {x} ELSE '[0]' END) AS e"
            )
            sql = f"EXISTS (SELECT 1 FROM ({rows}) AS {j} WHERE json_type({doc}, {j}.p) = 'object' AND ({inner}))"
            return sql, params
        raise PredicateError(f"{_PREFIX}Unsupported predicate node.")  # pragma: no cover


def compile_where(
    predicates: Sequence[str], variables: Mapping[str, Sequence[str]] | None = None, column: str = "doc"
) -> tuple[str, list[Any]]:
    """AND-combine the predicates into one SQL boolean expression over `column` plus its parameters."""
    if isinstance(predicates, str):
        predicates = [predicates]
    if not predicates:
        return "1", []
    trees = [parse(p, variables) for p in predicates]
    for tree in trees:
        if _field_depth(tree) > MAX_FIELD_DEPTH:
            raise PredicateError(
                f"{_PREFIX}Fields are nested more than {MAX_FIELD_DEPTH} deep (like a(b(c(d(e(f = 1)))))); "
                "use fewer nested fields."
            )
    sql, params = _compile(trees, column)
    if len(params) > MAX_PARAMS:
        raise PredicateError(f"{_PREFIX}The predicate has too many values ({len(params)}; at most {MAX_PARAMS}).")
    if any(_parse(p)[1] > _CHECK_DEPTH or len(p) > _CHECK_LENGTH for p in predicates):
        _check_sqlite_accepts(*_compile(trees, "doc"))
    return sql, params


def _field_depth(node: Any) -> int:
    """How deep ``field(...)`` predicates nest in a tree (iteratively: the parser bounds the depth anyway)."""
    deepest, stack = 0, [(node, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (Or, And)):
            stack.extend((child, depth) for child in item.items)
        elif isinstance(item, Not):
            stack.append((item.item, depth))
        elif isinstance(item, Nested):
            deepest = max(deepest, depth + 1)
            stack.append((item.inner, depth + 1))
    return deepest


def _compile(trees: Sequence[Any], column: str) -> tuple[str, list[Any]]:
    compiler = _Compiler(column)
    frags = [compiler.node(tree, None) for tree in trees]
    sql, params = frags[0] if len(frags) == 1 else _join("AND", frags)
    clauses = [c for tree in trees for c in _needles(tree) if len(c) <= _MAX_NEEDLES][:_MAX_NEEDLE_CLAUSES]
    if not clauses:
        return sql, params
    # A cheap necessary condition first: a document can only match `field = "v"` if the JSON text of "v"
    # occurs in it. instr() over the stored text rejects most rows before any JSON is parsed.
    prefilter = " AND ".join("(" + " OR ".join(f"instr({column}, ?)" for _ in clause) + ")" for clause in clauses)
    return f"{prefilter} AND ({sql})", [n for clause in clauses for n in clause] + params


_MAX_NEEDLE_CLAUSES = 4


def _needles(node: Any) -> list[tuple[str, ...]]:
    """Clauses of strings the stored JSON must contain (one of each clause) for `node` to match."""
    if isinstance(node, Compare):
        if node.op in ("=", "in") and node.cands and all(kind == "text" for kind, _ in node.cands):
            return [tuple(encode(value) for _, value in node.cands)]
        return []
    if isinstance(node, Nested):
        return _needles(node.inner)
    if isinstance(node, And):
        return [clause for item in node.items for clause in _needles(item)]
    if isinstance(node, Or):
        firsts = [_needles(item) for item in node.items]
        if all(firsts):
            return [tuple(dict.fromkeys(n for clauses in firsts for n in clauses[0]))]
    return []  # Not, Defined, Empty: no necessary text


def _check_sqlite_accepts(sql: str, params: list[Any]) -> None:
    """SQLite's parser stack (about 12 nested subqueries) and expression depth are the real limits on a
    complex predicate; prepare it once against an empty table so the caller never sees an SQL error."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE TABLE resources(seq INTEGER PRIMARY KEY, doc TEXT)")
        conn.execute(f"SELECT seq FROM resources WHERE {sql}", params).fetchall()
    except sqlite3.Error as e:
        raise PredicateError(
            f"{_PREFIX}The predicate is too complex to run ({e}); use fewer nested fields or parentheses."
        ) from None
    finally:
        conn.close()


# --- reference semantics in Python -----------------------------------------------------------------------


def _match_one(value: Any, op: str, cands: Sequence[Cand]) -> bool:
    if value is None or isinstance(value, (dict, list)):
        return False
    for kind, c in cands:
        if kind == "bool":
            if isinstance(value, bool) and value == c:
                return True
            continue
        if kind == "text":
            if not isinstance(value, str):
                continue
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if (
            (op in ("=", "in") and value == c)
            or (op == "<" and value < c)
            or (op == "<=" and value <= c)
            or (op == ">" and value > c)
            or (op == ">=" and value >= c)
        ):
            return True
    return False


def _eval(node: Any, obj: Any, root: bool) -> bool:
    if isinstance(node, Or):
        return any(_eval(item, obj, root) for item in node.items)
    if isinstance(node, And):
        return all(_eval(item, obj, root) for item in node.items)
    if isinstance(node, Not):
        return not _eval(node.item, obj, root)
    value = obj.get(node.field, _MISSING) if isinstance(obj, dict) else _MISSING
    if isinstance(node, Defined):
        return value is not _MISSING and value is not None
    if isinstance(node, Empty):
        return isinstance(value, list) and (len(value) == 0) == node.empty
    if isinstance(node, Nested):
        if isinstance(value, dict):
            return _eval(node.inner, value, False)
        if isinstance(value, list):
            return any(isinstance(e, dict) and _eval(node.inner, e, False) for e in value)
        return False
    if isinstance(value, list) and not (root and node.field in scalar_fields()):
        return any(_match_one(e, node.op, node.cands) for e in value)
    return _match_one(value, node.op, node.cands)


def evaluate(predicate: str, document: dict, variables: Mapping[str, Sequence[str]] | None = None) -> bool:
    """The reference semantics: does `document` satisfy `predicate`? Raises `PredicateError`."""
    return _eval(parse(predicate, variables), document, True)

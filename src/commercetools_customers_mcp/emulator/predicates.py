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
- Limits: 10,000 characters per predicate, 20 levels of parentheses.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import lark
import orjson

from .. import spec

MAX_LENGTH = 10_000
MAX_DEPTH = 20
MAX_PARAMS = 30_000
_CHECK_DEPTH = 6  # up to 6 levels SQLite always accepts what we generate (measured: 7 nested fields)
_CHECK_LENGTH = 1_000

_PREFIX = "Malformed parameter: where: "
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INT64 = 2**63
_MISSING = object()
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_ORDER_OPS = ("<", "<=", ">", ">=")
_RESOURCE_SCHEMAS = ("Customer", "CustomerGroup", "BusinessUnit", "AssociateRole")
_INTERNAL_SCALARS = frozenset({"lowercaseEmail"})


class PredicateError(ValueError):
    """A `where` predicate that cannot be parsed or compiled; the message says where and why."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


# --- the AST ---------------------------------------------------------------------------------------------

Cand = tuple[str, Any]  # ("text", str) | ("number", int | float) | ("bool", bool)


@dataclass(frozen=True)
class Or:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class And:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


@dataclass(frozen=True)
class Nested:
    field: str
    inner: Any


@dataclass(frozen=True)
class Compare:  # also `in` (op "in") and `contains any`
    field: str
    op: str
    cands: tuple[Cand, ...]


@dataclass(frozen=True)
class Defined:
    field: str


@dataclass(frozen=True)
class Empty:
    field: str
    empty: bool


# --- parsing ---------------------------------------------------------------------------------------------


@cache
def _parser() -> lark.Lark:
    grammar = resources.files(__package__).joinpath("where.lark").read_text(encoding="utf-8")
    return lark.Lark(grammar, parser="lalr", maybe_placeholders=False, cache=True)


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


_PRETTY = {
    "NAME": "a field name",
    "STRING": "a string",
    "NUMBER": "a number",
    "COMPARATOR": "an operator (=, !=, <>, <, <=, >, >=)",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "COLON": "':'",
    "TRUE": "true",
    "FALSE": "false",
    "$END": "end of input",
}


def _expected(names: set[str] | frozenset[str] | None) -> str:
    words = sorted({_PRETTY.get(n, n.lstrip("_").lower()) for n in names or ()})
    if not words:
        return "nothing"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _syntax_error(message: str, line: int | None, column: int | None) -> PredicateError:
    where = f" (line {line}, column {column})" if line is not None else ""
    return PredicateError(f"{_PREFIX}Syntax error while parsing 'where'. {message}{where}", line, column)


def _check_shape(text: str) -> int:
    """Length and parenthesis-depth limits; returns the deepest parenthesis level."""
    if len(text) > MAX_LENGTH:
        raise PredicateError(
            f"{_PREFIX}The predicate is {len(text)} characters long; at most {MAX_LENGTH} are allowed."
        )
    depth = deepest = 0
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                raise PredicateError(f"{_PREFIX}The predicate nests deeper than {MAX_DEPTH} levels of parentheses.")
        elif ch == ")":
            depth -= 1
    return deepest


@lru_cache(maxsize=512)
def _parse(text: str) -> tuple[lark.Tree, int]:
    depth = _check_shape(text)
    try:
        return _parser().parse(text), depth
    except lark.UnexpectedCharacters as e:
        raise _syntax_error(f"Invalid input '{e.char}', expected {_expected(e.allowed)}", e.line, e.column) from None
    except lark.UnexpectedEOF as e:
        raise _syntax_error(f"Unexpected end of input, expected {_expected(set(e.expected))}", None, None) from None
    except lark.UnexpectedToken as e:
        if e.token.type == "$END":
            msg = f"Unexpected end of input, expected {_expected(e.expected)}"
            return_pos = (None, None) if e.line in (None, -1) else (e.line, e.column)
            raise _syntax_error(msg, *return_pos) from None
        raise _syntax_error(f"Invalid input '{e.token}', expected {_expected(e.expected)}", e.line, e.column) from None
    except lark.LarkError as e:  # pragma: no cover - any other lark failure is still a bad predicate
        raise _syntax_error(str(e).splitlines()[0], None, None) from None


# --- tree -> AST -----------------------------------------------------------------------------------------


def _where(tok: Any) -> str:
    line = getattr(tok, "line", None)
    return f" (line {line}, column {tok.column})" if line is not None else ""


def _unescape(tok: lark.Token) -> str:
    raw = str(tok)[1:-1]
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", raw[i + 2 : i + 6]):
            out.append(chr(int(raw[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise PredicateError(f"{_PREFIX}Invalid escape sequence '\\{nxt}' in string {tok}{_where(tok)}.")
    text = "".join(out)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PredicateError(f"{_PREFIX}The string {tok} is not valid UTF-8{_where(tok)}.") from None
    return text


def _number(text: str) -> int | float:
    try:
        if "." in text:
            return float(text)
        value = int(text)
        return value if -_INT64 <= value < _INT64 else float(value)
    except (OverflowError, ValueError):
        raise PredicateError(f"{_PREFIX}The number {text[:40]} is out of range.") from None


def _loose(value: str) -> list[Cand]:
    cands: list[Cand] = [("text", value)]
    if _NUMBER.fullmatch(value):
        cands.append(("number", _number(value)))
    if value in ("true", "false"):
        cands.append(("bool", value == "true"))
    return cands


class _Builder:
    def __init__(self, variables: Mapping[str, Sequence[str]] | None) -> None:
        self.variables = variables or {}

    def variable(self, tree: lark.Tree) -> list[str]:
        name_tok = tree.children[0]
        values = self.variables.get(str(name_tok))
        if isinstance(values, str):
            values = [values]
        if not values:
            raise PredicateError(
                f"{_PREFIX}The variable ':{name_tok}' has no value; pass it as query parameter "
                f"'var.{name_tok}'{_where(name_tok)}.",
                getattr(name_tok, "line", None),
                getattr(name_tok, "column", None),
            )
        for value in values:
            if not isinstance(value, str):
                raise PredicateError(f"{_PREFIX}The variable ':{name_tok}' must hold strings.")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise PredicateError(f"{_PREFIX}The variable ':{name_tok}' is not valid UTF-8.") from None
        return list(values)

    def values(self, node: Any, single: bool) -> list[Cand]:
        if isinstance(node, lark.Tree):  # a variable
            values = self.variable(node)
            if single and len(values) != 1:
                name = node.children[0]
                raise PredicateError(
                    f"{_PREFIX}The variable ':{name}' has {len(values)} values but is used as a single value"
                    f"{_where(name)}; use 'in :{name}' for a list."
                )
            return [c for v in values for c in _loose(v)]
        kind = node.type
        if kind == "STRING":
            return [("text", _unescape(node))]
        if kind == "NUMBER":
            return [("number", _number(str(node)))]
        return [("bool", kind == "TRUE")]

    def value_list(self, tree: lark.Tree) -> tuple[Cand, ...]:
        return tuple(c for child in tree.children for c in self.values(child, single=False))

    def build(self, tree: Any) -> Any:
        rule = tree.data
        ch = tree.children
        if rule == "or_expr":
            return Or(tuple(self.build(c) for c in ch))
        if rule == "and_expr":
            return And(tuple(self.build(c) for c in ch))
        if rule == "negation":
            return Not(self.build(ch[0]))
        field = str(ch[0])
        if rule == "nested":
            return Nested(field, self.build(ch[1]))
        if rule == "compare":
            op = "!=" if str(ch[1]) == "<>" else str(ch[1])
            cands = self.values(ch[2], single=True)
            if op in _ORDER_OPS:
                if all(kind == "bool" for kind, _ in cands):
                    raise PredicateError(f"{_PREFIX}A boolean cannot be compared with '{op}'{_where(ch[1])}.")
                cands = [c for c in cands if c[0] != "bool"]
            if op == "!=":
                return Not(Compare(field, "=", tuple(cands)))
            return Compare(field, op, tuple(cands))
        if rule in ("in_list", "contains_any"):
            return Compare(field, "in", self.value_list(ch[1]))
        if rule == "not_in_list":
            return Not(Compare(field, "in", self.value_list(ch[1])))
        if rule == "contains_one":
            return Compare(field, "in", tuple(self.values(ch[1], single=False)))
        if rule == "contains_all":
            groups = [self.values(c, single=False) for c in ch[1].children]
            return And(tuple(Compare(field, "in", tuple(g)) for g in groups))
        if rule == "defined":
            return Defined(field)
        if rule == "not_defined":
            return Not(Defined(field))
        if rule in ("empty", "not_empty"):
            return Empty(field, rule == "empty")
        if rule == "within":
            raise PredicateError(f"{_PREFIX}'within circle' is not supported by this emulator{_where(ch[0])}.")
        raise PredicateError(f"{_PREFIX}Unsupported construct '{rule}'.")  # pragma: no cover


def parse(predicate: str, variables: Mapping[str, Sequence[str]] | None = None) -> Any:
    """Parse one predicate into the AST, resolving variables. Raises `PredicateError`."""
    if not isinstance(predicate, str):
        raise PredicateError(f"{_PREFIX}The predicate must be a string.")
    if not predicate.strip():
        raise PredicateError(f"{_PREFIX}The predicate is empty.")
    return _Builder(variables).build(_parse(predicate)[0])


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
    sql, params = _compile(trees, column)
    if len(params) > MAX_PARAMS:
        raise PredicateError(f"{_PREFIX}The predicate has too many values ({len(params)}; at most {MAX_PARAMS}).")
    if any(_parse(p)[1] > _CHECK_DEPTH or len(p) > _CHECK_LENGTH for p in predicates):
        _check_sqlite_accepts(*_compile(trees, "doc"))
    return sql, params


def _compile(trees: Sequence[Any], column: str) -> tuple[str, list[Any]]:
    compiler = _Compiler(column)
    frags = [compiler.node(tree, None) for tree in trees]
    sql, params = frags[0] if len(frags) == 1 else _join("AND", frags)
    clauses = [clause for tree in trees for clause in _needles(tree)][:_MAX_NEEDLE_CLAUSES]
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
            return [tuple(orjson.dumps(value).decode() for _, value in node.cands)]
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

"""The `where` query predicate language of the commercetools API: grammar (``where.lark``), parser and AST.

Shared by the MCP server (which reads the field paths a predicate touches, to refuse hidden fields and to
name unknown ones) and the emulator (which compiles the AST to SQL, ``emulator/predicates.py``). It knows
neither of them.

``parse`` gives the AST with variables resolved; ``field_paths`` gives every field path a predicate names
(``addresses(country = "DE")`` → ``("addresses", "country")``) without needing variable values.
Limits: 10,000 characters per predicate, 20 levels of parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import lark

MAX_LENGTH = 10_000
MAX_DEPTH = 20

_PREFIX = "Malformed parameter: where: "
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INT64 = 2**63
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_ORDER_OPS = ("<", "<=", ">", ">=")


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


# --- field paths -----------------------------------------------------------------------------------------

_FIELD_RULES = frozenset(
    {"compare", "in_list", "not_in_list", "contains_any", "contains_all", "contains_one", "defined",
     "not_defined", "empty", "not_empty", "within"}
)  # fmt: skip


def field_paths(predicate: str) -> list[tuple[str, ...]]:
    """Every field path the predicate names, in order (``a(b = 1) and c = 2`` → ``[("a", "b"), ("c",)]``).

    Only the syntax is read, so unresolved ``:variables`` are fine. Raises `PredicateError` if it does not parse."""
    if not isinstance(predicate, str):
        raise PredicateError(f"{_PREFIX}The predicate must be a string.")
    found: list[tuple[str, ...]] = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(_parse(predicate)[0], ())]
    while stack:
        node, prefix = stack.pop()
        if not isinstance(node, lark.Tree):
            continue
        if node.data == "nested":
            path = (*prefix, str(node.children[0]))
            found.append(path)
            stack.append((node.children[1], path))
        elif node.data in _FIELD_RULES:
            found.append((*prefix, str(node.children[0])))
        else:
            stack.extend((child, prefix) for child in reversed(node.children))
    return found

"""The tabular text form of a result (``[output] format = "tabular"``): fewer tokens for the same rows.

A page or search result becomes one header line and one tab-separated row per item (nested objects flattened
to dotted columns, references shown as their id or key, lists of values or references joined with commas,
other lists summarised as ``[N items]``, columns equal in every row stated once above the table); a single
resource becomes ``path: value`` lines, lists of objects indexed (``addresses[0].city: Berlin``).
"""

from __future__ import annotations

from typing import Any

FORMATS = ("json", "tabular")

_PAGE_FIELDS = ("limit", "offset", "count", "total")


def _label(value: Any) -> str | None:
    """A reference (``{typeId, id | key}``, possibly wrapped in a one-field object like a group assignment) as
    its key or id; None for anything else."""
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    if isinstance(value, dict) and "typeId" in value and set(value) <= {"typeId", "id", "key", "obj"}:
        label = value.get("key") or value.get("id")
        return label if isinstance(label, str) else None
    return None


def _flatten(value: Any, prefix: str, out: dict[str, Any], *, indexed: bool = False) -> None:
    label = _label(value) if prefix and isinstance(value, dict) and "typeId" in value else None
    if label is not None:
        out[prefix] = label  # a reference: its id or key (the column name says what it points to)
    elif isinstance(value, dict):
        if not value and prefix:
            out[prefix] = "{}"
        for key, child in value.items():
            _flatten(child, f"{prefix}.{key}" if prefix else key, out, indexed=indexed)
    elif isinstance(value, list):
        labels = [item if not isinstance(item, dict | list) else _label(item) for item in value]
        if all(label is not None for label in labels):
            out[prefix] = ",".join(_cell(label) for label in labels)
        elif indexed:
            for i, item in enumerate(value):
                _flatten(item, f"{prefix}[{i}]", out, indexed=True)
        else:
            out[prefix] = f"[{len(value)} item{'s' if len(value) != 1 else ''}]"
    else:
        out[prefix] = value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if any(ch in text for ch in "\t\n\r\\"):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def tabular(body: Any) -> str | None:
    """The tabular text of a result, or None when it has no tabular form (not an object)."""
    if not isinstance(body, dict):
        return None
    rows = body.get("results")
    if not isinstance(rows, list):
        flat: dict[str, Any] = {}
        _flatten(body, "", flat, indexed=True)
        return "\n".join(f"{key}: {_cell(value)}" for key, value in flat.items())
    meta = " ".join(f"{name}={body[name]}" for name in _PAGE_FIELDS if name in body)
    flats = []
    for row in rows:
        flat = {}
        _flatten(row, "", flat)
        flats.append(flat)
    columns = list(dict.fromkeys(column for flat in flats for column in flat))
    lines = [meta] if meta else []
    if len(flats) > 1:
        constant = [c for c in columns if all(c in f for f in flats) and len({_cell(f[c]) for f in flats}) == 1]
        if constant:
            lines.append("in every row: " + "; ".join(f"{c}={_cell(flats[0][c])}" for c in constant))
        columns = [c for c in columns if c not in constant]
    lines.append("\t".join(columns))
    lines.extend("\t".join(_cell(flat.get(column)) for column in columns) for flat in flats)
    return "\n".join(lines)

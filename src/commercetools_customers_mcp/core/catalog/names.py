"""Short tool names (``--tool-names short``) for clients that refuse names longer than 64 characters.

The seed names stay the default. In short mode a name of at most ``MAX_NAME`` characters is unchanged; a longer
name has the ``ABBREVIATIONS`` applied in order (each replaces every occurrence of a whole ``_``-separated
word sequence), and if it is still too long it is cut to ``MAX_NAME - 9`` characters followed by ``_`` and the
first 8 hex digits of the SHA-256 of the seed name. The mapping is fixed by this table, so it is the same on
every start and every machine; ``SHORT_NAMES`` is checked for uniqueness at import.
"""

from __future__ import annotations

import hashlib
import re

from .tools import FAMILIES, TOOLS

MAX_NAME = 64

# Each family's own word (``Family.short``) first, then the words of individual tool names.
ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("business_unit_id", "bu_id"),
    *((f.segment.replace("-", "_"), f.short) for f in FAMILIES if f.short),
    ("associate_id", "assoc_id"),
    ("associates", "assoc"),
    ("password_token", "pw_token"),
    ("search_indexing_status", "search_status"),
    ("email_token", "em_token"),
)


def short_name(name: str) -> str:
    """The ≤ ``MAX_NAME``-character form of a tool name (itself when already short enough)."""
    if len(name) <= MAX_NAME:
        return name
    short = name
    for long, abbreviation in ABBREVIATIONS:
        short = re.sub(rf"(?<![^_]){re.escape(long)}(?![^_])", abbreviation, short)
    if len(short) <= MAX_NAME:
        return short
    return short[: MAX_NAME - 9] + "_" + hashlib.sha256(name.encode()).hexdigest()[:8]


SHORT_NAMES: dict[str, str] = {t.name: short_name(t.name) for t in TOOLS}
"""Seed name → short name, for every tool."""

SEED_NAMES: dict[str, str] = {short: seed for seed, short in SHORT_NAMES.items()}
"""Short name → seed name."""

if len(SEED_NAMES) != len(SHORT_NAMES) or any(
    short != seed and short in SHORT_NAMES for seed, short in SHORT_NAMES.items()
):
    raise RuntimeError("short tool names are not unique")  # pragma: no cover - guarded by the table above


def seed_name(name: str) -> str:
    """The seed name for either form of a tool name (unknown names are returned unchanged)."""
    return SEED_NAMES.get(name, name)

"""Which tools a server publishes, and under which names: toolsets, read-only mode, allow/deny patterns.

A tool is published when its toolset is selected, and it is not hidden by read-only mode (only read-only tools
stay), by the allow patterns (when given, only matches stay) or by a deny pattern (deny wins). A hidden tool is
neither listed nor callable, directly or through the discovery tools. Patterns are case-sensitive ``fnmatch``
patterns tried against the seed and short names without the ``commercetools_customers_`` prefix (so
``get_by_id`` and ``*_by_id`` match as an operator would expect, and ``*customer*`` does not match every tool
through the prefix); a pattern that names the prefix (contains ``commercetools``) is tried against the full
names instead.

Toolsets (``catalog.tools.TOOLSETS``): ``all`` means every default toolset; opt-in toolsets are published only
when named. ``names`` (``ToolNames``) is ``"seed"`` (the default) or ``"short"`` (every name ≤ 64 characters,
``catalog.names``); calls accept both forms either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase

from .catalog.names import SHORT_NAMES
from .catalog.tools import ALL, DEFAULT_TOOLSETS, PREFIX, TOOLS, TOOLSETS, Tool

NAMES_PREFIX = PREFIX.split("_")[0]  # a pattern that names it is matched against full names


class ToolNames(StrEnum):
    """Under which names tools are published (``--tool-names``, the policy file's ``tool_names``)."""

    SEED = "seed"  # the seed's names
    SHORT = "short"  # every name at most 64 characters (catalog.names)


class SelectionError(ValueError):
    """A selection that names an unknown toolset, or that would publish no tool at all."""


def parse_toolsets(values: Iterable[str]) -> frozenset[str]:
    """``["customers,account", "all"]`` → the toolsets named (``all`` expanded); unknown names are an error."""
    names = {part.strip() for value in values for part in value.split(",") if part.strip()}
    unknown = sorted(names - set(TOOLSETS) - {ALL})
    if unknown:
        known = ", ".join([ALL, *TOOLSETS])
        raise SelectionError(f"unknown toolset(s) {', '.join(unknown)}; known: {known}")
    if not names:
        raise SelectionError(f"no toolset named; known: {', '.join([ALL, *TOOLSETS])}")
    return frozenset((names - {ALL}) | (DEFAULT_TOOLSETS if ALL in names else set()))


@dataclass(frozen=True)
class ToolPolicy:
    """Which tools a server publishes and under which names (see the module docstring)."""

    read_only: bool = False
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    names: str = ToolNames.SEED
    toolsets: frozenset[str] = DEFAULT_TOOLSETS

    def __post_init__(self) -> None:
        if self.names not in tuple(ToolNames):
            raise SelectionError(f"tool names must be one of {', '.join(ToolNames)}, not {self.names!r}")
        unknown = sorted(set(self.toolsets) - set(TOOLSETS))
        if unknown:
            raise SelectionError(f"unknown toolset(s) {', '.join(unknown)}; known: {', '.join([ALL, *TOOLSETS])}")

    def visible(self, tool: Tool) -> bool:
        if tool.toolset not in self.toolsets or (self.read_only and not tool.read_only):
            return False
        full = (tool.name, SHORT_NAMES[tool.name])
        bare = tuple(form.removeprefix(PREFIX) for form in full)

        def matches(patterns: Sequence[str]) -> bool:
            return any(
                fnmatchcase(form, pattern)
                for pattern in patterns
                for form in (full if NAMES_PREFIX in pattern else bare)
            )

        if self.allow and not matches(self.allow):
            return False
        return not matches(self.deny)

    def published(self) -> list[Tool]:
        """The tools this policy publishes, in catalogue order; none at all is a `SelectionError`."""
        tools = [t for t in TOOLS if self.visible(t)]
        if not tools:
            raise SelectionError(
                "this selection publishes no tool at all (check --toolsets, --read-only and the allow/deny patterns)"
            )
        return tools

    def published_name(self, tool: Tool) -> str:
        return SHORT_NAMES[tool.name] if self.names == ToolNames.SHORT else tool.name

    def rename_text(self, text: str) -> str:
        """In short mode, the seed names a text mentions replaced by their short forms."""
        if self.names != ToolNames.SHORT:
            return text
        for seed, short in sorted(SHORT_NAMES.items(), key=lambda item: -len(item[0])):
            if seed != short:
                text = text.replace(seed, short)
        return text

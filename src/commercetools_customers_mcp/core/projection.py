"""``fields``: a read's answer trimmed to what was asked, in both the text and ``structuredContent``.

Each path is dotted (``addresses.country``); an array on the way is followed item by item, and a path ends at
its last name with the whole value there. The resource's ``id`` and ``version`` are always kept. The resources
of an answer are found by the tool's kind: a get's body, a list's ``results`` (the page's ``limit``,
``offset``, ``count`` and ``total`` stay). A search takes no ``fields``: its hits are ``{id, relevance}`` and
nothing else. The output policy applies afterwards, to what is left: a projection never shows a field the
policy hides (it can only leave out more).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .catalog.tools import Tool

ALWAYS = ("id", "version")
Tree = dict[str, "Tree | None"]  # None: keep the whole value at this name


def _tree(paths: Sequence[str]) -> Tree:
    tree: Tree = {name: None for name in ALWAYS}
    for path in paths:
        node = tree
        steps = [s for s in path.split(".") if s]
        for i, step in enumerate(steps):
            last = i == len(steps) - 1
            if last:
                node[step] = None  # the whole value, even if a longer path asked for a part of it
            elif step not in node:
                node[step] = {}
            child = node.get(step)
            if child is None:
                break  # already kept whole
            node = child
    return tree


def _pick(value: Any, tree: Tree) -> Any:
    if isinstance(value, list):
        return [_pick(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    picked = {}
    for name, sub in tree.items():
        if name in value:
            picked[name] = value[name] if sub is None else _pick(value[name], sub)
    return picked


def project(tool: Tool, body: Any, paths: Sequence[str]) -> Any:
    """The answer with each resource trimmed to ``paths`` (plus id and version)."""
    tree = _tree(paths)
    if tool.kind == "list" and isinstance(body, dict) and isinstance(body.get("results"), list):
        return {**body, "results": [_pick(item, tree) for item in body["results"]]}
    return _pick(body, tree) if isinstance(body, dict) else body

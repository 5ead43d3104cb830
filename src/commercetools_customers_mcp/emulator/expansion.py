"""Reference expansion: ``expand`` paths put the referenced resource into each reference's ``obj``.

A reference stays unexpanded when its target does not exist, and when the caller's token may not view its type
(a token with only ``view_business_units`` gets the associates' customer references, not the customers): the
API documents neither case, and leaving the reference as it is gives away nothing the token could not read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import errors
from .backend import Ctx, Doc

MAX_STEPS = 10


def expand(ctx: Ctx, doc: Doc, paths: Sequence[str]) -> Doc:
    """Put the referenced resource into ``obj`` for every reference an expand path names."""
    for path in paths:
        steps = [s for s in path.replace("[", ".[").split(".") if s]
        if len(steps) > MAX_STEPS:
            raise errors.invalid_input(f"Malformed parameter: expand: '{path}' is nested too deeply.")
        _expand_at(ctx, doc, steps)
    return doc


def _expand_at(ctx: Ctx, node: Any, steps: list[str]) -> None:
    if not steps:
        if isinstance(node, dict) and "typeId" in node and "id" in node and "obj" not in node:
            type_id = node["typeId"]
            if type_id in ctx.emulator.registry and ctx.may_view(type_id):
                target = ctx.get(type_id, node["id"])
                if target is not None:
                    node["obj"] = ctx.render(type_id, target)
        return
    step, rest = steps[0], steps[1:]
    if step.startswith("["):
        if not isinstance(node, list):
            return
        if step == "[*]":
            for item in node:
                _expand_at(ctx, item, rest)
            return
        index = step.strip("[]")
        if index.isdigit() and int(index) < len(node):
            _expand_at(ctx, node[int(index)], rest)
        return
    if isinstance(node, dict) and step in node:
        _expand_at(ctx, node[step], rest)

"""The generic operations every resource with a collection endpoint gets, the same way for all of them:
create, get, query (paging, sorting, `where`, totals), HEAD, update (versions, actions) and delete, each
by id and by key, with reference expansion. ``routes(resource)`` declares them; the HTTP layer serves them.

The reads are the one query path of the emulator: they find documents through the resource's ``Source``
(``TABLE``, the ``resources`` table, unless the resource names its own, as Messages do).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from .. import spec
from . import errors, where_index
from .backend import Ctx, Doc, Resource, Route, Selection, Source
from .expansion import expand
from .predicates import PredicateError, compile_where
from .requests import Req
from .sorting import SortError, compile_sort
from .store import decode, encode
from .validation import check_key, validate, validate_actions

MAX_LIMIT, MAX_OFFSET = spec.MAX_QUERY_LIMIT, spec.MAX_QUERY_OFFSET
# PagedQueryResponse.total: "When the results are filtered with a Query Predicate, `total` is subject to a limit"
# (RAML, CustomerPagedQueryResponse; the limit is the maximum offset, 10,000). Unfiltered, it is the count.
MAX_FILTERED_TOTAL = MAX_OFFSET


class Table:
    """The ``resources`` table (``Store``) as a ``Source``: what every resource without a source of its own uses."""

    keyed = True
    writable = True

    def get(self, ctx: Ctx, type_id: str, id: str) -> Doc | None:
        return ctx.get(type_id, id)

    def get_by_key(self, ctx: Ctx, type_id: str, key: str) -> Doc | None:
        return ctx.get_by_key(type_id, key)

    def prefilter(
        self, ctx: Ctx, type_id: str, predicates: Sequence[str], variables: Mapping[str, Sequence[str]]
    ) -> tuple[str, list[Any]]:
        return where_index.prefilter(ctx.project, type_id, predicates, variables)

    def page(self, ctx: Ctx, type_id: str, selected: Selection) -> tuple[list[Doc], int]:
        s, store, project = selected, ctx.store, ctx.project
        if s.with_total and s.where != "1":  # one pass finds the page and counts
            return store.page(project, type_id, s.where, s.params, order=s.order, limit=s.limit, offset=s.offset)
        # unfiltered: the page stops early and the count comes from an index
        docs = store.find(project, type_id, s.where, s.params, order=s.order, limit=s.limit, offset=s.offset)
        return docs, store.count(project, type_id) if s.with_total else 0

    def exists(self, ctx: Ctx, type_id: str, where: str, params: Sequence[Any]) -> bool:
        return ctx.store.exists(ctx.project, type_id, where, params)


TABLE = Table()


def source(resource: Resource) -> Source:
    return resource.source or TABLE


def routes(resource: Resource) -> list[Route]:
    """The collection routes of ``resource``: query, create, and by id / by key get, update, delete, HEAD (by key
    when its source has keys, delete when it is written through the write path)."""
    if resource.endpoint is None:
        return []
    base, view, manage = f"/{resource.endpoint}", resource.view_scopes, resource.manage_scopes
    found = source(resource)

    def bound(operation: Any) -> Any:
        return lambda ctx, req: operation(ctx, resource, req)

    # queries read as many documents as their `where` and `sort` make them: in a worker thread (Route.offload)
    out = [
        Route("GET", base, bound(query), view, offload=True),
        Route("HEAD", base, bound(head_query), view, offload=True),
    ]
    if resource.create is not None:
        out.append(Route("POST", base, bound(create), manage, resource.prepare))
    for ident in ("key={key}", "{id}") if found.keyed else ("{id}",):
        path = f"{base}/{ident}"
        out += [Route("GET", path, bound(get), view), Route("HEAD", path, bound(head_one), view)]
        if resource.actions:
            out.append(Route("POST", path, bound(update), manage, resource.prepare))
        if found.writable:
            out.append(Route("DELETE", path, bound(delete), manage))
    return out


# ---------------------------------------------------------------- shared steps


def ensure_unique_key(ctx: Ctx, resource: Resource, doc: Doc) -> None:
    key = doc.get("key")
    if key is None:
        return
    check_key(key)
    other = ctx.get_by_key(resource.type_id, key)
    if other is not None and other["id"] != doc["id"]:
        raise errors.duplicate_field("key", key)


def output(ctx: Ctx, resource: Resource, doc: Doc, req: Req) -> Doc:
    return expand(ctx, resource.render(ctx, doc), req.query.getlist("expand"))


def load(ctx: Ctx, resource: Resource, req: Req) -> Doc:
    """The document the URL names (``{id}`` or ``key={key}``), or 404."""
    if "key" in req.path:
        doc = source(resource).get_by_key(ctx, resource.type_id, req.path["key"])
        if doc is None:
            raise errors.resource_not_found(req.path["key"], by_key=True)
    else:
        doc = source(resource).get(ctx, resource.type_id, req.path["id"])
        if doc is None:
            raise errors.resource_not_found(req.path["id"])
    return doc


def update_body(resource: Resource, body: Any) -> tuple[int, list[Doc]]:
    """``{version, actions}`` of an update request, validated (actions against the resource's table and union)."""
    if not isinstance(body, dict):
        raise errors.invalid_json("The request body must be a JSON object with 'version' and 'actions'.")
    for name in ("version", "actions"):
        if name not in body:
            raise errors.invalid_json(f"Missing required value '{name}'")
    if not isinstance(body["version"], int) or isinstance(body["version"], bool):
        raise errors.invalid_json("version: expected an integer")
    if not isinstance(body["actions"], list):
        raise errors.invalid_json("actions: expected an array")
    validate_actions(resource, body["actions"])
    return body["version"], body["actions"]


def apply_update(
    ctx: Ctx, resource: Resource, doc: Doc, version: int, actions: list[Doc], *, stored: bool = True
) -> Doc:
    """Check the version, apply every action to a copy, and write the next version if anything changed.
    ``stored=False``: ``doc`` is a default that is not in the store yet (the Project), so a change inserts it."""
    if version != doc["version"]:
        raise errors.concurrent_modification(doc["id"], version, doc["version"])
    new = copy.deepcopy(doc)
    # Each action's result, for a listener that asked (Messages). One action needs no copy: it changed the
    # document if the update did, and its result is the new version.
    states = [doc] if ctx.wants_states() else None
    for action in actions:
        resource.actions[action["action"]](ctx, new, action)
        if states is not None and len(actions) > 1:
            states.append(decode(encode(new)))
    if new == doc:
        return doc
    if states is not None and len(actions) == 1:
        states.append(new)
    ctx.bump(doc, new)
    if new.get("key") != doc.get("key"):
        ensure_unique_key(ctx, resource, new)
    if stored:
        ctx.replace(resource.type_id, doc, new, actions=tuple(actions), states=tuple(states or ()))
    else:
        ctx.insert(resource.type_id, new, cause="update")
    if resource.after_write:
        resource.after_write(ctx, doc, new)
    return new


# ---------------------------------------------------------------- the operations


def create(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    if not isinstance(req.body, dict):
        raise errors.invalid_json("The request body must be a JSON object.")
    if resource.draft_schema:
        validate(resource.draft_schema, req.body)
    if resource.key_required and req.body.get("key") is None:
        raise errors.required_field("key")
    assert resource.create is not None
    if resource.max_count is not None and ctx.store.count_reaches(ctx.project, resource.type_id, resource.max_count):
        raise errors.max_resource_limit_exceeded(resource.type_id, resource.max_count)
    doc = resource.create(ctx, copy.deepcopy(req.body))
    ensure_unique_key(ctx, resource, doc)
    ctx.insert(resource.type_id, doc)
    if resource.after_write:
        resource.after_write(ctx, None, doc)
    if resource.create_response:
        return resource.create_response(ctx, doc, req)
    return 201, output(ctx, resource, doc, req)


def get(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    return 200, output(ctx, resource, load(ctx, resource, req), req)


def head_one(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    load(ctx, resource, req)
    return 200, None


def update(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    version, actions = update_body(resource, req.body)
    doc = load(ctx, resource, req)
    return 200, output(ctx, resource, apply_update(ctx, resource, doc, version, actions), req)


def delete(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    version = req.query.get("version")
    if version is None:
        raise errors.invalid_input("Missing required parameter 'version'.")
    try:
        expected = int(version)
    except ValueError:
        raise errors.invalid_input(f"Malformed parameter: version: '{version}' is not an integer.") from None
    for name in resource.delete_params:
        req.flag(name)
    doc = load(ctx, resource, req)
    if expected != doc["version"]:
        raise errors.concurrent_modification(doc["id"], expected, doc["version"])
    if resource.before_delete:
        resource.before_delete(ctx, doc, req)
    ctx.delete(resource.type_id, doc)
    if resource.after_write:
        resource.after_write(ctx, doc, None)
    return 200, output(ctx, resource, doc, req)


def compile_query(ctx: Ctx, resource: Resource, req: Req) -> tuple[str, list[Any]]:
    """The request's `where` predicates as one SQL condition: the source's prefilter (the ``resources`` table's is
    the value table, ``where_index``), then the predicates themselves. ``"1"`` when there are none."""
    predicates, variables = req.query.getlist("where"), req.variables()
    try:
        where, params = compile_where(predicates, variables)
        if where == "1":
            return where, params
        prefilter, pre_params = source(resource).prefilter(ctx, resource.type_id, predicates, variables)
    except PredicateError as exc:
        raise errors.invalid_input(str(exc)) from None
    if prefilter:
        return f"{prefilter} AND ({where})", [*pre_params, *params]
    return where, params


def query(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    limit = req.integer("limit", 20, 0, MAX_LIMIT)
    offset = req.integer("offset", 0, 0, MAX_OFFSET)
    with_total = req.flag("withTotal", True)
    where, params = compile_query(ctx, resource, req)
    try:
        order = compile_sort(req.query.getlist("sort"))
    except SortError as exc:
        raise errors.invalid_input(str(exc)) from None
    selected = Selection(where, params, order, limit, offset, with_total)
    docs, total = source(resource).page(ctx, resource.type_id, selected)
    body: Doc = {"limit": limit, "offset": offset, "count": len(docs)}
    if with_total:
        body["total"] = min(total, MAX_FILTERED_TOTAL) if where != "1" else total
    body["results"] = [output(ctx, resource, doc, req) for doc in docs]
    return 200, body


def head_query(ctx: Ctx, resource: Resource, req: Req) -> tuple[int, Any]:
    where, params = compile_query(ctx, resource, req)
    return (200 if source(resource).exists(ctx, resource.type_id, where, params) else 404), None

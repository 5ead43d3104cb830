"""The Store-scoped API (``/{projectKey}/in-store/key={storeKey}/…``) for Customers and Business Units: every
endpoint of customers-in-store.raml and business-units-in-store.raml, and the Store's ``/login``.

Not copies: each route is a resource module's own route (the generic ``crud`` routes of a Store-filtered view
of the resource, the token flows, the password change, the sign-in, the associate lookups) under the Store's
prefix, with the Store set on the operation first (``in_store.enter``). The filter is the resource's ``Source``
(``StoreSource``: the ``resources`` table, narrowed to the Store) and ``in_store.visible`` where a module reads a
Customer itself. A create through a Store puts the Store in ``stores`` when the draft names none
(customers-in-store.raml, POST: "if omitted, the Customer ``stores`` field is set to the Store specified in the
path parameter"; the same for a Business Unit that holds its own Stores).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import crud, in_store
from ..backend import Ctx, Doc, Feature, Prepare, Req, Route, Selection
from . import business_units, customers, tokens

PREFIX = "/in-store/key={storeKey}"


class StoreSource:
    """The ``resources`` table as the Store-scoped endpoints see it: only the documents in the request's Store."""

    keyed = True
    writable = True

    def get(self, ctx: Ctx, type_id: str, id: str) -> Doc | None:
        return in_store.visible(ctx, type_id, crud.TABLE.get(ctx, type_id, id))

    def get_by_key(self, ctx: Ctx, type_id: str, key: str) -> Doc | None:
        return in_store.visible(ctx, type_id, crud.TABLE.get_by_key(ctx, type_id, key))

    def prefilter(
        self, ctx: Ctx, type_id: str, predicates: Sequence[str], variables: Mapping[str, Sequence[str]]
    ) -> tuple[str, list[Any]]:
        return crud.TABLE.prefilter(ctx, type_id, predicates, variables)

    def _narrow(self, ctx: Ctx, type_id: str, where: str, params: Sequence[Any]) -> tuple[str, list[Any]]:
        store_key = in_store.key(ctx)
        assert store_key is not None  # set by the Store-scoped route before its handler
        sql, store_params = in_store.condition(ctx.project, type_id, store_key)
        return f"{sql} AND ({where})", [*store_params, *params]

    def page(self, ctx: Ctx, type_id: str, selected: Selection) -> tuple[list[Doc], int]:
        s, store_key = selected, in_store.key(ctx)
        if s.where == "1" and s.order == "seq" and store_key is not None:  # unfiltered: the members' own index
            return in_store.first_page(ctx, type_id, store_key, s.limit, s.offset, s.with_total)
        where, params = self._narrow(ctx, type_id, selected.where, selected.params)
        return crud.TABLE.page(ctx, type_id, dataclasses.replace(selected, where=where, params=params))

    def exists(self, ctx: Ctx, type_id: str, where: str, params: Sequence[Any]) -> bool:
        return crud.TABLE.exists(ctx, type_id, *self._narrow(ctx, type_id, where, params))


SOURCE = StoreSource()


def _into_store(create: Callable[[Ctx, Doc], Doc], holds_own: Callable[[Doc], bool]) -> Callable[[Ctx, Doc], Doc]:
    """``create`` with the request's Store in the draft's ``stores`` when it names none (and the new resource holds
    Stores of its own: ``holds_own(draft)``)."""

    def in_store_create(ctx: Ctx, draft: Doc) -> Doc:
        if not draft.get("stores") and holds_own(draft):
            draft["stores"] = [{"typeId": "store", "key": in_store.key(ctx)}]
        return create(ctx, draft)

    return in_store_create


def _unit_holds_stores(draft: Doc) -> bool:
    """A Company always holds its own Stores; a Division when its storeMode is Explicit (default FromParent)."""
    return draft.get("unitType") == "Company" or draft.get("storeMode") == "Explicit"


CUSTOMER = dataclasses.replace(
    customers.RESOURCE, source=SOURCE, create=_into_store(customers.create, lambda draft: True)
)
BUSINESS_UNIT = dataclasses.replace(
    business_units.RESOURCE, source=SOURCE, create=_into_store(business_units.create, _unit_holds_stores)
)


def _scoped(route: Route, check: Callable[[Ctx, Req], None] | None = None) -> Route:
    """``route`` under the Store's prefix: the Store is set on the operation before its ``prepare`` and handler;
    ``check`` runs before the handler (e.g. the Business Unit a lookup names must be in the Store)."""
    handler, prepare = route.handler, route.prepare

    def scoped_handler(ctx: Ctx, req: Req) -> tuple[int, Any]:
        in_store.enter(ctx, req.path["storeKey"])
        if check is not None:
            check(ctx, req)
        return handler(ctx, req)

    async def scoped_prepare(ctx: Ctx, req: Req) -> None:
        in_store.enter(ctx, req.path["storeKey"])
        if prepare is not None:
            await prepare(ctx, req)

    wrapped: Prepare = scoped_prepare
    return dataclasses.replace(route, path=PREFIX + route.path, handler=scoped_handler, prepare=wrapped)


def _unit_in_store(ctx: Ctx, req: Req) -> None:
    """The Business Unit of an associate lookup must be in the Store: ResourceNotFound otherwise."""
    crud.load(ctx, BUSINESS_UNIT, req)


def _routes() -> tuple[Route, ...]:
    own = [_scoped(route) for route in tokens.FEATURE.routes]  # token flows, password change, /login
    own += [_scoped(route, _unit_in_store) for route in business_units.FEATURE.routes]  # associate lookups
    generic = [_scoped(route) for resource in (CUSTOMER, BUSINESS_UNIT) for route in crud.routes(resource)]
    return (*own, *generic)  # a module's own routes first: `/customers/password-token` wins over `/customers/{id}`


FEATURE = Feature("in_store", routes=_routes(), install=in_store.install)

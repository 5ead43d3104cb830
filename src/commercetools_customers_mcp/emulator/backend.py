"""The emulator's backend, apart from HTTP (as moto keeps each service's backend apart from its responses).

- ``Emulator``: one emulator's state — store, clock, settings, the resource registry, the operations the
  resource modules declare (``Route``), change listeners and sign-up hooks, and ``state``: each feature's own
  long-lived object (``Slots``; e.g. oauth's token cache). No process-wide state: two emulators in one process
  share nothing.
- ``Ctx``: one operation's view of it (project, caller, clock), the reads every module uses, **the one write
  path**: ``insert`` / ``replace`` / ``delete`` turn every write (creates, updates, deletes, token and password
  flows, derived refreshes) into a ``Change`` that the store applies and every listener sees, inside the same
  write transaction (update actions can ``ctx.report(...)`` what they did; the reports ride on the Change), and
  ``scratch``: each feature's per-operation object (``Slots``; e.g. the passwords a ``prepare`` step hashed).
- The vocabulary of resource modules: ``Resource`` (a resource type, read through a ``Source``), ``Route`` (an
  operation below ``/{projectKey}``), ``AuthRoute`` (an endpoint of the auth API), ``Feature`` (what one module
  adds).

The HTTP layer (``app.py``) turns requests into ``Emulator.run(route, ctx, req)`` calls; nothing here imports it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from . import errors, hashing, scopes
from .clock import Clock, iso
from .requests import Req
from .store import Store, too_complex

Doc = dict[str, Any]
Handler = Callable[["Ctx", Doc, Doc], None]  # an update action: (ctx, doc, action), mutates doc in place
Operation = Callable[["Ctx", Req], tuple[int, Any]]  # a route's handler: (status, body or None)
Prepare = Callable[["Ctx", Req], Awaitable[None]]  # async work before the write transaction (password hashing)
Listener = Callable[["Ctx", "Change"], None]
SignupHook = Callable[["Ctx", Doc, Doc], "Doc | None"]  # (ctx, draft, customer) -> a Cart for the result, or None
WRITE_METHODS = frozenset({"POST", "DELETE"})
T = TypeVar("T")


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """Behaviour knobs of one emulator.

    ``password_cost``: the scrypt N for new password hashes (``hashing.DEVELOPMENT_COST`` by default,
    ``hashing.PRODUCTION_COST`` for production-like timing). ``indexing_delay_seconds``: how long (emulator
    clock) an activated search stays ``Indexing`` before it is ``Activated``; 0 activates at once."""

    password_cost: int = hashing.DEVELOPMENT_COST
    indexing_delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        hashing.check_cost(self.password_cost)
        if not self.indexing_delay_seconds >= 0:
            raise ValueError(f"indexing delay must be a number of seconds >= 0, got {self.indexing_delay_seconds!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """``CTP_EMULATOR_PASSWORD_COST`` (``development``, ``production`` or a power of two) and
        ``CTP_EMULATOR_INDEXING_DELAY_SECONDS``; ValueError with the variable's name when one is invalid."""
        values: dict[str, Any] = {}
        cost = env.get("CTP_EMULATOR_PASSWORD_COST", "").strip().lower()
        if cost:
            try:
                values["password_cost"] = hashing.COSTS[cost] if cost in hashing.COSTS else int(cost)
            except ValueError:
                raise ValueError(
                    f"CTP_EMULATOR_PASSWORD_COST: expected development, production or a power of two, got {cost!r}"
                ) from None
        delay = env.get("CTP_EMULATOR_INDEXING_DELAY_SECONDS", "").strip()
        if delay:
            try:
                values["indexing_delay_seconds"] = float(delay)
            except ValueError:
                raise ValueError(f"CTP_EMULATOR_INDEXING_DELAY_SECONDS: expected seconds, got {delay!r}") from None
        try:
            return cls(**values)
        except ValueError as exc:
            raise ValueError(f"emulator settings from the environment: {exc}") from None


@dataclass(frozen=True)
class ApiClient:
    """An API client the emulator accepts: its secret (None: any secret, the open default client) and the
    scopes its tokens may carry (``scopes.covers``). A token request without ``scope`` gets all of them, or
    ``default_scopes`` when given (the open client of any project: ``manage_project:*`` held, one project's
    scope by default)."""

    secret: str | None
    scopes: tuple[str, ...]
    default_scopes: tuple[str, ...] = ()


# ---------------------------------------------------------------- what resource modules declare


@dataclass(frozen=True)
class Route:
    """An operation below ``/{projectKey}``; ``path`` uses ``{name}`` placeholders (one path segment each).

    POST and DELETE run inside one write transaction (all or nothing); ``prepare`` runs before it, outside
    any transaction, for slow work that must not block the event loop (it may await a worker thread).
    ``offload``: a read-only operation whose cost grows with the data (a query): on a store with parallel
    reads its handler runs in a worker thread on a read connection (``Ctx.offload``)."""

    method: str
    path: str
    handler: Operation
    scopes: tuple[str, ...]
    prepare: Prepare | None = None
    offload: bool = False

    @property
    def write(self) -> bool:
        return self.method in WRITE_METHODS


@dataclass(frozen=True)
class AuthRequest:
    """A request to the auth API, its API client authenticated: the client's id and scopes, the form (query string
    and urlencoded body) and the path's ``{name}`` parameters (e.g. ``projectKey``)."""

    client_id: str
    client: ApiClient
    form: Mapping[str, str]
    path: Mapping[str, str]


@dataclass(frozen=True)
class AuthRoute:
    """An endpoint of the auth API, e.g. ``/oauth/{projectKey}/customers/token`` (``{name}``: one path segment, or
    part of one, as in ``key={storeKey}``). The HTTP layer authenticates the API client first (Basic header or
    form fields), then ``handler(emulator, request)`` returns the response body (None: an empty 200). A new
    endpoint is a new row of ``Emulator.auth_routes`` (``oauth.ROUTES``), the HTTP layer unchanged."""

    path: str
    handler: Callable[[Emulator, AuthRequest], Awaitable[Any]]
    method: str = "POST"


def _identity(ctx: Ctx, doc: Doc) -> Doc:
    return doc


@dataclass(frozen=True)
class Selection:
    """One page of a query, compiled: ``where`` (an SQL condition on the ``doc`` column, ``predicates``) and its
    ``params``, ``order`` (an ORDER BY on it, ``sorting``), ``limit``, ``offset``, and whether to count every
    match (``with_total``)."""

    where: str
    params: Sequence[Any]
    order: str
    limit: int
    offset: int
    with_total: bool


class Source(Protocol):
    """Where the generic reads (``crud``: get, query, HEAD) find a resource type's documents: the ``resources``
    table (``crud.TABLE``, for every resource that names none) or a table of their own (Messages, ``message_log``).
    The query path above it — paging, `where` and `sort`, the total cap, expansion — is one for all of them.

    ``keyed``: its documents have keys (the ``key={key}`` routes); ``writable``: they are written through the one
    write path (the DELETE routes). ``prefilter`` may narrow a `where` from an index of its own; ``page`` answers
    a ``Selection`` and ``exists`` a `where` (SQL conditions on the ``doc`` column)."""

    keyed: bool
    writable: bool

    def get(self, ctx: Ctx, type_id: str, id: str) -> Doc | None: ...

    def get_by_key(self, ctx: Ctx, type_id: str, key: str) -> Doc | None: ...

    def prefilter(
        self, ctx: Ctx, type_id: str, predicates: Sequence[str], variables: Mapping[str, Sequence[str]]
    ) -> tuple[str, list[Any]]: ...

    def page(self, ctx: Ctx, type_id: str, selected: Selection) -> tuple[list[Doc], int]:
        """One page of the matches in order and, ``with_total``, how many match (else 0)."""
        ...

    def exists(self, ctx: Ctx, type_id: str, where: str, params: Sequence[Any]) -> bool: ...


@dataclass
class Resource:
    """A resource type. With an ``endpoint`` it gets the generic collection routes (``crud.routes``): query,
    create (with ``create``), get / update (with ``actions``) / delete by id and by key, HEAD. Without one
    (the Project) only its own routes serve it. ``source``: where those reads find its documents (None: the
    ``resources`` table; Messages have their own)."""

    type_id: str
    endpoint: str | None
    view_scopes: tuple[str, ...]
    manage_scopes: tuple[str, ...]
    create: Callable[[Ctx, Doc], Doc] | None = None  # a validated draft -> the new document (not yet stored)
    actions: Mapping[str, Handler] = field(default_factory=dict)
    draft_schema: str | None = None  # spec component the create body is validated against
    update_union: str | None = None  # spec union of the update actions (``spec.union_members``)
    render: Callable[[Ctx, Doc], Doc] = _identity  # stored document -> what the API shows
    prepare: Prepare | None = None  # before a create or update's write transaction
    before_delete: Callable[[Ctx, Doc, Req], None] | None = None
    after_write: Callable[[Ctx, Doc | None, Doc | None], None] | None = None  # derived data of the written doc
    create_response: Callable[[Ctx, Doc, Req], tuple[int, Any]] | None = None
    key_required: bool = False
    max_count: int | None = None  # the documented per-project limit: a create beyond it is MaxResourceLimitExceeded
    delete_params: tuple[str, ...] = ()  # extra query flags allowed on delete, e.g. ("dataErasure",)
    source: Source | None = None


@dataclass(frozen=True)
class Feature:
    """What one module under ``resources/`` adds to an emulator."""

    name: str
    resources: tuple[Resource, ...] = ()
    routes: tuple[Route, ...] = ()  # its own routes; they win over the generic ones on the same path
    install: Callable[[Emulator], None] | None = None  # wire listeners and hooks into one emulator
    seed_demo: Callable[[Ctx], None] | None = None


@dataclass(frozen=True)
class Change:
    """One write as every listener sees it (and as a Messages emitter will).

    ``cause`` is ``create``, ``update`` or ``delete`` for the generic operations, or names the flow (e.g.
    ``confirmEmail``, ``resetPassword``, ``changePassword``, ``bindCart``, ``derived`` for computed fields,
    ``issue`` / ``revoke`` for tokens). ``actions`` are the update actions applied; ``reports`` what their
    handlers said they did (``Ctx.report``). ``states``, when a state watcher asked for them
    (``Emulator.state_watchers``), are the document before the first action and after each one (so
    ``len(actions) + 1`` of them, before the version bump): what each action changed, one by one."""

    project: str
    type_id: str
    before: Doc | None
    after: Doc | None
    cause: str
    actions: tuple[Doc, ...] = ()
    reports: tuple[Doc, ...] = ()
    states: tuple[Doc, ...] = ()


class Slots:
    """Features' own state, one object per kind: a class made with no arguments on first use, then the same
    object. The emulator has one (``Emulator.state``: what lives as long as it, e.g. a cache) and so has each
    operation (``Ctx.scratch``: what a ``prepare`` step leaves for its handler, what is looked up once), so that
    neither carries any feature's fields: a feature declares its class next to the code that uses it."""

    __slots__ = ("_found",)

    def __init__(self) -> None:
        self._found: dict[type, object] = {}

    def __call__(self, kind: type[T]) -> T:
        found = self._found.get(kind)
        if not isinstance(found, kind):
            found = self._found[kind] = kind()
        return found

    def drop(self, kind: type) -> None:
        """Forget the object of ``kind`` (the next call makes a new one)."""
        self._found.pop(kind, None)


# ---------------------------------------------------------------- the emulator


class Emulator:
    """One emulator: store, clock, settings, registry, operations, listeners and hooks, and its features' state."""

    def __init__(
        self,
        store: Store,
        clock: Clock | None = None,
        clients: Mapping[str, ApiClient] | None = None,
        settings: Settings | None = None,
        any_client: ApiClient | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or Clock()
        self.clients: dict[str, ApiClient] = dict(clients or {})  # pinned API clients by id
        self.any_client = any_client  # what any other client id is (None: only the pinned ones are accepted)
        self.settings = settings or Settings()
        self.registry: dict[str, Resource] = {}
        self.routes: list[Route] = []  # in matching order
        self.auth_routes: list[AuthRoute] = []  # the auth API's endpoints (``/oauth/...``)
        self.listeners: list[Listener] = []  # the one listener list: every Change, inside its transaction
        # Whether an update should record each action's intermediate state (``Change.states``) for a listener;
        # asked once per update, so a listener that is off for a project costs the update nothing.
        self.state_watchers: list[Callable[[Ctx], bool]] = []
        self.signup_hooks: list[SignupHook] = []  # after a Customer is created; the first Cart returned wins
        self.state = Slots()  # each feature's long-lived object (oauth.TokenCache, passwords.Dummy)
        # What a feature must delete itself when a project is dropped (``drop_project``): rows of its tables that
        # are not keyed by project (the search index's full-text rows); run before the tables keyed by project.
        self.project_droppers: list[Callable[[Store, str], None]] = []

    def add_resource(self, resource: Resource) -> None:
        if resource.type_id in self.registry:
            raise ValueError(f"resource type {resource.type_id!r} is registered twice")
        self.registry[resource.type_id] = resource

    def add_routes(self, routes: Iterable[Route]) -> None:
        self.routes.extend(routes)

    def queryable_types(self) -> frozenset[str]:
        """The resource types of the ``resources`` table with a collection endpoint (and so a `where` query)."""
        return frozenset(t for t, r in self.registry.items() if r.endpoint is not None and r.source is None)

    async def run(self, route: Route, ctx: Ctx, req: Req) -> tuple[int, Any]:
        """Run one operation: its ``prepare`` step, then its handler (in a write transaction for POST/DELETE, in
        a worker thread for an ``offload`` route)."""
        try:
            if route.prepare is not None:
                await route.prepare(ctx, req)
            if route.write:
                with self.store.write():
                    return route.handler(ctx, req)
            if route.offload:
                return await ctx.offload(route.handler, ctx, req)
            return route.handler(ctx, req)
        except sqlite3.OperationalError as exc:  # the last line of defence behind the input limits
            if too_complex(exc):
                raise errors.invalid_input(
                    "The request is too complex to run; use fewer nested fields, values or expressions."
                ) from None
            raise

    def drop_project(self, project: str) -> int:
        """Delete everything stored of ``project`` in one write transaction, without Messages or listeners: a
        test harness's clean-up of a throw-away project (the testing fixtures drop each test's), not an API
        operation. The API clients' tokens live in their own project and expire as usual. The number of
        resources deleted."""
        if project == "" or not isinstance(project, str):
            raise ValueError("drop_project needs a project key")
        with self.store.write():
            for drop in self.project_droppers:
                drop(self.store, project)
            return self.store.drop_project(project)

    def commit(self, ctx: Ctx, change: Change) -> None:
        """Apply one change to the store and show it to every listener, in one write transaction.

        This is the emulator's one change-listener system (``listeners``, called from here only): the derived
        tables (the `where` value table, the search index) and Messages all register here. It lives in the
        backend, not in the store, because only the backend has the whole ``Change`` (who, cause, actions,
        reports, per-action states) that Messages need, while an index needs no more than its ``before`` and
        ``after``; and inside the store's transaction, so a listener that fails rolls the write back and a
        refused request leaves nothing derived behind."""
        store = self.store
        with store.write():
            if change.before is None:
                assert change.after is not None
                store.insert(change.project, change.type_id, change.after)
            elif change.after is None:
                store.delete(change.project, change.type_id, change.before)
            else:
                store.replace(change.project, change.type_id, change.after)
            for listener in self.listeners:
                listener(ctx, change)


# ---------------------------------------------------------------- one operation's context


class Ctx:
    """One operation's view of the emulator: project, caller (client, customer or anonymous session, and the
    token's scopes: None for the emulator's own work), clock; reads, the one write path, and ``scratch``: each
    feature's per-operation object (``Slots``), so that no feature's fields live here."""

    def __init__(
        self,
        emulator: Emulator,
        project: str,
        client_id: str | None = None,
        customer_id: str | None = None,
        *,
        scopes: tuple[str, ...] | None = None,
        anonymous_id: str | None = None,
    ) -> None:
        self.emulator = emulator
        self.project = project
        self.client_id = client_id
        self.customer_id = customer_id
        self.anonymous_id = anonymous_id
        self.scopes = scopes
        self.now: str | None = None  # the time of every write of this context (demo seeding); None: the clock's
        self.scratch = Slots()  # each feature's per-operation object (passwords.Work, a search's results, ...)
        self._reports: list[Doc] = []

    @property
    def store(self) -> Store:
        return self.emulator.store

    def resource(self, type_id: str) -> Resource:
        return self.emulator.registry[type_id]

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def timestamp(self) -> str:
        return self.now if self.now is not None else iso(self.emulator.clock.now())

    def logging(self) -> Doc:
        """ClientLogging for createdBy / lastModifiedBy."""
        info: Doc = {"isPlatformClient": False}
        if self.client_id:
            info["clientId"] = self.client_id
        if self.customer_id:
            info["customer"] = {"typeId": "customer", "id": self.customer_id}
        if self.anonymous_id:
            info["anonymousId"] = self.anonymous_id
        return info

    def may_view(self, type_id: str) -> bool:
        """Whether the caller's token may read resources of ``type_id`` (their view or manage scope); the
        emulator's own contexts (no token) may read everything."""
        if self.scopes is None:
            return True
        resource = self.emulator.registry.get(type_id)
        return resource is not None and scopes.grants(
            self.scopes, self.project, (*resource.view_scopes, *resource.manage_scopes)
        )

    async def offload(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` — reads only — in a worker thread on its own read connection (one consistent snapshot)
        when the store has parallel reads, so a long query leaves the event loop free; else right here."""
        store = self.store
        if not store.parallel_reads:
            return fn(*args)

        def work() -> Any:
            with store.reading():
                return fn(*args)

        return await asyncio.to_thread(work)

    # versions and timestamps: the one home of these rules
    def new_doc(self, fields: Doc) -> Doc:
        """A new resource document: a fresh id, version 1, created/modified now by this caller, then ``fields``."""
        now = self.timestamp()
        return {
            "id": self.new_id(),
            "version": 1,
            "versionModifiedAt": now,
            "createdAt": now,
            "lastModifiedAt": now,
            "lastModifiedBy": self.logging(),
            "createdBy": self.logging(),
            **fields,
        }

    def bump(self, before: Doc, after: Doc) -> Doc:
        """Make ``after`` the next version of ``before``: version + 1, modified now by this caller."""
        now = self.timestamp()
        after["version"] = before["version"] + 1
        after["lastModifiedAt"] = now
        after["versionModifiedAt"] = now
        after["lastModifiedBy"] = self.logging()
        return after

    # reads
    def get(self, type_id: str, id: str) -> Doc | None:
        return self.emulator.store.get(self.project, type_id, id)

    def get_by_key(self, type_id: str, key: str) -> Doc | None:
        return self.emulator.store.get_by_key(self.project, type_id, key)

    def resolve(self, type_id: str, ident: Any, field_name: str = "") -> Doc:
        """A ResourceIdentifier (id xor key, optional matching typeId) → the stored document."""
        where = f"{field_name}: " if field_name else ""
        if not isinstance(ident, dict):
            raise errors.invalid_json(f"{where}expected a ResourceIdentifier object")
        if ident.get("typeId") not in (None, type_id):
            raise errors.invalid_json(f"{where}typeId must be '{type_id}', got '{ident.get('typeId')}'")
        has_id, has_key = ident.get("id") is not None, ident.get("key") is not None
        if has_id == has_key:
            raise errors.invalid_json(f"{where}exactly one of 'id' or 'key' must be given")
        doc = self.get(type_id, ident["id"]) if has_id else self.get_by_key(type_id, ident["key"])
        if doc is None:
            if has_id:
                raise errors.referenced_not_found(type_id, id=ident["id"])
            raise errors.referenced_not_found(type_id, key=ident["key"])
        return doc

    def reference(self, type_id: str, doc: Doc) -> Doc:
        return {"typeId": type_id, "id": doc["id"]}

    def key_reference(self, type_id: str, doc: Doc) -> Doc:
        return {"typeId": type_id, "key": doc["key"]}

    def render(self, type_id: str, doc: Doc) -> Doc:
        return self.resource(type_id).render(self, doc)

    # the one write path
    def report(self, kind: str, **payload: Any) -> None:
        """Say what an update action did (e.g. ``ctx.report("AddressAdded", address=...)``); the next write of
        this context carries it in ``Change.reports``."""
        self._reports.append({"type": kind, **payload})

    def wants_states(self) -> bool:
        """Whether an update in this operation should record each action's state (``Change.states``)."""
        return any(watcher(self) for watcher in self.emulator.state_watchers)

    def insert(self, type_id: str, doc: Doc, *, cause: str = "create") -> None:
        self._commit(type_id, None, doc, cause, ())

    def replace(
        self,
        type_id: str,
        before: Doc,
        after: Doc,
        *,
        cause: str = "update",
        actions: tuple = (),
        states: tuple[Doc, ...] = (),
    ) -> None:
        self._commit(type_id, before, after, cause, actions, states)

    def delete(self, type_id: str, doc: Doc, *, cause: str = "delete") -> None:
        self._commit(type_id, doc, None, cause, ())

    def _commit(
        self, type_id: str, before: Doc | None, after: Doc | None, cause: str, actions: tuple, states: tuple = ()
    ) -> None:
        reports, self._reports = tuple(self._reports), []
        change = Change(self.project, type_id, before, after, cause, tuple(actions), reports, tuple(states))
        self.emulator.commit(self, change)

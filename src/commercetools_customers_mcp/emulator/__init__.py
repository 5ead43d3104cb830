"""The embedded commercetools emulator: a local implementation of the HTTP API (ASGI + SQLite).

It imports nothing from the MCP server; the CLI wires the two together. ``create_app`` gives an ASGI app
to serve with uvicorn or to call in-process through ``httpx2.ASGITransport``; ``create_emulator`` the backend
alone (no HTTP), e.g. for loading data. This module is the package face: the only one that imports the HTTP
layer (``app``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import crud, oauth, where_index
from .accesslog import AccessLog
from .app import EmulatorApp
from .backend import ApiClient, Emulator, Settings
from .clock import Clock
from .faults import Faults
from .resources import FEATURES
from .store import Store

__all__ = [
    "ANY_PROJECT",
    "UVICORN_OPTIONS",
    "AccessLog",
    "ApiClient",
    "Clock",
    "Emulator",
    "EmulatorApp",
    "Faults",
    "Settings",
    "create_app",
    "create_emulator",
    "parse_client",
]

parse_client = oauth.parse_client

DEMO_PROJECT = "demo"
ANY_PROJECT = "*"  # in ``projects``: the open default client may name any project key
# How uvicorn should serve the standalone emulator: a local development server is never behind a proxy, so
# X-Forwarded-* handling (a middleware on every request) and the Server header are left out (~5 % of a GET).
UVICORN_OPTIONS = {"proxy_headers": False, "server_header": False}


Clients = Mapping[str, "str | ApiClient"]


def _clients(
    clients: Clients | None, project: str, projects: Sequence[str] | None = None
) -> tuple[dict[str, ApiClient], ApiClient | None]:
    """Pinned clients (``id -> "SECRET[:SCOPES]"`` or an ``ApiClient``), or when none are given the open default:
    any id and secret, holding ``manage_project:<project>`` (or of each of ``projects``; ``oauth.open_client``)."""
    if clients is None:
        return {}, oauth.open_client(project, projects)
    return {k: v if isinstance(v, ApiClient) else oauth.client_from(v, project) for k, v in clients.items()}, None


def create_emulator(
    data: str = ":memory:",
    *,
    clients: Clients | None = None,
    clock: Clock | None = None,
    settings: Settings | None = None,
    project: str = DEMO_PROJECT,
    projects: Sequence[str] | None = None,
) -> Emulator:
    """The backend on the SQLite file ``data``: every feature registered and wired in.

    ``clients`` pins the API clients (see ``create_app``); ``project`` is the project the open default client
    set may use when none are pinned, ``projects`` those it may use instead (``ANY_PROJECT`` among them: any
    project key a token request names)."""
    pinned, any_client = _clients(clients, project, projects)
    emulator = Emulator(Store(data), clock, pinned, settings, any_client)
    for feature in FEATURES:
        for resource in feature.resources:
            emulator.add_resource(resource)
        emulator.add_routes(feature.routes)  # before the generic routes: `/customers/search` wins
    for feature in FEATURES:
        for resource in feature.resources:
            emulator.add_routes(crud.routes(resource))
    emulator.auth_routes.extend(oauth.ROUTES)
    for feature in FEATURES:
        if feature.install is not None:
            feature.install(emulator)
    where_index.install(emulator, emulator.queryable_types())
    return emulator


def create_app(
    data: str = ":memory:",
    *,
    clients: Clients | None = None,
    demo: bool = True,
    clock: Clock | None = None,
    project: str = DEMO_PROJECT,
    projects: Sequence[str] | None = None,
    faults: Faults | None = None,
    settings: Settings | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> EmulatorApp:
    """The emulator as an ASGI app. An empty database is seeded with demo data (in ``project``) unless ``demo``
    is false.

    ``clients`` pins the API clients: ``{id: "SECRET"}`` (the client holds ``manage_project:<project>``) or
    ``{id: "SECRET:SCOPE SCOPE…"}`` (exactly those scopes; ``manage_project:*`` spans every project), or
    ``ApiClient`` values. Without it the open default applies: any client id and secret, holding
    ``manage_project:<project>`` — one project, never more — or, given ``projects``, ``manage_project`` of each
    of them; with ``ANY_PROJECT`` (``"*"``) among them, of any project key a token request names (what the
    standalone ``emulator`` serves by default: a test double for any project; a token request without ``scope``
    gets ``project``'s, and a wildcard is never granted). A token request gets the scopes it asks for if the
    client holds them (else 400 ``invalid_scope``), or all of the client's without ``scope``.

    ``faults`` (off by default) injects errors, dropped connections, lost responses and latency; see
    ``emulator.faults``. ``settings`` (``Settings``) holds the password hashing cost and the search indexing
    delay. ``allowed_hosts`` turns on the Host header check (421 otherwise). ``app.state.emulator`` is the
    backend, ``app.state.faults`` the faults (None when off)."""
    emulator = create_emulator(
        data, clients=clients, clock=clock, settings=settings, project=project, projects=projects
    )
    if demo:
        from .demo import seed

        seed(emulator, project)
    return EmulatorApp(emulator, faults, allowed_hosts)

"""OAuth scopes: what an API client holds, what a token may ask for, and what a route or expansion needs.

A scope is ``<name>:<projectKey>`` (``manage_customers:demo``); a project key of ``*`` (only ever given by the
operator, e.g. ``--client ID:SECRET:manage_project:*``) stands for every project. The rules, as the API's scope
documentation gives them: ``manage_project`` grants every scope of its project, and ``manage_X`` implies
``view_X``. Identity scopes (``customer_id:<id>``, ``anonymous_id:<id>``) are added by the password and
anonymous flows; they never grant anything here.

A Store-scoped scope, ``<name>:<projectKey>:<storeKey>`` (``manage_customers:demo:de-store``, for Customers and
Business Units), grants its name in that Store's endpoints only (``/in-store/key=<storeKey>/…``): never on the
global endpoints, never in another Store. A project's scope covers each of its Stores.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ALL = "*"
IDENTITY = frozenset({"customer_id", "anonymous_id"})
_SCOPE = re.compile(r"^[a-z][a-z_]*:[A-Za-z0-9_*-][A-Za-z0-9_-]*(:[A-Za-z0-9_-]+)?$")


def split(scope: str) -> tuple[str, str]:
    """``manage_customers:demo`` (or ``manage_customers:demo:de-store``) → ``("manage_customers", "demo")``."""
    name, _, project = scope.partition(":")
    return name, project.partition(":")[0]


def store_of(scope: str) -> str | None:
    """``manage_customers:demo:de-store`` → ``"de-store"``; None for a scope of the whole project."""
    return scope.split(":", 2)[2] if scope.count(":") >= 2 else None


def check(scope: str) -> str:
    """A client scope as the operator writes it; ValueError with the reason otherwise."""
    name, project = split(scope)
    if not _SCOPE.match(scope) or name in IDENTITY or (ALL in project and project != ALL):
        raise ValueError(f"not a scope: {scope!r} (expected <name>:<projectKey>, e.g. manage_project:demo)")
    return scope


def _grants(held_name: str, wanted_name: str) -> bool:
    return held_name in (wanted_name, "manage_project") or (
        wanted_name.startswith("view_") and held_name == "manage_" + wanted_name[5:]
    )


def covers(held: Iterable[str], wanted: str) -> bool:
    """Whether a token may carry ``wanted`` given the client's ``held`` scopes (a wildcard project is only
    covered by a wildcard)."""
    name, project = split(wanted)
    store = store_of(wanted)
    if name in IDENTITY or not project:
        return False
    for scope in held:
        held_name, held_project = split(scope)
        held_store = store_of(scope)
        if (
            held_project in (project, ALL)
            and held_store in (None, store)
            and _grants(held_name, name)
            and (held_store is None or name != "manage_project")
        ):
            return True
    return False


def grants(held: Iterable[str], project: str, needed: Iterable[str], store: str | None = None) -> bool:
    """Whether ``held`` scopes allow one of ``needed`` (scope names, e.g. ``view_customers``) in ``project`` —
    or, for a Store's endpoint (``store``), in that Store; nothing needed → True."""
    needed = tuple(needed)
    return (
        not needed
        or any(covers(held, f"{name}:{project}") for name in needed)
        or (store is not None and any(covers(held, f"{name}:{project}:{store}") for name in needed))
    )


def in_project(held: Iterable[str], project: str) -> list[str]:
    """The scopes of ``held`` that apply to ``project``, wildcards made concrete (what a customer or anonymous
    session token of that project gets when it asks for no scope)."""
    found = []
    for scope in held:
        name, held_project = split(scope)
        store = store_of(scope)
        if name not in IDENTITY and held_project in (project, ALL):
            found.append(f"{name}:{project}" + (f":{store}" if store else ""))
    return list(dict.fromkeys(found))

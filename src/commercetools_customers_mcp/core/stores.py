"""Store customers, as the MCP side meets them: a connection's own Store, and no silent success for a
password-reset token nobody can use.

A connection whose API client holds customer or business-unit scopes of exactly one Store
(``manage_customers:{projectKey}:{storeKey}``…, and none of the whole project) can reach nothing but that Store's
endpoints, so the Store-scoped tools go through it when a call names no ``storeKey`` (``connection_store``: the
connection's ``store`` if set, else the scopes its token response grants); another ``storeKey`` is refused before
any request, naming the allowed one.

``POST /customers/password-token`` on the global endpoint answers a token for any email: "For security reasons,
Composable Commerce doesn't indicate whether the email address exists in the system" (Password reset flow,
Learning > Manage sign-ups and sign-ins). A shop's page must not tell; this server acts with ``manage_customers``
and may look, as any ``list_customers`` call could. A token for an email no global customer has resets nothing,
and a customer of a Store (a non-empty ``stores``) resets through that Store only (``storeKey``). So after such
an answer the server looks the email up: a global customer has it → the result stands; customers in Stores have
it → an error naming their Stores and ``storeKey``; nobody has it → an error saying so. Where the output policy
hides ``email`` the server does not look (the answer would tell what the policy hides) and only notes that the
token resets nothing unless a global customer has the address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx2
import orjson

from ..upstream.client import ApiConnectionError, CommercetoolsClient
from ..upstream.tokens import AuthError
from .catalog.tools import CUSTOMERS, PREFIX, STORE_KEY, Tool

# The scopes of the Store-scoped tools' resources (with manage_project, which grants them all).
STORE_SCOPE_NAMES = frozenset(
    {"view_customers", "manage_customers", "view_business_units", "manage_business_units", "manage_project"}
)
LOOKUP_LIMIT = 100  # customers sharing one email: one global, or one per Store
HIDDEN_NOTE = (
    "Note: the API answers a token for any email, so a shop cannot tell which emails exist. This token resets a "
    "password only if a global customer (empty stores) has the address; a customer of a Store resets through "
    f"that Store: pass {STORE_KEY}."
)


def checks_reset_email(tool: Tool, arguments: dict[str, Any], status: int) -> bool:
    """Whether a call answered a global password-reset token whose email deserves a look."""
    return (
        tool.family is CUSTOMERS
        and tool.kind == "flow"
        and tool.path.endswith("/password-token")
        and status == 200
        and arguments.get(STORE_KEY) is None
        and isinstance(arguments.get("email"), str)
    )


@dataclass
class Finding:
    """What the look-up found: an error to answer instead of the token, with its message, hint and Stores."""

    message: str
    hint: str
    stores: list[str] = field(default_factory=list)


async def unusable_reset_token(
    client: CommercetoolsClient, tool_name: str, email: str, correlation_id: str
) -> Finding | None:
    """None when a global customer has ``email`` (or the look-up could not tell); else why the token resets
    nothing and what to call instead."""
    where = f"lowercaseEmail = {orjson.dumps(email.lower()).decode()}"
    try:
        response = await client.request(
            "GET",
            "/{projectKey}/customers",
            params=[("where", where), ("limit", str(LOOKUP_LIMIT)), ("withTotal", "false")],
            idempotent=True,
            correlation_id=correlation_id,
        )
    except (ApiConnectionError, AuthError):
        return None
    body = response.body
    if response.status != 200 or not isinstance(body, dict) or not isinstance(body.get("results"), list):
        return None
    found = [c for c in body["results"] if isinstance(c, dict)]
    if any(not c.get("stores") for c in found):
        return None
    stores = sorted({s["key"] for c in found for s in c.get("stores") or () if isinstance(s, dict) and "key" in s})
    if stores:
        listed = ", ".join(stores)
        return Finding(
            f"No global customer has this email, so the token the API answered resets nothing; customers in "
            f"Stores have it: {listed}.",
            f"Call {tool_name} again with {STORE_KEY} set to the customer's Store ({listed}); "
            "the reset and the token look-up then take the same storeKey.",
            stores,
        )
    return Finding(
        "No customer has this email: the API answers a token for unknown emails (so a shop cannot tell which "
        "exist), and this one resets nothing.",
        f'Check the address ({PREFIX}list_customers with where lowercaseEmail = "..."), or create the customer.',
    )


def only_store(scopes: tuple[str, ...] | list[str]) -> str | None:
    """The one Store that customer / business-unit ``scopes`` are limited to, None when any is of the whole
    project, when they name several Stores, or none."""
    stores: set[str] = set()
    for scope in scopes:
        name, _, rest = scope.partition(":")
        if name not in STORE_SCOPE_NAMES:
            continue
        _, _, store = rest.partition(":")
        if not store:
            return None  # a scope of the whole project: the global endpoints are open
        stores.add(store)
    return stores.pop() if len(stores) == 1 else None


async def connection_store(client: CommercetoolsClient) -> str | None:
    """The Store the connection is limited to: its ``store`` setting, else its token's scopes. AuthError when the
    auth server refuses the token (the call ends there, as its request would); None when it cannot be reached
    (the request then retries and says so)."""
    if client.connection.store is not None:
        return client.connection.store
    try:
        return only_store(await client.granted_scopes())
    except httpx2.TransportError:
        return None

"""Words for the model after a failed call: what the error means for this tool, and the next call to make.

A hint is chosen by the error's code (the API's ``errors[0].code``, else an OAuth ``error``), its status, and
by what the tool addresses, all read from the catalogue row: its family (noun, list and get tools), its kind, and
its path (a resource by id or key, a token, an email, an associate, the search index). Never by the words of a
message: a backend may repeat the request's path in one (``Route GET:/…/associates/<id> not found``), and a word
of the path is no evidence. One rule per code, a few per target: never one string per tool. Any backend's error
body is understood, whatever its shape (``message``, OAuth ``error``/``error_description``, an ``errors`` list,
plain text or an HTML page); the message is shown to the model as said, beside the hint.

A 404 without the API's code (``errors[0].code``) is a missing route: the backend does not offer the endpoint
(a mock, a proxy), so the hint names the endpoint and the way round it, never an argument or an activation that
cannot help. So is a 400 ``InvalidJsonInput`` on a search or an account flow, whose body this server checked
against the API's structure before sending, and a 400 naming a ``version`` or ``actions`` field on a tool that
takes none: the backend read the path as another endpoint's (``POST /customers/search`` as an update of the
customer with id ``search``), and a hint about arguments the tool lacks would lead nowhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from .descriptions import EMAIL_UNIQUE, activation
from .tools import BUSINESS_UNITS, CUSTOMERS, FAMILIES, TOOLS, Tool, tool_of

MAX_BODY_TEXT = 300  # characters of an unrecognised error body shown to the model
MAX_MESSAGE = 2000  # characters of an error message


def target(tool: Tool) -> str:
    """What a tool's path addresses: "token", "email", "associate", "search" or "resource"."""
    if "-token=" in tool.path or tool.path.endswith(("/password/reset", "/email/confirm")):
        return "token"
    if tool.path.endswith("/password-token"):
        return "email"
    if "/associates/" in tool.path:
        return "associate"
    if tool.kind in ("search", "status"):
        return "search"
    return "resource"


def _name(found: Tool | None, fallback: str) -> str:
    return found.name if found else fallback


def _token_tool(tool: Tool) -> str:
    """The tool that creates the kind of token this tool takes."""
    kind = "password" if "password" in tool.path else "email"
    made = next((t for t in TOOLS if t.kind == "flow" and t.path.endswith(f"/{kind}-token")), None)
    return _name(made, f"the {kind}-token tool")


def _getter(tool: Tool) -> str:
    by_key = "key={key}" in tool.path
    getters = [t for t in TOOLS if t.family == tool.family and t.kind == "get" and t.path.count("/") == 3]
    found = next((t for t in getters if ("key={key}" in t.path) == by_key), None)
    return _name(found, "the get tool")


def describe_body(body: Any) -> str:
    """What an error body says, whatever its shape: the API's ``message``, an OAuth ``error`` with its
    ``error_description``, the first listed error's message (each as sent, so an output policy can still scrub
    the values it hides; at most ``MAX_MESSAGE`` characters), or else the body itself, bounded to
    ``MAX_BODY_TEXT`` (tags stripped from an HTML page)."""
    if isinstance(body, dict):
        said = [body.get("message"), _first(body).get("message"), body.get("error"), body.get("error_description")]
        texts = [t.strip() for t in said if isinstance(t, str) and t.strip()]
        if texts:
            main = texts[0]  # the message, else the OAuth error; its description added when it says more
            description = body.get("error_description")
            if isinstance(description, str) and description.strip() and description.strip() not in main:
                main = f"{main}: {description.strip()}" if main == body.get("error") else f"{main} ({description})"
            return main if len(main) <= MAX_MESSAGE else main[: MAX_MESSAGE - 1] + "…"
        return _bounded(orjson.dumps(body).decode()) if body else ""
    if isinstance(body, str):
        text = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", body, flags=re.S | re.I)
        return _bounded(text)
    return "" if body is None else _bounded(orjson.dumps(body).decode())


def _bounded(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_BODY_TEXT else text[: MAX_BODY_TEXT - 1] + "…"


def _quoted(value: str) -> str:
    """A string value as a `where` literal, shown as it was sent (so an output policy that hides it finds it)."""
    return f'"{value}"' if '"' not in value and "\\" not in value else '"<the value>"'


def _first(body: Any) -> dict[str, Any]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}


def error_code(body: Any) -> str:
    """The error's code: the API's ``errors[0].code``, else an OAuth ``error``, else ""."""
    code = _first(body).get("code") or (body.get("error") if isinstance(body, dict) else None)
    return code if isinstance(code, str) else ""


@dataclass(frozen=True)
class Failure:
    """One error response as the hint rules see it."""

    tool: Tool
    status: int
    code: str
    first: dict[str, Any]  # the first listed error (its fields: field, duplicateValue, currentVersion…)
    message: str
    attempts: int

    @property
    def api_code(self) -> str:
        """The API's own code (``errors[0].code``), "" when the body has none (a route a backend lacks)."""
        code = self.first.get("code")
        return code if isinstance(code, str) else ""

    @property
    def noun(self) -> str:
        return self.tool.family.noun

    @property
    def lister(self) -> str:
        return _name(tool_of(self.tool.family, "list"), "the list tool")


def endpoint(tool: Tool) -> str:
    """The tool's endpoint as the hints name it: ``GET /customers/search/indexing-status``."""
    return f"{tool.method} {tool.path.removeprefix('/{projectKey}') or '/'}"


def _instead(tool: Tool) -> str:
    """The way round a missing endpoint: a list with `where` for a search, the unit for an associate lookup."""
    aim = target(tool)
    if aim == "associate":
        return f"Read the unit with {_getter(tool)} instead: its associates and inheritedAssociates list the roles."
    listing = tool_of(tool.family, "list")
    if tool.kind == "status":
        search = tool_of(tool.family, "search")
        listing_name = listing.name if listing else "the list tool"
        return (
            f"Call {search.name if search else 'the search tool'} directly; if this backend lacks it too, use "
            f"{listing_name} with `where`."
        )
    if aim == "search" and listing is not None:
        return (
            f"Use {listing.name} with `where` instead (exact filters; e.g. lowercaseEmail, firstName, key)."
            if tool.family is CUSTOMERS
            else f"Use {listing.name} with `where` instead (exact filters, e.g. on key or name)."
        )
    if aim == "token":
        return "The token itself may be valid; no tool here can use it on this backend."
    if listing is not None and tool.kind in ("get", "status"):  # a read: a filtered list may find the same
        return f"{listing.name} with `where` may find what you need."
    return "No other tool here does the same."


def _missing_route(f: Failure) -> str:
    why = "no API error code" if not f.api_code else "it read the request as another endpoint's"
    return f"This backend does not offer {endpoint(f.tool)} (HTTP {f.status}, {why}). {_instead(f.tool)}"


def _not_found(f: Failure) -> str:
    if not f.api_code:  # the route itself is missing: not the resource, the token or the activation
        return _missing_route(f)
    aim = target(f.tool)
    if aim == "token":  # the code alone cannot tell a spent token from a backend that took the path for an id
        return (
            "No customer for that token: it is unknown, already used, or invalidated (a finished flow, or a newer "
            "token made with invalidateOlderTokens, voids older ones); a token made through a Store is known only "
            f"there: pass the storeKey it was made with. Else create a new one with {_token_tool(f.tool)}. "
            f"If a token just made is refused too, this backend does not offer {endpoint(f.tool)}."
        )
    if aim == "email":
        return (
            "No global customer has that email (matched ignoring case; customers assigned to stores are not "
            f'global: pass their storeKey). Check it with {f.lister}, where lowercaseEmail = "<email in lower case>".'
        )
    if aim == "associate":  # the API's one code says neither which: both, each with its next call
        return (
            f"Either no business unit has that id or key (find it with {f.lister}), or the customer (associateId "
            f"is the customer's id) is not an associate of it: read the unit with {_getter(f.tool)} and look at "
            "associates and inheritedAssociates."
        )
    if aim == "search" and f.tool.kind == "status":  # activated already? then do not send the model round again
        return (
            f"{f.noun.capitalize()} search is not activated for this project. {activation(f.tool.family)} If it "
            f"was activated already, call {_name(tool_of(f.tool.family, 'search'), 'the search tool')} directly."
        )
    if aim == "search":
        return f"{f.noun.capitalize()} search is not activated for this project. {activation(f.tool.family)}"
    keyed = any(t.family == f.tool.family and "key={key}" in t.path for t in TOOLS)
    store = " (through a Store, only those in it: storeKey)" if f.tool.store_scoped else ""
    return f"No {f.noun} with that {'id or key' if keyed else 'id'}{store}; check it, or find it with {f.lister}."


def _duplicate(f: Failure) -> str:
    field, value = str(f.first.get("field") or "a field"), f.first.get("duplicateValue")
    held = f.first.get("conflictingResource")
    if isinstance(held, dict) and held.get("id"):
        owner = next((x for x in FAMILIES if x.type_id == held.get("typeId")), f.tool.family)
        getter = next((t for t in TOOLS if t.family == owner and t.kind == "get" and t.path.endswith("/{ID}")), None)
        return (
            f"{field} '{value}' is already held by {held.get('typeId', 'another resource')} {held['id']}; read it "
            f"with {_name(getter, 'its get tool')}, or choose another value."
        )
    if "." in field:  # addresses.key: unique within the resource itself
        return f"{field} '{value}' is used twice within this {f.noun}; each must be unique within it."
    if f.tool.family is CUSTOMERS and field == "email" and isinstance(value, str):
        return (
            f"Another customer already has the email '{value}'. {EMAIL_UNIQUE} Find that customer with {f.lister}, "
            f"where lowercaseEmail = {_quoted(value.lower())}, or choose another email."
        )
    shown = _quoted(value) if isinstance(value, str) else str(value) if isinstance(value, int | float) else '"…"'
    return (
        f"Another {f.noun} already has {field} '{value}'. Find it with {f.lister}, where {field} = {shown}, or "
        "choose another value."
    )


def _rejected(f: Failure) -> str:
    detail = str(f.first.get("detailedErrorMessage") or f.first.get("message") or f.message)
    if f.tool.family is BUSINESS_UNITS and f.tool.kind == "create" and "parentUnit" in detail:
        return (
            f'The request was rejected: {detail}. A Division needs unitType "Division" and parentUnit '
            '{"typeId": "business-unit", "key": "<parent key>"}; a Company takes no parentUnit.'
        )
    allowed = f.first.get("allowedValues")
    if isinstance(allowed, list) and allowed and all(isinstance(v, str | int | float) for v in allowed):
        shown = ", ".join(str(v) for v in allowed[:30]) + (", …" if len(allowed) > 30 else "")
        return f"The request was rejected: {detail} Allowed: {shown}."
    return f"The request was rejected: {detail}"


def _stale(f: Failure) -> str:
    current = f.first.get("currentVersion")
    if current is None:
        return "The version is stale; re-read the resource and retry with its current version."
    again = " (an earlier attempt of this call may already have applied)" if f.attempts > 1 else ""
    return f"The current version is {current}; re-read and retry with version {current}{again}."


def _referenced(f: Failure) -> str:
    type_id = str(f.first.get("typeId") or "resource")
    owner = next((x for x in FAMILIES if x.type_id == type_id), None)
    finder = f", find it with {_name(tool_of(owner, 'list'), '')}" if owner else ""
    return (
        f"The referenced {type_id} ({f.first.get('id') or f.first.get('key')}) does not exist; check the "
        f"identifier{finder}."
    )


def _expired(f: Failure) -> str:
    return f"The token has expired; create a new one with {_token_tool(f.tool)}."


def _unavailable(f: Failure) -> str:
    failed = f"The API answered {f.status} after {f.attempts} attempt(s)"
    if not f.tool.idempotent and f.status in (500, 502, 504):
        # a gateway error can come after the write committed: a blind retry may create a second resource
        return (
            f"{failed}, and the request may have been applied. Look for the {f.noun} first (e.g. by key or email "
            f"with {f.lister}); call again only if it is not there."
        )
    if f.status == 429:
        return f"{failed}: too many requests. Nothing was applied; wait a little and call again."
    return f"{failed}; nothing was applied. Try again later."


# One rule per error code; the rule reads the tool's family, kind and target from the catalogue.
_BY_CODE = {
    "ConcurrentModification": _stale,
    "ResourceNotFound": _not_found,
    "DuplicateField": _duplicate,
    "DuplicateFieldWithConflictingResource": _duplicate,
    "InvalidJsonInput": _rejected,
    "InvalidInput": _rejected,
    "InvalidField": _rejected,
    "RequiredField": _rejected,
    "InvalidOperation": _rejected,
    "ReferencedResourceNotFound": _referenced,
    "ReferenceExists": lambda f: (
        f"Other resources still use this {f.noun} (blockedBy names them, when this server can find them); remove "
        "those references first, then delete again."
    ),
    "SearchNotReady": lambda f: (
        f"{f.noun.capitalize()} search is not active or still indexing. {activation(f.tool.family)}"
    ),
    "ExpiredCustomerPasswordToken": _expired,
    "ExpiredCustomerEmailToken": _expired,
    "InvalidCurrentPassword": lambda f: "currentPassword does not match the customer's password; ask for it again.",
    "LockedField": lambda f: "Another request is changing a customer with the same email right now; retry shortly.",
    "invalid_token": lambda f: (
        "The API rejected the access token; check the connection's client id, secret and auth URL."
    ),
    "invalid_client": lambda f: "The auth server refused the client id or secret; check the connection's credentials.",
    "insufficient_scope": lambda f: f"The connection's API client lacks a scope for this call: {f.message}",
}


# The kinds of tool that take each field a 400 may name: on a tool of another kind, the backend took its path for
# another endpoint's (``POST /customers/search`` as an update of the customer with id ``search``).
_TAKEN_BY = {"actions": ("update",), "version": ("update", "delete", "versioned_flow")}


_CHECKED_BODIES = frozenset({"search", "flow", "versioned_flow"})  # kinds whose whole body the schema fixes


def _misread(tool: Tool, status: int, first: dict[str, Any]) -> bool:
    if status != 400:
        return False
    if first.get("code") == "InvalidJsonInput" and tool.kind in _CHECKED_BODIES:
        return True
    field = first.get("field")
    return isinstance(field, str) and field in _TAKEN_BY and tool.kind not in _TAKEN_BY[field]


def error_hint(tool: Tool, status: int, body: Any, attempts: int) -> str:
    """One actionable sentence for an API error response, from any backend."""
    code = error_code(body)
    failure = Failure(tool, status, code, _first(body), describe_body(body), attempts)
    if _misread(tool, status, failure.first):
        return _missing_route(failure)
    rule = _BY_CODE.get(code)
    if rule is None and status == 404:
        rule = _not_found
    if rule is None and status == 401:
        rule = _BY_CODE["invalid_token"]
    if rule is None and status == 403:
        rule = _BY_CODE["insufficient_scope"]
    if rule is None and (status >= 500 or status == 429):
        rule = _unavailable
    if rule is not None:
        return rule(failure)
    return failure.message or "The API rejected the request."


def look_up_first(tool: Tool) -> str:
    """What to do after a write that may have been applied although no answer said so."""
    listing = _name(tool_of(tool.family, "list"), "the list tool")
    return (
        f"It may have been applied: look for the {tool.family.noun} first (e.g. by key or email with {listing}) and "
        "call again only if it is not there."
    )


def unreachable_hint(tool: Tool, *, timed_out: bool, may_have_applied: bool) -> str:
    """The next step after the API could not be reached: never a blind retry of a write that may have applied."""
    if may_have_applied:
        return look_up_first(tool)
    where = "The host answered too slowly" if timed_out else "Nothing answered"
    again = (
        "the call is safe to repeat (a repeated update or delete answers 409 if the first one applied)"
        if tool.idempotent
        else "the request was not sent, so the call is safe to repeat"
    )
    return f"{where}: check the connection's api_url and auth_url and the network; {again}."


_AUTH = {
    "invalid_client": "the client id or secret is wrong",
    "invalid_scope": "a requested scope is not granted to this API client",
    "unauthorized_client": "this API client may not use the client-credentials grant",
}


def auth_hint(code: str, status: int = 400) -> str:
    """The next step after the auth server gave no token (``code`` is its OAuth ``error``): a failing server (5xx,
    429) refused nothing, so the credentials are not blamed."""
    if status >= 500 or status == 429:
        return (
            f"The auth server answered {status}: it failed, nothing was refused and nothing reached the API. Try "
            "again shortly; if it persists, check the connection's auth_url."
        )
    why = _AUTH.get(code)
    if why is None and code in ("", "invalid_response"):
        return f"The auth server answered {status} without an OAuth error: check the connection's auth_url."
    why = why or "the credentials were refused"
    return f"Check the connection's client_id, client_secret, scopes and auth_url: {why}."

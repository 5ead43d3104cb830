"""Words for the model: tool and parameter descriptions, and actionable hints for API errors.

Every description starts with the catalogue spec's text (``API_TEXT``, or ``METHOD /path`` where the spec
says only that) and adds one plain sentence on what the tool is for and its gotcha.
"""

from __future__ import annotations

import re
from typing import Any

from .tools import BUSINESS_UNITS, PREFIX, Tool, tool_of

# The catalogue spec's description where it is more than "METHOD /path".
API_TEXT = {
    "create_associate_roles": "Creating a Associate Role generates the AssociateRoleCreated Message.",
    "create_business_units_search": "If the initial indexing is in progress or the feature is inactive, A "
    "SearchNotReady error is returned. If inactive, you can reactivate it.",
    "create_customers": "Allows converting an anonymous Cart to the active Cart of a Customer with cart merge. "
    "Creating a Customer produces the CustomerCreated Message. Simultaneously creating two Customers with the "
    "same email address can return a LockedField error.",
    "create_customers_email_confirm": "Use this method to verify a global Customer\u2019s email during their email "
    "verification process. Verifying the email of the Customer produces the CustomerEmailVerified Message. After "
    "the email is verified, all email tokens issued previously through the email verification flow are "
    "invalidated. This invalidation of tokens is eventually consistent.",
    "create_customers_email_token": "Use this method to create an email token for a global Customer during their "
    "email verification process. Creating an email token for the Customer produces the CustomerEmailTokenCreated "
    "Message. The Message will include the token\u2019s value, if the token\u2019s validity is 60 minutes or less.",
    "create_customers_password": "Changing the password produces the CustomerPasswordUpdated Message with reset=false.",
    "create_customers_password_reset": "Use this method to reset a global Customer\u2019s password during their "
    "password reset process. Resetting the password of the Customer produces the CustomerPasswordUpdated Message with "
    "reset=true. After the password is reset, all password tokens issued previously through the password reset "
    "flow are invalidated. In addition, any access and refresh tokens issued previously through the password flow "
    "and refresh token flow are invalidated. This invalidation of tokens is eventually consistent.",
    "create_customers_password_token": "Use this method to create a password reset token for a global Customer "
    "during their password reset process. Creating a password reset token for the Customer produces the "
    "CustomerPasswordTokenCreated Message. The Message will include the token\u2019s value, if the token\u2019s "
    "validity is 60 minutes or less.",
    "create_customers_search": "If the initial indexing is in progress or the feature is inactive, a SearchNotReady "
    "error is returned. If inactive, you can reactivate it.",
    "delete_associate_roles_by_key": "Deleting an AssociateRole generates the AssociateRoleDeleted Message. An "
    "AssociateRole can only be deleted if it is not assigned to any Associates.",
    "delete_by_id": "Deleting a Customer produces the CustomerDeleted Message.",
    "delete_by_key": "Deleting a Customer produces the CustomerDeleted Message.",
    "get_business_units_associates_by_business_unit_id_and_associate_id": "Retrieves roles and permissions of an "
    "Associate in a Business Unit.",
    "get_business_units_associates_by_key_and_associate_id": "Retrieves roles and permissions of an Associate in a "
    "Business Unit.",
    "list_business_units_search_indexing_status": "Returns the indexing status of the Business Unit Search for a "
    "Project.",
    "list_customers_email_token_email_token": "Use this method to retrieve a global Customer\u2019s details by using "
    "the email token during their email verification process.",
    "list_customers_password_token_password_token": "Use this method to retrieve the details of a global Customer "
    "by using the password token during their password reset process.",
    "list_customers_search_indexing_status": "Returns the indexing status of the Customer Search for a Project.",
    "update_customers_by_id": "Simultaneously updating two Customers with the same email address can return a "
    "LockedField error.",
    "update_customers_by_key": "Simultaneously updating two Customers with the same email address can return a "
    "LockedField error.",
}


_KIND_PURPOSE = {
    "list": "Lists {n}s page by page; filter with `where` predicates and page with limit/offset.",
    "get": "Fetches one {n}; use it to read the current version before an update or delete.",
    "create": "Creates a {n}; the response carries its id and version 1.",
    "update": "Applies update actions to a {n} all-or-nothing; pass its current version (a stale one answers 409).",
    "delete": "Deletes a {n} permanently; pass its current version.",
    "search": "Full-text and structured search over {n}s; results carry only ids and relevance, so fetch each by "
    "id; search must be activated for the project first.",
    "status": "Tells whether {n} search is ready; check it when a search answers SearchNotReady.",
}

_TOOL_PURPOSE = {
    "create_customers": "Creates a customer and returns {customer}; the email must be unique among global customers "
    "(case-insensitive) and a password is needed unless authenticationMode is ExternalAuth.",
    "create_customers_password": "Changes a customer's password given the current one; pass the customer's current "
    "version.",
    "create_customers_password_token": "Starts a password reset: returns a token whose value you pass to the reset "
    "tool; the email is matched case-insensitively.",
    "create_customers_password_reset": "Completes a password reset with a token value from the password-token tool.",
    "list_customers_password_token_password_token": "Looks up the customer a password reset token belongs to.",
    "create_customers_email_token": "Starts email verification: returns a token whose value you pass to the "
    "email-confirm tool.",
    "create_customers_email_confirm": "Marks the customer's email as verified, given a token value from the "
    "email-token tool.",
    "list_customers_email_token_email_token": "Looks up the customer an email verification token belongs to.",
    "get_business_units_associates_by_business_unit_id_and_associate_id": "Shows which roles and permissions a "
    "customer (the associate id is the customer id) holds in a business unit, including inherited ones.",
    "get_business_units_associates_by_key_and_associate_id": "Shows which roles and permissions a customer (the "
    "associate id is the customer id) holds in a business unit, including inherited ones.",
}

# The catalogue spec's parameter labels that do not follow the naming rule in ``api_label``.
_LABELS = {
    "expand": "Related resources to expand inline",
    "sort": "Sort order for results",
    "limit": "Maximum number of results to return",
    "query": "Search query string",
    "locale": "Locale or language code",
    "ID": "The id value",
}

_PARAM_NOTES = {
    "PCID": "Which configured connection (commercetools project) to use.",
    "ID": "The resource's id (a UUID).",
    "version": "The resource's current version; read the resource first (a stale version answers 409).",
    "where": 'Query predicates, combined with AND, e.g. `lowercaseEmail = "ann@example.com"`, '
    '`firstName = "Ann" and addresses(country = "DE")`, `key in ("a", "b")`; for a case-insensitive email '
    "lookup compare lowercaseEmail with the lowercased address.",
    "expand": 'Reference paths to inline, e.g. "customerGroup"; on create_customers prefix them with "customer.".',
    "withTotal": "Set false to skip counting the total (faster).",
    "dataErasure": "true also erases all personal data of the resource.",
    "actions": "Update actions, each {action: <name>, ...fields}; applied all or none, at most 500.",
    "email": "Unique among global customers, compared case-insensitively.",
    "password": "Plain text; stored hashed and never returned. Required unless authenticationMode is ExternalAuth.",
    "stores": 'Store identifiers like {"typeId": "store", "key": "eu"}; none means a global customer.',
    "unitType": "Company is a top-level unit. To make a Division, create the unit as a Company, then update it "
    'with {"action": "setUnitType", "unitType": "Division", "parentUnit": {"key": "<parent key>"}}.',
    "addresses": "Addresses; country (two capital letters) is required in each.",
    "defaultShippingAddress": "Index into addresses.",
    "defaultBillingAddress": "Index into addresses.",
    "shippingAddresses": "Indexes into addresses.",
    "billingAddresses": "Indexes into addresses.",
    "ttlMinutes": "How long the token stays valid, in minutes.",
    "invalidateOlderTokens": "true revokes the customer's earlier tokens of this kind.",
    "tokenValue": "The token's value as returned by the token-creating tool.",
    "permissions": "Permissions granted by the role.",
    "groupName": "Unique name of the group.",
}

_KIND_PARAM_NOTES = {
    ("list", "sort"): 'e.g. "createdAt desc"; earlier entries take priority.',
    ("list", "limit"): "0 to 500, default 20.",
    ("list", "offset"): "0 to 10000, default 0.",
    ("search", "sort"): 'Objects like {"field": "createdAt", "order": "desc"}; field "score" sorts by relevance.',
    ("search", "limit"): "1 to 100, default 20.",
    ("search", "offset"): "0 to 9900, default 0.",
    ("search", "query"): 'e.g. {"fullText": {"field": "all", "value": "ann"}} or '
    '{"exact": {"field": "email", "value": "ann@example.com"}}; combine with and/or/not/filter. Omit to match all.',
}


def api_label(name: str) -> str:
    """The catalogue spec's label for a parameter ("ttlMinutes" -> "Ttl Minutes", "key" -> "The key value")."""
    if name in _LABELS:
        return _LABELS[name]
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).split()
    if len(words) == 1:
        return f"The {name} value"
    return " ".join(w[:1].upper() + w[1:] for w in words)


def tool_description(tool: Tool) -> str:
    suffix = tool.name.removeprefix(PREFIX)
    head = API_TEXT.get(suffix, f"{tool.method} {tool.path.removeprefix('/{projectKey}')}")
    purpose = _TOOL_PURPOSE.get(suffix) or _KIND_PURPOSE[tool.kind].format(n=tool.family.noun)
    return f"{head} {purpose}"


def param_description(tool: Tool, name: str) -> str:
    label = "Connection id (PCID)" if name == "PCID" else api_label(name)
    note = _KIND_PARAM_NOTES.get((tool.kind, name)) or _PARAM_NOTES.get(name)
    return f"{label}. {note}" if note else label


def _list_tool(tool: Tool) -> str:
    found = tool_of(tool.family, "list")
    return found.name if found else "the list tool"


def error_hint(tool: Tool, status: int, body: Any, attempts: int) -> str:
    """One actionable sentence for an API error response."""
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = first.get("code") or (body.get("error") if isinstance(body, dict) else None) or ""
    noun = tool.family.noun
    if code == "ConcurrentModification":
        current = first.get("currentVersion")
        if current is None:
            return "The version is stale; re-read the resource and retry with its current version."
        again = " (an earlier attempt of this call may already have applied)" if attempts > 1 else ""
        return f"The current version is {current}; re-read and retry with version {current}{again}."
    if code == "ResourceNotFound":
        if tool.path.endswith("/password-token"):
            return (
                "No global customer has that email (the match ignores case; customers assigned to stores are not "
                'global). Check it with list_customers, e.g. where lowercaseEmail = "<email in lower case>".'
            )
        if tool.kind in ("search", "status") or "token" in tool.path:
            return "Nothing matched; check the token value (tokens expire and are invalidated when used)."
        finder = _list_tool(tool)
        return f"No {noun} with that id or key; check it, or find it with {finder}."
    if code in ("DuplicateField", "DuplicateFieldWithConflictingResource"):
        return (
            f"{first.get('field', 'A field')} {first.get('duplicateValue')!r} is already used by another "
            f"resource; choose a different value or update the existing one."
        )
    if code in ("InvalidJsonInput", "InvalidInput", "InvalidField", "RequiredField", "InvalidOperation"):
        detail = first.get("detailedErrorMessage") or first.get("message") or ""
        if tool.family is BUSINESS_UNITS and tool.kind == "create" and "parentUnit" in detail:
            return (
                f"The request was rejected: {detail}. This tool takes no parentUnit: create the unit with "
                'unitType "Company", then update it with {"action": "setUnitType", "unitType": "Division", '
                '"parentUnit": {"key": "<parent key>"}}.'
            )
        return f"The request was rejected: {detail}".strip()
    if code == "ReferencedResourceNotFound":
        return (
            f"The referenced {first.get('typeId', 'resource')} ({first.get('id') or first.get('key')}) does not "
            "exist; check the identifier."
        )
    if code == "SearchNotReady":
        return (
            "Search is not active or still indexing for this project: activate it with the project update action "
            '{"action": "changeCustomerSearchStatus", "status": "Activated"} (or changeBusinessUnitSearchStatus) '
            "or from the Merchant Center, then poll the indexing-status tool until it is Ready."
        )
    if code == "invalid_token" or status == 401:
        return "The API rejected the access token; check the connection's client id, secret and auth URL."
    if code == "insufficient_scope" or status == 403:
        return f"The connection's API client lacks a scope for this call: {first.get('message', code)}"
    if code == "LockedField":
        return "Another request is changing a customer with the same email right now; retry shortly."
    if status >= 500 or status == 429:
        failed = f"The API answered {status} after {attempts} attempt(s)"
        if not tool.idempotent and status in (500, 502, 504):
            # a gateway error can come after the write committed: a blind retry may create a second resource
            return (
                f"{failed}, and the request may have been applied. Before retrying, look for the {noun} "
                f"(e.g. by key or email with {_list_tool(tool)})."
            )
        return f"{failed}; try again later."
    return first.get("message") or "The API rejected the request."

"""Words for the model after a failed call: the actionable hint for an API error."""

from __future__ import annotations

from typing import Any

from .tools import BUSINESS_UNITS, Tool, tool_of


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

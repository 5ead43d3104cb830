"""The tool catalogue: one declarative row per MCP tool, and how a call becomes an HTTP request.

Where each argument goes is decided by the row alone: names in ``{braces}`` of the path template go
into the path, names listed in ``query`` go into the query string (lists repeat the parameter), and
every other argument goes into the JSON body. ``PCID`` picks the connection and is never sent.

Kinds and what they imply:

============== ========== =========== ========== ============================================
kind           readOnly   destructive idempotent retried by the client after 5xx / network
============== ========== =========== ========== ============================================
get, list,     yes        no          yes        yes (reads; search is a read-only POST)
status, search
update, delete no         delete only yes        yes: the ``version`` guard makes a repeat
                                                 answer 409 instead of applying twice
versioned_flow no         no          yes        yes (password change carries ``version``)
create, flow   no         no          no         no: a repeat could create a second resource
                                                 or token
============== ========== =========== ========== ============================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

PREFIX = "commercetools_customers_"
PCID = "PCID"

READ_KINDS = frozenset({"get", "list", "status", "search"})
IDEMPOTENT_KINDS = READ_KINDS | {"update", "delete", "versioned_flow"}

_LIST = ("where", "expand", "sort", "limit", "offset", "withTotal")
_GET = ("expand",)
_DELETE = ("version", "expand")
_DELETE_ERASE = ("dataErasure", "version", "expand")


@dataclass(frozen=True)
class Tool:
    """One row of the catalogue."""

    name: str
    title: str
    method: str
    path: str
    kind: str
    resource: str
    query: tuple[str, ...] = ()
    body: str | None = None  # spec component: a draft, a flow request, a search request or an update-action union

    @property
    def path_args(self) -> tuple[str, ...]:
        return tuple(n for n in re.findall(r"{(\w+)}", self.path) if n != "projectKey")

    @property
    def read_only(self) -> bool:
        return self.kind in READ_KINDS

    @property
    def destructive(self) -> bool:
        return self.kind == "delete"

    @property
    def idempotent(self) -> bool:
        """Safe to repeat: reads, and writes guarded by ``version``. Also what the client's retry policy uses."""
        return self.kind in IDEMPOTENT_KINDS


@dataclass(frozen=True)
class Request:
    """The HTTP request a tool call becomes (arguments of ``CommercetoolsClient.request``)."""

    method: str
    path: str
    path_params: dict[str, str]
    params: list[tuple[str, str]]
    json: Any
    idempotent: bool


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def query_string_length(request: Request) -> int:
    """Length of the request's encoded query string."""
    return sum(len(quote(name, safe="")) + len(quote(value, safe="")) + 2 for name, value in request.params)


def build_request(tool: Tool, arguments: Mapping[str, Any]) -> Request:
    """Place validated arguments into path, query and body."""
    path_params = {n: str(arguments[n]) for n in tool.path_args}
    params: list[tuple[str, str]] = []
    body: dict[str, Any] = {}
    for name, value in arguments.items():
        if name == PCID or name in path_params:
            continue
        if name in tool.query:
            values = value if isinstance(value, list) else [value]
            params.extend((name, _query_value(v)) for v in values)
        else:
            body[name] = value
    json = body if tool.method == "POST" else None
    return Request(tool.method, tool.path, path_params, params, json, tool.idempotent)


def _t(suffix: str, title: str, method: str, path: str, kind: str, **kw: Any) -> Tool:
    return Tool(PREFIX + suffix, title, method, path, kind, path.split("/")[2], **kw)


_C = "/{projectKey}/customers"
_G = "/{projectKey}/customer-groups"
_B = "/{projectKey}/business-units"
_R = "/{projectKey}/associate-roles"

TOOLS: tuple[Tool, ...] = (
    # customers
    _t("list_customers", "List customers", "GET", _C, "list", query=_LIST),
    _t("get_by_id", "Get customer by ID", "GET", _C + "/{ID}", "get", query=_GET),
    _t("get_by_key", "Get customer by key", "GET", _C + "/key={key}", "get", query=_GET),
    _t("create_customers", "Create customer", "POST", _C, "create", query=_GET, body="CustomerDraft"),
    _t(
        "update_customers_by_id",
        "Update customer by ID",
        "POST",
        _C + "/{ID}",
        "update",
        query=_GET,
        body="CustomerUpdateAction",
    ),
    _t(
        "update_customers_by_key",
        "Update customer by key",
        "POST",
        _C + "/key={key}",
        "update",
        query=_GET,
        body="CustomerUpdateAction",
    ),
    _t("delete_by_id", "Delete customer by ID", "DELETE", _C + "/{ID}", "delete", query=_DELETE_ERASE),
    _t("delete_by_key", "Delete customer by key", "DELETE", _C + "/key={key}", "delete", query=_DELETE_ERASE),
    _t("create_customers_search", "Search customers", "POST", _C + "/search", "search", body="CustomerSearchRequest"),
    _t(
        "list_customers_search_indexing_status",
        "Customer search indexing status",
        "GET",
        _C + "/search/indexing-status",
        "status",
    ),
    # customer account flows
    _t(
        "create_customers_password",
        "Change customer password",
        "POST",
        _C + "/password",
        "versioned_flow",
        body="CustomerChangePassword",
    ),
    _t(
        "create_customers_password_token",
        "Create password reset token",
        "POST",
        _C + "/password-token",
        "flow",
        body="CustomerCreatePasswordResetToken",
    ),
    _t(
        "create_customers_password_reset",
        "Reset customer password",
        "POST",
        _C + "/password/reset",
        "flow",
        body="CustomerResetPassword",
    ),
    _t(
        "list_customers_password_token_password_token",
        "Get customer by password token",
        "GET",
        _C + "/password-token={passwordToken}",
        "get",
        query=_GET,
    ),
    _t(
        "create_customers_email_token",
        "Create email verification token",
        "POST",
        _C + "/email-token",
        "flow",
        body="CustomerCreateEmailToken",
    ),
    _t(
        "create_customers_email_confirm",
        "Verify customer email",
        "POST",
        _C + "/email/confirm",
        "flow",
        body="CustomerEmailVerify",
    ),
    _t(
        "list_customers_email_token_email_token",
        "Get customer by email token",
        "GET",
        _C + "/email-token={emailToken}",
        "get",
        query=_GET,
    ),
    # customer groups
    _t("list_customer_groups", "List customer groups", "GET", _G, "list", query=_LIST),
    _t("get_customer_groups_by_id", "Get customer group by ID", "GET", _G + "/{ID}", "get", query=_GET),
    _t("get_customer_groups_by_key", "Get customer group by key", "GET", _G + "/key={key}", "get", query=_GET),
    _t("create_customer_groups", "Create customer group", "POST", _G, "create", query=_GET, body="CustomerGroupDraft"),
    _t(
        "update_customer_groups_by_id",
        "Update customer group by ID",
        "POST",
        _G + "/{ID}",
        "update",
        query=_GET,
        body="CustomerGroupUpdateAction",
    ),
    _t(
        "update_customer_groups_by_key",
        "Update customer group by key",
        "POST",
        _G + "/key={key}",
        "update",
        query=_GET,
        body="CustomerGroupUpdateAction",
    ),
    _t("delete_customer_groups_by_id", "Delete customer group by ID", "DELETE", _G + "/{ID}", "delete", query=_DELETE),
    _t(
        "delete_customer_groups_by_key",
        "Delete customer group by key",
        "DELETE",
        _G + "/key={key}",
        "delete",
        query=_DELETE,
    ),
    # business units
    _t("list_business_units", "List business units", "GET", _B, "list", query=_LIST),
    _t("get_business_units_by_id", "Get business unit by ID", "GET", _B + "/{ID}", "get", query=_GET),
    _t("get_business_units_by_key", "Get business unit by key", "GET", _B + "/key={key}", "get", query=_GET),
    _t("create_business_units", "Create business unit", "POST", _B, "create", query=_GET, body="BusinessUnitDraft"),
    _t(
        "update_business_units_by_id",
        "Update business unit by ID",
        "POST",
        _B + "/{ID}",
        "update",
        query=_GET,
        body="BusinessUnitUpdateAction",
    ),
    _t(
        "update_business_units_by_key",
        "Update business unit by key",
        "POST",
        _B + "/key={key}",
        "update",
        query=_GET,
        body="BusinessUnitUpdateAction",
    ),
    _t("delete_business_units_by_id", "Delete business unit by ID", "DELETE", _B + "/{ID}", "delete", query=_DELETE),
    _t(
        "delete_business_units_by_key",
        "Delete business unit by key",
        "DELETE",
        _B + "/key={key}",
        "delete",
        query=_DELETE,
    ),
    _t(
        "get_business_units_associates_by_business_unit_id_and_associate_id",
        "Get associate of business unit",
        "GET",
        _B + "/{businessUnitId}/associates/{associateId}",
        "get",
    ),
    _t(
        "get_business_units_associates_by_key_and_associate_id",
        "Get associate of business unit by key",
        "GET",
        _B + "/key={key}/associates/{associateId}",
        "get",
    ),
    _t(
        "create_business_units_search",
        "Search business units",
        "POST",
        _B + "/search",
        "search",
        body="BusinessUnitSearchRequest",
    ),
    _t(
        "list_business_units_search_indexing_status",
        "Business unit search indexing status",
        "GET",
        _B + "/search/indexing-status",
        "status",
    ),
    # associate roles
    _t("list_associate_roles", "List associate roles", "GET", _R, "list", query=_LIST),
    _t("get_associate_roles_by_id", "Get associate role by ID", "GET", _R + "/{ID}", "get", query=_GET),
    _t("get_associate_roles_by_key", "Get associate role by key", "GET", _R + "/key={key}", "get", query=_GET),
    _t("create_associate_roles", "Create associate role", "POST", _R, "create", query=_GET, body="AssociateRoleDraft"),
    _t(
        "update_associate_roles_by_id",
        "Update associate role by ID",
        "POST",
        _R + "/{ID}",
        "update",
        query=_GET,
        body="AssociateRoleUpdateAction",
    ),
    _t(
        "update_associate_roles_by_key",
        "Update associate role by key",
        "POST",
        _R + "/key={key}",
        "update",
        query=_GET,
        body="AssociateRoleUpdateAction",
    ),
    _t("delete_associate_roles_by_id", "Delete associate role by ID", "DELETE", _R + "/{ID}", "delete", query=_DELETE),
    _t(
        "delete_associate_roles_by_key",
        "Delete associate role by key",
        "DELETE",
        _R + "/key={key}",
        "delete",
        query=_DELETE,
    ),
)

BY_NAME: dict[str, Tool] = {t.name: t for t in TOOLS}

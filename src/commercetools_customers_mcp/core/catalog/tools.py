"""The tool catalogue: one declarative row per MCP tool, and how a call becomes an HTTP request.

Where each argument goes is decided by the row alone: names in ``{braces}`` of the path template go
into the path, names listed in ``query`` go into the query string (lists repeat the parameter), and
every other argument goes into the JSON body. ``PCID`` picks the connection, ``fields`` trims the answer and
``dry_run`` (deletes) asks for the impact instead: none of them is ever sent.

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
FIELDS = "fields"  # the projection a read asks for: applied to the answer, never sent (core/projection.py)
PROJECTED_KINDS = frozenset({"get", "list"})  # the tools that take it (a search's hits are only {id, relevance})
DRY_RUN = "dry_run"  # a delete's impact, nothing changed (core/consent.py); never sent
MCP_ONLY = frozenset({PCID, DRY_RUN, FIELDS})  # arguments the MCP side reads and the API never sees
STORE_KEY = "storeKey"  # the optional Store of the Store-scoped tools: /{projectKey}/in-store/key={storeKey}/...
IN_STORE = "/in-store/key={storeKey}"
# The tools the API also serves below a Store (customers-in-store.raml, business-units-in-store.raml): the customer
# and business-unit CRUD, the account flows and the associate lookups; not the searches (no Store-scoped search).
STORE_SCOPED_TOOLSETS = frozenset({"customers", "account", "business-units"})

READ_KINDS = frozenset({"get", "list", "status", "search"})
IDEMPOTENT_KINDS = READ_KINDS | {"update", "delete", "versioned_flow"}

_LIST = ("where", "expand", "sort", "limit", "offset", "withTotal")
_GET = ("expand",)
_DELETE = ("version", "expand")
_DELETE_ERASE = ("dataErasure", "version", "expand")


@dataclass(frozen=True)
class Family:
    """What the MCP side knows about one resource family. Every catalogue row names its family; hints, short
    names, type ids and the vendored structure's roots are derived from these records, so a new family is one
    record, its rows and their tests."""

    segment: str  # the URL segment below /{projectKey}
    noun: str  # in words: "customer group"
    type_id: str  # the API's typeId
    schema: str  # the resource's component in the API structure (its fields: where / sort checks)
    draft: str | None = None  # its draft component
    updates: str | None = None  # its update-action union
    short: str | None = None  # its segment's word in short tool names (``names.py``), if it needs one
    query_only: tuple[str, ...] = ()  # fields a `where` may name that results do not show (lowercaseEmail)

    @property
    def path(self) -> str:
        return f"/{{projectKey}}/{self.segment}" if self.segment else "/{projectKey}"


CUSTOMERS = Family(
    "customers",
    "customer",
    "customer",
    "Customer",
    "CustomerDraft",
    "CustomerUpdateAction",
    query_only=("lowercaseEmail",),
)
CUSTOMER_GROUPS = Family(
    "customer-groups",
    "customer group",
    "customer-group",
    "CustomerGroup",
    "CustomerGroupDraft",
    "CustomerGroupUpdateAction",
    short="cgroups",
)
BUSINESS_UNITS = Family(
    "business-units",
    "business unit",
    "business-unit",
    "BusinessUnit",
    "BusinessUnitDraft",
    "BusinessUnitUpdateAction",
    short="bu",
)
ASSOCIATE_ROLES = Family(
    "associate-roles",
    "associate role",
    "associate-role",
    "AssociateRole",
    "AssociateRoleDraft",
    "AssociateRoleUpdateAction",
    short="assoc_roles",
)
# The changes to all of the above, as the API records them (read-only; an opt-in toolset).
MESSAGES = Family("messages", "message", "message", "Message")
# The project itself, for the two settings these tools depend on: whether each search is on (an opt-in toolset).
# Its update tool takes only the actions named in brackets (``schemas.union_parts``).
PROJECT = Family("", "project", "project", "Project", updates=(
    "ProjectUpdateAction[changeCustomerSearchStatus,changeBusinessUnitSearchStatus]"))  # fmt: skip
FAMILIES: tuple[Family, ...] = (CUSTOMERS, CUSTOMER_GROUPS, BUSINESS_UNITS, ASSOCIATE_ROLES, MESSAGES, PROJECT)


@dataclass(frozen=True)
class Tool:
    """One row of the catalogue."""

    name: str
    title: str
    method: str
    path: str
    kind: str
    family: Family
    toolset: str
    query: tuple[str, ...] = ()
    body: str | None = None  # spec component: a draft, a flow request, a search request or an update-action union

    @property
    def store_scoped(self) -> bool:
        """Whether the tool takes ``storeKey`` (the same operation below ``/in-store/key={storeKey}``)."""
        return self.toolset in STORE_SCOPED_TOOLSETS and self.kind not in ("search", "status")

    @property
    def store_path(self) -> str:
        """The path template through a Store: ``/{projectKey}/in-store/key={storeKey}/customers/…``."""
        return self.path.replace("/{projectKey}", "/{projectKey}" + IN_STORE, 1)

    @property
    def resource(self) -> str:
        return self.family.segment

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
    """Place validated arguments into path, query and body; with ``storeKey`` the path goes through that Store."""
    path_params = {n: str(arguments[n]) for n in tool.path_args}
    path = tool.path
    store = arguments.get(STORE_KEY) if tool.store_scoped else None
    if store is not None:
        path, path_params[STORE_KEY] = tool.store_path, str(store)
    params: list[tuple[str, str]] = []
    body: dict[str, Any] = {}
    for name, value in arguments.items():
        if name in MCP_ONLY or name in path_params or (name == STORE_KEY and tool.store_scoped):
            continue
        if name in tool.query:
            values = value if isinstance(value, list) else [value]
            params.extend((name, _query_value(v)) for v in values)
        else:
            body[name] = value
    json = body if tool.method == "POST" else None
    return Request(tool.method, path, path_params, params, json, tool.idempotent)


def _t(family: Family, toolset: str, suffix: str, title: str, method: str, sub: str, kind: str, **kw: Any) -> Tool:
    body = kw.pop("body", None)
    if body is None and kind in ("create", "update"):
        body = family.draft if kind == "create" else family.updates
    return Tool(PREFIX + suffix, title, method, family.path + sub, kind, family, toolset, body=body, **kw)


def _names(segment: str) -> tuple[str, ...]:
    """The seed's names for a family's eight rows, where they follow its rule (customers' do not)."""
    return tuple(
        f"{verb}_{segment}{rest}"
        for verb, rest in (("list", ""), ("get", "_by_id"), ("get", "_by_key"), ("create", ""),
                           ("update", "_by_id"), ("update", "_by_key"), ("delete", "_by_id"), ("delete", "_by_key"))
    )  # fmt: skip


def _crud(family: Family, names: tuple[str, ...], titles: tuple[str, ...], delete_query: tuple[str, ...]) -> list[Tool]:
    """The eight rows every family has: list, get by id / key, create, update by id / key, delete by id / key."""
    shape = (
        ("GET", "", "list", _LIST),
        ("GET", "/{ID}", "get", _GET),
        ("GET", "/key={key}", "get", _GET),
        ("POST", "", "create", _GET),
        ("POST", "/{ID}", "update", _GET),
        ("POST", "/key={key}", "update", _GET),
        ("DELETE", "/{ID}", "delete", delete_query),
        ("DELETE", "/key={key}", "delete", delete_query),
    )
    return [
        _t(family, family.segment, name, title, method, sub, kind, query=query)
        for name, title, (method, sub, kind, query) in zip(names, titles, shape, strict=True)
    ]


def _titles(noun: str, plural: str) -> tuple[str, ...]:
    a = f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"
    return (
        f"List {plural}",
        f"Get {a} by ID",
        f"Get {a} by key",
        f"Create {a}",
        f"Update {a} by ID",
        f"Update {a} by key",
        f"Delete {a} by ID",
        f"Delete {a} by key",
    )


TOOLS: tuple[Tool, ...] = (
    *_crud(
        CUSTOMERS,
        (
            "list_customers",
            "get_by_id",
            "get_by_key",
            "create_customers",
            "update_customers_by_id",
            "update_customers_by_key",
            "delete_by_id",
            "delete_by_key",
        ),
        _titles("customer", "customers"),
        _DELETE_ERASE,
    ),
    _t(CUSTOMERS, "customer-search", "create_customers_search", "Search customers", "POST", "/search", "search",
       body="CustomerSearchRequest"),
    _t(CUSTOMERS, "customer-search", "list_customers_search_indexing_status", "Check whether customer search is ready",
       "GET", "/search/indexing-status", "status"),
    _t(CUSTOMERS, "account", "create_customers_password", "Change a customer's password", "POST", "/password",
       "versioned_flow", body="CustomerChangePassword"),
    _t(CUSTOMERS, "account", "create_customers_password_token", "Start a password reset (create a token)", "POST",
       "/password-token", "flow", body="CustomerCreatePasswordResetToken"),
    _t(CUSTOMERS, "account", "create_customers_password_reset", "Reset a password with a token", "POST",
       "/password/reset", "flow", body="CustomerResetPassword"),
    _t(CUSTOMERS, "account", "list_customers_password_token_password_token", "Look up a customer by password token",
       "GET", "/password-token={passwordToken}", "get", query=_GET),
    _t(CUSTOMERS, "account", "create_customers_email_token", "Start email verification (create a token)", "POST",
       "/email-token", "flow", body="CustomerCreateEmailToken"),
    _t(CUSTOMERS, "account", "create_customers_email_confirm", "Verify a customer's email with a token", "POST",
       "/email/confirm", "flow", body="CustomerEmailVerify"),
    _t(CUSTOMERS, "account", "list_customers_email_token_email_token", "Look up a customer by email token", "GET",
       "/email-token={emailToken}", "get", query=_GET),
    *_crud(
        CUSTOMER_GROUPS,
        _names("customer_groups"),
        _titles("customer group", "customer groups"),
        _DELETE,
    ),
    *_crud(
        BUSINESS_UNITS,
        _names("business_units"),
        _titles("business unit", "business units"),
        _DELETE,
    ),
    _t(BUSINESS_UNITS, "business-units", "get_business_units_associates_by_business_unit_id_and_associate_id",
       "Get a customer's roles in a business unit (unit by ID)", "GET", "/{businessUnitId}/associates/{associateId}",
       "get"),
    _t(BUSINESS_UNITS, "business-units", "get_business_units_associates_by_key_and_associate_id",
       "Get a customer's roles in a business unit (unit by key)", "GET", "/key={key}/associates/{associateId}", "get"),
    _t(BUSINESS_UNITS, "business-unit-search", "create_business_units_search", "Search business units", "POST",
       "/search", "search", body="BusinessUnitSearchRequest"),
    _t(BUSINESS_UNITS, "business-unit-search", "list_business_units_search_indexing_status",
       "Check whether business unit search is ready", "GET", "/search/indexing-status", "status"),
    *_crud(
        ASSOCIATE_ROLES,
        _names("associate_roles"),
        _titles("associate role", "associate roles"),
        _DELETE,
    ),
    _t(MESSAGES, "messages", "list_messages", "List messages (what changed, in order)", "GET", "", "list",
       query=_LIST),
    _t(MESSAGES, "messages", "get_messages_by_id", "Get a message by ID", "GET", "/{ID}", "get", query=_GET),
    _t(PROJECT, "project-settings", "get_project_settings", "Get the project's settings (search status, version)",
       "GET", "", "get"),
    _t(PROJECT, "project-settings", "update_project_search_status",
       "Activate or deactivate Customer or Business Unit Search", "POST", "", "update"),
)  # fmt: skip

BY_NAME: dict[str, Tool] = {t.name: t for t in TOOLS}
TOOLSETS: dict[str, tuple[Tool, ...]] = {}
for _tool in TOOLS:
    TOOLSETS[_tool.toolset] = (*TOOLSETS.get(_tool.toolset, ()), _tool)
ALL = "all"
OPT_IN_TOOLSETS: frozenset[str] = frozenset({"messages", "project-settings"})  # `all` leaves out: only when named
DEFAULT_TOOLSETS: frozenset[str] = frozenset(TOOLSETS) - OPT_IN_TOOLSETS  # what `all` means
DEFAULT_TOOLS: tuple[Tool, ...] = tuple(t for t in TOOLS if t.toolset in DEFAULT_TOOLSETS)  # what `all` publishes


def tool_of(family: Family, kind: str) -> Tool | None:
    """The family's first tool of a kind (its list tool, its search tool…), if it has one."""
    return next((t for t in TOOLS if t.family == family and t.kind == kind), None)

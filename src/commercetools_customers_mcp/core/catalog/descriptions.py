"""Words for the model before its first call: tool and parameter descriptions.

A tool description opens with what the tool does in plain words (the resource, found by what, what comes back),
then when to use it rather than a sibling and the semantics a model would not guess, then the seed's own
sentences (Messages produced, LockedField, token validity). The words are assembled
from the catalogue row: one sentence per kind, one per family and kind where the API surprises, and one per
tool only where a tool is unlike its kind (the account flows, the associate lookups, search).

Parameter descriptions say only what the name and the schema do not: examples for ``where``, ``sort`` and a
search ``query``, and the rules of a few draft fields. A parameter whose name says it all has none.
"""

from __future__ import annotations

import re

from ... import spec
from .tools import ASSOCIATE_ROLES, BUSINESS_UNITS, CUSTOMER_GROUPS, CUSTOMERS, MESSAGES, PREFIX, Family, Tool, tool_of

# The seed's own sentences on what the API does (Messages produced, LockedField, token validity and invalidation),
# word for word but for two grammar slips ("a Associate Role", ", A SearchNotReady"). The seed's openers that only
# restate what the tool does ("Use this method to …", "Retrieves …", "Returns the indexing status …",
# "METHOD /path") are said in plainer words by the opening sentence instead.
SEED_TEXT = {
    "create_associate_roles": "Creating an Associate Role generates the AssociateRoleCreated Message.",
    "create_business_units_search": "If the initial indexing is in progress or the feature is inactive, a "
    "SearchNotReady error is returned. If inactive, you can reactivate it.",
    "create_customers": "Allows converting an anonymous Cart to the active Cart of a Customer with cart merge. "
    "Creating a Customer produces the CustomerCreated Message. Simultaneously creating two Customers with the "
    "same email address can return a LockedField error.",
    "create_customers_email_confirm": "Verifying the email of the Customer produces the CustomerEmailVerified "
    "Message. After the email is verified, all email tokens issued previously through the email verification flow "
    "are invalidated. This invalidation of tokens is eventually consistent.",
    "create_customers_email_token": "Creating an email token for the Customer produces the CustomerEmailTokenCreated "
    "Message. The Message will include the token\u2019s value, if the token\u2019s validity is 60 minutes or less.",
    "create_customers_password": "Changing the password produces the CustomerPasswordUpdated Message with reset=false.",
    "create_customers_password_reset": "Resetting the password of the Customer produces the CustomerPasswordUpdated "
    "Message with reset=true. After the password is reset, all password tokens issued previously through the "
    "password reset flow are invalidated. In addition, any access and refresh tokens issued previously through the "
    "password flow and refresh token flow are invalidated. This invalidation of tokens is eventually consistent.",
    "create_customers_password_token": "Creating a password reset token for the Customer produces the "
    "CustomerPasswordTokenCreated Message. The Message will include the token\u2019s value, if the token\u2019s "
    "validity is 60 minutes or less.",
    "create_customers_search": "If the initial indexing is in progress or the feature is inactive, a SearchNotReady "
    "error is returned. If inactive, you can reactivate it.",
    "delete_associate_roles_by_key": "Deleting an AssociateRole generates the AssociateRoleDeleted Message. An "
    "AssociateRole can only be deleted if it is not assigned to any Associates.",
    "delete_associate_roles_by_id": "Deleting an AssociateRole generates the AssociateRoleDeleted Message. An "
    "AssociateRole can only be deleted if it is not assigned to any Associates.",
    "delete_by_id": "Deleting a Customer produces the CustomerDeleted Message.",
    "delete_by_key": "Deleting a Customer produces the CustomerDeleted Message.",
    "update_customers_by_id": "Simultaneously updating two Customers with the same email address can return a "
    "LockedField error.",
    "update_customers_by_key": "Simultaneously updating two Customers with the same email address can return a "
    "LockedField error.",
}

EMAIL_UNIQUE = "Email is unique, ignoring case, in the whole project for customers without stores, else per store."


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def activation(family: Family) -> str:
    """How a family's search is switched on (the opt-in project-settings tool, or the Merchant Center), then polled
    with its status tool."""
    action = spec.SEARCH_STATUS_ACTIONS.get(family.type_id)
    status = tool_of(family, "status")
    if action is None or status is None:  # a family without a search of its own (a SearchNotReady is odd there)
        return "Activate the search once per project (Merchant Center, or a project update action)."
    return (
        f'Activate it once per project ({PREFIX}update_project_search_status, {{"action": "{action}", "status": '
        f'"Activated"}}, toolset project-settings; or the Merchant Center), then poll {status.name} until Ready.'
    )


def _what(tool: Tool) -> str:
    """The opening sentence: what the tool does, to which resource, found how, and what comes back."""
    n = tool.family.noun
    by = "(by key)" if "key={key}" in tool.path else "(by id)"
    return {
        "list": f"Lists {n}s matching `where`, ordered by `sort`, a page at a time: {{limit, offset, count, total, "
        "results}.",
        "get": f"Gets one {n} {by}" + (", with its current version." if tool.family.updates else "."),
        "create": f"Creates {_a(n)} and returns {'{customer}' if tool.family is CUSTOMERS else 'it'}, with its id "
        "and version 1.",
        "update": f"Changes one {n} {by} with update actions, all applied or none; returns it. Needs its current "
        "version: a stale one answers 409 naming the current one.",
        "delete": f"Deletes one {n} {by} for good and returns it. Needs its current version.",
    }[tool.kind]


# What a model would not guess, by family and kind.
_FAMILY_NOTES: dict[tuple[Family, str], str] = {
    (CUSTOMERS, "list"): "Finds customers by email (see `where`), name, group, store…; for ranked full-text search "
    f"use {PREFIX}create_customers_search.",
    (CUSTOMERS, "get"): f"To find one by email or name, use {PREFIX}list_customers.",
    (CUSTOMERS, "create"): f"{EMAIL_UNIQUE} A password is required unless "
    "authenticationMode is ExternalAuth; it is stored hashed and never shown.",
    (CUSTOMERS, "update"): "changeEmail sets isEmailVerified to false.",
    (CUSTOMER_GROUPS, "create"): "groupName must be unique in the project (the group shows it as `name`).",
    (CUSTOMER_GROUPS, "delete"): "Customers and business units assigned to the group keep pointing at it: nothing "
    "checks or clears those assignments.",
    (BUSINESS_UNITS, "create"): 'unitType "Company" makes a top-level unit; unitType "Division" with parentUnit '
    '{"typeId": "business-unit", "key": "<parent key>"} makes a Division in one call, which inherits from its '
    "parent (associateMode and approvalRuleMode ExplicitAndFromParent, storeMode FromParent, unless given). key "
    "cannot change later.",
    (BUSINESS_UNITS, "update"): 'Associates are customers: addAssociate {"associate": {"customer": {"typeId": '
    '"customer", "id": …}, "associateRoleAssignments": [{"associateRole": {"typeId": "associate-role", '
    '"key": …}}]}}.',
    (BUSINESS_UNITS, "delete"): "A unit that still has child units cannot be deleted.",
    (ASSOCIATE_ROLES, "create"): "key cannot change later; buyerAssignable lets buyers assign the role.",
    (MESSAGES, "list"): "Each message records one change to a customer, customer group, business unit or associate "
    "role, or a customer's token or password flow: type (e.g. CustomerCreated, CustomerEmailChanged), resource "
    "{typeId, id}, resourceVersion, sequenceNumber (per resource, from 1) and the change's own fields. Recorded only "
    "while the project's Messages setting is on, and kept for its deleteDaysAfterCreation days: an empty list may "
    "mean it is off.",
    (MESSAGES, "get"): f"Find ids with {PREFIX}list_messages.",
}

_ASSOCIATE_LOOKUPS = (
    "get_business_units_associates_by_business_unit_id_and_associate_id",
    "get_business_units_associates_by_key_and_associate_id",
)
_ASSOCIATE = (
    "Shows the roles and permissions a customer holds in a business unit, explicit and inherited: "
    "{customer, associateRoles, inheritedAssociateRoles, permissions}. associateId is the customer's id. A 404 "
    "means no such unit, or the customer is not its associate (the unit's associates and inheritedAssociates list "
    "who is)."
)

# Tools unlike their kind: the account flows and the associate lookups.
_TOOL_WHAT = {
    "create_customers_password": "Changes a customer's password, given its id, version and current password; "
    f"returns the customer. For a forgotten one use {PREFIX}create_customers_password_token.",
    "create_customers_password_token": "Starts a password reset: creates a token for the customer with that email "
    f"(ignoring case) and returns {{value, expiresAt, customerId, …}}; pass value to "
    f"{PREFIX}create_customers_password_reset. ttlMinutes defaults to 1440.",
    "create_customers_password_reset": "Completes a password reset: sets newPassword for the customer the token "
    "belongs to; returns the customer.",
    "list_customers_password_token_password_token": "Gets the customer a password reset token belongs to; a used, "
    "expired or unknown token answers an error.",
    "create_customers_email_token": "Starts email verification: creates a token for the customer (by id) and "
    f"returns {{value, expiresAt, customerId, …}}; pass value to {PREFIX}create_customers_email_confirm.",
    "create_customers_email_confirm": "Marks a customer's email verified, given a token value from "
    f"{PREFIX}create_customers_email_token; returns the customer.",
    "list_customers_email_token_email_token": "Gets the customer an email verification token belongs to; a used, "
    "expired or unknown token answers an error.",
    "get_project_settings": "Gets the project's settings: searchIndexing.customers.status and "
    "searchIndexing.businessUnits.status (Activated or Deactivated; absent: never activated), and the version "
    f"{PREFIX}update_project_search_status needs.",
    "update_project_search_status": "Switches Customer or Business Unit Search on or off, e.g. actions "
    '[{"action": "changeCustomerSearchStatus", "status": "Activated"}] (or changeBusinessUnitSearchStatus), with the '
    f"version from {PREFIX}get_project_settings; returns the project. After activating, poll the search's "
    "indexing-status tool until Ready. Needs the API scope manage_project_settings.",
    **dict.fromkeys(_ASSOCIATE_LOOKUPS, _ASSOCIATE),
}


def _search_what(tool: Tool) -> str:
    n = tool.family.noun
    get = tool_of(tool.family, "get")
    listing = tool_of(tool.family, "list")
    status = tool_of(tool.family, "status")
    return (
        f"Searches {n}s by full text and structured expressions, ranked by relevance; returns ids only ({{total, "
        f"results: [{{id, relevance}}]}}): fetch each with {get.name if get else ''}. For exact filters "
        f"{listing.name if listing else ''} is immediate (search follows changes within seconds). "
        + (f"It needs activating once per project: see {status.name}." if status else activation(tool.family))
    )


def _status_what(tool: Tool) -> str:
    return (
        f"Tells whether {tool.family.noun} search is ready: {{status: Ready, Indexing, Scheduled or Failed, states}}. "
        f"A 404 means search is not activated. {activation(tool.family).replace(tool.name, 'this tool')}"
    )


def tool_description(tool: Tool, compact: bool = False, messages: bool = True) -> str:
    """The tool's description. The seed's sentences on Messages only when ``messages`` (the list has the tools
    that read Messages: to a model without them they say nothing it can use). ``compact`` (for
    ``--compact-schemas``) says the opening sentence alone: what the tool does and what comes back; the rest a
    model learns from the errors and hints of its first call. The endpoint is not said (it led no call; a hint
    names it when a backend lacks it)."""
    suffix = tool.name.removeprefix(PREFIX)
    if tool.kind == "search":
        parts = [_search_what(tool)]
    elif tool.kind == "status":
        parts = [_status_what(tool)]
    elif suffix in _TOOL_WHAT:
        parts = [_TOOL_WHAT[suffix]]
    else:
        parts = [_what(tool), _FAMILY_NOTES.get((tool.family, tool.kind), "")]
    if compact:
        return _sentences(parts[0])[0]
    seed = _sentences(SEED_TEXT.get(suffix, ""))
    parts += [sentence for sentence in seed if messages or " Message" not in sentence]
    return " ".join(p for p in parts if p)


def _sentences(text: str) -> list[str]:
    return re.split(r"(?<=\.) ", text)


# What a parameter's name and schema do not say. Keys: (tool suffix, name), (family, kind, name), (kind, name),
# (family, name) or name; the most specific wins.
_NOTES: dict[object, str] = {
    "PCID": "Project connection id.",
    "actions": 'Each {"action": "<name>", ...its fields}.',
    "where": 'Predicates, ANDed, e.g. `key = "vip"`, `createdAt > "2025-01-01T00:00:00Z"`, `key in ("a", "b")`.',
    "withTotal": "false skips counting the total (faster).",
    "dataErasure": "true also erases personal data.",
    "dry_run": "true: show the impact only.",
    "stores": 'e.g. [{"typeId": "store", "key": "eu"}].',
    "addresses": "country, two capital letters, is required in each.",
    "defaultShippingAddress": "An index into addresses.",
    "defaultBillingAddress": "An index into addresses.",
    "shippingAddresses": "Indexes into addresses.",
    "billingAddresses": "Indexes into addresses.",
    "tokenValue": "The value the token-creating tool returned.",
    "invalidateOlderTokens": "true revokes the customer's earlier tokens of this kind.",
    "ttlMinutes": "Minutes the token stays valid.",
    "associateId": "The customer's id.",
    (CUSTOMERS, "storeKey"): "For a customer in a Store (stores not empty).",
    (BUSINESS_UNITS, "list", "storeKey"): "Only units in this Store.",
    (BUSINESS_UNITS, "storeKey"): "Only if the unit is in this Store.",
    (CUSTOMERS, "fields"): 'Only these paths (and id, version), e.g. ["email", "addresses.country"].',
    (CUSTOMER_GROUPS, "fields"): 'Only these paths (and id, version), e.g. ["name"].',
    (BUSINESS_UNITS, "fields"): 'Only these paths (and id, version), e.g. ["name", "addresses.country"].',
    (ASSOCIATE_ROLES, "fields"): 'Only these paths (and id, version), e.g. ["name", "permissions"].',
    (MESSAGES, "fields"): 'Only these paths (and id, version), e.g. ["type", "resource"].',
    **{(suffix, "fields"): 'Only these paths, e.g. ["permissions"].' for suffix in _ASSOCIATE_LOOKUPS},
    ("list", "sort"): 'e.g. "createdAt desc".',
    ("search", "sort"): 'e.g. [{"field": "createdAt", "order": "desc"}]; field "score" sorts by relevance.',
    (CUSTOMERS, "search", "query"): 'One expression or compound, e.g. {"fullText": {"field": "all", "value": '
    '"ann"}}, {"exact": {"field": "email", "value": "ann@example.com"}}, {"fuzzy": {"field": "firstName", "value": '
    '"anne", "level": 1}}, {"and": [<expression>, …]}; omit it to match all.',
    (BUSINESS_UNITS, "search", "query"): 'One expression or compound, e.g. {"fullText": {"field": "all", "value": '
    '"acme"}}, {"exact": {"field": "unitType", "value": "Division"}}, {"exact": {"field": "parentUnit.key", '
    '"value": "acme"}}, {"and": [<expression>, …]}; omit it to match all.',
    (CUSTOMERS, "where"): 'Predicates, ANDed, e.g. `lowercaseEmail = "ann@example.com"` (the email in lower '
    'case: `email` compares case-sensitively), `firstName = "Ann" and addresses(country = "DE")`, '
    '`createdAt > "2025-01-01T00:00:00Z"`, `customerGroup(id = "<group id>")`.',
    (CUSTOMERS, "email"): EMAIL_UNIQUE,
    (CUSTOMERS, "password"): "Plain text, stored hashed; required unless authenticationMode is ExternalAuth.",
    (CUSTOMERS, "expand"): 'e.g. ["customerGroup"].',
    (CUSTOMERS, "create", "expand"): 'e.g. ["customer.customerGroup"]: paths start at the result {customer}.',
    (CUSTOMER_GROUPS, "where"): 'Predicates, ANDed, e.g. `key = "vip"`, `name = "VIP"`, '
    '`createdAt > "2025-01-01T00:00:00Z"`, `key in ("a", "b")`.',
    (BUSINESS_UNITS, "where"): 'Predicates, ANDed, e.g. `key = "acme"`, `unitType = "Division" and '
    'parentUnit(key = "acme")`, `associates(customer(id = "<customer id>"))`, `addresses(country = "DE")`.',
    (ASSOCIATE_ROLES, "where"): 'Predicates, ANDed, e.g. `key = "buyer"`, `buyerAssignable = true`, `name = "Buyer"`.',
    (BUSINESS_UNITS, "unitType"): "A Division also needs parentUnit.",
    (BUSINESS_UNITS, "parentUnit"): 'The parent of a Division, e.g. {"typeId": "business-unit", "key": "acme"}.',
    (BUSINESS_UNITS, "expand"): 'e.g. ["associates[*].customer"].',
    (MESSAGES, "where"): 'Predicates, ANDed, e.g. `type = "CustomerEmailChanged"`, `resource(id = "<customer id>")`, '
    '`type in ("CustomerCreated", "CustomerDeleted")`, `createdAt > "2025-01-01T00:00:00Z"`.',
    (MESSAGES, "list", "sort"): 'e.g. "sequenceNumber asc" (one resource\'s changes in order) or "createdAt desc".',
    (MESSAGES, "expand"): 'e.g. ["resource"]: the changed resource as it is now.',
}


def param_description(tool: Tool, name: str) -> str | None:
    """What a parameter's name and schema do not say, or None."""
    suffix = tool.name.removeprefix(PREFIX)
    for key in ((suffix, name), (tool.family, tool.kind, name), (tool.kind, name), (tool.family, name), name):
        if key in _NOTES:
            return _NOTES[key]
    return None


# The parameters whose words carry syntax a schema cannot: kept in compact mode too.
_SYNTAX = frozenset({"where", "query", "sort", "actions", "fields"})


def compact_description(tool: Tool, name: str) -> str | None:
    """The words compact mode keeps: the syntax notes (of ``fields``, its example alone) and PCID's."""
    note = param_description(tool, name) if name in _SYNTAX or name == "PCID" else None
    return note[note.index("e.g.") :] if note and name == "fields" else note

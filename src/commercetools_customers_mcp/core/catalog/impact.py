"""What a delete would leave behind: one declarative row per thing that references a resource of a family.

Each row is one list query of the API (``GET /{projectKey}/<segment>?where=…&withTotal=true&limit=…``), so the
impact is counted the same way against any backend; ``{id}`` and ``{key}`` in ``where`` are the target's own id
and key, read first. ``blocks`` says whether the API refuses the delete while the row counts anything (the rest
would dangle: the API lets them keep a reference to nothing). A row with ``field`` instead of a segment counts
an array of the target itself (a business unit's associates). Predicates are the API's own
(``../shared/reference/commercetools-api.md``), and each is served by the emulator (tests/test_consent.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .tools import ASSOCIATE_ROLES, BUSINESS_UNITS, CUSTOMER_GROUPS, CUSTOMERS, Family

EXAMPLES = 10  # examples shown per row in a dry run and a confirmation
BLOCKERS = 50  # units named when a delete is refused because of them


@dataclass(frozen=True)
class Impact:
    name: str  # the row's name in a dry run's `impact` ("customers", "childUnits", …)
    noun: str  # in words, plural
    segment: str = ""  # the list endpoint queried (customers, business-units, carts)
    where: str = ""  # the predicate; {id} and {key} are the target's, JSON-quoted
    field: str = ""  # or: an array field of the target itself, counted
    example: str = "key"  # the field an example shows (its id when that is hidden or absent)
    blocks: bool = False  # the API refuses the delete while this counts anything

    def predicate(self, id_: str, key: str | None) -> str:
        return self.where.format(id=json.dumps(id_), key=json.dumps(key or ""))


IMPACT: dict[Family, tuple[Impact, ...]] = {
    CUSTOMER_GROUPS: (
        Impact(
            "customers",
            "customers in the group",
            "customers",
            "customerGroup(id = {id}) or customerGroupAssignments(customerGroup(id = {id}))",
        ),
        Impact(
            "businessUnits",
            "business units assigning the group",
            "business-units",
            "customerGroupAssignments(customerGroup(id = {id}))",
        ),
    ),
    CUSTOMERS: (
        Impact("businessUnits", "business units where it is an associate", "business-units",
               "associates(customer(id = {id}))"),
        Impact("activeCarts", "active carts", "carts", 'customerId = {id} and cartState = "Active"', example="id"),
    ),
    BUSINESS_UNITS: (
        Impact("childUnits", "child units", "business-units", "parentUnit(key = {key})", blocks=True),
        Impact("associates", "associates", field="associates", example="customer.id"),
    ),
    ASSOCIATE_ROLES: (
        Impact(
            "businessUnits",
            "business units holding the role",
            "business-units",
            "associates(associateRoleAssignments(associateRole(key = {key})))",
            blocks=True,
        ),
    ),
}  # fmt: skip

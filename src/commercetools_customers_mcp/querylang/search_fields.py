"""What Customer Search and Business Unit Search can query: each index's fields and their kinds.

Neutral ground: the emulator builds its index from it (``emulator/search_index.py``), the MCP server names a
search field the index does not have (``core/catalog/field_notes.py``). Besides these, every expression may use
``custom.<name>`` (a custom field), ``fullText`` the field ``all``, and a search ``sort`` the field ``score``
(relevance).
Kinds: ``text`` fields are analysed for full text and ``all``; ``keyword``, ``date`` and ``boolean`` are exact.
"""

from __future__ import annotations

TEXT, KEYWORD, DATE, BOOLEAN = "text", "keyword", "date", "boolean"
ALL = "all"  # every text field at once (fullText, fullTextPrefix, fuzzy)
SCORE = "score"  # relevance, in a search sort
CUSTOM = "custom."  # custom fields: custom.<name>

ADDRESS_FIELDS = (
    "firstName",
    "lastName",
    "streetName",
    "streetNumber",
    "postalCode",
    "city",
    "region",
    "state",
    "country",
    "company",
    "phone",
    "mobile",
    "email",
)
_ADDRESSES = {f"addresses.{name}": TEXT for name in ADDRESS_FIELDS}
_GROUPS = {"customerGroupAssignments.customerGroup.id": KEYWORD}
_TIMES = {"createdAt": DATE, "lastModifiedAt": DATE}

# Searchable fields per indexed type (the API's typeId): field path → kind.
FIELDS: dict[str, dict[str, str]] = {
    "customer": {
        "id": KEYWORD,
        "key": TEXT,
        "email": TEXT,
        "firstName": TEXT,
        "middleName": TEXT,
        "lastName": TEXT,
        "fullName": TEXT,
        "companyName": TEXT,
        "customerNumber": TEXT,
        "externalId": TEXT,
        "dateOfBirth": DATE,
        "isEmailVerified": BOOLEAN,
        "stores.key": KEYWORD,
        "customerGroup.id": KEYWORD,
        **_GROUPS,
        **_ADDRESSES,
        **_TIMES,
    },
    "business-unit": {
        "id": KEYWORD,
        "key": TEXT,
        "name": TEXT,
        "contactEmail": TEXT,
        "status": KEYWORD,
        "unitType": KEYWORD,
        "stores.key": KEYWORD,
        "associates.customer.id": KEYWORD,
        "topLevelUnit.key": KEYWORD,
        "parentUnit.key": KEYWORD,
        **_GROUPS,
        **_ADDRESSES,
        **_TIMES,
    },
}

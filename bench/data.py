"""Deterministic customer data, and bulk loading it without HTTP.

Every customer ``i`` is the same draft for us and for the peer: a mixed-case email (so ``lowercaseEmail``
matters), a unique key and customer number, one address, and ``authenticationMode: ExternalAuth`` (no password)
for the bulk of the data; ``draft(i, password=True)`` gives the same customer signing up with a password, as
every sign-up does (our emulator hashes it with scrypt at its development cost in a worker thread, the mock
base64-encodes it). Selectivities the queries rely on:

- ``addresses(country = "LU")`` matches exactly 1 % of customers (``i % 100 == 7``);
- ``companyName = "Company 0042"`` (not indexed) matches 0.1 % (``i % 1000 == 42``);
- last names cycle through ``LAST_NAMES``; ``Quinlan`` is given to 0.5 % of customers only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_FIRST = "Ada Ben Clara Daniel Eva Felix Greta Hugo Ines Jonas Klara Lukas Mia Noah Olga Paul Rosa Simon Tilda Umar"
_FIRST += " Vera Willem Xenia Yusuf Zoe Anna Bruno Carla David Emil"
_LAST = "Schmidt Miller Dubois Rossi Novak Jansen Kowalski Garcia Smith Larsen Nagy Silva Fischer Weber Meyer Wagner"
_LAST += " Becker Hoffmann Schulz Koch Richter Klein Wolf Neumann Schwarz Braun Zimmermann Hartmann Lange Werner"
FIRST_NAMES = tuple(_FIRST.split(" "))
LAST_NAMES = tuple(_LAST.split(" "))
COUNTRIES = ("DE", "DE", "DE", "US", "US", "FR", "GB", "NL", "AT", "CH", "IT", "ES", "PL", "SE", "DK", "BE")
CITIES = ("Berlin", "Munich", "Hamburg", "Paris", "London", "Amsterdam", "Vienna", "Zurich", "Rome", "Madrid")
RARE_LAST_NAME = "Quinlan"
RARE_COUNTRY = "LU"
PROJECT = "bench"


def draft(i: int, password: bool = False) -> dict[str, Any]:
    first = FIRST_NAMES[(i * 7) % len(FIRST_NAMES)]
    last = RARE_LAST_NAME if i % 200 == 13 else LAST_NAMES[(i * 11) % len(LAST_NAMES)]
    country = RARE_COUNTRY if i % 100 == 7 else COUNTRIES[(i * 3) % len(COUNTRIES)]
    auth: dict[str, Any] = {"password": f"pw-{i:06d}-secret"} if password else {"authenticationMode": "ExternalAuth"}
    return {
        **auth,
        "email": f"{first}.{last}.{i}@Example.com",
        "key": f"cust-{i:06d}",
        "customerNumber": f"C{i:07d}",
        "firstName": first,
        "lastName": last,
        "companyName": f"Company {i % 1000:04d}",
        "addresses": [
            {
                "key": "home",
                "firstName": first,
                "lastName": last,
                "streetName": f"{last}strasse",
                "streetNumber": str(i % 200 + 1),
                "postalCode": f"{10000 + i % 89999}",
                "city": CITIES[(i * 5) % len(CITIES)],
                "country": country,
            }
        ],
        "defaultShippingAddress": 0,
    }


def drafts(start: int, stop: int, password: bool = False) -> Iterator[dict[str, Any]]:
    for i in range(start, stop):
        yield draft(i, password)


def write_jsonl(path: Path, count: int) -> Path:
    with path.open("w") as f:
        for d in drafts(0, count):
            f.write(json.dumps(d, separators=(",", ":")))
            f.write("\n")
    return path


def load_ours(path: str, start: int, stop: int, batch: int = 2000, project: str = PROJECT) -> None:
    """Create customers ``start..stop`` in our emulator's SQLite file through its own service layer.

    This runs the same code as ``POST /{projectKey}/customers`` (draft validation, email/key/number uniqueness,
    search-index and `where` value-table listeners) minus HTTP, token check and JSON rendering, in one write
    transaction per batch.
    """
    from commercetools_customers_mcp.emulator import create_emulator, crud
    from commercetools_customers_mcp.emulator.backend import Ctx
    from commercetools_customers_mcp.emulator.requests import Req

    emulator = create_emulator(path)
    resource = emulator.registry["customer"]
    ctx = Ctx(emulator, project, client_id="bench-loader")
    try:
        for low in range(start, stop, batch):
            with emulator.store.write():
                for d in drafts(low, min(low + batch, stop)):
                    crud.create(ctx, resource, Req("POST", {}, body=d))
    finally:
        emulator.store.close()

"""Customer Search at scale on the emulator: index build time and p50/p95 latency of typical queries.

    /work/venv/bin/python bench/search_scale.py 10000 100000

Customers are written through the store (so the index listener runs exactly as for API writes, in batches of
one transaction per 1,000), then searches run over HTTP in process (ASGI), as a client would send them.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
import uuid

import httpx2

from commercetools_customers_mcp.emulator import create_app

FIRST = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Grace", "Hugo", "Ida", "Jonas", "Lena", "Marco", "Nora"]
LAST = ["Schmidt", "Miller", "Dubois", "Jansen", "Rossi", "Garcia", "Huber", "Smith", "Weber", "Brown", "Novak"]
CITIES = ["Berlin", "Munich", "London", "Paris", "Madrid", "Rome", "Vienna", "Zurich", "Prague", "Oslo"]
QUERIES = {
    "fullText all (2 terms)": lambda r: {
        "fullText": {"field": "all", "value": f"{r.choice(FIRST)} {r.choice(CITIES)}"}
    },
    "fullText lastName": lambda r: {"fullText": {"field": "lastName", "value": r.choice(LAST)}},
    "prefix email": lambda r: {"prefix": {"field": "email", "value": f"{r.choice(FIRST).lower()}.{r.randint(1, 99)}"}},
    "exact customerNumber": lambda r: {"exact": {"field": "customerNumber", "value": f"CN-{r.randint(1, 10_000)}"}},
    "fuzzy lastName": lambda r: {
        "fuzzy": {"field": "lastName", "value": r.choice(LAST).lower()[:-1] + "x", "level": 1}
    },
}


def customer(i: int, rng: random.Random) -> dict:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    now = "2026-01-01T00:00:00.000Z"
    email = f"{first.lower()}.{i}@example{i % 50}.com"
    return {
        "id": str(uuid.uuid4()),
        "version": 1,
        "createdAt": now,
        "lastModifiedAt": now,
        "email": email,
        "lowercaseEmail": email.lower(),
        "firstName": first,
        "lastName": last,
        "customerNumber": f"CN-{i}",
        "isEmailVerified": i % 3 == 0,
        "addresses": [{"id": "a1", "country": "DE", "city": rng.choice(CITIES), "postalCode": f"{10000 + i % 9000}"}],
        "stores": [],
        "customerGroupAssignments": [],
    }


async def measure(count: int) -> None:
    rng = random.Random(count)
    app = create_app(":memory:", demo=False, project="bench")
    emulator = app.state.emulator
    started = time.perf_counter()
    for batch in range(0, count, 1000):
        with emulator.store.write():
            for i in range(batch, min(batch + 1000, count)):
                emulator.store.insert("bench", "customer", customer(i, rng))
    build = time.perf_counter() - started
    print(f"\n{count} customers: written and indexed in {build:.1f} s ({count / build:.0f}/s)")
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://bench") as client:
        r = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("c", "s"))
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        activate = [{"action": "changeCustomerSearchStatus", "status": "Activated"}]
        started = time.perf_counter()
        r = await client.post("/bench", json={"version": 1, "actions": activate})
        assert r.status_code == 200, r.text
        print(f"activation (index catch-up): {time.perf_counter() - started:.1f} s")
        for name, make in QUERIES.items():
            times, totals = [], []
            for _ in range(30):
                t0 = time.perf_counter()
                r = await client.post("/bench/customers/search", json={"query": make(rng), "limit": 20})
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
                totals.append(r.json()["total"])
            p95 = statistics.quantiles(times, n=20)[18]
            print(
                f"  {name:24} p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms"
                f"  (median total {statistics.median(totals):.0f})"
            )


if __name__ == "__main__":
    for n in [int(a) for a in sys.argv[1:]] or [10_000, 100_000]:
        asyncio.run(measure(n))

"""What the Store-scoped endpoints cost against the global ones: ``python -m bench.in_store_cost [--customers N]``.

One emulator in process (httpx2.ASGITransport, a SQLite file, no demo data), ``N`` customers: half in the Store
``de``, a quarter in ``us``, a quarter global. Measured, interleaved in blocks so a busy shared machine slows both
alike: a get by id (``/customers/{id}`` vs ``/in-store/key=de/customers/{id}``, a customer of ``de``), a filtered
query (``where firstName = …``, limit 20) and an unfiltered first page (limit 20, with and without the total).
The issue's budget: a Store-scoped get and query within 10 % of the global ones.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

import httpx2

from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.emulator.backend import Ctx
from commercetools_customers_mcp.emulator.resources import customers, references

PROJECT = "bench"
NAMES = ("Ann", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hal")


def seed(app: object, count: int) -> list[str]:
    """``count`` customers without passwords through the backend; the ids of those in ``de``."""
    emulator = app.state.emulator  # type: ignore[attr-defined]
    ctx = Ctx(emulator, PROJECT)
    in_de = []
    with emulator.store.write():
        for key in ("de", "us"):
            ctx.insert("store", references.create_store(ctx, {"key": key}))
        for i in range(count):
            stores = [{"key": "de"}] if i % 2 == 0 else [{"key": "us"}] if i % 4 == 1 else []
            draft = {"email": f"c{i}@example.com", "firstName": NAMES[i % len(NAMES)], "stores": stores,
                     "authenticationMode": "ExternalAuth"}  # fmt: skip
            doc = customers.build(ctx, draft, None)
            ctx.insert("customer", doc)
            if stores and stores[0]["key"] == "de":
                in_de.append(doc["id"])
    return in_de


async def measure(count: int, rounds: int) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(str(Path(tmp) / "bench.sqlite3"), demo=False, project=PROJECT)
        ids = seed(app, count)
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://e") as http:
            r = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("b", "s"))
            http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            cases = {
                "get by id": ("/customers/{id}", {}),
                "query where firstName, limit 20": ("/customers", {"where": 'firstName = "Cleo"', "limit": "20"}),
                "first page, limit 20, total": ("/customers", {"limit": "20"}),
                "first page, limit 20, no total": ("/customers", {"limit": "20", "withTotal": "false"}),
            }
            times: dict[str, list[float]] = {f"{name} {side}": [] for name in cases for side in ("global", "store")}
            for n in range(rounds):
                for name, (path, params) in cases.items():
                    for side, prefix in (("global", ""), ("store", "/in-store/key=de")):
                        url = f"/{PROJECT}{prefix}{path.format(id=ids[n % len(ids)])}"
                        started = time.perf_counter()
                        r = await http.get(url, params=params)
                        times[f"{name} {side}"].append(time.perf_counter() - started)
                        assert r.status_code == 200, r.text
    return {k: (statistics.median(v) * 1000, statistics.quantiles(v, n=20)[18] * 1000) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()
    found = asyncio.run(measure(args.customers, args.rounds))
    print(f"{args.customers} customers, {args.rounds} rounds; median / p95 in ms")
    print("| request | global | Store-scoped | Store / global (median) |")
    print("|---|---:|---:|---:|")
    for name in dict.fromkeys(k.rsplit(" ", 1)[0] for k in found):
        g, s = found[f"{name} global"], found[f"{name} store"]
        print(f"| {name} | {g[0]:.3f} / {g[1]:.3f} | {s[0]:.3f} / {s[1]:.3f} | {s[0] / g[0]:.2f} |")


if __name__ == "__main__":
    main()

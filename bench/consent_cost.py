"""What a delete's impact read and confirmation cost, in process: ``python -m bench.consent_cost [--deletes 150]``.

The MCP server and the emulator in one process (the SDK's in-memory client, ``ToolServer``, the emulator over
``ASGITransport``), a customer group referenced by 20 customers, then per protocol era the median latency of
``delete_customer_groups_by_key`` three ways, each on fresh groups: plain (``confirm_destructive = off``: the one
DELETE), asked and accepted (the client's elicitation callback answers at once: the target read, the impact
queries, the question and, on 2026-07-28, the second round trip with its sealed state), and a dry run (the target
read and the impact queries only). The first 10 calls of each are warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx2
from mcp import Client, types

from commercetools_customers_mcp.core.server import ToolServer
from commercetools_customers_mcp.emulator import create_app
from commercetools_customers_mcp.upstream.client import CommercetoolsClient
from commercetools_customers_mcp.upstream.connections import Connection

TOOL = "commercetools_customers_delete_customer_groups_by_key"


async def _yes(context: Any, params: Any) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"confirm": True})


async def _median(mode: str, era: str, ask: bool, dry: bool, n: int) -> float:
    app = create_app(":memory:", demo=False)
    connection = Connection(id="emulator", project_key="demo", client_id="bench", client_secret="bench",
                            auth_url="http://emulator", api_url="http://emulator", scopes=[])  # fmt: skip
    ct = CommercetoolsClient(connection, transport=httpx2.ASGITransport(app=app))
    await ct.request("POST", "/{projectKey}/customer-groups", json={"groupName": "VIP", "key": "vip"})
    for i in range(20):
        draft = {"email": f"c{i}@example.com", "password": "x", "key": f"c{i}",
                 "customerGroup": {"typeId": "customer-group", "key": "vip"}}  # fmt: skip
        await ct.request("POST", "/{projectKey}/customers", json=draft)
    times = []
    server = ToolServer({"emulator": ct}, confirm_destructive=mode).mcp_server()
    async with Client(server, mode=era, elicitation_callback=_yes if ask else None) as client:
        for i in range(n + 10):
            await ct.request("POST", "/{projectKey}/customer-groups", json={"groupName": f"G{i}", "key": f"g{i}"})
            arguments: dict[str, Any] = {"key": f"g{i}", "version": 1, **({"dry_run": True} if dry else {})}
            started = time.perf_counter()
            result = await client.call_tool(TOOL, arguments)
            times.append((time.perf_counter() - started) * 1000)
            assert not result.is_error, result.structured_content
    await ct.aclose()
    return statistics.median(times[10:])


async def _main(n: int) -> None:
    for era, name in (("legacy", "2025-11-25"), ("auto", "2026-07-28")):
        plain = await _median("off", era, False, False, n)
        asked = await _median("if-supported", era, True, False, n)
        dry = await _median("off", era, False, True, n)
        print(f"{name}: delete {plain:.2f} ms; asked and accepted {asked:.2f} ms (+{asked - plain:.2f}); "
              f"dry run {dry:.2f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deletes", type=int, default=150)
    asyncio.run(_main(parser.parse_args().deletes))


if __name__ == "__main__":
    main()

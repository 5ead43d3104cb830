"""Measure the README's tabular figure: the text of a 20-customer page of the demo data, as JSON and as the
policy file's ``format = "tabular"`` renders it. Run from the repository root: ``python scripts/tabular_size.py``.
"""

from __future__ import annotations

import asyncio

from mcp import Client

from commercetools_customers_mcp.cli import build_clients
from commercetools_customers_mcp.core.policy import parse_policy
from commercetools_customers_mcp.core.server import build_server


async def page_text(fmt: str) -> str:
    clients = build_clients(None, ":memory:")
    try:
        rules = parse_policy({"output": {"format": fmt}})
        async with Client(build_server(clients, rules=rules)) as client:
            result = await client.call_tool("commercetools_customers_list_customers", {"limit": 20})
    finally:
        for client in clients.values():
            await client.aclose()
    return "\n".join(block.text for block in result.content)


async def main() -> None:
    as_json = len((await page_text("json")).encode())
    as_table = len((await page_text("tabular")).encode())
    print(f"20-customer page text: json {as_json:,} bytes, tabular {as_table:,} bytes ({as_table / as_json:.0%})")


if __name__ == "__main__":
    asyncio.run(main())

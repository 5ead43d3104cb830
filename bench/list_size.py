"""What a model reads before its first call: the bytes of ``tools/list``, ours against ``@commercetools/commerce-mcp``.

``python -m bench.list_size`` (after ``pip install .`` and with Node.js; the peer installs into bench/.peers/ as
for ``python -m bench``). The official server is started over stdio as its README says, with every tool
(``--tools=all --isAdmin=true``) and no dynamic loading, against our standalone emulator (it fetches a token at
start); its customer-side tools are those whose name says customer, business unit or associate. Ours is measured
as ``commercetools-customers-mcp tools --sizes`` does it. Sizes are compact JSON of the ``tools/list`` result.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from . import mcp_bench, peers
from .emulator_bench import CLI
from .util import HOST, Child, free_port, wait_port

CUSTOMER_SIDE = ("customer", "business_unit", "associate")


async def _official(node: str, url: str) -> dict[str, Any]:
    args = [*mcp_bench._official_args(url, "all"), "--dynamicToolLoadingThreshold=100000"]
    async with mcp_bench._stdio(node, args, mcp_bench._base_env()) as client:
        listed = await client.list_tools()
    return listed.model_dump(mode="json", by_alias=True, exclude_none=True)


async def _ours(compact: bool) -> dict[str, Any]:
    from commercetools_customers_mcp.cli import _list_tools
    from commercetools_customers_mcp.core.server import build_server

    return await _list_tools(build_server({}, compact=compact))


def _row(label: str, tools: list[dict[str, Any]]) -> str:
    size = len(orjson.dumps({"tools": tools}))
    return f"| {label} | {len(tools)} | {size:,} | {size // max(len(tools), 1):,} |"


async def main() -> None:
    rows = ["| tools/list | Tools | Bytes | Bytes per tool |", "|---|---:|---:|---:|"]
    for compact in (False, True):
        ours = (await _ours(compact))["tools"]
        rows.append(_row(f"ours{' --compact-schemas' if compact else ''}", ours))
    found = peers.ensure()
    if not found.commerce_mcp:
        print("\n".join(rows), f"\n(the official server is skipped: {found.note})", sep="")
        return
    port = free_port()
    with Child([CLI, "emulator", "--host", HOST, "--port", str(port), "--log-level", "warning"], name="emulator"):
        wait_port(port, 30)
        official = (await _official(found.node or "node", f"http://{HOST}:{port}"))["tools"]
    side = [t for t in official if any(word in t["name"] for word in CUSTOMER_SIDE)]
    version = peers.commerce_mcp_version()
    rows.append(_row(f"commerce-mcp {version}, its customer-side tools", side))
    rows.append(_row(f"commerce-mcp {version}, --tools=all", official))
    print("\n".join(rows))
    print("customer side:", ", ".join(t["name"] for t in side))


if __name__ == "__main__":
    asyncio.run(main())

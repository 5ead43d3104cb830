"""Helpers shared by the tests (imported by module name: ``conftest`` is ambiguous in this tree): a free port,
serving an ASGI app over uvicorn, and the one builder of emulator connections."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn

from commercetools_customers_mcp.upstream.connections import Connection

P = "commercetools_customers_"
"""The tools' name prefix, spelt out: the tests check the names clients see."""

SEED_TOOLS: list[dict[str, Any]] = json.loads((Path(__file__).parent / "seed_tools.json").read_text())["tools"]
"""The seed's catalogue (a copy of ../shared/seed/tools.json): the tools published by default."""
SEED_COUNT = len(SEED_TOOLS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(app: Any, host: str = "127.0.0.1", port: int | None = None) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port (or ``port``); yields its base URL."""
    port = port or free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        uv.should_exit = True
        await task


def emulator_clients(*projects: str) -> dict[str, str]:
    """``create_app(clients=...)`` pinning the client ``project_connection`` uses, holding ``manage_project`` of
    each of ``projects`` (the open default client holds only the emulator's own project)."""
    return {"emulator": "emulator:" + " ".join(f"manage_project:{p}" for p in projects)}


def project_connection(pcid: str, project: str, url: str = "http://emulator", **extra: Any) -> Connection:
    """A connection to one project of an emulator, with a token scoped to that project only."""
    fields: dict[str, Any] = {
        "id": pcid,
        "project_key": project,
        "client_id": "emulator",
        "client_secret": "emulator",
        "auth_url": url,
        "api_url": url,
        "scopes": [f"manage_project:{project}"],
        **extra,
    }
    return Connection.model_validate(fields)

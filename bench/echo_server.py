"""The floor: a minimal ``mcp`` low-level Server with one ``echo`` tool and nothing else.

    python -m bench.echo_server                 # stdio
    python -m bench.echo_server http PORT       # stateless streamable HTTP at http://127.0.0.1:PORT/mcp

Whatever our server costs above this per call is our own work (validation, the commercetools request, the
emulator); whatever this costs is the SDK and the transport.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext

ECHO = types.Tool(
    name="echo",
    description="Return the message.",
    inputSchema={"type": "object", "properties": {"msg": {"type": "string"}}, "required": ["msg"]},
)


async def on_list_tools(ctx: ServerRequestContext, params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[ECHO])


async def on_call_tool(ctx: ServerRequestContext, params: types.CallToolRequestParams) -> types.CallToolResult:
    text = str((params.arguments or {}).get("msg", ""))
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


def build() -> Server[Any]:
    return Server("bench-echo", version="0.0.0", on_list_tools=on_list_tools, on_call_tool=on_call_tool)


async def _stdio() -> None:
    from mcp.server.stdio import stdio_server

    server = build()
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def _http(port: int) -> None:
    import uvicorn
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from starlette.applications import Starlette
    from starlette.routing import Route

    manager = StreamableHTTPSessionManager(app=build(), json_response=False, stateless=True)

    class Endpoint:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await manager.handle_request(scope, receive, send)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    app = Starlette(routes=[Route("/mcp", Endpoint(), methods=["GET", "POST", "DELETE"])], lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        _http(int(sys.argv[2]))
    else:
        anyio.run(_stdio)

"""A requests transport adapter that calls the emulator's ASGI app in process, as the SDK's own mock plugs
into requests (``requests_mock``): no socket, no HTTP parsing. Each request runs on the emulator server's event
loop (``asyncio.run_coroutine_threadsafe``), so the one SQLite connection stays on one thread and a test that
also talks to the emulator over HTTP sees the same data.

Measured through the official Python SDK (2 shared cores): see ``docs/testing.md``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}


class InProcessAdapter(BaseAdapter):
    """Mount it on a ``requests.Session`` (or give it to the SDK as ``http_adapter``) for the emulator's URL."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop, timeout: float = 60.0) -> None:
        super().__init__()
        self.app, self.loop, self.timeout = app, loop, timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        body = _bytes(request.body)
        headers = [(b"host", url.netloc.encode("latin-1"))]
        headers += [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in request.headers.items()]
        if body and not any(k == b"content-length" for k, _ in headers):
            headers.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method or "GET",
            "scheme": url.scheme,
            "path": requests.utils.unquote(url.path),
            "raw_path": url.path.encode("latin-1"),
            "query_string": url.query.encode("latin-1"),
            "headers": headers,
            "client": ("127.0.0.1", 0),
            "server": (url.hostname or "127.0.0.1", url.port or 443),
        }
        future = asyncio.run_coroutine_threadsafe(_call(self.app, scope, body), self.loop)
        status, response_headers, content = future.result(self.timeout)
        response = requests.Response()
        response.status_code = status
        response.reason = _REASONS.get(status, "")
        response.headers = CaseInsensitiveDict({k.decode("latin-1"): v.decode("latin-1") for k, v in response_headers})
        response._content = content
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def _bytes(body: Any) -> bytes:
    if not body:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "read"):  # a file
        return _bytes(body.read())
    return b"".join(_bytes(part) for part in body)  # an iterator of chunks


async def _call(app: Any, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    sent = False
    status, headers, chunks = 500, [], []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)

"""A requests transport adapter that calls the emulator's ASGI app in process, as the SDK's own mock plugs
into requests (``requests_mock``): no socket, no HTTP parsing.

A request runs on the calling thread, in an event loop of that thread's own, when the emulator is otherwise
idle: ``Gate`` lets one party at a time run the app — the server's event loop, for its HTTP requests, or one
caller's thread — so the one SQLite connection is never used by two threads at once, and a test that also
talks to the emulator over HTTP sees the same data. When an HTTP request is in flight, or the caller is itself
inside a running event loop (an async test calling the synchronous SDK), the request hops to the server's loop
instead (``asyncio.run_coroutine_threadsafe``). The hop cost ~0.11 ms of CPU and two thread wake-ups a call
(what a busy machine turns into milliseconds); a call on the caller's loop ~0.02 ms.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}


ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


class Gate:
    """Who runs the emulator's app now: its server's event loop (HTTP requests) or one in-process caller.

    ``serve(app)`` is what the HTTP server serves: it counts the requests in flight and waits, without blocking
    the loop, while a caller holds ``lock``. A caller takes ``lock``, then reads the count: with none in flight it
    runs the app on its own thread (``run_here``). Each side announces itself before it looks at the other (the
    count goes up before the lock is looked at; the lock is taken before the count is read), so of a request
    and a call that start together at least one sees the other: the request waits, or the call hops."""

    POLL_SECONDS = 0.0002

    def __init__(self) -> None:
        self.lock = threading.Lock()  # held by an in-process call while it runs the app on its own thread
        self.in_flight = 0  # HTTP requests on the server's loop (changed on that loop's thread only)

    def serve(self, app: ASGIApp) -> ASGIApp:
        async def served(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            self.in_flight += 1
            try:
                while self.lock.locked():  # an in-process call is running: a fraction of a millisecond
                    await asyncio.sleep(self.POLL_SECONDS)
                await app(scope, receive, send)
            finally:
                self.in_flight -= 1

        return served


class _OwnLoop:
    """A caller thread's own event loop (asyncio's: a quarter of uvloop's ``run_until_complete`` cost), closed
    when the thread ends and its thread-local goes (no "unclosed event loop" warning)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        self.loop.close()


_local = threading.local()  # each caller thread's ``_OwnLoop``, made on its first in-process call


def in_running_loop() -> bool:
    """Whether this thread is inside a running event loop (an async test calling the synchronous SDK)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _own_loop() -> asyncio.AbstractEventLoop:
    own = getattr(_local, "own", None)
    if own is None or own.loop.is_closed():
        own = _local.own = _OwnLoop()
    return own.loop


class InProcessAdapter(BaseAdapter):
    """Mount it on a ``requests.Session`` (or give it to the SDK as ``http_adapter``) for the emulator's URL.
    ``gate``: the server's ``Gate`` (without one, every request hops to the server's loop)."""

    def __init__(
        self, app: Any, loop: asyncio.AbstractEventLoop, timeout: float = 60.0, gate: Gate | None = None
    ) -> None:
        super().__init__()
        self.app, self.loop, self.timeout, self.gate = app, loop, timeout, gate

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
        status, response_headers, content = self._run(scope, body)
        response = requests.Response()
        response.status_code = status
        response.reason = _REASONS.get(status, "")
        response.headers = CaseInsensitiveDict({k.decode("latin-1"): v.decode("latin-1") for k, v in response_headers})
        response._content = content
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response

    def _run(self, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        gate = self.gate
        if gate is None or in_running_loop():  # no gate, or inside a running loop
            return self._hop(scope, body)
        if not gate.lock.acquire(timeout=self.timeout):
            raise TimeoutError(f"the emulator was busy for {self.timeout} s")
        try:
            if gate.in_flight:  # HTTP requests on the server's loop: run this one there too
                return self._hop(scope, body)
            return _own_loop().run_until_complete(_call(self.app, scope, body))
        finally:
            gate.lock.release()

    def _hop(self, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        future = asyncio.run_coroutine_threadsafe(_call(self.app, scope, body), self.loop)
        return future.result(self.timeout)

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

"""The emulator for your own tests: ``emulate()`` for scripts and unittest, and the pytest plugin's fixtures
(``pytest_plugin``: ``ct_emulator``, ``ct_env``, ``ct_client``), registered when the package is installed.

One ``EmulatorServer`` serves the commercetools HTTP API on a free loopback port (uvicorn in a daemon thread, an
in-memory database, any client id and secret, any project key a client names); each ``Project`` it hands out
is a new project key of its own, so tests never see each other's data. ``Project.env`` holds the ``CTP_*``
variables, ``Project.sdk_client()`` a client of the official Python SDK that reaches the emulator in process
(``InProcessAdapter``: the requests transport calls the app on the server's event loop, no socket).

Nothing here is imported until used: the plugin module imports only pytest, and this module only the standard
library at import time.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..emulator import EmulatorApp, Settings
    from .inprocess import Gate

__all__ = ["EmulatorServer", "Project", "ctp_env", "emulate"]

LOOPBACK_HOSTS = ("127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*")
# the official Python SDK (requests-oauthlib) refuses plain http unless this is set
INSECURE_TRANSPORT = {"OAUTHLIB_INSECURE_TRANSPORT": "1"}


def ctp_env(
    api_url: str, auth_url: str, project_key: str, client_id: str, client_secret: str, scopes: tuple[str, ...]
) -> dict[str, str]:
    """The five ``CTP_*`` variables the official SDKs and this package's ``serve`` read (and ``CTP_SCOPES``)."""
    return {
        "CTP_PROJECT_KEY": project_key,
        "CTP_CLIENT_ID": client_id,
        "CTP_CLIENT_SECRET": client_secret,
        "CTP_AUTH_URL": auth_url,
        "CTP_API_URL": api_url,
        "CTP_SCOPES": ",".join(scopes),
    }


@dataclass(frozen=True)
class Project:
    """One project of a running emulator, and credentials that work for it (``manage_project:<key>``)."""

    api_url: str
    auth_url: str
    project_key: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    server: EmulatorServer = field(repr=False, compare=False)

    @property
    def env(self) -> dict[str, str]:
        """The ``CTP_*`` variables for this project."""
        return ctp_env(self.api_url, self.auth_url, self.project_key, self.client_id, self.client_secret, self.scopes)

    @property
    def environ(self) -> dict[str, str]:
        """``env`` and ``OAUTHLIB_INSECURE_TRANSPORT=1`` (what the official Python SDK needs for plain http)."""
        return {**self.env, **INSECURE_TRANSPORT}

    def sdk_client(self, *, in_process: bool = True) -> Any:
        """A ``commercetools.platform.client.Client`` of the official Python SDK for this project
        (``.with_project_key(project.project_key)``). ``in_process``: its requests reach the app without a socket
        (https URLs, so no ``OAUTHLIB_INSECURE_TRANSPORT`` needed); else over loopback HTTP (then set it)."""
        from commercetools.platform.client import Client

        if not in_process:
            return Client(
                client_id=self.client_id,
                client_secret=self.client_secret,
                scope=list(self.scopes),
                url=self.api_url,
                token_url=f"{self.auth_url}/oauth/token",
            )
        base = self.api_url.replace("http://", "https://", 1)
        client = Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=list(self.scopes),
            url=base,
            token_url=f"{base}/oauth/token",
            http_adapter=self.server.adapter(),
        )
        # No network in process, so nothing to read from the environment: requests otherwise looks up proxy
        # variables (and .netrc) on every request, ~0.1 ms of a GET by id.
        session = getattr(client, "_http_client", None)
        if session is not None:
            session.trust_env = False
        return client


class EmulatorServer:
    """The emulator over HTTP on loopback, in a daemon thread of this process. ``start()`` returns once it
    listens; ``project()`` hands out a new project key (nothing is written until the client writes);
    ``stop()`` ends it. ``data``: the SQLite database (``:memory:``, the default, is gone at ``stop()``)."""

    def __init__(
        self, *, data: str = ":memory:", host: str = "127.0.0.1", port: int = 0, settings: Settings | None = None
    ) -> None:
        self.data, self.host, self.port, self.settings = data, host, port, settings
        self.app: EmulatorApp | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._failed: BaseException | None = None
        self.gate: Gate | None = None  # who runs the app now: the HTTP server or an in-process call

    def start(self, timeout: float = 30.0) -> EmulatorServer:
        import uvicorn

        from ..emulator import ANY_PROJECT, UVICORN_OPTIONS, create_app

        self.app = create_app(
            self.data, demo=False, projects=[ANY_PROJECT], settings=self.settings, allowed_hosts=LOOPBACK_HOSTS
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        from .inprocess import Gate

        self.gate = Gate()
        config = uvicorn.Config(
            self.gate.serve(self.app),
            log_config=None,
            access_log=False,
            lifespan="off",
            proxy_headers=UVICORN_OPTIONS["proxy_headers"],
            server_header=UVICORN_OPTIONS["server_header"],
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, args=(sock,), name="ct-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._failed is not None or not self._thread.is_alive():
                raise RuntimeError(f"the emulator did not start: {self._failed!r}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start within {timeout} s")
            time.sleep(0.002)
        return self

    def _run(self, sock: socket.socket) -> None:
        try:
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:
            loop = asyncio.new_event_loop()
        self.loop = loop
        try:
            loop.run_until_complete(self._server.serve(sockets=[sock]))
        except BaseException as exc:  # reported by start() or stop()
            self._failed = exc
        finally:
            sock.close()
            loop.close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.app is not None:
            self.app.state.emulator.store.close()
        self._server = self._thread = self.app = None

    def __enter__(self) -> EmulatorServer:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def project(self, key: str | None = None, client_id: str | None = None) -> Project:
        """A project of its own (a new random key unless ``key`` is given) and credentials for it."""
        key = key or f"test-{secrets.token_hex(6)}"
        return Project(
            api_url=self.url,
            auth_url=self.url,
            project_key=key,
            client_id=client_id or f"client-{key}",
            client_secret="secret",
            scopes=(f"manage_project:{key}",),
            server=self,
        )

    def drop(self, project_key: str, timeout: float = 30.0) -> int:
        """Delete everything stored of a project (``Emulator.drop_project``) while no request runs (through the
        ``Gate``, as an in-process call), so no request sees it half done. The ``ct_emulator`` fixture drops each
        test's project at teardown, so a long session's database holds only the running test's data. The number
        of resources deleted; 0 when the emulator is not running."""
        if self.app is None or self.loop is None or self.loop.is_closed():
            return 0
        from .inprocess import in_running_loop

        emulator = self.app.state.emulator
        gate = self.gate
        if gate is not None and not in_running_loop() and gate.lock.acquire(timeout=timeout):
            try:  # here, as an in-process call runs (inprocess.Gate), unless HTTP requests are in flight
                if not gate.in_flight:
                    return emulator.drop_project(project_key)
            finally:
                gate.lock.release()

        async def drop() -> int:
            return emulator.drop_project(project_key)

        return asyncio.run_coroutine_threadsafe(drop(), self.loop).result(timeout)

    def adapter(self) -> Any:
        """A requests transport adapter that calls the app in process (``InProcessAdapter``)."""
        from .inprocess import InProcessAdapter

        assert self.app is not None and self.loop is not None, "the emulator is not running"
        return InProcessAdapter(self.app, self.loop, gate=self.gate)


@contextmanager
def emulate(*, set_env: bool = True, project_key: str | None = None, data: str = ":memory:") -> Iterator[Project]:
    """An emulator for the block (as moto's ``mock_aws``): started on a free loopback port, one project of its
    own. With ``set_env`` the ``CTP_*`` variables and ``OAUTHLIB_INSECURE_TRANSPORT`` are set for the block and
    restored after it.

    ::

        with emulate() as project:
            client = project.sdk_client().with_project_key(project.project_key)
    """
    with EmulatorServer(data=data) as server:
        project = server.project(project_key)
        if not set_env:
            yield project
            return
        with _environ(project.environ):
            yield project


@contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

"""pytest plugin (entry point group ``pytest11``, name ``commercetools_emulator``; ``-p no:commercetools_emulator``
turns it off): the commercetools emulator for your own tests.

- ``ct_emulator``: a project of its own for this test on an emulator started once per session (HTTP on a free
  loopback port): ``api_url``, ``auth_url``, ``project_key``, ``client_id``, ``client_secret``, ``scopes``,
  ``env`` (the ``CTP_*`` variables). Its data is deleted after the test, so a long session's database holds
  only the running test's.
- ``ct_env``: those variables (and ``OAUTHLIB_INSECURE_TRANSPORT=1``) set in ``os.environ`` for the test; the
  ``CTP_*`` dict.
- ``ct_client``: the official Python SDK's client for that project (skipped when ``commercetools`` is not
  installed), reaching the emulator in process; ``ct_client.with_project_key(ct_emulator.project_key)``.

Only pytest is imported here: a session that uses none of the fixtures starts no emulator and imports nothing
of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from . import EmulatorServer, Project


@pytest.fixture(scope="session")
def ct_emulator_server() -> Iterator[EmulatorServer]:
    """The session's emulator (started on first use)."""
    from . import EmulatorServer

    with EmulatorServer() as server:
        yield server


@pytest.fixture
def ct_emulator(ct_emulator_server: EmulatorServer) -> Iterator[Project]:
    """A new project for this test, and credentials that work for it; its data is deleted after the test."""
    project = ct_emulator_server.project()
    yield project
    ct_emulator_server.drop(project.project_key)


@pytest.fixture
def ct_env(ct_emulator: Project, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The ``CTP_*`` variables of this test's project, set for the test (with ``OAUTHLIB_INSECURE_TRANSPORT``)."""
    for name, value in ct_emulator.environ.items():
        monkeypatch.setenv(name, value)
    return ct_emulator.env


@pytest.fixture
def ct_client(ct_emulator: Project) -> Iterator[Any]:
    """The official Python SDK's client (``commercetools.platform.client.Client``) for this test's project."""
    pytest.importorskip("commercetools")
    client = ct_emulator.sdk_client()
    yield client
    client._http_client.close()  # its requests session

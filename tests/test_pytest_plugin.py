"""The pytest plugin and emulate() as a user meets them (issue #22 item 4): a test file of theirs, run by a pytest
of its own outside this repository's conftest, with the plugin registered by installing the package."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

USER_TESTS = """
import os

import requests
from commercetools.platform.models import CustomerDraft

SEEN = []


def test_the_sdk_client_writes_to_a_project_of_its_own(ct_client, ct_emulator):
    api = ct_client.with_project_key(ct_emulator.project_key)
    api.customers().post(CustomerDraft(email="ann@example.com", password="pw"))
    assert api.customers().get().total == 1
    SEEN.append(ct_emulator.project_key)


def test_a_second_test_gets_another_empty_project(ct_client, ct_emulator):
    api = ct_client.with_project_key(ct_emulator.project_key)
    assert api.customers().get().total == 0  # the same email again is no DuplicateField either
    api.customers().post(CustomerDraft(email="ann@example.com", password="pw"))
    assert ct_emulator.project_key not in SEEN


def test_ct_env_sets_what_the_sdk_reads(ct_env):
    from commercetools.platform.client import Client

    assert os.environ["CTP_PROJECT_KEY"] == ct_env["CTP_PROJECT_KEY"]
    api = Client(url=os.environ["CTP_API_URL"]).with_project_key(os.environ["CTP_PROJECT_KEY"])  # over HTTP
    assert api.customers().get().total == 0


def test_any_http_client_works_with_the_values(ct_emulator):
    form = {"grant_type": "client_credentials", "scope": " ".join(ct_emulator.scopes)}
    auth = (ct_emulator.client_id, ct_emulator.client_secret)
    token = requests.post(ct_emulator.auth_url + "/oauth/token", data=form, auth=auth).json()["access_token"]
    r = requests.get(
        f"{ct_emulator.api_url}/{ct_emulator.project_key}/customers", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200 and r.json()["total"] == 0


def test_a_finished_tests_project_is_deleted_after_it(ct_emulator):
    key = SEEN[0]  # the first test's project: it signed a customer up
    form = {"grant_type": "client_credentials", "scope": f"manage_project:{key}"}  # any project key works
    token = requests.post(ct_emulator.auth_url + "/oauth/token", data=form, auth=("a", "b")).json()["access_token"]
    r = requests.get(f"{ct_emulator.api_url}/{key}/customers", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["total"] == 0
"""

UNITTEST = """
import os
import unittest

from commercetools.platform.client import Client
from commercetools.platform.models import CustomerDraft
from commercetools_customers_mcp.testing import emulate


class CustomerTest(unittest.TestCase):
    def test_sign_up(self):
        with emulate() as project:
            api = Client(url=os.environ["CTP_API_URL"]).with_project_key(project.project_key)
            api.customers().post(CustomerDraft(email="ann@example.com", password="pw"))
            self.assertEqual(api.customers().get().total, 1)
        self.assertNotIn("CTP_PROJECT_KEY", os.environ)


if __name__ == "__main__":
    unittest.main()
"""


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    (tmp_path / "test_shop.py").write_text(textwrap.dedent(USER_TESTS))
    return tmp_path


def test_a_users_test_file_passes_with_the_three_fixtures(user_project: Path) -> None:
    done = _run(user_project, "-p", "no:randomly")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


def test_the_plugin_can_be_turned_off(user_project: Path) -> None:
    done = _run(user_project, "-p", "no:commercetools_emulator")
    assert done.returncode != 0 and "fixture 'ct_client' not found" in done.stdout


def test_emulate_for_unittest(tmp_path: Path) -> None:
    (tmp_path / "test_unit.py").write_text(textwrap.dedent(UNITTEST))
    env_free = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "unittest", "-q", "test_unit"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env_free,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_fixtures_cost_nothing_until_used() -> None:
    # the plugin loads in every pytest session of an environment with the package (ours too): importing it
    # imports nothing of the emulator, uvicorn or requests
    code = (
        "import sys, commercetools_customers_mcp.testing.pytest_plugin as p; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('uvicorn', 'requests', 'sqlite3', 'orjson') "
        "or m.startswith('commercetools_customers_mcp.emulator')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_a_project_costs_microseconds_and_the_adapter_reaches_the_app() -> None:
    from commercetools_customers_mcp.testing import EmulatorServer

    with EmulatorServer() as server:
        started = time.perf_counter()
        projects = [server.project() for _ in range(1000)]
        assert (time.perf_counter() - started) / 1000 < 0.005
        assert len({p.project_key for p in projects}) == 1000
        import requests

        session = requests.Session()
        session.mount("https://", server.adapter())
        form = {"grant_type": "client_credentials", "scope": "view_customers:x"}
        r = session.post(server.url.replace("http:", "https:") + "/oauth/token", data=form, auth=("a", "b"))
        assert r.status_code == 200 and r.json()["scope"] == "view_customers:x"


def _rows(server: Any, project: str) -> dict[str, int]:
    """Rows of ``project`` in every table with a ``project`` column, and the full-text rows of its search values."""
    conn = server.app.state.emulator.store.conn
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT m.name FROM sqlite_master AS m WHERE m.type = 'table' "
            "AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) AS c WHERE c.name = 'project')"
        )
    ]
    counts = {
        t: conn.execute(f'SELECT count(*) FROM "{t}" WHERE project = ?', (project,)).fetchone()[0] for t in tables
    }
    counts["search_text"] = conn.execute(
        "SELECT count(*) FROM search_text WHERE rowid IN (SELECT rowid FROM search_fields WHERE project = ?)",
        (project,),
    ).fetchone()[0]
    return counts


def test_dropping_a_project_deletes_its_rows_everywhere_and_nothing_of_another() -> None:
    """What the ct_emulator fixture does at teardown: every table a project's data reaches (resources, the
    `where` value table, the search index and its full-text rows, Messages and their sequences, Store members)
    loses that project's rows; another project keeps all of its own, and the emulator goes on serving."""
    import requests

    from commercetools_customers_mcp.testing import EmulatorServer

    def fill(session: Any, base: str, key: str) -> None:
        form = {"grant_type": "client_credentials", "scope": f"manage_project:{key}"}
        token = session.post(f"{base}/oauth/token", data=form, auth=("a", "b")).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        project = session.get(f"{base}/{key}").json()
        actions = [
            {
                "action": "changeMessagesConfiguration",
                "messagesConfiguration": {"enabled": True, "deleteDaysAfterCreation": 15},
            },
            {"action": "changeCustomerSearchStatus", "status": "Activated"},
        ]
        r = session.post(f"{base}/{key}", json={"version": project["version"], "actions": actions})
        assert r.status_code == 200, r.text
        r = session.post(f"{base}/{key}/customer-groups", json={"groupName": "VIP", "key": "vip"})
        assert r.status_code == 201, r.text
        r = session.post(f"{base}/{key}/stores", json={"key": "eu"})
        assert r.status_code == 201, r.text
        draft = {
            "email": "ann@example.com",
            "password": "pw",
            "firstName": "Ann",
            "addresses": [{"country": "DE", "city": "Berlin"}],
            "stores": [{"typeId": "store", "key": "eu"}],
        }
        r = session.post(f"{base}/{key}/customers", json=draft)
        assert r.status_code == 201, r.text

    with EmulatorServer() as server:
        session = requests.Session()
        session.mount("https://", server.adapter())
        base = server.url.replace("http:", "https:")
        gone, kept = server.project(), server.project()
        fill(session, base, gone.project_key)
        other = requests.Session()
        other.mount("https://", server.adapter())
        fill(other, base, kept.project_key)
        before = _rows(server, gone.project_key)
        for table in ("resources", "where_values", "search_fields", "search_text", "messages", "message_sequences"):
            assert before[table] > 0, (table, before)
        assert before.get("store_members", 0) > 0, before
        kept_before = _rows(server, kept.project_key)
        assert server.drop(gone.project_key) == before["resources"]
        assert set(_rows(server, gone.project_key).values()) == {0}
        assert _rows(server, kept.project_key) == kept_before
        conn = server.app.state.emulator.store.conn
        assert conn.execute("SELECT count(*) FROM search_text").fetchone()[0] == kept_before["search_text"]
        fill(session, base, gone.project_key)  # the key can be used again: nothing of the old data is in the way


def test_in_process_calls_run_on_the_callers_thread_unless_http_requests_are_in_flight(monkeypatch) -> None:
    """The in-process adapter runs a request on the calling thread while the emulator is otherwise idle (no
    thread hop: ~0.11 ms of CPU and two wake-ups a call); with an HTTP request in flight on the server's loop,
    or called from inside a running event loop, it hops to the server's loop instead; and an HTTP request that
    arrives while an in-process call runs waits for it (``Gate``)."""
    import asyncio
    import socket
    import threading

    import requests

    from commercetools_customers_mcp.testing import EmulatorServer, inprocess

    hops = []
    real = asyncio.run_coroutine_threadsafe

    def counted(coro: Any, loop: Any) -> Any:
        hops.append(1)
        return real(coro, loop)

    monkeypatch.setattr(inprocess.asyncio, "run_coroutine_threadsafe", counted)
    with EmulatorServer() as server:
        session = requests.Session()
        session.mount("https://", server.adapter())
        base = server.url.replace("http:", "https:")
        form = {"grant_type": "client_credentials", "scope": "manage_project:p"}
        session.headers["Authorization"] = (
            "Bearer " + session.post(f"{base}/oauth/token", data=form, auth=("a", "b")).json()["access_token"]
        )
        r = session.post(f"{base}/p/customers", json={"email": "a@x.com", "password": "pw"})
        assert r.status_code == 201 and hops == []
        customer = r.json()["customer"]["id"]

        # an HTTP request in flight (its body not sent yet): the next in-process call hops, and still works
        slow = socket.create_connection(("127.0.0.1", server.port))
        head = f"POST /p/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {session.headers['Authorization']}\r\n"
        slow.sendall(head.encode() + b"Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{")
        assert server.gate is not None
        deadline = time.monotonic() + 10
        while not server.gate.in_flight and time.monotonic() < deadline:
            time.sleep(0.001)
        assert session.get(f"{base}/p/customers/{customer}").status_code == 200 and hops == [1]
        slow.close()
        while server.gate.in_flight and time.monotonic() < deadline:
            time.sleep(0.001)
        assert session.get(f"{base}/p/customers/{customer}").status_code == 200 and hops == [1]

        # an HTTP request waits while an in-process call holds the gate
        answered = threading.Event()

        def over_http() -> None:
            token = requests.post(f"{server.url}/oauth/token", data=form, auth=("a", "b"), timeout=30)
            if token.status_code == 200:
                answered.set()

        with server.gate.lock:
            worker = threading.Thread(target=over_http)
            worker.start()
            assert not answered.wait(0.3)
        assert answered.wait(10)
        worker.join(10)

        async def from_a_running_loop() -> int:
            return session.get(f"{base}/p/customers/{customer}").status_code

        assert asyncio.run(from_a_running_loop()) == 200 and hops == [1, 1]


def test_a_threads_own_loop_is_closed_when_the_thread_ends() -> None:
    """In-process calls from a thread run on an event loop of that thread's own; when the thread ends the loop is
    closed with it, so a user's suite with warnings as errors sees no "unclosed event loop" ResourceWarning."""
    import gc
    import threading
    import warnings

    import requests

    from commercetools_customers_mcp.testing import EmulatorServer

    with EmulatorServer() as server:
        statuses = []

        def work() -> None:
            session = requests.Session()
            session.mount("https://", server.adapter())
            form = {"grant_type": "client_credentials", "scope": "manage_project:p"}
            r = session.post(server.url.replace("http:", "https:") + "/oauth/token", data=form, auth=("a", "b"))
            statuses.append(r.status_code)

        gc.collect()  # what earlier tests left unclosed warns now, not inside the check below
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                thread = threading.Thread(target=work)
                thread.start()
                thread.join(30)
            gc.collect()
        assert statuses == [200, 200, 200]
        loops = [w for w in caught if issubclass(w.category, ResourceWarning) and "event loop" in str(w.message)]
        assert not loops, [str(w.message) for w in caught]

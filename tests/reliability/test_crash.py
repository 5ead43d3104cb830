"""SIGKILL the standalone emulator in the middle of a stream of writes, restart it on the same file.

Every write the client saw acknowledged (2xx) must be there with its content; a write in flight at the kill
may or may not be there, but never half; every stored document parses; SQLite's integrity check passes.
The store runs SQLite in WAL mode with ``synchronous=NORMAL``: a commit is in the WAL file (in the OS page
cache) before the response is sent, so a killed process loses nothing it acknowledged. (Only a power loss or
OS crash can roll back the last commits since the previous WAL sync; that cannot be tested here.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from commercetools_customers_mcp.upstream.client import ApiConnectionError, CommercetoolsClient
from mcp_helpers import free_port, project_connection

PROJECT = "crash"
WORKERS = 6
KILL_AFTER = (150, 220, 90, 300, 40)  # acknowledged writes before the kill, per round
ROUNDS = 5


class EmulatorProcess:
    """``commercetools-customers-mcp emulator`` in a child process on a loopback port."""

    def __init__(self, data: Path, log: Path, client: str = f"emulator:emulator:manage_project:{PROJECT}") -> None:
        self.data = data
        self.log = log
        self.client = client  # the one API client it accepts (--client ID:SECRET:SCOPES)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.port = free_port()
        cmd = [sys.executable, "-m", "commercetools_customers_mcp", "emulator", "--data", str(self.data)]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--no-demo", "--log-level", "WARNING"]
        cmd += ["--client", self.client]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-2000:]
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        raise AssertionError("the emulator did not start in 30 s")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    proc = EmulatorProcess(tmp_path / "emulator.sqlite3", tmp_path / "emulator.log")
    yield proc
    proc.stop()


def client_for(port: int) -> CommercetoolsClient:
    url = f"http://127.0.0.1:{port}"
    # one attempt: an in-flight write at the kill must stay an unknown outcome
    return CommercetoolsClient(project_connection("crash", PROJECT, url, max_retries=0, timeout=10.0))


@dataclass
class Tracked:
    kind: str
    key: str
    id: str = ""
    acked_version: int = 0  # 0: the create was never acknowledged
    acked_value: str = ""
    pending: tuple[int, str] | None = None  # a write sent but not acknowledged: (version it would make, value)


@dataclass
class Stream:
    tracked: list[Tracked] = field(default_factory=list)
    acked: int = 0
    unknown: int = 0
    sent: int = 0
    committed_unacked: int = 0  # writes in flight at a kill that turned out to be committed


def payload(kind: str, key: str, value: str) -> dict[str, Any]:
    if kind == "customer-groups":
        return {"groupName": f"{key} {value}", "key": key}
    return {"email": f"{key}@example.com", "key": key, "firstName": value, "authenticationMode": "ExternalAuth"}


def update_action(kind: str, key: str, value: str) -> dict[str, Any]:
    if kind == "customer-groups":
        return {"action": "changeName", "name": f"{key} {value}"}
    return {"action": "setFirstName", "firstName": value}


async def writer(
    client: CommercetoolsClient, stream: Stream, worker: str, stop: asyncio.Event, limit: int, deadline: float
) -> None:
    """Creates and updates in a loop until the server goes away (or the bounds are hit)."""
    n = 0
    while not stop.is_set() and stream.sent < limit and time.monotonic() < deadline:
        n += 1
        mine = worker.split("r")[0] + "r"  # each worker updates only its own documents, from every round
        updatable = [t for t in stream.tracked if t.key.startswith(mine) and t.acked_version and not t.pending]
        stream.sent += 1
        if n % 3 == 0 and updatable:
            t = updatable[n % len(updatable)]
            value = f"v{t.acked_version + 1}"
            t.pending = (t.acked_version + 1, value)
            body = {"version": t.acked_version, "actions": [update_action(t.kind, t.key, value)]}
            try:
                r = await client.request(
                    "POST", f"/{{projectKey}}/{t.kind}/{{id}}", path_params={"id": t.id}, json=body, idempotent=True
                )
            except ApiConnectionError:
                stream.unknown += 1
                return
            assert r.status == 200, (r.status, r.body)
            assert r.body["version"] == t.acked_version + 1
            t.acked_version, t.acked_value, t.pending = r.body["version"], value, None
        else:
            kind = "customers" if n % 2 else "customer-groups"
            t = Tracked(kind, f"{worker}-{kind[:5]}-{n}", pending=(1, "v1"))
            stream.tracked.append(t)
            try:
                r = await client.request("POST", f"/{{projectKey}}/{kind}", json=payload(kind, t.key, "v1"))
            except ApiConnectionError:
                stream.unknown += 1
                return
            assert r.status == 201, (r.status, r.body)
            doc = r.body["customer"] if kind == "customers" else r.body
            t.id, t.acked_version, t.acked_value, t.pending = doc["id"], 1, "v1", None
        stream.acked += 1


def value_of(kind: str, doc: dict[str, Any]) -> str:
    return doc["name"].rsplit(" ", 1)[1] if kind == "customer-groups" else doc["firstName"]


def check_file(path: Path) -> dict[str, dict[str, Any]]:
    """Open the killed emulator's file with plain sqlite3: integrity, durability settings, every doc whole."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        docs: dict[str, dict[str, Any]] = {}
        for type_id, key, raw in conn.execute("SELECT type, key, doc FROM resources WHERE project = ?", [PROJECT]):
            doc = orjson.loads(raw)  # raises on a half-written document
            assert isinstance(doc["id"], str) and isinstance(doc["version"], int) and doc["key"] == key, doc
            docs[f"{type_id}/{key}"] = doc
        return docs
    finally:
        conn.close()


def verify(stream: Stream, docs: dict[str, dict[str, Any]]) -> int:
    """Acknowledged writes are stored with their content; an unacknowledged one is either fully there or not."""
    found = 0
    for t in stream.tracked:
        doc = docs.get(f"{t.kind[:-1]}/{t.key}")
        if not t.acked_version:  # a create in flight at the kill
            assert doc is None or (doc["version"], value_of(t.kind, doc)) == (1, "v1"), doc
            if doc is not None:  # it was committed: adopt it for the next round
                t.id, t.acked_version, t.acked_value = doc["id"], 1, "v1"
                stream.committed_unacked += 1
            t.pending = None
            continue
        assert doc is not None, f"acknowledged create {t.key} lost"
        assert doc["id"] == t.id
        state = (doc["version"], value_of(t.kind, doc))
        if t.pending is not None and state == t.pending:  # an update in flight at the kill that committed
            t.acked_version, t.acked_value = t.pending
            stream.committed_unacked += 1
        else:
            assert state == (t.acked_version, t.acked_value), f"{t.key}: stored {state}, acknowledged {t}"
        t.pending = None
        found += 1
    return found


async def query_all(client: CommercetoolsClient, kind: str) -> dict[str, dict[str, Any]]:
    r = await client.request("GET", f"/{{projectKey}}/{kind}", params=[("limit", "500")])
    assert r.status == 200, r.body
    return {f"{kind[:-1]}/{d['key']}": d for d in r.body["results"]}


@pytest.mark.slow
async def test_sigkill_mid_stream_loses_no_acknowledged_write(emulator: EmulatorProcess) -> None:
    stream = Stream()
    figures: dict[str, Any] = {"rounds": []}
    for round_no in range(ROUNDS):
        emulator.start()
        client = client_for(emulator.port)
        stop = asyncio.Event()
        start_acked = stream.acked
        kill_at = start_acked + KILL_AFTER[round_no % len(KILL_AFTER)]
        deadline = time.monotonic() + 30
        tasks = [
            asyncio.create_task(writer(client, stream, f"w{i}r{round_no}", stop, stream.sent + 1000, deadline))
            for i in range(WORKERS)
        ]
        while stream.acked < kill_at and time.monotonic() < deadline and not all(t.done() for t in tasks):
            await asyncio.sleep(0.001)
        emulator.kill()  # while the workers still have requests in flight
        killed_at = stream.acked
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
        await client.aclose()
        assert killed_at >= kill_at, "the stream ended before the kill"

        wal = emulator.data.with_name(emulator.data.name + "-wal")
        wal_bytes = wal.stat().st_size if wal.exists() else 0
        before = stream.committed_unacked
        docs = check_file(emulator.data)
        found = verify(stream, docs)
        figures["rounds"].append(
            {
                "acked_writes": stream.acked - start_acked,
                "in_flight_at_kill": stream.unknown,
                "in_flight_committed": stream.committed_unacked - before,
                "acked_docs_found": found,
                "wal_bytes_at_kill": wal_bytes,
            }
        )
        stream.unknown = 0

    # A restarted emulator serves exactly what the file holds (and still honours tokens issued before the kill).
    emulator.start()
    client = client_for(emulator.port)
    try:
        served = {**await query_all(client, "customer-groups"), **await query_all(client, "customers")}
    finally:
        await client.aclose()
    stored = check_file(emulator.data)
    assert {k: (d["id"], d["version"]) for k, d in served.items()} == {
        k: (d["id"], d["version"]) for k, d in stored.items()
    }
    assert verify(stream, stored) == sum(1 for t in stream.tracked if t.acked_version)
    figures["total_acked_writes"] = stream.acked
    figures["stored_docs"] = len(stored)
    print(f"\nFIGURES crash: {figures}")


def test_store_durability_settings(tmp_path: Path) -> None:
    """WAL + synchronous=NORMAL (1), as documented in docs/reliability.md."""
    from commercetools_customers_mcp.emulator.store import Store

    store = Store(str(tmp_path / "s.sqlite3"))
    try:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    finally:
        store.close()

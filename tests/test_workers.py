"""``serve --transport http --workers N``: several real processes on one port, sharing one emulator database.

Every test starts the real command line in a subprocess on a free loopback port and bounds each wait; the
server's pids come from ``/healthz`` (each worker answers its number and pid).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest

from commercetools_customers_mcp.emulator import create_app
from mcp_helpers import P, free_port

CLI = [sys.executable, "-m", "commercetools_customers_mcp"]
ACCEPT_JSON = {"Accept": "application/json", "Content-Type": "application/json", "MCP-Protocol-Version": "2025-11-25"}
START_TIMEOUT = 60.0


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("CTP_", "MCP_API_KEY"))}


@contextmanager
def serving(tmp_path: Path, *extra: str, workers: int = 2) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``serve --workers`` on a free port with a database file in ``tmp_path``; yields (process, base URL) once
    every worker answers, and stops it with SIGTERM at the end (killing it only if it outlives the timeout)."""
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    args = [*CLI, "serve", "--transport", "http", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(
        [*args, "--data", str(tmp_path / "shared.sqlite3"), *extra], env=_env(), stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while len(_pids(base, 20, quiet=True)) < workers:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "workers did not all answer in time"
            time.sleep(0.2)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()


def _health(http: httpx2.Client, base: str) -> dict[str, Any]:
    response = http.get(base + "/healthz", timeout=10)
    response.raise_for_status()
    return response.json()


def _pids(base: str, tries: int, quiet: bool = False) -> dict[int, int]:
    """worker pid -> worker number, over ``tries`` requests each on a new connection."""
    seen: dict[int, int] = {}
    for _ in range(tries):
        try:
            with httpx2.Client() as http:
                health = _health(http, base)
        except httpx2.HTTPError:
            if quiet:
                return seen
            raise
        seen[health["pid"]] = health["worker"]
    return seen


def _call(http: httpx2.Client, base: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    response = http.post(base + "/mcp", content=orjson.dumps(body), headers=ACCEPT_JSON, timeout=30)
    response.raise_for_status()
    return response.json()["result"]


@contextmanager
def _connection_to(base: str, avoid: int | None = None, tries: int = 200) -> Iterator[tuple[httpx2.Client, int]]:
    """One kept-alive connection to one worker (not ``avoid``): yields the client and that worker's pid."""
    for _ in range(tries):
        http = httpx2.Client(limits=httpx2.Limits(max_connections=1))
        pid = _health(http, base)["pid"]
        if pid != avoid:
            try:
                yield http, pid
            finally:
                http.close()
            return
        http.close()
    raise AssertionError(f"no connection reached a worker other than {avoid} in {tries} tries")


def test_two_workers_answer_from_two_processes_and_stop_on_sigterm(tmp_path: Path) -> None:
    with serving(tmp_path) as (proc, base):
        pids = _pids(base, 60)
        assert sorted(pids.values()) == [1, 2] and proc.pid not in pids
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone (reaped by the supervisor)
    log = (tmp_path / "serve.log").read_text()
    assert "worker=1 " in log and "worker=2 " in log and "all workers stopped" in log


def test_a_write_through_one_worker_is_read_through_the_other(tmp_path: Path) -> None:
    with serving(tmp_path, "--no-demo") as (_, base), _connection_to(base) as (first, writer):
        created = _call(first, base, P + "create_customer_groups", {"groupName": "Gold", "key": "gold"})
        assert not created.get("isError"), created
        with _connection_to(base, avoid=writer) as (second, reader):
            assert reader != writer
            read = _call(second, base, P + "get_customer_groups_by_key", {"key": "gold"})
            assert not read.get("isError"), read
            assert read["structuredContent"]["id"] == created["structuredContent"]["id"]
            # and a version check across processes: an update through the reader, a stale one through the writer
            group = read["structuredContent"]
            actions = [{"action": "changeName", "name": "Platinum"}]
            updated = _call(
                second, base, P + "update_customer_groups_by_id", {"ID": group["id"], "version": 1, "actions": actions}
            )
            assert not updated.get("isError"), updated
            stale = _call(
                first, base, P + "update_customer_groups_by_id", {"ID": group["id"], "version": 1, "actions": actions}
            )
            assert stale.get("isError") and stale["structuredContent"]["statusCode"] == 409


def test_a_worker_that_dies_is_started_again(tmp_path: Path) -> None:
    with serving(tmp_path, "--no-demo") as (proc, base):
        before = _pids(base, 40)
        victim = next(pid for pid, number in before.items() if number == 1)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            now = _pids(base, 20, quiet=True)
            if sorted(now.values()) == [1, 2] and victim not in now:
                break
            assert proc.poll() is None and time.monotonic() < deadline, "worker 1 was not restarted"
            time.sleep(0.2)
    assert "was killed by SIGKILL; starting it again" in (tmp_path / "serve.log").read_text()


def test_memory_database_is_refused_with_several_workers() -> None:
    done = subprocess.run(
        [*CLI, "serve", "--transport", "http", "--port", str(free_port()), "--workers", "2", "--data", ":memory:"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert done.returncode == 2
    assert "--data :memory: cannot be shared by --workers 2" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--transport", "stdio", "--workers", "2"], "--workers applies to --transport http only"),
        (["--transport", "http", "--workers", "0"], "--workers must be at least 1"),
    ],
)
def test_workers_misuse_is_refused(extra: list[str], message: str) -> None:
    done = subprocess.run(
        [*CLI, "serve", *extra, "--data", ":memory:"], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert done.returncode == 2 and message in done.stderr


def _open_new_database(path: str, start: Any) -> None:
    start.wait(30)
    create_app(path)  # seeds the demo data into an empty database


def test_processes_opening_one_new_database_together_seed_it_once(tmp_path: Path) -> None:
    path = str(tmp_path / "new.sqlite3")
    context = multiprocessing.get_context("fork")
    start = context.Barrier(6)
    openers = [context.Process(target=_open_new_database, args=(path, start)) for _ in range(6)]
    for opener in openers:
        opener.start()
    for opener in openers:
        opener.join(60)
    assert [opener.exitcode for opener in openers] == [0] * 6
    expected = create_app(":memory:").state.emulator.store.count("demo", "customer")
    assert create_app(path, demo=False).state.emulator.store.count("demo", "customer") == expected > 0


def test_a_single_server_stops_on_sigterm_with_exit_code_0(tmp_path: Path) -> None:
    """uvicorn re-raises the SIGTERM it handled; the server ends normally instead (clients closed, exit 0)."""
    port = free_port()
    args = [*CLI, "serve", "--transport", "http", "--port", str(port), "--data", str(tmp_path / "one.sqlite3")]
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with httpx2.Client() as http:
                    assert "worker" not in _health(http, f"http://127.0.0.1:{port}")
                break
            except httpx2.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=10)
    assert b"Traceback" not in err


def test_audit_lines_and_metrics_add_up_over_two_workers(tmp_path: Path) -> None:
    """Each worker appends its own audit lines to one file, and a scrape of either worker counts every call."""
    audit = tmp_path / "audit.jsonl"
    with serving(tmp_path, "--no-demo", "--audit-log", str(audit)) as (_, base):
        writers: set[int] = set()
        created = 0
        for round_ in range(40):  # new connections, so both workers take writes
            with httpx2.Client() as http:
                writers.add(_health(http, base)["pid"])
                key = f"group-{round_}"
                result = _call(http, base, P + "create_customer_groups", {"groupName": key, "key": key})
                assert not result.get("isError"), result
                created += 1
            if len(writers) == 2 and created >= 10:
                break
        assert len(writers) == 2, "every write went to one worker"
        scrapes = []
        for _ in range(2):
            with _connection_to(base) as (http, _pid):
                scrapes.append(http.get(base + "/metrics", timeout=10).text)
    lines = [orjson.loads(line) for line in audit.read_bytes().splitlines()]
    assert len(lines) == created and {line["status"] for line in lines} == {201}
    assert len({line["correlationId"] for line in lines}) == created
    for text in scrapes:
        counted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("ctmcp_tool_calls_total{") and "create_customer_groups" in line
        )
        assert counted == created, text


def test_workers_do_not_outlive_a_killed_supervisor(tmp_path: Path) -> None:
    """A SIGKILLed supervisor used to leave its workers serving as orphans, holding the port against a restart
    (issue #18 item 5): now they get SIGTERM from the kernel and the port is free again."""
    with serving(tmp_path, "--no-demo") as (proc, base):
        workers = set(_pids(base, 40))
        port = int(base.rsplit(":", 1)[1])
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + START_TIMEOUT
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "the workers outlived their supervisor"
            time.sleep(0.2)
    import socket

    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # nothing holds the port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone too (its parent, the test, has not reaped it)
        return stat.read().split(") ", 1)[1][0] != "Z"


SUPERVISE_A_FAILING_WORKER = """
import logging, sys
from commercetools_customers_mcp.serving.workers import Supervisor, bind
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
sys.exit(Supervisor(1, bind("127.0.0.1", 0), lambda index, sock: 3).run())
"""


def test_a_worker_that_cannot_start_is_retried_with_back_off_not_the_end_of_the_server() -> None:
    """Three deaths right after starting used to stop the whole server (exit 1 within a fraction of a second);
    now each restart waits twice as long and the supervisor goes on until it is told to stop (issue #18 item 5)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SUPERVISE_A_FAILING_WORKER], env=_env(), stderr=subprocess.PIPE, text=True
    )
    time.sleep(2.5)  # 0.5 + 1.0 s of back-off: at least three failed starts
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "exited with status 3; starting it again in 0.5 s" in err and "starting it again in 1.0 s" in err

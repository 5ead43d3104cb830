"""The official Python SDK against the test doubles a Python user has: ``python -m bench.sdk_peers [--customers N]
[--rounds R]``.

Three targets, each reached through ``commercetools.platform.client.Client`` as a user's test would:

- ``sdk-mock``: the SDK's own ``commercetools.testing.backend_mocker`` (in process, through ``requests_mock``);
- ``ours in process``: the ``ct_client`` fixture's client (``testing.InProcessAdapter``: no socket);
- ``ours over HTTP``: the same emulator over loopback HTTP (what ``ct_env`` and any other client use).

Per target and round: N sequential creates with a password, then GET by id and ``where email = …`` (and
``lowercaseEmail`` for ours, which the mock lacks) at N customers; the median per call (ms). The rounds run the
targets in rotating order, so a busy shared machine slows each alike. Also: the session start-up of the emulator
and the per-test cost of the ``ct_emulator`` and ``ct_client`` fixtures' work.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

from commercetools.platform.client import Client
from commercetools.platform.models import CustomerDraft
from commercetools.testing import backend_mocker
from commercetools.utils import DefaultTokenSaver

from commercetools_customers_mcp.testing import EmulatorServer


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


@contextlib.contextmanager
def _mock() -> Iterator[Any]:
    DefaultTokenSaver.clear_cache()
    with backend_mocker():
        client = Client(
            client_id="a",
            client_secret="b",
            scope=["manage_project:test"],
            url="https://api.europe-west1.gcp.commercetools.com",
            token_url="https://auth.europe-west1.gcp.commercetools.com/oauth/token",
        )
        yield client.with_project_key("test")


def _workload(api: Any, n: int, lowercase: bool) -> dict[str, float]:
    ids: list[str] = []
    creates = []
    for i in range(n):
        draft = CustomerDraft(email=f"user{i}@example.com", password="pw-secret")
        creates.append(_timed(lambda d=draft: ids.append(api.customers().post(d).customer.id)))
    gets = [_timed(lambda i=i: api.customers().with_id(ids[(i * 7) % n]).get()) for i in range(min(n, 300))]
    where = [
        _timed(lambda i=i: api.customers().get(where=[f'email = "user{(i * 13) % n}@example.com"']))
        for i in range(min(n, 60))
    ]
    out = {
        "create (password) ms": statistics.median(creates),
        "creates/s": n / (sum(creates) / 1000),
        "GET by id ms": statistics.median(gets),
        "where email ms": statistics.median(where),
    }
    if lowercase:
        lower = [
            _timed(lambda i=i: api.customers().get(where=[f'lowercaseEmail = "user{(i * 13) % n}@example.com"']))
            for i in range(min(n, 60))
        ]
        out["where lowercaseEmail ms"] = statistics.median(lower)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    server = EmulatorServer().start()
    start_ms = (time.perf_counter() - started) * 1000
    try:
        projects = [_timed(server.project) for _ in range(2000)]
        clients = []
        for _ in range(50):
            project = server.project()
            clients.append(_timed(project.sdk_client))
        print(f"session start-up (imports included): {start_ms:.0f} ms")
        print(f"ct_emulator per test: {statistics.median(projects) * 1000:.1f} us (a project key and credentials)")
        print(f"ct_client per test: {statistics.median(clients):.2f} ms (an SDK client and its token, in process)")

        def ours(in_process: bool) -> Callable[[], contextlib.AbstractContextManager[Any]]:
            @contextlib.contextmanager
            def target() -> Iterator[Any]:
                project = server.project()
                yield project.sdk_client(in_process=in_process).with_project_key(project.project_key)

            return target

        targets: dict[str, Callable[[], contextlib.AbstractContextManager[Any]]] = {
            "sdk-mock": _mock,
            "ours in process": ours(True),
            "ours over HTTP": ours(False),
        }
        results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        names = list(targets)
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                with targets[name]() as api:
                    results[name].append(_workload(api, args.customers, lowercase=name != "sdk-mock"))
                print(f"round {r + 1}: {name}: {results[name][-1]}", file=sys.stderr, flush=True)
    finally:
        server.stop()

    metrics = ["creates/s", "create (password) ms", "GET by id ms", "where email ms", "where lowercaseEmail ms"]
    print(f"\nThe official Python SDK at {args.customers} customers, median per call, {args.rounds} rounds (min-max):")
    print("| target | " + " | ".join(metrics) + " |")
    print("|---|" + "---|" * len(metrics))
    for name, rounds in results.items():
        cells = []
        for metric in metrics:
            values = [r[metric] for r in rounds if metric in r]
            fmt = "{:.0f}" if metric == "creates/s" else "{:.2f}"
            cells.append("\u2013".join(fmt.format(v) for v in (min(values), max(values))) if values else "n/a")
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

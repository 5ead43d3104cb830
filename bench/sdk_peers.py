"""The official Python SDK against the test doubles a Python user has: ``python -m bench.sdk_peers [--customers N]
[--rounds R]``.

Three targets, each reached through ``commercetools.platform.client.Client`` as a user's test would:

- ``sdk-mock``: the SDK's own ``commercetools.testing.backend_mocker`` (in process, through ``requests_mock``);
- ``ours in process``: the ``ct_client`` fixture's client (``testing.InProcessAdapter``: no socket);
- ``ours over HTTP``: the same emulator over loopback HTTP (what ``ct_env`` and any other client use).

Per target and round: N sequential creates with a password, then GET by id and ``where email = …`` (and
``lowercaseEmail`` for ours, which the mock lacks) at N customers; the median per call (ms), and the process's
CPU time per GET by id (the SDK's and the test double's work in one number, steadier than wall time on a
shared machine). The rounds run the
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


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


@contextlib.contextmanager
def _mock() -> Iterator[Any]:
    from commercetools.platform.client import Client
    from commercetools.testing import backend_mocker
    from commercetools.utils import DefaultTokenSaver

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
    from commercetools.platform.models import CustomerDraft

    ids: list[str] = []
    creates = []
    for i in range(n):
        draft = CustomerDraft(email=f"user{i}@example.com", password="pw-secret")
        creates.append(_timed(lambda d=draft: ids.append(api.customers().post(d).customer.id)))
    cpu = time.process_time()  # this process's CPU: the SDK, and the emulator's thread or the mock alike
    gets = [_timed(lambda i=i: api.customers().with_id(ids[(i * 7) % n]).get()) for i in range(min(n, 300))]
    get_cpu = (time.process_time() - cpu) / len(gets) * 1000
    where = [
        _timed(lambda i=i: api.customers().get(where=[f'email = "user{(i * 13) % n}@example.com"']))
        for i in range(min(n, 60))
    ]
    out = {
        "create (password) ms": statistics.median(creates),
        "creates/s": n / (sum(creates) / 1000),
        "GET by id ms": statistics.median(gets),
        "GET by id CPU ms": get_cpu,
        "where email ms": statistics.median(where),
    }
    if lowercase:
        lower = [
            _timed(lambda i=i: api.customers().get(where=[f'lowercaseEmail = "user{(i * 13) % n}@example.com"']))
            for i in range(min(n, 60))
        ]
        out["where lowercaseEmail ms"] = statistics.median(lower)
    return out


METRICS = [
    "creates/s",
    "create (password) ms",
    "GET by id ms",
    "GET by id CPU ms",
    "where email ms",
    "where lowercaseEmail ms",
]


def run(sizes: list[int], rounds: int) -> dict[str, Any]:
    """The workload of ``python -m bench --workloads sdk``: the fixtures' costs, then per size the three targets
    in rotating order for ``rounds`` rounds; ``{"fixtures": {...}, "sizes": {n: {target: [round, ...]}}}``.
    Needs the SDK (``pip install -e '.[test]'``)."""
    from commercetools_customers_mcp.testing import EmulatorServer

    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # the SDK over plain http (the loopback target)
    started = time.perf_counter()
    server = EmulatorServer().start()
    start_ms = (time.perf_counter() - started) * 1000
    out: dict[str, Any] = {"sizes": {}}
    try:
        projects = [_timed(server.project) for _ in range(2000)]
        clients = [_timed(server.project().sdk_client) for _ in range(50)]
        out["fixtures"] = {
            "session start-up ms": start_ms,
            "ct_emulator per test us": statistics.median(projects) * 1000,
            "ct_client per test ms": statistics.median(clients),
        }
        print(f"  fixtures: {out['fixtures']}", flush=True)

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
        names = list(targets)
        for n in sizes:
            results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
            for r in range(rounds):
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    with targets[name]() as api:
                        results[name].append(_workload(api, n, lowercase=name != "sdk-mock"))
                    print(f"  {n} customers, round {r + 1}: {name}: {results[name][-1]}", flush=True)
            out["sizes"][str(n)] = results
    finally:
        server.stop()
    return out


def table(result: dict[str, Any]) -> list[str]:
    """Markdown: one table per size, min-max over the rounds."""
    lines = []
    for n, results in result.get("sizes", {}).items():
        lines += [
            f"The official Python SDK at {int(n):,} customers, median per call (min-max over the rounds):",
            "",
            "| target | " + " | ".join(METRICS) + " |",
            "|---|" + "---|" * len(METRICS),
        ]
        for name, rounds in results.items():
            cells = []
            for metric in METRICS:
                values = [r[metric] for r in rounds if metric in r]
                fmt = "{:.0f}" if metric == "creates/s" else "{:.2f}"
                cells.append("\u2013".join(fmt.format(v) for v in (min(values), max(values))) if values else "n/a")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    result = run([args.customers], args.rounds)
    for name, value in result["fixtures"].items():
        print(f"{name}: {value:.2f}")
    print("\n".join(table(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

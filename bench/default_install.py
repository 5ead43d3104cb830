"""The standalone ``emulator`` as a plain ``pip install .`` runs it, against @labdigital/commercetools-mock.

    python -m bench.default_install [--rounds 3] [--customers 1000] [--gets 2000]

No extra, no flags beyond a port: the access log on (``--log-level info``, uvicorn's default; stdout goes to a
file here, as a terminal would take it), an unpinned client asking for ``manage_project:<key>``. The peer mock
runs without authentication, as ``bench/mock_launcher.mjs`` starts it. Each round starts a fresh server of
each kind, in rotating order, and measures over loopback HTTP with one keep-alive client:

* sign-ups with a password: ``customers`` sequential ``POST /{project}/customers`` with a password; the rate
  (wall time) and the server's CPU time per sign-up (user + system, read from /proc through psutil);
* GET by id at that size: ``gets`` sequential reads over the created ids; p50 and server CPU per GET.

``--no-access-log`` adds our emulator at ``--log-level warning`` as a third set-up. Prints the load average
before and after, since the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import psutil

from . import peers
from .emulator_bench import start_mock
from .util import HOST, Child, free_port, wait_port

CLI = str(Path(sys.executable).with_name("commercetools-customers-mcp"))
PROJECT = "shop"


@dataclass
class Round:
    signups_per_s: float
    cpu_per_signup_ms: float
    get_p50_ms: float
    cpu_per_get_ms: float


@dataclass
class Setup:
    label: str
    rounds: list[Round] = field(default_factory=list)


def _cpu(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def _ours(extra: list[str], log_dir: str) -> tuple[Child, httpx2.Client]:
    port = free_port()
    log = os.path.join(log_dir, f"emulator-{port}.log")
    args = [CLI, "emulator", "--host", HOST, "--port", str(port), *extra]
    # the start-up text and the access log (stdout) to a file, as a terminal would take them (not /dev/null)
    child = Child(["sh", "-c", 'exec "$@" >"$0" 2>&1', log, *args], name="emulator")
    wait_port(port, 60, child.proc)
    http = httpx2.Client(base_url=f"http://{HOST}:{port}", timeout=30)
    r = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": f"manage_project:{PROJECT}"},
        auth=("my-client", "my-secret"),
    )
    r.raise_for_status()
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return child, http


def _mock() -> tuple[Child, httpx2.Client]:
    server = start_mock()
    return server.child, server.client


def _measure(child: Child, http: httpx2.Client, project: str, customers: int, gets: int) -> Round:
    pid = child.pid
    ids: list[str] = []
    cpu0, wall = _cpu(pid), 0.0
    for i in range(customers):
        start = time.perf_counter()
        r = http.post(f"/{project}/customers", json={"email": f"u{i}@example.com", "password": "pw-secret"})
        wall += time.perf_counter() - start
        if r.status_code != 201:
            raise RuntimeError(f"sign-up {i}: {r.status_code} {r.text[:200]}")
        ids.append(r.json()["customer"]["id"])
    cpu_signup = (_cpu(pid) - cpu0) / customers
    times: list[float] = []
    cpu0 = _cpu(pid)
    for i in range(gets):
        start = time.perf_counter()
        r = http.get(f"/{project}/customers/{ids[(i * 7) % customers]}")
        times.append(time.perf_counter() - start)
        if r.status_code != 200:
            raise RuntimeError(f"GET {i}: {r.status_code} {r.text[:200]}")
    cpu_get = (_cpu(pid) - cpu0) / gets
    return Round(customers / wall, cpu_signup * 1000, statistics.median(times) * 1000, cpu_get * 1000)


def _span(values: list[float], fmt: str) -> str:
    lo, hi, mid = min(values), max(values), statistics.median(values)
    return f"{mid:{fmt}} ({lo:{fmt}}-{hi:{fmt}})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.default_install", description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--customers", type=int, default=1000)
    ap.add_argument("--gets", type=int, default=2000)
    ap.add_argument("--no-access-log", action="store_true", help="also our emulator at --log-level warning")
    ap.add_argument("--no-mock", action="store_true", help="skip the peer mock")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="ctmcp-default-install-") as log_dir:
        starters = {"ours, default (access log on)": lambda: _ours([], log_dir)}
        if args.no_access_log:
            starters["ours, --log-level warning"] = lambda: _ours(["--log-level", "warning"], log_dir)
        if not args.no_mock:
            found = peers.ensure()
            if found.mock:
                starters["@labdigital/commercetools-mock"] = _mock
            else:
                print(f"peer mock unavailable: {found.note}", file=sys.stderr)
        setups = {label: Setup(label) for label in starters}
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        labels = list(starters)
        for n in range(args.rounds):
            order = labels[n % len(labels) :] + labels[: n % len(labels)]
            for label in order:
                child, http = starters[label]()
                project = PROJECT if label.startswith("ours") else "bench"
                try:
                    result = _measure(child, http, project, args.customers, args.gets)
                finally:
                    http.close()
                    child.stop()
                setups[label].rounds.append(result)
                print(
                    f"round {n + 1} {label:34s} sign-ups {result.signups_per_s:6.0f}/s  CPU/sign-up "
                    f"{result.cpu_per_signup_ms:5.2f} ms  GET p50 {result.get_p50_ms:5.2f} ms  CPU/GET "
                    f"{result.cpu_per_get_ms:5.2f} ms",
                    flush=True,
                )
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\nmedian (range) over {args.rounds} rounds, {args.customers} customers")
    for setup in setups.values():
        r = setup.rounds
        print(
            f"{setup.label:34s} sign-ups {_span([x.signups_per_s for x in r], '.0f')}/s; CPU/sign-up "
            f"{_span([x.cpu_per_signup_ms for x in r], '.2f')} ms; GET p50 {_span([x.get_p50_ms for x in r], '.2f')} "
            f"ms; CPU/GET {_span([x.cpu_per_get_ms for x in r], '.2f')} ms"
        )
    mock = setups.get("@labdigital/commercetools-mock")
    if mock:
        for setup in setups.values():
            if setup is mock:
                continue
            ratios = [o.signups_per_s / m.signups_per_s for o, m in zip(setup.rounds, mock.rounds, strict=True)]
            cpu = [m.cpu_per_signup_ms / o.cpu_per_signup_ms for o, m in zip(setup.rounds, mock.rounds, strict=True)]
            print(f"{setup.label}: sign-ups {_span(ratios, '.2f')}x the mock's rate, {_span(cpu, '.2f')}x by CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

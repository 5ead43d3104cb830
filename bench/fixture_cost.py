"""What the pytest plugin's fixtures cost per test, in pytest as a user runs it: ``python -m bench.fixture_cost
[--tests 2000] [--rounds 3]``.

Writes test files of ``--tests`` tests each into a temporary folder and times a pytest of its own on each (in
rotating order per round): tests using no fixture (the baseline), ``ct_emulator`` alone (a new project per
test, dropped at teardown), and ``ct_client`` signing one customer up (a test that writes, so its project has
rows to drop: resources, the `where` value table). The per-test cost is (time - baseline) / tests; the emulator's
start-up is spread over the tests. Prints the load average, since the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = {
    "no fixture": "def test_{i}():\n    pass\n",
    "ct_emulator": "def test_{i}(ct_emulator):\n    pass\n",
    "ct_client + one sign-up": (
        "def test_{i}(ct_client, ct_emulator):\n"
        "    api = ct_client.with_project_key(ct_emulator.project_key)\n"
        "    api.customers().post(CustomerDraft(email='ann@example.com', password='pw'))\n"
    ),
}
HEADER = "from commercetools.platform.models import CustomerDraft\n\n"


def _write(folder: Path, name: str, body: str, tests: int) -> Path:
    path = folder / f"test_{name.replace(' ', '_').replace('+', '').replace('-', '_')}.py"
    path.write_text(HEADER + "\n".join(body.format(i=i) for i in range(tests)))
    return path


def _time(folder: Path, path: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", path.name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--client-tests", type=int, default=500, help="tests of the ct_client kind (slower)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ctmcp-fixture-cost-") as tmp:
        folder = Path(tmp)
        counts = {name: args.client_tests if "ct_client" in name else args.tests for name in KINDS}
        files = {name: _write(folder, name, body, counts[name]) for name, body in KINDS.items()}
        times: dict[str, list[float]] = {name: [] for name in KINDS}
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        names = list(KINDS)
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                times[name].append(_time(folder, files[name]))
                print(f"round {r + 1}: {name}: {times[name][-1]:.2f} s for {counts[name]} tests", flush=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    base = times["no fixture"]
    print(f"\nper test, median (range) over {args.rounds} rounds, against the same round's no-fixture run:")
    for name in names[1:]:
        per = [
            (t - b * counts[name] / args.tests) / counts[name] * 1000 for t, b in zip(times[name], base, strict=True)
        ]
        print(f"{name:26s} {statistics.median(per):.2f} ms ({min(per):.2f}-{max(per):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

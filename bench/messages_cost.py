"""What Messages cost a write: ``python -m bench.messages_cost [--writes 1000]``.

One standalone emulator (the same command the bench starts, on a SQLite file), two projects: ``msg-on`` with
Messages enabled and ``msg-off`` without. The same writes go to both, interleaved in blocks of 25 (so a busy
shared machine slows both alike): creates (the bench's customer drafts, no password), updates with two actions
(each one Message when on) and deletes. For each kind it reports the client-side latency (median, p95) and the
server's CPU time per write (psutil), on and off, and the ratios. The issue's budget: at most 15 % slower.
The median is the steady figure; the CPU time and the mean also carry the WAL checkpoints (every 10,000 pages
written: more often with Messages on, and paid by whichever write triggers one), so they vary more from run
to run.
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

import httpx2
import psutil

from bench import data
from bench.util import HOST, Child, Stats, free_port, wait_port

CLI = str(Path(sys.executable).with_name("commercetools-customers-mcp"))
ON, OFF = "msg-on", "msg-off"
BLOCK = 25


def _token(client: httpx2.Client) -> str:
    basic = base64.b64encode(b"bench-client:bench-secret").decode()
    scope = f"manage_project:{ON} manage_project:{OFF}"
    r = client.post(
        "/oauth/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "client_credentials", "scope": scope},
    )
    r.raise_for_status()
    return r.json()["access_token"]


def _enable(client: httpx2.Client) -> None:
    version = client.get(f"/{ON}").json()["version"]
    config = {"enabled": True, "deleteDaysAfterCreation": 15}
    body = {"version": version, "actions": [{"action": "changeMessagesConfiguration", "messagesConfiguration": config}]}
    client.post(f"/{ON}", json=body).raise_for_status()


def run(writes: int) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="ctmcp-messages-")
    port = free_port()
    args = [CLI, "emulator", "--host", HOST, "--port", str(port), "--data", f"{folder}/db.sqlite", "--no-demo"]
    client = f"bench-client:bench-secret:manage_project:{ON},manage_project:{OFF}"
    with Child([*args, "--log-level", "warning", "--client", client], name="emulator") as child:
        wait_port(port, 60, child.proc)
        server = psutil.Process(child.pid)
        with httpx2.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
            client.headers["Authorization"] = f"Bearer {_token(client)}"
            _enable(client)
            latency = {(kind, p): Stats() for kind in ("create", "update", "delete") for p in (ON, OFF)}
            cpu = {key: 0.0 for key in latency}
            made: dict[str, list[dict[str, Any]]] = {ON: [], OFF: []}

            def block(kind: str, project: str, start: int) -> None:
                before = sum(server.cpu_times()[:2])
                for i in range(start, min(start + BLOCK, writes)):
                    began = time.perf_counter()
                    if kind == "create":
                        r = client.post(f"/{project}/customers", json=data.draft(i))
                        made[project].append(r.json()["customer"])
                    elif kind == "update":
                        c = made[project][i]
                        actions = [
                            {"action": "setFirstName", "firstName": f"F{i}"},
                            {"action": "setCompanyName", "companyName": f"C{i}"},
                        ]
                        r = client.post(
                            f"/{project}/customers/{c['id']}", json={"version": c["version"], "actions": actions}
                        )
                        made[project][i] = r.json()
                    else:
                        c = made[project][i]
                        r = client.delete(f"/{project}/customers/{c['id']}", params={"version": c["version"]})
                    latency[(kind, project)].add(time.perf_counter() - began)
                    if r.status_code >= 400:
                        raise RuntimeError(f"{kind} on {project}: {r.status_code} {r.text[:200]}")
                cpu[(kind, project)] += sum(server.cpu_times()[:2]) - before

            for kind in ("create", "update", "delete"):
                for start in range(0, writes, BLOCK):
                    order = (ON, OFF) if (start // BLOCK) % 2 == 0 else (OFF, ON)
                    for project in order:
                        block(kind, project, start)
            stored = client.get(f"/{ON}/messages", params={"limit": 0}).json()["total"]
    out: dict[str, Any] = {"writes": writes, "messages stored": stored}
    for kind in ("create", "update", "delete"):
        on, off = latency[(kind, ON)], latency[(kind, OFF)]
        out[kind] = {
            "p50 ms on/off": (round(on.median * 1000, 3), round(off.median * 1000, 3)),
            "p95 ms on/off": (round(on.p95 * 1000, 3), round(off.p95 * 1000, 3)),
            "mean ms on/off": (round(1000 / on.rate, 3), round(1000 / off.rate, 3)),
            "server CPU us/write on/off": (round(cpu[(kind, ON)] / on.n * 1e6), round(cpu[(kind, OFF)] / off.n * 1e6)),
            "p50 ratio": round(on.median / off.median, 3),
            "mean ratio": round(off.rate / on.rate, 3),
            "CPU ratio": round(cpu[(kind, ON)] / max(cpu[(kind, OFF)], 1e-9), 3),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.messages_cost", description=__doc__.split("\n")[0])
    p.add_argument("--writes", type=int, default=1000, help="creates, updates and deletes per project (default 1000)")
    result = run(p.parse_args(argv).writes)
    for key, value in result.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

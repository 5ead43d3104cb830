"""Benchmarks side by side with the peers: ``python -m bench`` (or ``python bench/run.py``).

    python -m bench                       # full run (~13 min): all workloads, sizes 1k, 10k, 100k
    python -m bench --quick               # ~4 min: sizes 1k and 10k, fewer samples
    python -m bench --workloads emulator,mcp,cold --sizes 1000,10000 --creates 1000
    python -m bench --report-only         # re-render report.md and the chart from results.json
    python -m bench --workloads load      # serving under load only (~3 min; --quick ~1 min)
    python -m bench --workloads mixed     # reads and updates, ours against the previous release (~2.5 min; --quick ~1)
    python -m bench --workloads mixed --baseline 4a12709   # against a given git ref
    python -m bench --workloads sdk       # opt-in: the official Python SDK against its own mock (~5 min; --quick ~1)

Writes docs/benchmarks/results.json, report.md and latency.png (``--out`` to change the folder).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

import anyio
import orjson

from bench import emulator_bench, load_bench, mcp_bench, mixed_bench, peers, report, sdk_peers
from bench.util import ROOT, machine

WORKLOADS = ("emulator", "mcp", "cold", "load", "mixed")
OPT_IN = ("sdk",)  # the official Python SDK against its own mock (--workloads sdk; in process, no Node.js)
NEED_PEERS = ("emulator", "mcp", "cold", "load")  # mixed compares ours with ours


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="sizes 1k and 10k, fewer samples (< 2 min)")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma-separated subset of {WORKLOADS}")
    p.add_argument("--sizes", help="customer counts for the scaling workload (default 1000,10000,100000)")
    p.add_argument("--creates", type=int, help="sequential creates on an empty server (default 2000)")
    p.add_argument("--no-peers", action="store_true", help="measure ours only")
    p.add_argument("--no-install", action="store_true", help="do not run npm; use bench/.peers/ as it is")
    p.add_argument(
        "--baseline",
        metavar="REF",
        help="git ref of the previous release for the mixed workload (default: the newest commit of main whose "
        "code differs from the working tree's)",
    )
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"), help="output folder")
    p.add_argument("--report-only", action="store_true", help="render the report from <out>/results.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "results.json"
    if args.report_only:
        results = orjson.loads(results_file.read_bytes())
        report.write(results, out)
        print(f"wrote {out / 'report.md'} and {out / report.CHART}")
        return 0

    chosen = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = set(chosen) - set(WORKLOADS) - set(OPT_IN)
    if unknown:
        print(f"unknown workloads: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([1000, 10000] if args.quick else [1000, 10000, 100000])
    )
    creates = args.creates or (400 if args.quick else 2000)
    emu_plan = (
        emulator_bench.Plan(reads=100, scans=15, budget=1.5)
        if args.quick
        else emulator_bench.Plan(reads=300, scans=40, budget=6.0)
    )
    mcp_plan = (
        mcp_bench.Plan(calls=80, budget=3.0, cold_runs=3, rounds=1)
        if args.quick
        else mcp_bench.Plan(calls=250, budget=8.0, cold_runs=7, rounds=2)
    )

    load_plan = (
        load_bench.Plan(seconds=1.5, warmup=0.3, rounds=1, prewarm=1.0)
        if args.quick
        else load_bench.Plan(seconds=2.5, rounds=2, prewarm=2.0)
    )

    mixed_plan = (
        mixed_bench.Plan(seconds=5.0, warmup=0.5, rounds=4, prewarm=1.5)
        if args.quick
        else mixed_bench.Plan(seconds=10.0, warmup=1.0, rounds=6, prewarm=3.0)
    )

    started = time.perf_counter()
    earlier = orjson.loads(results_file.read_bytes()) if results_file.exists() else {}
    needs_peers = bool(set(chosen) & set(NEED_PEERS))
    if args.no_peers:
        peer = peers.Peers(None, False, False, "peers not measured (--no-peers)")
    elif not needs_peers:
        peer = peers.Peers(None, False, False, "")
    else:
        peer = peers.ensure(install=not args.no_install)
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "peers": {
            "note": peer.note,
            "mock": peers.mock_version() if peer.mock else None,
            "commerce_mcp": peers.commerce_mcp_version() if peer.commerce_mcp else None,
        },
        "plans": {
            "emulator": emu_plan.__dict__,
            "mcp": mcp_plan.__dict__,
            "load": load_plan.__dict__,
            "mixed": mixed_plan.__dict__,
        },
    }
    if peer.note:
        print(peer.note)
    if "emulator" in chosen:
        print("workload 1: emulator over HTTP", flush=True)
        results["emulator"] = emulator_bench.run(sizes, creates, emu_plan, with_mock=peer.mock)
    if "mcp" in chosen:
        print("workload 2: MCP call cost", flush=True)
        results["mcp"] = anyio.run(mcp_bench.run_calls, mcp_plan, peer.commerce_mcp)
    if "cold" in chosen:
        print("workload 3: cold start", flush=True)
        results["cold"] = anyio.run(mcp_bench.run_cold, mcp_plan, peer.commerce_mcp)
    if "load" in chosen:
        print("workload 4: serving under load", flush=True)
        results["load"] = load_bench.run(load_plan, peer.commerce_mcp)
    if "mixed" in chosen:
        print("workload 5: mixed reads and updates, ours against the previous release", flush=True)
        try:
            results["mixed"] = mixed_bench.run(mixed_plan, args.baseline)
        except Exception as exc:  # e.g. pip could not install a build: the other workloads' results still count
            print(f"  mixed workload not measured: {exc}", flush=True)
            results["mixed"] = {"notes": [f"not measured: {str(exc)[:500]}"]}
    if "sdk" in chosen:
        print("workload 6 (opt-in): the official Python SDK against its own mock, in process", flush=True)
        results["sdk"] = sdk_peers.run([1000] if args.quick else [1000, 10000], 1 if args.quick else 2)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["machine"]["load average at end (1/5/15 min)"] = machine()["load average at start (1/5/15 min)"]
    results["measured"] = {w: results["date"] for w in chosen}
    took = results["seconds"]
    if set(chosen) != set(WORKLOADS) and earlier:
        # A partial run replaces its own sections only, in place (the file keeps its order, so its diff is those
        # sections): the others stay as the earlier run measured them, and so does the description of that run
        # (mode, date, duration, machine; the peers unless some ran now). "measured" says when each section ran,
        # and each section records its own duration.
        merged = dict(earlier)
        merged["measured"] = dict(earlier.get("measured", {}))
        for workload in (*WORKLOADS, *OPT_IN):
            if workload in earlier:
                merged["measured"].setdefault(workload, earlier.get("date"))
        merged["plans"] = dict(earlier.get("plans", {}))
        for workload in chosen:
            merged[workload] = results[workload]
            merged["measured"][workload] = results["date"]
            if workload in results["plans"]:
                merged["plans"][workload] = results["plans"][workload]
        if needs_peers:
            merged["peers"] = results["peers"]
        results = merged
    results_file.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    report.write(orjson.loads(results_file.read_bytes()), out)  # the same (string-keyed) data --report-only reads
    print(f"done in {took:.0f} s: {out / 'report.md'}, {out / report.CHART}, {results_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

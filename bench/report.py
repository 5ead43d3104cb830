"""Render results.json as docs/benchmarks/report.md and latency.png."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

CHART = "latency.png"
QUERIES = (
    ("get_by_id", "GET /customers/{id}"),
    ("get_by_key", "GET /customers/key={key}"),
    ("where_email_indexed", 'where lowercaseEmail = "…" (indexed)'),
    ("where_nested_address", 'where addresses(country = "LU") (nested, 1 %)'),
    ("where_nonindexed", 'where companyName = "…" (not indexed, 0.1 %)'),
    ("search_fulltext", "search fullText all = rare last name (0.5 %)"),
    ("search_prefix", "search prefix email (~0.4 %)"),
)
LOAD_TARGET_CLIENTS = "16"
MIXED_GUARD = 0.90  # the mixed workload's regression guard: within 10 % of the previous release (what it resolves)
LOAD_ROWS = (  # (series, label)
    ("ours_http", "ours, API over HTTP"),
    ("ours_http_modern", "ours, API over HTTP, 2026-07-28 requests"),
    ("official_http", "official commerce-mcp, API over HTTP"),
    ("ours_http_json", "ours --json-response, API over HTTP"),
    ("ours_http_w2", "ours --workers 2, API over HTTP"),
    ("ours_embedded", "ours, emulator embedded"),
    ("ours_embedded_w2", "ours --workers 2, emulator embedded"),
    ("floor_echo", "floor: bare mcp SDK echo tool"),
    ("floor_echo_modern", "floor: bare mcp SDK echo tool, 2026-07-28 requests"),
)
MCP_ROWS = (  # (series, label, transport)
    ("direct_http_get", "direct `GET /customers/{id}` to the emulator (httpx2, no MCP)", ""),
    ("floor_echo_stdio", "floor: bare mcp SDK echo tool, stdio", "stdio"),
    ("ours_stdio_embedded", "ours, stdio, emulator embedded (`serve --data`)", "stdio"),
    ("ours_stdio_emulator_http", "ours, stdio, emulator over HTTP (`CTP_*`)", "stdio"),
    ("official_stdio", "official commerce-mcp `read_customers`, stdio, emulator over HTTP", "stdio"),
    ("floor_echo_http", "floor: bare mcp SDK echo tool, stateless HTTP", "http"),
    ("ours_http_embedded", "ours, stateless HTTP, emulator embedded", "http"),
    ("ours_http_emulator_http", "ours, stateless HTTP, emulator over HTTP", "http"),
    ("official_http", "official commerce-mcp `read_customers`, stateless HTTP (`--remote --stateless`)", "http"),
)


def _ints(d: dict[Any, Any]) -> dict[int, Any]:
    return {int(k): v for k, v in d.items()}


def _f(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:,.{digits}f}"


def _ratio(a: Any, b: Any) -> str:
    if a is None or b is None or not a or not b or math.isnan(a) or math.isnan(b):
        return "—"
    return f"{a / b:.2f}x"


def _p50(series: dict[str, Any] | None) -> float | None:
    if not series or not series.get("n"):
        return None
    return series["p50_ms"]


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def targets(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    emu = r.get("emulator")
    if emu:
        for key, label in (("creates_result", ""), ("creates_password_result", " with a password")):
            cr = emu.get(key) or {}
            ours, mock = cr.get("ours", {}).get("per_s"), cr.get("mock", {}).get("per_s")
            if ours is None and mock is None:
                continue
            ok = ours / mock >= 5 if ours and mock else None
            rows.append(
                (
                    f"emulator creates{label}/s ≥ 5x the peer mock ({emu['creates']:,} sequential)",
                    f"{_f(ours, 0)} vs {_f(mock, 0)}/s = {_ratio(ours, mock)}",
                    _verdict(ok),
                )
            )
        n = str(emu["creates"])
        o, m = emu["ours"].get(n, {}).get("series", {}), emu["mock"].get(n, {}).get("series", {})
        for name in ("where_email_indexed", "where_nested_address", "where_nonindexed"):
            a, b = _p50(o.get(name)), _p50(m.get(name))
            ok = a <= b / 10 if a and b else None
            rows.append(
                (
                    f"where p50 at {int(n):,} ≤ 1/10 of the peer's: {name}",
                    f"{_f(a)} ms vs {_f(b)} ms (ours = {_ratio(a, b)} of the peer's)",
                    _verdict(ok),
                )
            )
        sizes = _ints(emu["ours"])
        peers = _ints(emu["mock"])
        for size in sorted(s for s in sizes if s in peers):
            a, b = _p50(sizes[size]["series"].get("get_by_id")), _p50(peers[size]["series"].get("get_by_id"))
            rows.append(
                (
                    f"GET by id p50 at {size:,} ≤ the peer's",
                    f"{_f(a)} ms vs {_f(b)} ms",
                    _verdict(a <= b if a and b else None),
                )
            )
        for size in sorted(s for s in sizes if s in peers and s <= 2000 and s != int(n)):
            o, m = sizes[size]["series"], peers[size]["series"]
            for name in ("where_nested_address", "where_nonindexed"):
                a, b = _p50(o.get(name)), _p50(m.get(name))
                rows.append(
                    (
                        f"where p50 at {size:,} ≤ 1/10 of the peer's: {name}",
                        f"{_f(a)} ms vs {_f(b)} ms (ours = {_ratio(a, b)} of the peer's)",
                        _verdict(a <= b / 10 if a and b else None),
                    )
                )
        big = max(sizes) if sizes else None
        if big:
            s = sizes[big]["series"]
            for name in ("get_by_id", "get_by_key", "where_email_indexed"):
                a = _p50(s.get(name))
                rows.append(
                    (f"indexed lookup p50 at {big:,} ≤ 5 ms: {name}", f"{_f(a)} ms", _verdict(a <= 5 if a else None))
                )
            a = _p50(s.get("search_fulltext"))
            rows.append((f"fullText search p50 at {big:,} ≤ 50 ms", f"{_f(a)} ms", _verdict(a <= 50 if a else None)))
    mcp = r.get("mcp", {}).get("series", {})
    if mcp:
        ours, floor = mcp.get("ours_stdio_embedded", {}).get("per_s"), mcp.get("floor_echo_stdio", {}).get("per_s")
        rows.append(
            (
                "MCP calls/s over stdio ≥ 0.85x the bare-SDK echo floor",
                f"{_f(ours, 0)} vs {_f(floor, 0)}/s = {_ratio(ours, floor)}",
                _verdict(ours / floor >= 0.85 if ours and floor else None),
            )
        )
        off = mcp.get("official_http", {}).get("per_s")
        for name, label in (
            ("ours_http_emulator_http", "emulator over HTTP, like the official"),
            ("ours_http_embedded", "emulator embedded"),
        ):
            ours = mcp.get(name, {}).get("per_s")
            rows.append(
                (
                    f"MCP calls/s over stateless HTTP ≥ 2x the official's ({label})",
                    f"{_f(ours, 0)} vs {_f(off, 0)}/s = {_ratio(ours, off)}",
                    _verdict(ours / off >= 2 if ours and off else None),
                )
            )
    rows += load_targets(r.get("load", {}).get("series", {}))
    rows += mixed_targets(r.get("mixed", {}))
    cold = r.get("cold", {}).get("series", {})
    if cold:
        floor = _p50(cold.get("floor: bare mcp echo server"))
        ours = _p50(cold.get("ours (45 tools)"))
        delta = ours - floor if ours and floor else None
        shown = f"{_f(ours, 0)} ms vs {_f(floor, 0)} ms" + (f" ({delta:+,.0f} ms)" if delta is not None else "")
        ok = delta <= 150 if delta is not None else None
        rows.append(("cold start within 150 ms of the bare SDK's", shown, _verdict(ok)))
    return rows


def load_targets(load: dict[str, Any]) -> list[tuple[str, str, str]]:
    """At 16 clients, from one process: >= 1.5x the official's calls/s, p99 no worse, no errors (same wire version);
    and what a second worker adds."""
    rows: list[tuple[str, str, str]] = []
    at = LOAD_TARGET_CLIENTS
    off = load.get("official_http", {}).get(at)
    for name, label in (("ours_http", "2025-11-25 both"), ("ours_http_modern", "ours with 2026-07-28 requests")):
        ours = load.get(name, {}).get(at)
        if not ours or not off:
            continue
        rate_ok = ours["per_s"] >= 1.5 * off["per_s"]
        p99_ok = ours["p99_ms"] <= off["p99_ms"]
        clean = ours["errors"] == 0
        rows.append(
            (
                f"{at} clients, API over HTTP ({label}): calls/s >= 1.5x the official's, p99 no worse, 0 errors",
                f"{_f(ours['per_s'], 0)} vs {_f(off['per_s'], 0)}/s = {_ratio(ours['per_s'], off['per_s'])}; "
                f"p99 {_f(ours['p99_ms'], 1)} vs {_f(off['p99_ms'], 1)} ms; {ours['errors']} errors",
                _verdict(rate_ok and p99_ok and clean),
            )
        )
    for one, two in (("ours_http", "ours_http_w2"), ("ours_embedded", "ours_embedded_w2")):
        a, b = load.get(one, {}).get(at), load.get(two, {}).get(at)
        if a and b:
            rows.append(
                (
                    f"{at} clients: --workers 2 against 1 ({one.removeprefix('ours_')}), 0 errors",
                    f"{_f(b['per_s'], 0)} vs {_f(a['per_s'], 0)}/s = {_ratio(b['per_s'], a['per_s'])}; "
                    f"{b['errors']} errors",
                    _verdict(b["errors"] == 0 and b["per_s"] > a["per_s"]),
                )
            )
    return rows


def mixed_targets(mixed: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The regression guard: the median per-round ratio against the previous release, within MIXED_GUARD."""
    series = mixed.get("series", {})
    ours, base = series.get("current"), series.get("baseline")
    if not ours or not base:
        return []
    calls, cpu = mixed.get("median_calls_ratio"), mixed.get("median_cpu_ratio")
    errors = ours["errors"] + base["errors"]
    ok = calls >= MIXED_GUARD and cpu <= 1 / MIXED_GUARD and errors == 0 if calls and cpu else None
    return [
        (
            f"mixed workload, {mixed.get('clients', '?')} clients: ours against the previous release "
            f"({_baseline_name(mixed)}), median per-round ratio: calls/s >= {MIXED_GUARD:.2f}x, CPU per call "
            f"<= {1 / MIXED_GUARD:.2f}x, 0 errors",
            f"calls/s {_x(calls)}, CPU per call {_x(cpu)}; {errors} errors",
            _verdict(ok),
        )
    ]


def _x(ratio: Any) -> str:
    return "—" if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)) else f"{ratio:.3f}x"


def _baseline_name(mixed: dict[str, Any]) -> str:
    return (mixed.get("builds", {}).get("baseline", {}).get("commit") or "?")[:7]


def mixed_section(r: dict[str, Any]) -> list[str]:
    mixed = r["mixed"]
    lines: list[str] = []
    add = lines.append
    plan, builds = mixed.get("plan", {}), mixed.get("builds", {})
    ours_build, base_build = builds.get("current", {}), builds.get("baseline", {})
    add("## 5. Mixed workload (regression guard)\n")
    if not mixed.get("series"):
        lines += [f"- {note}" for note in mixed.get("notes", ["not measured"])]
        return [*lines, ""]
    mix = ", ".join(f"{name} {share:.0%}" for name, share in mixed.get("mix", {}).items())
    add(
        f"{mixed.get('clients', '?')} concurrent clients, one fixed call sequence (seed {mixed.get('seed', '?')}; "
        f"{mix}) on the embedded emulator's demo data; {mixed.get('requests', '')}. Ours is the working tree, "
        "the baseline the previous release; both installed with `pip install` into their own venvs, constrained to "
        "the same dependency versions (a difference would be noted below). "
        f"{plan.get('rounds', '?')} rounds of {plan.get('warmup', '?')} + "
        f"{plan.get('seconds', '?')} s per server, the order flipped every round ({mixed.get('seconds', '?')} s in "
        f"all, {mixed.get('cores', '?')} cores shared by clients and servers). A 409 ConcurrentModification that "
        "the client then retried with the current version is counted apart, not as an error. How it is run: "
        "[README.md](README.md#workload-5-mixed-reads-and-updates-regression-guard).\n"
    )
    load_average = mixed.get("load_average", {})
    if load_average:
        add(
            f"Load average (1/5/15 min) at the start of the workload {load_average.get('start')}, at its end "
            f"{load_average.get('end')}.\n"
        )
    add(f"- ours: {ours_build.get('source', '?')}, mcp {ours_build.get('mcp', '?')}")
    add(f"- baseline: {base_build.get('source', '?')}, mcp {base_build.get('mcp', '?')}\n")
    rounds = mixed.get("rounds", [])
    calls = ", ".join(_x(row["calls_ratio"]) for row in rounds)
    cpu = ", ".join(_x(row["cpu_ratio"]) for row in rounds)
    add(
        f"**Ours / baseline, median of the per-round ratios: calls/s {_x(mixed.get('median_calls_ratio'))}, "
        f"CPU per call {_x(mixed.get('median_cpu_ratio'))}** (rounds: calls/s {calls}; CPU per call {cpu}).\n"
    )
    add(
        "| server | calls/s | p50 ms | p99 ms | updates p50 ms | updates p99 ms | errors | 409s retried | "
        "server CPU ms/call |"
    )
    add("|---|---|---|---|---|---|---|---|---|")
    labels = {"current": "ours (working tree)", "baseline": f"baseline ({_baseline_name(mixed)})"}
    for name, label in labels.items():
        row = mixed.get("series", {}).get(name)
        if row:
            add(
                f"| {label} | {_f(row['per_s'], 0)} | {_f(row['p50_ms'], 1)} | {_f(row['p99_ms'], 1)} | "
                f"{_f(row['update_p50_ms'], 1)} | {_f(row['update_p99_ms'], 1)} | {row['errors']} | "
                f"{row['conflicts_409']} | {_f(row['cpu_ms_per_call'])} |"
            )
    add("")
    add("| round | order | ours calls/s | baseline calls/s | ratio | ours CPU ms/call | baseline CPU ms/call | ratio |")
    add("|---|---|---|---|---|---|---|---|")
    for number, row in enumerate(rounds, 1):
        a, b = row["current"], row["baseline"]
        order = ", ".join("ours" if n == "current" else "baseline" for n in row["order"])
        add(
            f"| {number} | {order} | {_f(a['per_s'], 0)} | {_f(b['per_s'], 0)} | {_x(row['calls_ratio'])} | "
            f"{_f(a['cpu_ms_per_call'])} | {_f(b['cpu_ms_per_call'])} | {_x(row['cpu_ratio'])} |"
        )
    add("")
    client = [row["client_cpu_ms_per_call"] for row in mixed["series"].values() if row.get("client_cpu_ms_per_call")]
    if client:
        add(f"The clients themselves spent {_f(min(client))} to {_f(max(client))} ms of CPU per call.\n")
    load = r.get("load", {}).get("series", {})
    off, ours = (
        load.get("official_http", {}).get(LOAD_TARGET_CLIENTS),
        load.get("ours_http", {}).get(LOAD_TARGET_CLIENTS),
    )
    if off and ours:
        when = r.get("measured", {}).get("load", r.get("date"))
        add(
            f"Next to it, the lead against the official server under {LOAD_TARGET_CLIENTS} clients (section 4, "
            f"`get_by_id`, API over HTTP, 2025-11-25 requests, measured {when}): ours "
            f"{_f(ours['per_s'], 0)} calls/s against {_f(off['per_s'], 0)} = {_ratio(ours['per_s'], off['per_s'])}, "
            f"p99 {_f(ours['p99_ms'], 1)} against {_f(off['p99_ms'], 1)} ms. The official server has no embedded "
            "emulator and no previous release of ours, so it is not part of this workload.\n"
        )
    for note in mixed.get("notes", []):
        add(f"- {note}")
    if mixed.get("notes"):
        add("")
    return lines


def load_section(load: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    add = lines.append
    series = load.get("series", {})
    plan = load.get("plan", {})
    add("## 4. Serving under load\n")
    add(
        f"Concurrent clients call one tool over stateless HTTP as fast as answers come: {plan.get('rounds', '?')} "
        f"round(s) of {plan.get('seconds', '?')} s per server and concurrency, interleaved ({load.get('seconds', '?')} "
        f"s in all; {load.get('cores', '?')} cores shared by the clients, the servers and the emulator). "
        "`server CPU` is user + system time of the server's processes per call (workers included), "
        "`API CPU` that of the emulator process the HTTP series call. Requests are 2025-11-25 unless the row "
        "says 2026-07-28. How it is run: [README.md](README.md#workload-4-serving-under-load).\n"
    )
    for clients in sorted({int(c) for rows in series.values() for c in rows}):
        add(f"### {clients} client{'s' if clients > 1 else ''}\n")
        add("| server | calls/s | p50 ms | p99 ms | errors | server CPU ms/call | API CPU ms/call |")
        add("|---|---|---|---|---|---|---|")
        for name, label in LOAD_ROWS:
            row = series.get(name, {}).get(str(clients))
            if not row:
                continue
            add(
                f"| {load.get('labels', {}).get(name, label)} | {_f(row['per_s'], 0)} | {_f(row['p50_ms'], 1)} | "
                f"{_f(row['p99_ms'], 1)} | {row['errors']} | {_f(row['cpu_ms_per_call'])} | "
                f"{_f(row.get('emulator_cpu_ms_per_call'))} |"
            )
        add("")
    client = [
        row["client_cpu_ms_per_call"]
        for rows in series.values()
        for row in rows.values()
        if not math.isnan(row.get("client_cpu_ms_per_call", float("nan")))
    ]
    if client:
        add(f"The load generator itself spent {_f(min(client))} to {_f(max(client))} ms of CPU per call.\n")
    for note in load.get("notes", []):
        add(f"- {note}")
    if load.get("notes"):
        add("")
    return lines


def _stat_cells(s: dict[str, Any] | None) -> list[str]:
    if not s or not s.get("n"):
        return ["—", "—", "—"]
    return [_f(s["min_ms"]), _f(s["p50_ms"]), _f(s["p95_ms"])]


def markdown(r: dict[str, Any]) -> str:
    lines: list[str] = []
    add = lines.append
    add("# Benchmark report\n")
    add(
        f"Generated by `python -m bench{' --quick' if r.get('mode') == 'quick' else ''}` on {r.get('date')} "
        f"({r.get('seconds', '?')} s). How to run and what each workload means: [README.md](README.md). "
        "Client and servers share the same cores, and other work ran on the machine: read the absolute numbers "
        "as noisy and the ratios (measured in the same run, one after the other) as the result.\n"
    )
    measured = r.get("measured", {})
    if len(set(measured.values())) > 1:
        add("Sections measured at different times: " + "; ".join(f"{w} {d}" for w, d in sorted(measured.items())))
        add("")
    add("## Machine\n")
    add("| | |\n|---|---|")
    for k, v in r.get("machine", {}).items():
        add(f"| {k} | {v} |")
    p = r.get("peers", {})
    add(f"| peer mock | @labdigital/commercetools-mock {p.get('mock') or 'not measured'} |")
    add(f"| official MCP server | @commercetools/commerce-mcp {p.get('commerce_mcp') or 'not measured'} |")
    if p.get("note"):
        add(f"\n{p['note']}")
    add("")

    add("## Targets\n")
    add("| target | measured | verdict |\n|---|---|---|")
    for t, m, v in targets(r):
        add(f"| {t} | {m} | {v} |")
    add("")

    emu = r.get("emulator")
    if emu:
        add("## 1. Emulator over HTTP (same httpx2 client for both)\n")
        for key, what in (("creates_result", "no password"), ("creates_password_result", "with a password")):
            if not emu.get(key):
                continue
            add(f"### Sequential creates on an empty server ({emu['creates']:,} customers, {what})\n")
            add("| server | creates/s | min ms | p50 ms | p95 ms | creates/s by quarter |\n|---|---|---|---|---|---|")
            for kind, label in (("ours", "ours"), ("mock", "peer mock")):
                s = emu[key].get(kind)
                if s:
                    quarters = " / ".join(f"{q:,.0f}" for q in s.get("per_s_by_quarter", []))
                    add(
                        f"| {label} | {_f(s['per_s'], 0)} | {_f(s['min_ms'])} | {_f(s['p50_ms'])} | "
                        f"{_f(s['p95_ms'])} | {quarters} |"
                    )
            add("")
        ours, mock = _ints(emu["ours"]), _ints(emu["mock"])
        for size in sorted(ours):
            how = "created through HTTP above" if size == emu["creates"] else "bulk-loaded"
            add(f"### {size:,} customers ({how})\n")
            add("| workload | ours min | ours p50 | ours p95 | peer min | peer p50 | peer p95 | peer p50 / ours p50 |")
            add("|---|---|---|---|---|---|---|---|")
            o, m = ours[size]["series"], mock.get(size, {}).get("series", {})
            for name, label in QUERIES:
                a, b = o.get(name), m.get(name)
                add(
                    f"| {label} | "
                    + " | ".join(_stat_cells(a))
                    + " | "
                    + " | ".join(_stat_cells(b))
                    + f" | {_ratio(_p50(b), _p50(a))} |"
                )
            notes = [f"ours {n}: {o[n]['note']}" for n in o if o[n].get("note")]
            notes += [f"peer {n}: {m[n]['note']}" for n in m if m[n].get("note")]
            if size not in mock and emu.get("ours") and mock:
                notes.append("peer not measured at this size")
            if notes:
                add("")
                for n in sorted(set(notes)):
                    add(f"- {n}")
            add("")
        add("### Server memory (RSS after the workloads)\n")
        add("| customers | ours MiB | peer MiB |\n|---|---|---|")
        for size in sorted(ours):
            add(f"| {size:,} | {_f(ours[size].get('rss_mb'), 0)} | {_f(mock.get(size, {}).get('rss_mb'), 0)} |")
        add(
            "\nOur RSS is the uvicorn process; the SQLite file itself lives in the OS page cache, not in RSS "
            "(SQLite's own page cache is counted). The mock keeps every resource in JavaScript objects.\n"
        )
        add(f"![p50 latency against data size]({CHART})\n")
        for n in emu.get("notes", []):
            add(f"- {n}")

    mcp = r.get("mcp")
    if mcp:
        rounds = mcp.get("rounds", 1)
        add("## 2. MCP call cost (`get_by_id` on a 1,000-customer project)\n")
        if rounds > 1:
            add(f"Every series ran in {rounds} rounds (all series, then all again); the samples are pooled.\n")
        s = mcp["series"]
        floor_s, floor_h = s.get("floor_echo_stdio", {}).get("per_s"), s.get("floor_echo_http", {}).get("per_s")
        off_h = s.get("official_http", {}).get("per_s")
        off_s = s.get("official_stdio", {}).get("per_s")
        add("| path | calls/s | min ms | p50 ms | p95 ms | vs floor (same transport) | vs official (same transport) |")
        add("|---|---|---|---|---|---|---|")
        floors = {"stdio": floor_s, "http": floor_h}
        officials = {"stdio": off_s, "http": off_h}
        for name, label, transport in MCP_ROWS:
            row = s.get(name)
            if not row:
                continue
            vs_floor = _ratio(row["per_s"], floors.get(transport)) if transport else "—"
            vs_off = _ratio(row["per_s"], officials.get(transport)) if name.startswith("ours") else "—"
            add(
                f"| {label} | {_f(row['per_s'], 0)} | {_f(row['min_ms'])} | {_f(row['p50_ms'])} | "
                f"{_f(row['p95_ms'])} | {vs_floor} | {vs_off} |"
            )
        for n in mcp.get("notes", []):
            add(f"\n- {n}")
        add("")

    cold = r.get("cold")
    if cold:
        add("## 3. Cold start: spawn → initialize → tools/list answered (stdio)\n")
        add("The servers are started in turn, one start of each per pass, so that noise hits all of them alike.\n")
        s = cold["series"]
        floor = _p50(s.get("floor: bare mcp echo server"))
        add("| server | min ms | p50 ms | p95 ms | p50 - floor | tools | tools/list bytes |")
        add("|---|---|---|---|---|---|---|")
        for name, row in s.items():
            delta = f"{row['p50_ms'] - floor:+,.0f} ms" if floor and row.get("n") else "—"
            add(
                f"| {name} | {_f(row['min_ms'], 0)} | {_f(row['p50_ms'], 0)} | {_f(row['p95_ms'], 0)} | {delta} | "
                f"{row.get('tools') or '—'} | {_f(row.get('bytes'), 0) if row.get('bytes') else '—'} |"
            )
        for n in cold.get("notes", []):
            add(f"\n- {n}")
        add(
            "\nThe official server needs the API while it starts (it does not start when the API is unreachable), "
            "so it runs against a live emulator here; ours contacts nothing until a tool is called.\n"
        )
    if r.get("load"):
        lines += load_section(r["load"])
    if r.get("mixed"):
        lines += mixed_section(r)
    if r.get("sdk"):
        from bench import sdk_peers

        fixtures = r["sdk"].get("fixtures", {})
        lines += [
            "## 6. The official Python SDK against its own mock (opt-in: `--workloads sdk`)",
            "",
            "`commercetools.testing.backend_mocker` (in process, through requests_mock) against our emulator in "
            "process (the `ct_client` fixture's requests adapter) and over loopback HTTP, through the same SDK "
            "client. Fixtures: " + ", ".join(f"{k} {v:.2f}" for k, v in fixtures.items()) + ".",
            "",
            *sdk_peers.table(r["sdk"]),
        ]
    return "\n".join(lines) + "\n"


def chart(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")

    emu = r["emulator"]
    ours, mock = _ints(emu["ours"]), _ints(emu["mock"])
    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5))
    for ax, (name, label) in zip(axes.flat, QUERIES, strict=False):
        values: list[float] = []
        for kind, data, style in (("ours", ours, "o-"), ("peer mock", mock, "s--")):
            xs = [n for n in sorted(data) if _p50(data[n]["series"].get(name))]
            ys = [data[n]["series"][name]["p50_ms"] for n in xs]
            values += ys
            if xs:
                ax.plot(xs, ys, style, label=kind)
        ax.set_title(label, fontsize=9)
        ax.set_xscale("log")
        if values and max(values) / min(values) > 10:  # log only when the range spans decades
            ax.set_yscale("log")
            ax.yaxis.set_minor_formatter(NullFormatter())
        else:
            ax.set_ylim(0, max(values or [1]) * 1.2)
        ax.yaxis.set_major_formatter(plain)
        ax.xaxis.set_major_formatter(plain)
        ax.set_xlabel("customers")
        ax.set_ylabel("p50 ms")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ax = axes.flat[-1]
    for kind, data, style in (("ours", ours, "o-"), ("peer mock", mock, "s--")):
        xs = sorted(n for n in data if not math.isnan(data[n].get("rss_mb", float("nan"))))
        if xs:
            ax.plot(xs, [data[n]["rss_mb"] for n in xs], style, label=kind)
    ax.set_title("server RSS", fontsize=9)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(plain)
    ax.set_xlabel("customers")
    ax.set_ylabel("MiB")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle("commercetools-customers-mcp emulator vs @labdigital/commercetools-mock: p50 latency over HTTP")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(results: dict[str, Any], out: Path) -> None:
    (out / "report.md").write_text(markdown(results))
    if results.get("emulator"):
        chart(results, out / CHART)

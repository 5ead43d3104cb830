"""Prometheus metrics of one server, served at ``GET /metrics`` on the HTTP transport (``prometheus-client``).

==================================== ========= ===================================================================
name                                 type      labels
==================================== ========= ===================================================================
``ctmcp_tool_calls_total``           counter   ``tool`` (seed name, a discovery tool's name, or ``unknown``),
                                               ``outcome`` (the API's HTTP status, else a ``core.calls.Outcome``
                                               word: ``ok`` for ``find_tools`` and ``describe_tool``, or what
                                               ended the call first, e.g. ``invalid`` or ``forbidden``)
``ctmcp_tool_duration_seconds``      histogram ``tool``
``ctmcp_calls_in_flight``            gauge     — (tool calls started and not yet finished)
``ctmcp_upstream_requests_total``    counter   ``status``: every API attempt, retries included (HTTP status, or
                                               ``network-error``); token requests are not counted here
``ctmcp_upstream_retries_total``     counter   ``reason``: ``503``, ``429``…, ``401`` (token refresh),
                                               ``network``, ``token``
``ctmcp_token_fetches_total``        counter   ``outcome``: ``ok``, ``refused``, ``error``
``ctmcp_audit_writes_total``         counter   ``outcome``: ``ok``, ``error`` (lines lost; only with an audit log)
==================================== ========= ===================================================================

Every label value is bounded: tool names come from the catalogue, statuses are numbers 100 to 599, the other
labels are fixed words of this code; anything else is counted as ``other``. No argument, PCID or key name is
a label.

Registries: each ``Metrics`` has its own ``CollectorRegistry`` (nothing is registered in prometheus-client's
process-wide default registry), so two servers in one process (tests) count apart.

Several processes answering one port (``serve --workers N``) use prometheus-client's *multiprocess mode*, so
a scrape, which any one worker answers, shows the sum over all workers: each process writes its values to
memory-mapped files in one directory, and ``/metrics`` merges the files of every process. The library decides
this per process when the first metric is made, from ``PROMETHEUS_MULTIPROC_DIR``; so the parent process calls
``prepare_multiprocess(dir)`` (or enters ``multiprocess_mode()``) before it creates any ``Metrics`` and before it
starts the workers, and ``mark_process_dead(pid, dir)`` when a worker exits (its in-flight gauge file goes;
its counters stay in the totals). One ``Metrics`` per process in this mode: two in one process would write
the same file entries. When ``PROMETHEUS_MULTIPROC_DIR`` is already set in the environment of a single server
(a process manager's choice), that server uses the mode too. The mode keeps no ``_created`` samples and the
in-flight gauge is summed over live processes (``livesum``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from importlib import metadata
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, values
from prometheus_client.exposition import choose_encoder

from ..core.calls import CallRecord, Outcome
from ..core.catalog.tools import BY_NAME
from ..core.discovery import META_NAMES

PREFIX = "ctmcp_"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
OTHER = "other"
_LIVE: dict[str, Any] = {"multiprocess_mode": "livesum"}  # in multiprocess mode: summed over live processes
_WORD = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def _status(value: Any) -> str:
    """An HTTP status as a label (``other`` if it is not one), or a fixed word of this code."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if 100 <= value <= 599 else OTHER
    return value if isinstance(value, str) and _WORD.match(value) else OTHER


def _outcome(value: Outcome | int) -> str:
    """A call's outcome label: its ``Outcome`` word, or the API's HTTP status (``other`` if it is not one)."""
    return value.value if isinstance(value, Outcome) else _status(value)


def _tool(record: CallRecord) -> str:
    """The tool label: a catalogue tool's seed name, a discovery tool's name, else ``unknown``."""
    if record.tool is not None and record.tool.name in BY_NAME:
        return record.tool.name
    return record.name if record.name in META_NAMES else "unknown"


def _multiprocess_values() -> bool:
    """Whether prometheus-client's process-wide value class is its multiprocess one.

    The library decides that only once, at import, from the environment; switching later (``prepare_multiprocess``)
    and asking goes through its internals ``values.ValueClass`` (and the class's ``_multiprocess``) and
    ``values.MultiProcessValue``, which pyproject.toml bounds to the releases tested. A release without them stops
    the start here, saying so, rather than in a metric's first update or with silently per-process counts."""
    mode = getattr(getattr(values, "ValueClass", None), "_multiprocess", None)
    if not isinstance(mode, bool) or not callable(getattr(values, "MultiProcessValue", None)):
        raise RuntimeError(
            f"prometheus-client {metadata.version('prometheus-client')} has no values.ValueClass._multiprocess or "
            "values.MultiProcessValue, which /metrics relies on (multiprocess mode for --workers); install a "
            "release the package's dependencies allow"
        )
    return mode


def multiprocess_dir() -> str | None:
    """The directory of prometheus-client's multiprocess mode when this process is in it, else None."""
    return os.environ.get(MULTIPROC_ENV) if _multiprocess_values() else None


def prepare_multiprocess(path: str | os.PathLike[str]) -> None:
    """Put this process, and the worker processes it starts afterwards (forked or spawned), in multiprocess mode
    with ``path`` as the shared directory: creates it, removes the value files a previous run left there, sets
    ``PROMETHEUS_MULTIPROC_DIR`` and switches prometheus-client's value class (process-wide, as the library
    requires). Call it before any ``Metrics`` exists in this process."""
    folder = os.fspath(path)
    os.makedirs(folder, exist_ok=True)
    for stale in glob.glob(os.path.join(folder, "*.db")):
        os.remove(stale)
    os.environ[MULTIPROC_ENV] = folder
    if not _multiprocess_values():
        values.ValueClass = values.MultiProcessValue()


def mark_process_dead(pid: int, path: str | os.PathLike[str] | None = None) -> None:
    """Call in the parent when worker ``pid`` has exited: its in-flight gauge stops counting (counters stay)."""
    multiprocess.mark_process_dead(pid, os.fspath(path) if path is not None else os.environ.get(MULTIPROC_ENV))


@contextlib.contextmanager
def multiprocess_mode(path: str | os.PathLike[str] | None = None) -> Iterator[str]:
    """``prepare_multiprocess`` for the length of a run: in ``path``, else in ``$PROMETHEUS_MULTIPROC_DIR``, else
    in a fresh temporary directory, which is removed at the end (a given directory is left in place)."""
    given = path if path is not None else os.environ.get(MULTIPROC_ENV)
    folder = os.fspath(given) if given else tempfile.mkdtemp(prefix="ctmcp-metrics-")
    prepare_multiprocess(folder)
    try:
        yield folder
    finally:
        if not given:
            shutil.rmtree(folder, ignore_errors=True)


class Metrics:
    """The metrics of one server: a ``calls.Observer`` (tool calls) and a ``tokens.EventHook`` (``event``: upstream
    requests, retries, token fetches, audit writes). ``exposition`` renders a scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        shared = multiprocess_dir()
        if shared is not None:
            multiprocess.MultiProcessCollector(self.registry, path=shared)
        target = None if shared is not None else self.registry  # multiprocess: values go to files, not a registry

        p = PREFIX
        self.calls = Counter(p + "tool_calls", "Tool calls by tool and outcome.", ["tool", "outcome"], registry=target)
        self.duration = Histogram(
            p + "tool_duration_seconds", "Tool call duration.", ["tool"], buckets=DURATION_BUCKETS, registry=target
        )
        self.in_flight = Gauge(p + "calls_in_flight", "Tool calls in progress.", registry=target, **_LIVE)
        self.upstream = Counter(p + "upstream_requests", "API attempts by status.", ["status"], registry=target)
        self.retries = Counter(p + "upstream_retries", "Retried API attempts by reason.", ["reason"], registry=target)
        self.tokens = Counter(p + "token_fetches", "OAuth token fetches by outcome.", ["outcome"], registry=target)
        self.audit = Counter(p + "audit_writes", "Audit log lines written or lost.", ["outcome"], registry=target)
        self.in_flight.set(0)  # present in a scrape before the first call

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The scrape body and its content type: Prometheus text, or OpenMetrics when ``accept`` asks for it."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type

    def call_started(self, name: str) -> None:
        self.in_flight.inc()

    def call_finished(self, record: CallRecord) -> None:
        self.in_flight.dec()
        tool = _tool(record)
        self.calls.labels(tool=tool, outcome=_outcome(record.outcome)).inc()
        self.duration.labels(tool=tool).observe(record.duration_ms / 1000)

    def event(self, kind: str, value: int | str) -> None:
        """The ``tokens.EventHook`` the clients and the audit log report to (``client.py`` lists the events)."""
        if kind == "request":
            self.upstream.labels(status=_status(value)).inc()
        elif kind == "retry":
            self.retries.labels(reason=_status(value)).inc()
        elif kind == "token":
            self.tokens.labels(outcome=_status(value)).inc()
        elif kind == "audit":
            self.audit.labels(outcome=_status(value)).inc()

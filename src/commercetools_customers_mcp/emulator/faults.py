"""Fault injection for the emulator (off unless asked for): a flaky network and a flaky API, reproducibly.

A ``Faults`` holds rules; each rule matches requests by method and a path regex and says what goes wrong:

* ``429`` / ``500`` / ``502`` / ``503`` / ``504`` — answer that status *before* the handler runs (nothing is
  applied), in the commercetools error shape; 429 carries ``Retry-After``.
* ``drop`` — the connection breaks before the handler runs: over a real server the client gets response
  headers and a truncated body, then the socket closes; in process (``httpx2.ASGITransport``) the app raises
  ``ConnectionDropped``, an ``httpx2.RemoteProtocolError``. Either way the client sees a transport error
  after it sent the request, so it cannot know whether the request was applied.
* ``after`` — a *lost response*: the handler runs and its write commits, then the client gets a 502
  instead of the answer. ``after-drop``: the same, but the connection breaks instead.
* ``latency`` — every matching request waits a uniform random time in the range first.

At most one fault (other than latency) hits a request: one draw from a seeded ``random.Random`` against the
cumulative probabilities of the matching rules, so the probabilities are exact and a sequential workload is
reproducible. Every injected response carries ``X-Fault-Injected: <kind>``. ``Faults.stats`` counts requests
seen and faults injected by kind; ``Faults.log`` keeps the last injections (method, path, kind, X-Correlation-ID).

Text form, for the command line (``Faults.parse``)::

    503:0.1,429:0.05,drop:0.02,latency:0-20ms,after:0.05,seed:7,retry-after:1

    item  := KIND ":" VALUE [ "@" SCOPE ]
    KIND  := 429 | 500 | 502 | 503 | 504 | drop | after | after-drop      VALUE: probability 0..1
           | latency   (VALUE: "5ms", "0-20ms", "0.1s", "0-1.5s")
           | seed      (VALUE: integer, whole spec)
           | retry-after  (VALUE: seconds sent with 429, whole spec; default 1)
    SCOPE := METHODS [" " REGEX] | REGEX      METHODS: GET|HEAD|POST|DELETE joined by "|"

``REGEX`` is searched in the request path (``/{projectKey}/...`` or ``/oauth/...``) and cannot contain a
comma in the text form. Without a scope, a rule matches every API request but never the ``/oauth/`` token
endpoints; give a scope such as ``@/oauth/`` to fault those.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx2
import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

STATUS_KINDS = {
    "429": ("TooManyRequests", "Too many requests (injected fault)."),
    "500": ("General", "Internal server error (injected fault)."),
    "502": ("BadGateway", "Bad gateway (injected fault)."),
    "503": ("OverCapacity", "Service unavailable (injected fault)."),
    "504": ("QueryTimedOut", "Gateway timeout (injected fault)."),
}
BEFORE_KINDS = (*STATUS_KINDS, "drop")
AFTER_KINDS = ("after", "after-drop")
FAULT_KINDS = (*BEFORE_KINDS, *AFTER_KINDS)
LOG_SIZE = 10_000
_METHODS = re.compile(r"^([A-Z]+(?:\|[A-Z]+)*)(?:\s+(.+))?$")
_LATENCY = re.compile(r"^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?(ms|s)$")


class FaultSpecError(ValueError):
    """A fault spec that cannot be parsed; the message names the item and what was expected."""


class ConnectionDropped(httpx2.RemoteProtocolError):
    """Raised in process for an injected dropped connection: what the client sees when a socket breaks."""


@dataclass(frozen=True)
class Rule:
    """One fault: ``kind`` (see the module docstring), its probability or latency range, and its scope."""

    kind: str
    probability: float = 0.0
    latency: tuple[float, float] = (0.0, 0.0)  # seconds, for kind "latency"
    methods: frozenset[str] = frozenset()  # empty: every method
    path: re.Pattern[str] | None = None  # None: every API path (not /oauth/)

    def __post_init__(self) -> None:
        if self.kind not in (*FAULT_KINDS, "latency"):
            raise FaultSpecError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}, latency")
        if not 0.0 <= self.probability <= 1.0:
            raise FaultSpecError(f"{self.kind}: probability {self.probability} is not between 0 and 1")
        low, high = self.latency
        if not 0.0 <= low <= high:
            raise FaultSpecError(f"latency range {low}-{high} s is not a range of non-negative numbers")

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method not in self.methods:
            return False
        if self.path is None:
            return not path.startswith("/oauth/")
        return self.path.search(path) is not None

    def __str__(self) -> str:
        if self.kind == "latency":
            low, high = (round(v * 1000, 3) for v in self.latency)
            value = f"{low:g}ms" if low == high else f"{low:g}-{high:g}ms"
        else:
            value = f"{self.probability:g}"
        scope = "|".join(sorted(self.methods))
        if self.path is not None:
            scope = f"{scope} {self.path.pattern}" if scope else self.path.pattern
        return f"{self.kind}:{value}@{scope}" if scope else f"{self.kind}:{value}"


@dataclass(frozen=True)
class Injected:
    method: str
    path: str
    kind: str
    correlation_id: str | None = None  # the request's X-Correlation-ID, if it had one


@dataclass
class Faults:
    """Fault-injection config plus its seeded RNG and counters. Pass to ``create_app(..., faults=...)``."""

    rules: list[Rule] = field(default_factory=list)
    seed: int | None = None
    retry_after: float = 1.0
    stats: Counter[str] = field(default_factory=Counter)
    log: deque[Injected] = field(default_factory=lambda: deque(maxlen=LOG_SIZE))

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        for method in {m for r in self.rules for m in r.methods}:
            if not method.isupper():
                raise FaultSpecError(f"method {method!r} must be upper case")

    @classmethod
    def parse(cls, text: str) -> Faults:
        """The rules of a text spec (see the module docstring); ``""``, ``off`` or ``none`` give no rules."""
        rules: list[Rule] = []
        seed: int | None = None
        retry_after = 1.0
        text = text.strip()
        if text.lower() in ("", "off", "none"):
            return cls()
        for raw in text.split(","):
            item = raw.strip()
            head, at, scope = item.partition("@")
            kind, colon, value = head.partition(":")
            kind, value = kind.strip().lower(), value.strip()
            if not colon or not value:
                raise FaultSpecError(f"fault item {item!r}: expected KIND:VALUE, e.g. 503:0.1 or latency:0-20ms")
            if kind == "seed":
                seed = _number(item, value, int)
                continue
            if kind == "retry-after":
                retry_after = _number(item, value, float)
                if retry_after < 0:
                    raise FaultSpecError(f"fault item {item!r}: retry-after must not be negative")
                continue
            methods, path = _scope(item, scope.strip()) if at else (frozenset(), None)
            if kind == "latency":
                rules.append(Rule("latency", latency=_latency(item, value), methods=methods, path=path))
            else:
                rules.append(Rule(kind, _number(item, value, float), methods=methods, path=path))
        faults = cls(rules, seed=seed, retry_after=retry_after)
        faults.check()
        return faults

    def check(self) -> None:
        """Refuse specs whose fault probabilities for one request could add up to more than 1."""
        total = sum(r.probability for r in self.rules if r.kind != "latency")
        if total > 1.0 + 1e-9:
            raise FaultSpecError(f"fault probabilities add up to {total:g}, more than 1")

    def __str__(self) -> str:
        parts = [str(r) for r in self.rules]
        if self.seed is not None:
            parts.append(f"seed:{self.seed}")
        if self.retry_after != 1.0:
            parts.append(f"retry-after:{self.retry_after:g}")
        return ",".join(parts) or "off"

    @property
    def injected(self) -> int:
        """How many faults (not latencies) were injected so far."""
        return sum(n for kind, n in self.stats.items() if kind in FAULT_KINDS)

    def choose(self, method: str, path: str) -> tuple[float, str | None]:
        """The delay (seconds) and the fault kind, or None, for one request. Draws from the seeded RNG."""
        delay = 0.0
        matching: list[Rule] = []
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            if rule.kind == "latency":
                delay += self.rng.uniform(*rule.latency)
            elif rule.probability > 0:
                matching.append(rule)
        kind = None
        if matching:
            draw, edge = self.rng.random(), 0.0
            for rule in matching:
                edge += rule.probability
                if draw < edge:
                    kind = rule.kind
                    break
        return delay, kind

    def record(self, method: str, path: str, kind: str, correlation_id: str | None = None) -> None:
        self.stats[kind] += 1
        self.log.append(Injected(method, path, kind, correlation_id))


class FaultMiddleware:
    """ASGI middleware applying a ``Faults`` config to HTTP requests (lifespan and others pass through)."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        faults = self.faults
        method = scope["method"]
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else scope["path"]
        faults.stats["requests"] += 1
        delay, kind = faults.choose(method, path)
        if delay > 0:
            faults.stats["latency"] += 1
            await asyncio.sleep(delay)
        if kind is None:
            await self.app(scope, receive, send)
            return
        cid = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-correlation-id"), None)
        faults.record(method, path, kind, cid)
        if kind in STATUS_KINDS:
            await _status(send, kind, faults.retry_after)
        elif kind == "drop":
            await _drop(scope, send, kind)
        else:
            await self.app(scope, receive, _discard)  # the handler runs and commits; its answer is lost
            if kind == "after":
                await _status(send, "502", faults.retry_after, label=kind)
            else:
                await _drop(scope, send, kind)


async def _discard(message: Message) -> None:
    return None


async def _status(send: Send, status: str, retry_after: float, *, label: str | None = None) -> None:
    code, message = STATUS_KINDS[status]
    body = orjson.dumps({"statusCode": int(status), "message": message, "errors": [{"code": code, "message": message}]})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-fault-injected", (label or status).encode()),
    ]
    if status == "429":
        headers.append((b"retry-after", f"{retry_after:g}".encode()))
    await send({"type": "http.response.start", "status": int(status), "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(scope: Scope, send: Send, kind: str) -> None:
    """Break the connection mid-response: headers promising a body, part of it, then nothing."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"statusCode":', "more_body": True})
    if "spec_version" in scope.get("asgi", {}):
        # A real ASGI server (uvicorn, hypercorn): returning without finishing the body makes it close the
        # connection, so the client reads a truncated response.
        return
    # In process (httpx2.ASGITransport): the exception reaches the client as the transport error it stands for.
    raise ConnectionDropped(f"connection dropped (injected fault: {kind})")


def _number(item: str, value: str, kind: type[int] | type[float]) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise FaultSpecError(f"fault item {item!r}: {value!r} is not a number") from None


def _latency(item: str, value: str) -> tuple[float, float]:
    m = _LATENCY.match(value.replace(" ", ""))
    if not m:
        raise FaultSpecError(f"fault item {item!r}: latency must look like 5ms, 0-20ms or 0-1.5s")
    scale = 0.001 if m.group(3) == "ms" else 1.0
    low = float(m.group(1)) * scale
    high = float(m.group(2)) * scale if m.group(2) else low
    if high < low:
        raise FaultSpecError(f"fault item {item!r}: latency range goes down")
    return low, high


def _scope(item: str, scope: str) -> tuple[frozenset[str], re.Pattern[str] | None]:
    if not scope:
        raise FaultSpecError(f"fault item {item!r}: empty scope after '@'")
    methods: Iterable[str] = ()
    pattern: str | None = scope
    m = _METHODS.match(scope)
    if m:
        methods, pattern = m.group(1).split("|"), m.group(2)
    try:
        return frozenset(methods), re.compile(pattern) if pattern else None
    except re.error as exc:
        raise FaultSpecError(f"fault item {item!r}: bad path regex: {exc}") from None

"""A lean HTTP/1.1 load generator for MCP ``tools/call`` POSTs: N virtual clients, each on its own keep-alive
connection, each sending its next request as soon as the previous answer is complete.

The client side shares the machine's cores with the servers it measures, so it must cost little: requests are
prebuilt bytes (only the JSON-RPC id changes), responses are parsed by ``httptools`` (the C parser uvicorn
uses), and a call counts as an error when the status is not 200, the body carries no JSON-RPC ``result``, or
the result is ``isError``. It speaks plain HTTP, not MCP: the request bodies and headers are what an MCP client
sends for one stateless call (see ``load_bench``), so both eras and any server can be driven alike.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httptools


@dataclass(frozen=True)
class Call:
    """One kind of request: where it goes and what it carries; ``{id}`` in ``body`` becomes a request id."""

    host: str
    port: int
    path: str
    headers: tuple[tuple[str, str], ...]
    body: str

    def request(self, request_id: int) -> bytes:
        body = self.body.replace("{id}", str(request_id)).encode()
        head = [f"POST {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass
class Outcome:
    """What one driven run produced."""

    latencies: list[float] = field(default_factory=list)  # seconds, successful calls only
    errors: int = 0
    first_error: str = ""
    seconds: float = 0.0  # wall time of the measured window
    answered: int = 0  # every answer received, warm-up included (what the server's CPU time was spent on)

    @property
    def calls(self) -> int:
        return len(self.latencies)

    def note(self, text: str) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = text[:300]


class _Response:
    """Collects one response from the parser's callbacks (the parser answers ``should_keep_alive`` only while a
    message is being parsed, so it is asked when the message completes)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.done = False
        self.keep_alive = False
        self.parser: httptools.HttpResponseParser | None = None

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.done = True
        self.keep_alive = self.parser is not None and self.parser.should_keep_alive()


class Connection:
    """One client's keep-alive connection to ``call``'s host and port (bench/mixed_bench.py drives it too)."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.call.host, self.call.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, payload: bytes) -> tuple[int, bytes]:
        """Send one request and read its whole response (status, body); reconnects when the server closed."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(payload)
        response = _Response()
        parser = response.parser = httptools.HttpResponseParser(response)
        while not response.done:
            data = await self.reader.read(65536)
            if not data:
                self.close()
                raise ConnectionError("the server closed the connection")
            parser.feed_data(data)
        if not response.keep_alive:
            self.close()
        return parser.get_status_code(), b"".join(response.chunks)


def judge(status: int, body: bytes) -> str | None:
    """Why a response is not a successful tool result, or None when it is."""
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    if b'"result"' not in body:
        return f"no result: {body[:200]!r}"
    if b'"isError":true' in body:
        return f"isError: {body[:200]!r}"
    return None


async def drive(call: Call, concurrency: int, seconds: float, warmup: float = 0.5) -> Outcome:
    """``concurrency`` clients call as fast as answers come for ``warmup`` + ``seconds``; only the last
    ``seconds`` count. Every client stops at the deadline (its call in flight is awaited, not counted late)."""
    outcome = Outcome()
    start = time.perf_counter()
    measure_from = start + warmup
    deadline = measure_from + seconds
    ids = iter(range(1, 1 << 62))

    async def client() -> None:
        connection = Connection(call)
        try:
            while True:
                sent = time.perf_counter()
                if sent >= deadline:
                    return
                try:
                    status, body = await asyncio.wait_for(connection.send(call.request(next(ids))), 30)
                except (TimeoutError, OSError, httptools.HttpParserError) as exc:
                    connection.close()
                    if sent >= measure_from:
                        outcome.note(f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(0.01)
                    continue
                took = time.perf_counter() - sent
                outcome.answered += 1
                if sent < measure_from:
                    continue
                problem = judge(status, body)
                if problem is None:
                    outcome.latencies.append(took)
                else:
                    outcome.note(problem)
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    outcome.seconds = max(time.perf_counter(), deadline) - measure_from
    return outcome

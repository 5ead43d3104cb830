"""Command line: ``serve`` (stdio or HTTP), ``emulator``, ``tools``, ``call`` and ``hash-key``.

This is the one place that wires the emulator and the server together: with no connection configured,
``serve`` and ``call`` run the embedded emulator in process (imported lazily, only then) and reach it through
the real client over ``httpx2.ASGITransport``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import orjson

from . import __version__

if TYPE_CHECKING:  # each side is imported where a command needs it, so `tools` or `hash-key` load little
    from mcp import types
    from mcp.server import Server

    from .core.policy import Policy
    from .core.selection import ToolPolicy
    from .emulator import Settings
    from .emulator.faults import Faults
    from .serving.api_keys import KeyRing
    from .serving.audit import AuditLog
    from .serving.metrics import Metrics
    from .serving.oauth import ResourceServer
    from .upstream.client import CommercetoolsClient
    from .upstream.tokens import EventHook

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level(text: str) -> str:
    """``--log-level``: a level name in any letter case (argparse turns a ValueError into a one-line error)."""
    if text.upper() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(LOG_LEVELS)}")
    return text.upper()


def port_number(text: str) -> int:
    """``--port``: 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


def data_path(text: str) -> str:
    """``--data``: ``:memory:`` or a file in a folder that exists (SQLite would fail later with a traceback)."""
    if text != ":memory:":
        folder = Path(text).expanduser().resolve().parent
        if not folder.is_dir():
            raise argparse.ArgumentTypeError(f"the folder {folder} does not exist; create it or give another path")
    return text


EMULATOR_PCID = "emulator"
EMULATOR_URL = "http://emulator"  # the embedded emulator's pseudo-URL, reached in process only


def default_data_path() -> str:
    """The emulator's SQLite file in the per-user data dir (created on demand)."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    folder = base / "commercetools-customers-mcp"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / "emulator.sqlite3")


def build_clients(
    connections_file: str | None,
    data: str | None,
    demo: bool = True,
    faults: str | None = None,
    events: EventHook | None = None,
) -> dict[str, CommercetoolsClient]:
    """One client per configured connection, or one client of the embedded emulator when none is configured.

    ``faults`` (a ``Faults.parse`` spec) applies to the embedded emulator only; ``events`` (an
    ``tokens.EventHook``, e.g. ``Metrics.event``) hears every client's requests, retries and token fetches."""
    from .config import ConfigError
    from .upstream.client import CommercetoolsClient
    from .upstream.connections import Connection, load_connections
    from .upstream.tokens import ignore_event

    events = events or ignore_event

    connections = load_connections(Path(connections_file) if connections_file else None, os.environ)
    if connections:
        if faults:
            raise ConfigError("--faults applies to the embedded emulator only, and connections are configured")
        return {pcid: CommercetoolsClient(c, events=events) for pcid, c in connections.items()}
    import httpx2

    from .emulator import create_app

    app = create_app(
        data or default_data_path(), demo=demo, faults=_parse_faults(faults), settings=_emulator_settings()
    )
    connection = Connection(
        id=EMULATOR_PCID,
        project_key="demo",
        client_id="emulator",
        client_secret="emulator",
        auth_url=EMULATOR_URL,
        api_url=EMULATOR_URL,
        scopes=["manage_project:demo"],
    )

    class EmulatorTransport(httpx2.ASGITransport):
        """The emulator called in process; closing the client closes the emulator's database too."""

        async def aclose(self) -> None:
            app.state.emulator.store.close()

    return {EMULATOR_PCID: CommercetoolsClient(connection, transport=EmulatorTransport(app=app), events=events)}


def _emulator_settings() -> Settings:
    """The emulator's settings from CTP_EMULATOR_* variables (password cost, indexing delay)."""
    from .config import ConfigError
    from .emulator import Settings

    try:
        return Settings.from_env(os.environ)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _parse_faults(spec: str | None) -> Faults | None:
    if not spec:
        return None
    from .config import ConfigError
    from .emulator.faults import Faults, FaultSpecError

    try:
        return Faults.parse(spec)
    except FaultSpecError as exc:
        raise ConfigError(f"--faults: {exc}") from None


def _setup_logging(level: str, worker: int | None = None) -> None:
    """stderr logging; a worker of ``serve --workers`` says ``worker=<n>`` in every line (its handler replaces the
    one inherited from the supervisor)."""
    tag = f"worker={worker} " if worker is not None else ""
    logging.basicConfig(
        stream=sys.stderr,
        level=level.upper(),
        format=f"%(asctime)s %(levelname)s %(name)s {tag}%(message)s",
        force=worker is not None,
    )
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    # The HTTP app runs two SDK session managers (SSE and JSON answers): each would log its start and stop.
    logging.getLogger("mcp.server.streamable_http_manager").setLevel(logging.WARNING)


def _clients_or_exit(args: argparse.Namespace, events: EventHook | None = None) -> dict[str, CommercetoolsClient]:
    from .config import ConfigError

    try:
        return build_clients(
            args.connections,
            args.data,
            demo=not getattr(args, "no_demo", False),
            faults=getattr(args, "faults", None),
            events=events,
        )
    except ConfigError as exc:
        _fail(str(exc))


def _fail(message: str, prefix: str = "configuration error: ") -> NoReturn:
    print(f"commercetools-customers-mcp: {prefix}{message}", file=sys.stderr)
    raise SystemExit(2)


def _selection(args: argparse.Namespace) -> tuple[ToolPolicy, bool, Policy]:
    """The tool selection, discovery mode and policy rules: the policy file (``--policy`` or
    ``$MCP_POLICY_FILE``) first, a flag given on the command line winning over it. Bad input exits 2."""
    from .config import ConfigError
    from .core.policy import Policy, load_policy
    from .core.selection import SelectionError, ToolNames, ToolPolicy, parse_toolsets

    path = args.policy or os.environ.get("MCP_POLICY_FILE")
    try:
        rules = load_policy(Path(path)) if path else Policy()
    except ConfigError as exc:
        _fail(str(exc))
    chosen = rules.selection
    try:
        policy = ToolPolicy(
            read_only=args.read_only or chosen.get("read_only", False),
            allow=tuple(args.allow_tools or chosen.get("allow_tools", ())),
            deny=tuple(args.deny_tools or chosen.get("deny_tools", ())),
            names=args.tool_names or chosen.get("tool_names", ToolNames.SEED),
            toolsets=parse_toolsets(args.toolsets or chosen.get("toolsets", ["all"])),
        )
        published = {t.name for t in policy.published()}
    except SelectionError as exc:
        _fail(f"{exc}{f' (policy file {path})' if path else ''}")
    unpublished = sorted(set(rules.tools) - published)
    if unpublished:  # a known tool (the file's loader refused unknown ones) that this selection leaves out
        logging.getLogger("commercetools_customers_mcp").info(
            "policy file %s: overrides of tools this selection does not publish have no effect: %s",
            path,
            ", ".join(unpublished),
        )
    return policy, args.tool_discovery or chosen.get("tool_discovery", False), rules


def _metrics_or_exit() -> Metrics:
    """The HTTP server's metrics (``metrics.py``). With ``--workers``, call ``metrics.prepare_multiprocess`` first;
    a ``PROMETHEUS_MULTIPROC_DIR`` that is not a directory is a start-up error (exit 2)."""
    from .serving.metrics import Metrics

    try:
        return Metrics()
    except (OSError, ValueError, RuntimeError) as exc:
        _fail(f"metrics: {exc}")


def _audit_or_exit(args: argparse.Namespace, who: str, events: EventHook | None = None) -> AuditLog | None:
    """The audit log of ``--audit-log`` or ``$MCP_AUDIT_LOG`` (None without either); unopenable: exit 2."""
    path = args.audit_log or os.environ.get("MCP_AUDIT_LOG")
    if not path:
        return None
    from .serving.audit import AuditLog, AuditOpenError
    from .upstream.tokens import ignore_event

    try:
        return AuditLog(path, who=who, events=events or ignore_event)
    except AuditOpenError as exc:
        _fail(str(exc))


async def check_connections(clients: Mapping[str, CommercetoolsClient]) -> list[str]:
    """Fetch one token per configured connection; one message per connection that cannot get one."""
    import httpx2

    from .upstream.tokens import AuthError, TokenProvider

    async def check(pcid: str, client: CommercetoolsClient) -> str | None:
        connection = client.connection
        timeout = httpx2.Timeout(connection.timeout, connect=connection.connect_timeout)
        async with httpx2.AsyncClient(timeout=timeout) as http:
            provider = TokenProvider(connection, http)
            try:
                await provider.get_token()
            except AuthError as exc:
                detail = f" ({exc.description})" if exc.description else ""
                refused = f"the auth server {exc.host} refused a token: HTTP {exc.status} {exc.error}{detail}"
                return f"connection {pcid!r}: {refused}"
            except httpx2.TransportError as exc:
                return f"connection {pcid!r}: cannot reach the auth URL {provider.url}: {type(exc).__name__}"
        return None

    found = await asyncio.gather(*(check(pcid, client) for pcid, client in clients.items()))
    return [problem for problem in found if problem]


def _load_keys(args: argparse.Namespace, pcids: Sequence[str]) -> KeyRing:
    from .config import ConfigError
    from .core.calls import ALL_PCIDS
    from .serving.api_keys import load_api_keys

    try:
        keys = load_api_keys(Path(args.api_keys) if args.api_keys else None, os.environ)
    except ConfigError as exc:
        _fail(str(exc))
    for key in keys.keys:
        unknown = sorted(key.pcids - set(pcids) - {ALL_PCIDS})
        if unknown:
            _fail(
                f"API key {key.name!r} names unknown connection(s) {', '.join(unknown)}; configured: {', '.join(pcids)}"
            )
    return keys


def _load_oauth(args: argparse.Namespace, keys: KeyRing) -> ResourceServer | None:
    """The OAuth resource server the ``--oauth-*`` flags ask for (None without ``--oauth-issuer``); exit 2 on a
    bad combination or value. ``serving.oauth`` (PyJWT) is imported only here."""
    if not args.oauth_issuer:
        if args.oauth_audience or args.oauth_resource_url:
            _fail("--oauth-audience and --oauth-resource-url need --oauth-issuer")
        return None
    if keys:
        _fail(
            "--oauth-issuer cannot be combined with API keys (--api-keys, MCP_API_KEYS_FILE or MCP_API_KEY): "
            "an HTTP server authenticates with one or the other"
        )
    from .config import ConfigError
    from .serving.oauth import OAuthSettings, ResourceServer

    host = f"[{args.host}]" if ":" in args.host else args.host
    try:
        settings = OAuthSettings(
            issuer=args.oauth_issuer,
            audiences=tuple(args.oauth_audience),
            resource_url=args.oauth_resource_url or f"http://{host}:{args.port}",
            scope_prefix=args.oauth_scope_prefix,
            pcids_claim=args.oauth_pcids_claim,
        )
    except ConfigError as exc:
        _fail(str(exc))
    return ResourceServer(settings)


async def _close(clients: Mapping[str, CommercetoolsClient]) -> None:
    for client in clients.values():
        await client.aclose()


def cmd_serve(args: argparse.Namespace) -> int:
    worker = getattr(args, "worker", None)  # set in a worker process of --workers N
    _setup_logging(args.log_level, worker)
    from .serving.api_keys import is_loopback

    if args.max_body_bytes <= 0:
        _fail("--max-body-bytes must be a positive number of bytes", prefix="")
    _check_workers(args)
    if args.transport == "http":
        from .serving.transports import check_uvicorn

        try:
            check_uvicorn()
        except RuntimeError as exc:
            _fail(str(exc), prefix="")
    supervisor = args.workers > 1  # checks the configuration once, then forks workers that build their own
    metrics = _metrics_or_exit() if args.transport == "http" and not supervisor else None
    events = metrics.event if metrics is not None else None
    audit = _audit_or_exit(args, "stdio" if args.transport == "stdio" else "http", events)
    clients = _clients_or_exit(args, events)
    if supervisor and args.data == ":memory:" and EMULATOR_PCID in clients:
        asyncio.run(_close(clients))
        _fail(
            f"--data :memory: cannot be shared by --workers {args.workers}: each worker would get its own empty "
            "database. Give a file path (--data PATH; the workers share it) or run one worker.",
            prefix="",
        )
    keys = _load_keys(args, list(clients))
    oauth = _load_oauth(args, keys)
    logger = logging.getLogger("commercetools_customers_mcp")
    authenticated = keys or oauth is not None
    if args.transport == "http" and not authenticated and not is_loopback(args.host) and not args.allow_unauthenticated:
        asyncio.run(_close(clients))
        _fail(
            f"refusing to serve HTTP on the non-loopback address {args.host} without API keys: anyone who can "
            "reach it could use every configured connection. Configure keys (--api-keys FILE, "
            "MCP_API_KEYS_FILE or MCP_API_KEY) or OAuth (--oauth-issuer), or pass --allow-unauthenticated.",
            prefix="",
        )
    if args.transport == "stdio" and authenticated:
        logger.warning("API keys and OAuth apply to the HTTP transport only; stdio is not authenticated")
    if oauth is not None and not args.oauth_resource_url and not is_loopback(args.host):
        logger.warning(
            "the OAuth metadata names %s as this server; pass --oauth-resource-url with the URL clients use",
            oauth.settings.origin,
        )
    if oauth is not None and args.transport == "http" and not args.no_check:
        from .serving.oauth import TokenRejected

        try:
            asyncio.run(oauth.verifier.discover())
        except TokenRejected as exc:
            asyncio.run(_close(clients))
            _fail(f"start-up check failed (use --no-check to skip it):\n  OAuth issuer: {exc.description}")
    remote = {pcid: c for pcid, c in clients.items() if c.connection.auth_url != EMULATOR_URL}
    if remote and not args.no_check:
        problems = asyncio.run(check_connections(remote))
        if problems:
            asyncio.run(_close(clients))
            _fail("start-up check failed (use --no-check to skip it):\n  " + "\n  ".join(problems))
    if supervisor:
        asyncio.run(_close(clients))  # each worker makes its own clients (and opens the emulator's database)
        if audit is not None:
            audit.close()  # and opens the audit log itself (O_APPEND: the workers' lines never interleave)
        return _serve_workers(args)
    from .core.server import build_server
    from .serving.transports import http_app, run_http, run_stdio, transport_security

    listening = getattr(args, "listen_socket", None)  # a worker's inherited socket
    inherited = listening is not None
    if args.transport == "http" and listening is None:  # bound before saying so: a port in use is one line
        from .serving.workers import bind

        try:
            listening = bind(args.host, args.port)
        except OSError as exc:
            asyncio.run(_close(clients))
            _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", prefix="")
    port = listening.getsockname()[1] if listening is not None else args.port
    policy, discovery, rules = _selection(args)
    observers = [o for o in (audit, metrics) if o is not None]
    server = build_server(
        clients,
        compact=args.compact_schemas,
        policy=policy,
        discovery=discovery,
        rules=rules,
        observers=observers,
        confirm_destructive=args.confirm_destructive,
        state_key=getattr(args, "state_key", None),
    )

    async def serve() -> None:
        try:
            if args.transport == "stdio":
                await run_stdio(server)
            else:
                security = transport_security(args.host, args.allowed_host, args.allowed_origin)
                app = http_app(
                    server,
                    connection_ids=list(clients),
                    json_response=args.json_response,
                    security=security,
                    keys=keys,
                    max_body_bytes=args.max_body_bytes,
                    oauth=oauth,
                    metrics=metrics,
                    metrics_readers=frozenset(args.metrics_reader),
                    worker=worker,
                )
                if oauth is not None:
                    auth = f"OAuth access tokens from {oauth.settings.issuer}; metadata at {oauth.metadata_url('/mcp')}"
                else:
                    auth = f"{len(keys.keys)} API key(s)" if keys else "no API keys"
                logger.info("serving MCP on http://%s:%s/commercetools-customers and /mcp (%s)", args.host, port, auth)
                await run_http(app, args.host, port, args.log_level, sock=listening, worker=inherited)
        finally:
            await _close(clients)
            if audit is not None:
                audit.close()

    from .serving.transports import run_loop

    # What exists now (modules, schemas, validators, clients, the app) lives as long as the server: move it out of
    # the collector's sight. Otherwise each full collection walked all of it, every few hundred calls: pauses of
    # ~60 ms (the p99 under load) and ~8 % of the CPU per call (python -m bench --workloads load). No collect()
    # first: it cost ~38 ms of every start, to free the little garbage start-up leaves.
    gc.freeze()
    run_loop(serve())
    return 0


def _check_workers(args: argparse.Namespace) -> None:
    if args.workers < 1:
        _fail("--workers must be at least 1", prefix="")
    if args.workers > 1 and args.transport != "http":
        _fail("--workers applies to --transport http only (stdio serves one client)", prefix="")
    from .serving.workers import can_fork

    if args.workers > 1 and not can_fork():
        _fail("--workers above 1 needs a system with fork(); run one server per port instead", prefix="")


def _serve_workers(args: argparse.Namespace) -> int:
    """Bind once, then run ``cmd_serve`` in each of ``args.workers`` forked processes (see ``workers``): the
    configuration was checked here already, so each worker only builds its own clients, observers and app.
    Metrics use prometheus-client's multiprocess mode (``$PROMETHEUS_MULTIPROC_DIR``, else a temporary folder),
    so a scrape of any worker shows the sum over all of them."""
    import contextlib
    import copy

    from .serving.metrics import mark_process_dead, multiprocess_mode
    from .serving.workers import Supervisor, bind

    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", prefix="")
    port = sock.getsockname()[1]
    args.state_key = os.urandom(32)  # one key seals every worker's request states: a retry may reach another

    def worker(index: int, listening: socket.socket) -> int:
        mine = copy.copy(args)
        mine.workers, mine.worker, mine.listen_socket, mine.port, mine.no_check = 1, index, listening, port, True
        return cmd_serve(mine)

    metrics_dir = contextlib.ExitStack()
    try:
        folder = metrics_dir.enter_context(multiprocess_mode())
    except (OSError, ValueError, RuntimeError) as exc:
        sock.close()
        _fail(f"metrics: {exc}")
    with metrics_dir:
        logging.getLogger("commercetools_customers_mcp").info(
            "serving MCP on http://%s:%s/commercetools-customers and /mcp with %d workers (metrics in %s)",
            args.host,
            port,
            args.workers,
            folder,
        )
        return Supervisor(args.workers, sock, worker, worker_exited=lambda pid: mark_process_dead(pid, folder)).run()


def cmd_emulator(args: argparse.Namespace) -> int:
    import uvicorn

    from .emulator import (
        ANY_PROJECT,
        DEMO_PROJECT,
        UVICORN_OPTIONS,
        AccessLog,
        create_app,
        parse_client,
    )
    from .serving.transports import transport_security

    _setup_logging(args.log_level)
    projects = list(dict.fromkeys(args.project)) or [ANY_PROJECT]
    # the project a token request without scope gets, and the one the start-up output names
    default_project = args.project[0] if args.project else DEMO_PROJECT
    pinned = None
    if args.client:
        pinned = {}
        for spec in args.client:
            try:
                client_id, client = parse_client(spec, default_project)
            except ValueError as exc:
                print(f"--client: {exc}", file=sys.stderr)
                return 2
            pinned[client_id] = client
    from .config import ConfigError

    try:
        faults = _parse_faults(args.faults)
        settings = _emulator_settings()
        open_client = None if pinned else _suggested_scopes(default_project, projects)
    except ConfigError as exc:
        _fail(str(exc), prefix="")
    # the same Host allow-list as `serve` (DNS rebinding): on loopback binds localhost names only
    security = transport_security(args.host, args.allowed_host)
    hosts = security.allowed_hosts if security.enable_dns_rebinding_protection else None
    data = args.data or EMULATOR_DATA
    app = create_app(
        data,
        clients=pinned,
        demo=not args.no_demo and (ANY_PROJECT in projects or DEMO_PROJECT in projects),
        project=default_project,
        projects=projects,
        faults=faults,
        settings=settings,
        allowed_hosts=hosts,
    )
    try:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.create_server((args.host, args.port), family=family)
    except OSError as exc:
        _fail(f"cannot listen on {args.host}:{args.port}: {exc}", prefix="")
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else host}:{sock.getsockname()[1]}"
    shown = default_project
    if pinned:  # the first pinned client, in the first project it holds a scope of
        client_id, client = next(iter(pinned.items()))
        credentials = (client_id, client.secret or "", client.scopes)
        held = [p for p in (s.partition(":")[2] for s in client.scopes) if p != ANY_PROJECT]
        shown = held[0] if held else default_project
    else:
        assert open_client is not None
        credentials = ("my-client", "my-secret", open_client)
    print(startup_text(url, shown, *credentials, data=data, any_project=not pinned and not args.project))
    sys.stdout.flush()
    # our access log (AccessLog: one buffered write per burst, not uvicorn's per-request record and flush)
    access = logging.getLevelName(args.log_level) <= logging.INFO  # a known name: --log-level checks it
    config = uvicorn.Config(
        AccessLog(app) if access else app,
        access_log=False,
        log_level=args.log_level.lower(),
        # by name: a dict[str, bool] spread into uvicorn.Config could fill any of its parameters, as far as types go
        proxy_headers=UVICORN_OPTIONS["proxy_headers"],
        server_header=UVICORN_OPTIONS["server_header"],
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


# `emulator` keeps its data apart from `serve`'s: a test double is usually throw-away (each start is a clean
# slate, and no test data lands in the MCP server's demo project); `--data PATH` keeps it on disk.
EMULATOR_DATA = ":memory:"


def _suggested_scopes(project: str, projects: Sequence[str]) -> tuple[str, ...]:
    """The scopes the start-up output suggests for the open client: ``manage_project`` of the default project."""
    from .config import ConfigError
    from .emulator import scopes

    for key in projects:
        try:
            scopes.check(f"manage_project:{key}")
        except ValueError:
            raise ConfigError(f"--project: not a project key: {key!r}") from None
    return (f"manage_project:{project}",)


def startup_text(
    url: str,
    project: str,
    client_id: str,
    secret: str,
    client_scopes: Sequence[str],
    *,
    data: str,
    any_project: bool,
) -> str:
    """What ``emulator`` prints on start (stdout): where it is, credentials that work, lines to paste."""
    from .testing import INSECURE_TRANSPORT, ctp_env

    wanted = [s for s in client_scopes if s.endswith(f":{project}")] or [
        s.replace(":*", f":{project}") for s in client_scopes
    ]
    env = ctp_env(url, url, project, client_id, secret, tuple(wanted))
    where = "in memory, gone when it stops; --data PATH keeps it" if data == ":memory:" else f"in {data}"
    lines = [f"commercetools emulator: API and auth at {url} (data {where})"]
    if any_project:
        lines.append(
            f"Any project key and any client id and secret work: ask for manage_project:<your-key> (or view_…, "
            f"manage_customers:… of it) and use that key; {project!r} below is an example."
        )
    lines += ["Paste into your shell or .env:", *(f"export {k}={v}" for k, v in env.items())]
    lines += [
        f"export {k}={v}  # the official Python SDK refuses plain http without it"
        for k, v in INSECURE_TRANSPORT.items()
    ]
    lines.append("# Python SDK: Client(url=os.environ['CTP_API_URL']) reads the other CTP_* itself")
    return "\n".join(lines)


def cmd_tools(args: argparse.Namespace) -> int:
    from .core.catalog.schemas import input_schema
    from .core.catalog.tools import TOOLS
    from .core.server import build_server

    policy, discovery, rules = _selection(args)
    if args.sizes:
        sys.stdout.write(asyncio.run(_sizes_table(policy, discovery, rules)))
        return 0
    if args.json or discovery:
        server_tools = build_server({}, compact=args.compact_schemas, policy=policy, discovery=discovery, rules=rules)
        payload = asyncio.run(_list_tools(server_tools))
        if args.json:
            sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
        else:
            for tool in payload["tools"]:
                print(f"{tool['name']}  {tool.get('title', '')}")
        return 0
    shown = [(policy.published_name(t), t) for t in TOOLS if policy.visible(t)]
    width = max((len(name) for name, _ in shown), default=0)
    for name, tool in shown:
        required = [r for r in input_schema(tool).get("required", []) if r != "PCID"]
        print(f"{name:<{width}}  {tool.method:<6}  {tool.path:<58}  {', '.join(required) or '-'}")
    return 0


async def _sizes_table(policy: ToolPolicy, discovery: bool = False, rules: Policy | None = None) -> str:
    """The bytes of each tool in the ``tools/list`` result (compact JSON), default and ``--compact-schemas``, as a
    Markdown table (the README's): the tools as this selection publishes them, with PCID optional."""
    from .core.catalog.tools import PREFIX
    from .core.server import build_server

    listed = [
        await _list_tools(build_server({}, compact=compact, policy=policy, discovery=discovery, rules=rules))
        for compact in (False, True)
    ]
    lines = [f"| Tool (prefix `{PREFIX}`) | Default | Compact |", "|---|---:|---:|"]
    for full, compact in zip(listed[0]["tools"], listed[1]["tools"], strict=True):
        lines.append(f"| `{full['name'].removeprefix(PREFIX)}` | {_size(full):,} | {_size(compact):,} |")
    lines.append(f"| **tools/list result** | **{_size(listed[0]):,}** | **{_size(listed[1]):,}** |")
    return "\n".join(lines) + "\n"


def _size(value: Any) -> int:
    return len(orjson.dumps(value))


async def _list_tools(server: Server[Any]) -> dict[str, Any]:
    from mcp import Client

    async with Client(server, cache=None) as client:
        result = await client.list_tools()
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


def parse_arguments(
    pairs: Sequence[str], json_text: str | None, properties: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``--json`` first, then each ``--arg name=value``: the value as the parameter's schema types it (a string
    parameter takes the text as it is, so ``key=123`` stays "123"), else as JSON when it is valid JSON."""
    arguments: dict[str, Any] = {}
    if json_text:
        loaded = orjson.loads(json_text)
        if not isinstance(loaded, dict):
            raise ValueError("--json must be a JSON object")
        arguments.update(loaded)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--arg expects name=value, got {pair!r}")
        if (properties or {}).get(name, {}).get("type") == "string":
            arguments[name] = value
            continue
        try:
            arguments[name] = orjson.loads(value)
        except orjson.JSONDecodeError:
            arguments[name] = value
    return arguments


def resolve_tool(name: str) -> str:
    """The seed name of a tool named in any form (seed or short, with or without the prefix); a ``ValueError``
    naming the nearest tools for an unknown name."""
    import difflib

    from .core.catalog.names import SHORT_NAMES, seed_name
    from .core.catalog.tools import BY_NAME, PREFIX

    for form in (name, PREFIX + name):
        if seed_name(form) in BY_NAME:
            return seed_name(form)
    forms = [form.removeprefix(PREFIX) for seed in BY_NAME for form in (seed, SHORT_NAMES[seed])]
    near = difflib.get_close_matches(name.removeprefix(PREFIX), dict.fromkeys(forms), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else "; `commercetools-customers-mcp tools` lists them"
    raise ValueError(f"no tool named {name!r}{hint}")


def cmd_call(args: argparse.Namespace) -> int:
    _setup_logging(args.log_level)
    from .core.catalog.schemas import input_schema
    from .core.catalog.tools import BY_NAME
    from .core.discovery import META_NAMES

    try:
        tool = args.tool if args.tool in META_NAMES else resolve_tool(args.tool)
        properties = input_schema(BY_NAME[tool])["properties"] if tool in BY_NAME else {}
        arguments = parse_arguments(args.arg, args.json, properties)
    except (ValueError, orjson.JSONDecodeError) as exc:
        print(f"commercetools-customers-mcp: {exc}", file=sys.stderr)
        return 2
    if args.pcid:
        arguments["PCID"] = args.pcid
    audit = _audit_or_exit(args, "cli")
    clients = _clients_or_exit(args)
    from .core.server import build_server

    policy, discovery, rules = _selection(args)
    observers = [audit] if audit is not None else []
    server = build_server(
        clients,
        policy=policy,
        discovery=discovery,
        rules=rules,
        observers=observers,
        confirm_destructive=args.confirm_destructive,
    )

    async def yes(context: Any, params: Any) -> types.ElicitResult:
        """--yes: the user, answering a delete's confirmation before it is asked."""
        from mcp import types

        return types.ElicitResult(action="accept", content={"confirm": True})

    async def call() -> types.CallToolResult:
        from mcp import Client

        try:
            async with Client(server, elicitation_callback=yes if args.yes else None) as client:
                return await client.call_tool(tool, arguments)
        finally:
            await _close(clients)
            if audit is not None:
                audit.close()

    result = asyncio.run(call())
    if result.structured_content is not None:
        out = orjson.dumps(result.structured_content, option=orjson.OPT_INDENT_2).decode()
    else:
        out = "\n".join(getattr(c, "text", "") for c in result.content)
    print(out)
    return 1 if result.is_error else 0


def cmd_hash_key(args: argparse.Namespace) -> int:
    from .serving.api_keys import hash_line

    if sys.stdin.isatty():
        import getpass

        secret = getpass.getpass("API key secret: ")
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    if not secret.strip():
        print("commercetools-customers-mcp: hash-key: the secret on stdin is empty", file=sys.stderr)
        return 2
    print(hash_line(secret))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .core.catalog.tools import TOOLSETS
    from .core.selection import ToolNames

    parser = argparse.ArgumentParser(
        prog="commercetools-customers-mcp", description="MCP server for the customer side of commercetools."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, level: str = "INFO") -> None:
        p.add_argument("--connections", metavar="FILE", help="TOML file with [connections.<id>] tables")
        p.add_argument(
            "--data", type=data_path, metavar="PATH", help="emulator SQLite file (default: per-user data dir; :memory:)"
        )
        p.add_argument("--log-level", type=log_level, default=level, metavar="LEVEL", help="stderr log level")
        p.add_argument("--audit-log", metavar="FILE", help="append a JSON line per data-changing call; $MCP_AUDIT_LOG")

    def tool_policy(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--toolsets",
            action="append",
            default=[],
            metavar="LIST",
            help="comma-separated toolsets to publish (repeatable; default all): " + ", ".join(["all", *TOOLSETS]),
        )
        p.add_argument(
            "--tool-discovery", action="store_true", help="list only find_tools, describe_tool and call_tool"
        )
        p.add_argument("--read-only", action="store_true", help="publish only read-only tools")
        p.add_argument("--allow-tools", action="append", default=[], metavar="PATTERN", help="publish only matches")
        p.add_argument("--deny-tools", action="append", default=[], metavar="PATTERN", help="hide matching tools")
        p.add_argument(
            "--tool-names",
            choices=[str(mode) for mode in ToolNames],
            default=None,
            help="short: every tool name <= 64 chars",
        )
        p.add_argument(
            "--policy", metavar="FILE", help="TOML policy file ($MCP_POLICY_FILE): output filtering, overrides"
        )

    def confirm(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--confirm-destructive",
            choices=["off", "if-supported", "always"],
            default=None,
            help="whether a delete asks its user first (default: the policy file's, else if-supported)",
        )

    defaults = argparse.ArgumentDefaultsHelpFormatter  # every --help shows the defaults
    serve = sub.add_parser("serve", help="serve MCP over stdio (default) or streamable HTTP", formatter_class=defaults)
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="how MCP is served")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address")
    serve.add_argument("--port", type=port_number, default=8000, help="HTTP port (0: any free port)")
    common(serve)
    serve.add_argument("--no-demo", action="store_true", help="do not seed the embedded emulator with demo data")
    serve.add_argument("--json-response", action="store_true", help="answer HTTP POSTs with JSON, never SSE")
    serve.add_argument("--compact-schemas", action="store_true", help="smaller tools/list: no field descriptions")
    serve.add_argument("--allowed-host", action="append", default=[], metavar="H", help="extra allowed Host header")
    serve.add_argument("--allowed-origin", action="append", default=[], metavar="O", help="extra allowed Origin")
    serve.add_argument("--api-keys", metavar="FILE", help="TOML file of bearer API keys (HTTP); $MCP_API_KEYS_FILE")
    serve.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="allow HTTP on a non-loopback host without API keys or OAuth",
    )
    serve.add_argument("--oauth-issuer", metavar="URL", help="accept OAuth access tokens (JWT) from this issuer")
    serve.add_argument(
        "--oauth-audience", action="append", default=[], metavar="AUD", help="accepted token aud (repeatable)"
    )
    serve.add_argument("--oauth-resource-url", metavar="URL", help="this server's origin as clients reach it")
    serve.add_argument(
        "--oauth-scope-prefix", default="commercetools-customers", metavar="P", help="scopes P:read and P:write"
    )
    serve.add_argument("--oauth-pcids-claim", default="pcids", metavar="NAME", help="claim listing a token's PCIDs")
    serve.add_argument(
        "--metrics-reader",
        action="append",
        default=[],
        metavar="NAME",
        help="API key name or token subject that may read /metrics (repeatable; none: keys for every connection)",
    )
    serve.add_argument("--max-body-bytes", type=int, default=4 * 1024 * 1024, metavar="N", help="HTTP body limit")
    serve.add_argument(
        "--no-check", action="store_true", help="skip the start-up checks (a token per connection, the OAuth issuer)"
    )
    serve.add_argument("--faults", metavar="SPEC", help="fault injection for the embedded emulator (testing)")
    serve.add_argument(
        "--workers", type=int, default=1, metavar="N", help="HTTP: N processes answering on one port (default 1)"
    )
    tool_policy(serve)
    confirm(serve)
    serve.set_defaults(func=cmd_serve)

    emu = sub.add_parser("emulator", help="serve the commercetools emulator over HTTP", formatter_class=defaults)
    emu.add_argument("--host", default="127.0.0.1", help="bind address")
    emu.add_argument("--port", type=port_number, default=8080, help="port (0: any free port)")
    emu.add_argument(
        "--data",
        type=data_path,
        metavar="PATH",
        help="SQLite file to keep the data in (default: in memory, apart from serve's file)",
    )
    emu.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="KEY",
        help="serve only these project keys (repeatable; default: any key a client names)",
    )
    emu.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="ID:SECRET[:SCOPES]",
        help="pin an API client and its scopes (default manage_project of the first --project, else demo); "
        "then only pinned clients are accepted. Without any, every client id and secret is accepted",
    )
    emu.add_argument("--allowed-host", action="append", default=[], metavar="H", help="extra allowed Host header")
    emu.add_argument("--no-demo", action="store_true")
    emu.add_argument("--log-level", type=log_level, default="INFO", metavar="LEVEL", help="stderr log level")
    emu.add_argument("--faults", metavar="SPEC", help="fault injection, e.g. 503:0.1,drop:0.02,seed:7")
    emu.set_defaults(func=cmd_emulator)

    tools = sub.add_parser("tools", help="print the tool catalogue")
    tools.add_argument("--json", action="store_true", help="the tools/list result as JSON")
    tools.add_argument("--compact-schemas", action="store_true")
    tools.add_argument("--sizes", action="store_true", help="bytes per tool in tools/list, default and compact")
    tool_policy(tools)
    tools.set_defaults(func=cmd_tools)

    call = sub.add_parser("call", help="run one tool in process and print its result", formatter_class=defaults)
    call.add_argument("tool", help="a tool name: seed or short, with or without the commercetools_customers_ prefix")
    call.add_argument(
        "--arg", action="append", default=[], metavar="NAME=VALUE", help="one argument, typed by the tool's schema"
    )
    call.add_argument("--json", metavar="OBJECT", help="all arguments as one JSON object")
    call.add_argument("--pcid", metavar="ID", help="the connection (PCID)")
    common(call, level="WARNING")
    tool_policy(call)
    confirm(call)
    call.add_argument("--yes", action="store_true", help="confirm a delete (stands for the user's answer)")
    call.set_defaults(func=cmd_call)

    hash_key = sub.add_parser("hash-key", help="print the key-file hash line for an API key secret read from stdin")
    hash_key.set_defaults(func=cmd_hash_key)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `tools | head`: the reader left; say nothing more (and let no flush at exit fail)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

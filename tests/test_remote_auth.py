"""OAuth for the HTTP transport (``remote_auth``): the real server behind uvicorn on loopback, the real MCP client
carrying a bearer token, the real emulator behind it; the authorization server is either a stand-in on loopback
(a Starlette app serving a discovery document and a JWKS, tokens minted with PyJWT: always runs) or the certified
``oidc-provider`` from npm (``tests/oidc``; skipped without Node.js and npm)."""

from __future__ import annotations

import asyncio
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from mcp import Client, StdioServerParameters
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.provider import AccessToken
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from commercetools_customers_mcp.cli import main
from commercetools_customers_mcp.core.catalog.tools import DEFAULT_TOOLS
from commercetools_customers_mcp.core.server import build_server
from commercetools_customers_mcp.serving.oauth import (
    JwtVerifier,
    OAuthSettings,
    ResourceServer,
    TokenRejected,
    principal_for,
)
from commercetools_customers_mcp.serving.transports import http_app
from mcp_helpers import SEED_COUNT, free_port, serving
from test_security import MODES, P, close, two_projects

AUD = "https://mcp.example.com/mcp"
RESOURCE = "https://mcp.example.com"
READ, WRITE = "commercetools-customers:read", "commercetools-customers:write"
READ_ONLY_COUNT = sum(t.read_only for t in DEFAULT_TOOLS)
METADATA = "/.well-known/oauth-protected-resource"
ACCEPT = {"Accept": "application/json"}
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


class Issuer:
    """A stand-in authorization server: a discovery document and a JWKS served on loopback, signing keys it can
    rotate, and access tokens minted with PyJWT (including the broken ones a real provider will not mint)."""

    def __init__(self, *, document: str = "openid-configuration") -> None:
        self.url = ""
        self.document = document
        self.keys: dict[str, Any] = {"k1": ec.generate_private_key(ec.SECP256R1())}
        self.jwks_fetches = 0
        self.jwks_status = 200  # 503: the keys endpoint fails
        self.issuer_override: str | None = None

    def app(self) -> Starlette:
        async def metadata(request: Request) -> Response:
            return JSONResponse({"issuer": self.issuer_override or self.url, "jwks_uri": self.url + "/jwks"})

        async def jwks(request: Request) -> Response:
            self.jwks_fetches += 1
            if self.jwks_status != 200:
                return JSONResponse({"error": "unavailable"}, status_code=self.jwks_status)
            return JSONResponse({"keys": [public_jwk(kid, key) for kid, key in self.keys.items()]})

        return Starlette(routes=[Route(f"/.well-known/{self.document}", metadata), Route("/jwks", jwks)])

    def token(self, scope: str = WRITE, *, kid: str = "k1", key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": self.url, "aud": AUD, "sub": "agent-7", "iat": now, "exp": now + 300, "scope": scope}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        signer = key if key is not None else self.keys[kid]
        algorithm = "RS256" if isinstance(signer, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(payload, signer, algorithm=algorithm, headers={"kid": kid})

    def settings(self, **extra: Any) -> OAuthSettings:
        return OAuthSettings(issuer=self.url, audiences=(AUD,), resource_url=RESOURCE, **extra)


def public_jwk(kid: str, key: Any) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        return {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": "RS256"}
    return {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": "ES256"}


async def issuer_serving(issuer: Issuer) -> AsyncIterator[Issuer]:
    async with serving(issuer.app()) as base:
        issuer.url = base
        yield issuer


@pytest.fixture
async def issuer() -> AsyncIterator[Issuer]:
    async for running in issuer_serving(Issuer()):
        yield running


def with_token(url: str, token: str, **kwargs: Any) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return Client(streamable_http_client(url, http_client=http), **kwargs)


def oauth_app(settings: OAuthSettings) -> tuple[Any, Any, Any]:
    clients, transport = two_projects()
    app = http_app(build_server(clients), connection_ids=list(clients), oauth=ResourceServer(settings))
    return app, clients, transport


def child_env() -> dict[str, str]:
    """The environment for a child ``serve``: no connection or API key from the developer's shell."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("CTP_", "MCP_API_KEY"))}


def challenge(response: httpx2.Response) -> str:
    return response.headers.get("www-authenticate", "")


# --- Valid tokens: scopes and PCIDs ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_write_and_read_tokens(issuer: Issuer, mode: str) -> None:
    """:write lists and runs every tool; :read alone lists only read-only tools and is refused a write before any
    API request; the caller reaches the tool handler in both protocol eras."""
    app, clients, transport = oauth_app(issuer.settings())
    async with serving(app) as base:
        async with with_token(base + "/mcp", issuer.token(f"openid {WRITE}"), mode=mode) as writer:
            assert len((await writer.list_tools()).tools) == SEED_COUNT
            created = await writer.call_tool(P + "create_customer_groups", {"PCID": "eu", "groupName": "A"})
            assert not created.is_error, created
        async with with_token(base + "/commercetools-customers", issuer.token(READ), mode=mode) as reader:
            listed = (await reader.list_tools()).tools
            assert len(listed) == READ_ONLY_COUNT and all(t.annotations.read_only_hint for t in listed)
            read = await reader.call_tool(P + "list_customer_groups", {"PCID": "eu"})
            assert not read.is_error and read.structured_content["count"] == 1
            before = len(transport.requests)
            refused = await reader.call_tool(P + "create_customer_groups", {"PCID": "eu", "groupName": "B"})
            assert refused.is_error
            assert refused.structured_content["message"] == (
                f"Tool '{P}create_customer_groups' is disabled for this access token, "
                "which may use read-only tools only."
            )
            assert len(transport.requests) == before
    await close(clients)


@pytest.mark.parametrize("mode", MODES)
async def test_pcids_claim_limits_connections(issuer: Issuer, mode: str) -> None:
    app, clients, transport = oauth_app(issuer.settings(pcids_claim="https://example.com/pcids"))
    token = issuer.token(WRITE, **{"https://example.com/pcids": ["eu"]})
    async with serving(app) as base, with_token(base + "/mcp", token, mode=mode) as client:
        own = await client.call_tool(P + "list_customer_groups", {"PCID": "eu"})
        before = len(transport.requests)
        other = await client.call_tool(P + "list_customer_groups", {"PCID": "us"})
    assert not own.is_error
    assert other.is_error and other.structured_content["message"] == "This access token may not use connection 'us'."
    assert other.structured_content["knownConnections"] == ["eu"]
    assert len(transport.requests) == before
    await close(clients)


def test_pcids_claim_forms() -> None:
    """Absent: every connection; a list or a space/comma-separated string; anything else is refused. The name
    is the subject's, made printable."""
    settings = OAuthSettings(issuer="http://127.0.0.1:1", audiences=("a",), resource_url=RESOURCE)

    def principal(claims: dict[str, Any], subject: str | None = "s") -> Any:
        access = AccessToken(token="t", client_id="c", scopes=[READ], subject=subject, claims=claims)
        return principal_for(access, settings)

    assert principal({}).allows("anything") and principal({}).read_only
    assert principal({"pcids": "eu, us"}).pcids == {"eu", "us"}
    assert principal({"pcids": []}).pcids == frozenset()
    assert principal({}, subject="a b\nc").name == "a?b?c" and principal({}, subject=None).name == "c"
    for bad in ({"eu": True}, [1], 7):
        with pytest.raises(TokenRejected, match="pcids claim must be a list"):
            principal({"pcids": bad})


# --- Refusals: 401 / 403 before MCP, with reasons ------------------------------------------------------------


async def test_refusals_say_why_and_point_at_the_metadata(issuer: Issuer) -> None:
    app, clients, transport = oauth_app(issuer.settings(jwks_cooldown=3600))
    stranger = ec.generate_private_key(ec.SECP256R1())
    past = int(time.time()) - 600
    cases = {
        "not a well-formed JWT": "not.a.jwt",
        "has expired": issuer.token(exp=past, iat=past - 60),
        "another audience": issuer.token(aud="https://other.example.com/mcp"),
        "another issuer": issuer.token(iss="https://evil.example.com"),
        "signature does not verify": issuer.token(key=stranger),
        "key id (kid) is not among": issuer.token(kid="k9", key=stranger),
        "has no exp claim": issuer.token(exp=None),
        "not valid yet": issuer.token(nbf=int(time.time()) + 600),
        "signing algorithm is not accepted": jwt.encode({"iss": issuer.url}, "secret-key-material-0123456789-ab"),
        "names no signing key": jwt.encode({"iss": issuer.url}, issuer.keys["k1"], algorithm="ES256"),
        "pcids claim must be a list": issuer.token(pcids=7),
    }
    async with serving(app) as base, httpx2.AsyncClient(timeout=30) as http:
        missing = await http.post(base + "/mcp", json=LIST, headers=ACCEPT)
        assert missing.status_code == 401
        assert challenge(missing) == f'Bearer resource_metadata="{RESOURCE}{METADATA}/mcp"'
        basic = await http.post(base + "/mcp", json=LIST, headers={**ACCEPT, "Authorization": "Basic x"})
        assert basic.status_code == 401 and "error=" not in challenge(basic)
        for reason, token in cases.items():
            headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
            answer = await http.post(base + "/commercetools-customers", json=LIST, headers=headers)
            assert answer.status_code == 401, reason
            assert answer.json()["error"] == "invalid_token" and reason in answer.json()["error_description"]
            assert challenge(answer).startswith('Bearer error="invalid_token", error_description="'), reason
            assert challenge(answer).endswith(f'resource_metadata="{RESOURCE}{METADATA}/commercetools-customers"')
        neither = await http.post(
            base + "/mcp", json=LIST, headers={**ACCEPT, "Authorization": f"Bearer {issuer.token('openid email')}"}
        )
        assert neither.status_code == 403 and neither.json()["error"] == "insufficient_scope"
        assert f'scope="{READ} {WRITE}"' in challenge(neither) and 'error="insufficient_scope"' in challenge(neither)
        health = await http.get(base + "/healthz")
        assert health.status_code == 200 and "connections" not in health.json()
        elsewhere = await http.get(base + "/anything")
        assert elsewhere.status_code == 401 and f'resource_metadata="{RESOURCE}{METADATA}"' in challenge(elsewhere)
    assert transport.requests == []
    await close(clients)


async def test_protected_resource_metadata(issuer: Issuer) -> None:
    app, clients, _ = oauth_app(issuer.settings())
    async with serving(app) as base, httpx2.AsyncClient(timeout=30) as http:
        for path in ("", "/mcp", "/commercetools-customers"):
            answer = await http.get(base + METADATA + path)
            assert answer.status_code == 200, path
            assert answer.json() == {
                "resource": RESOURCE + path,
                "authorization_servers": [issuer.url],
                "scopes_supported": [READ, WRITE],
                "bearer_methods_supported": ["header"],
                "resource_name": "commercetools-customers-mcp",
            }
    await close(clients)


# --- Keys: discovery, caching, rotation --------------------------------------------------------------------


async def test_unknown_kid_refreshes_the_keys_once_per_cooldown(issuer: Issuer) -> None:
    """A rotated key is fetched on first sight of its kid (RSA this time); the old kid is then refused; with a
    cooldown, a burst of unknown kids costs the issuer no extra fetch."""
    app, clients, _ = oauth_app(issuer.settings(jwks_cooldown=0))
    async with serving(app) as base:
        async with with_token(base + "/mcp", issuer.token(READ)) as client:
            assert not (await client.call_tool(P + "list_customer_groups", {"PCID": "eu"})).is_error
        old = issuer.token(READ)
        assert issuer.jwks_fetches == 1
        issuer.keys = {"k2": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        async with with_token(base + "/mcp", issuer.token(READ, kid="k2")) as client:
            for _ in range(3):
                assert not (await client.call_tool(P + "list_customer_groups", {"PCID": "eu"})).is_error
        assert issuer.jwks_fetches == 2  # fetched once for k2, then served from the cache
        async with httpx2.AsyncClient(timeout=30) as http:
            stale = await http.post(base + "/mcp", json=LIST, headers={**ACCEPT, "Authorization": f"Bearer {old}"})
        assert stale.status_code == 401 and "kid" in stale.json()["error_description"]
    await close(clients)

    verifier = JwtVerifier(issuer.settings(jwks_cooldown=3600))
    await verifier.discover()
    fetched = issuer.jwks_fetches
    forged = [issuer.token(kid=f"forged-{i}", key=issuer.keys["k2"]) for i in range(20)]
    results = await asyncio.gather(*(verifier.verify_token(token) for token in forged))
    assert results == [None] * 20 and issuer.jwks_fetches == fetched


async def test_unknown_kids_while_the_issuer_fails_fetch_once_per_cooldown(issuer: Issuer) -> None:
    """A negative cache: while the keys endpoint answers 503, a stream of tokens with unknown kids costs the
    issuer one fetch per cooldown (was one per token: 100 fetches in 0.4 s), and each token is refused."""
    verifier = JwtVerifier(issuer.settings(jwks_cooldown=0.3))
    await verifier.discover()
    await asyncio.sleep(0.35)  # past the cooldown of the successful fetch at discovery
    issuer.jwks_status = 503
    fetched = issuer.jwks_fetches
    forged = [issuer.token(kid=f"unknown-{i}", key=issuer.keys["k1"]) for i in range(50)]
    results = [await verifier.verify_token(token) for token in forged]
    assert results == [None] * 50 and issuer.jwks_fetches == fetched + 1
    await asyncio.sleep(0.35)
    assert await verifier.verify_token(forged[0]) is None and issuer.jwks_fetches == fetched + 2
    issuer.jwks_status = 200
    assert await verifier.verify_token(issuer.token(READ)) is not None  # k1 is cached: never refused


async def test_discovery(issuer: Issuer) -> None:
    verifier = JwtVerifier(issuer.settings())
    await verifier.discover()
    access = await verifier.verify(issuer.token(f"{READ} other", pcids=["eu"]))
    assert access.subject == "agent-7" and access.scopes == [READ, "other"] and access.resource == AUD
    assert await verifier.verify_token("garbage") is None  # the SDK's TokenVerifier protocol

    issuer.issuer_override = issuer.url + "/"
    with pytest.raises(TokenRejected, match="names the issuer") as info:
        await JwtVerifier(issuer.settings()).discover()
    assert info.value.status == 503 and "--oauth-issuer" in info.value.description

    async for rfc8414 in issuer_serving(Issuer(document="oauth-authorization-server")):
        verifier = JwtVerifier(rfc8414.settings())
        await verifier.discover()
        assert (await verifier.verify(rfc8414.token())).scopes == [WRITE]

    down = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TokenRejected, match="cannot read the authorization server's metadata") as info:
        await JwtVerifier(OAuthSettings(issuer=down, audiences=(AUD,), resource_url=RESOURCE)).discover()
    assert "openid-configuration: ConnectError" in info.value.description


async def test_lazy_discovery_and_an_unreachable_issuer() -> None:
    """With the start-up check skipped, the first token discovers; while the issuer is down the answer is 503
    (the token may be fine), and discovery is not retried on every request."""
    issuer = Issuer()
    issuer.url = f"http://127.0.0.1:{free_port()}"
    app, clients, transport = oauth_app(issuer.settings())
    async with serving(app) as base, httpx2.AsyncClient(timeout=30) as http:
        headers = {**ACCEPT, "Authorization": f"Bearer {issuer.token(READ)}"}
        down = await http.post(base + "/mcp", json=LIST, headers=headers)
        assert down.status_code == 503 and down.headers["retry-after"] == "5"
        assert down.json()["error"] == "temporarily_unavailable" and "www-authenticate" not in down.headers
        again = await http.post(base + "/mcp", json=LIST, headers=headers)
        assert again.status_code == 503 and "retrying shortly" in again.json()["error_description"]
    assert transport.requests == []
    await close(clients)


def test_settings_refuse_unsafe_or_incomplete_values() -> None:
    ok = {"issuer": "https://id.example.com", "audiences": ("a",), "resource_url": RESOURCE}
    OAuthSettings(**ok)
    for change, expected in [
        ({"issuer": "http://id.example.com"}, "must use https"),
        ({"issuer": "ftp://id.example.com"}, "http(s) URL"),
        ({"issuer": "https://id.example.com/?x=1"}, "query"),
        ({"audiences": ()}, "--oauth-audience"),
        ({"resource_url": "https://mcp.example.com/mcp"}, "origin"),
        ({"scope_prefix": "a b"}, "--oauth-scope-prefix"),
        ({"pcids_claim": ""}, "--oauth-pcids-claim"),
    ]:
        with pytest.raises(Exception, match=expected.replace("(", r"\(").replace(")", r"\)")):
            OAuthSettings(**{**ok, **change})


# --- The command line: serve over HTTP and stdio --------------------------------------------------------------


def test_api_keys_and_oauth_together_are_refused(capsys: Any, monkeypatch: Any) -> None:
    for name in ("CTP_PROJECT_KEY", "CTP_CONNECTIONS_FILE", "MCP_API_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MCP_API_KEY", "some-key")
    serve = ["serve", "--transport", "http", "--data", ":memory:", "--no-demo", "--no-check"]
    with pytest.raises(SystemExit) as info:
        main([*serve, "--oauth-issuer", "https://id.example.com", "--oauth-audience", AUD])
    assert info.value.code == 2 and "cannot be combined with API keys" in capsys.readouterr().err
    monkeypatch.delenv("MCP_API_KEY")
    for extra, expected in [
        (["--oauth-issuer", "https://id.example.com"], "needs --oauth-audience"),
        (["--oauth-issuer", "http://id.example.com", "--oauth-audience", AUD], "must use https"),
        (["--oauth-audience", AUD], "need --oauth-issuer"),
    ]:
        with pytest.raises(SystemExit) as info:
            main([*serve, *extra])
        assert info.value.code == 2 and expected in capsys.readouterr().err, extra


async def test_startup_check_on_a_non_loopback_bind(capsys: Any, caplog: Any, monkeypatch: Any) -> None:
    """OAuth counts as authentication on a non-loopback bind; an unreachable issuer stops start-up (exit 2)."""
    for name in ("CTP_PROJECT_KEY", "CTP_CONNECTIONS_FILE", "MCP_API_KEY", "MCP_API_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    down = f"http://127.0.0.1:{free_port()}"
    argv = ["serve", "--transport", "http", "--host", "0.0.0.0", "--data", ":memory:", "--no-demo"]
    argv += ["--oauth-issuer", down, "--oauth-audience", AUD]
    with pytest.raises(SystemExit) as info:
        await asyncio.to_thread(main, argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and "start-up check failed" in err and "non-loopback" not in err
    assert "cannot read the authorization server's metadata" in err
    assert "pass --oauth-resource-url" in caplog.text  # the default names http://0.0.0.0:8000, which no client can use


async def test_serve_command_over_http(issuer: Issuer) -> None:
    """The real ``serve`` process: discovery at start-up, a write token works, a missing one gets the challenge."""
    port = free_port()
    argv = [sys.executable, "-m", "commercetools_customers_mcp", "serve", "--transport", "http", "--port", str(port)]
    argv += ["--data", ":memory:", "--no-demo", "--oauth-issuer", issuer.url, "--oauth-audience", AUD]
    argv += ["--oauth-resource-url", RESOURCE]
    async with serve_process(argv) as (base, log):
        async with with_token(base + "/mcp", issuer.token(WRITE)) as client:
            created = await client.call_tool(P + "create_customer_groups", {"groupName": "Remote"})
        async with httpx2.AsyncClient(timeout=30) as http:
            missing = await http.post(base + "/mcp", json=LIST, headers=ACCEPT)
    assert not created.is_error
    assert missing.status_code == 401 and f"{METADATA}/mcp" in challenge(missing)
    assert issuer.jwks_fetches == 1
    assert f"OAuth access tokens from {issuer.url}" in log() and "key=agent-7" in log()


class serve_process:
    """``serve --transport http`` as a child process; yields its base URL and a reader for its stderr."""

    def __init__(self, argv: list[str]) -> None:
        self.argv, self.port = argv, int(argv[argv.index("--port") + 1])

    async def __aenter__(self) -> tuple[str, Any]:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __aexit__
        env = child_env()
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log, env=env
        )
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        async with httpx2.AsyncClient(timeout=2) as http:
            while True:
                try:
                    if (await http.get(base + "/healthz")).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                if self.process.returncode is not None or time.monotonic() > deadline:
                    raise AssertionError(f"serve did not start: {self.read()}")
                await asyncio.sleep(0.1)
        return base, self.read

    def read(self) -> str:
        if not self.log.closed:
            self.log.seek(0)
            self.text = self.log.read().decode(errors="replace")
        return self.text

    async def __aexit__(self, *exc: Any) -> None:
        self.process.terminate()
        await asyncio.wait_for(self.process.wait(), timeout=15)
        self.read()
        self.log.close()


async def test_stdio_is_not_authenticated_and_says_so(tmp_path: Path) -> None:
    """On stdio the OAuth flags only warn (no discovery: the issuer here does not even exist); tools are served."""
    errlog = tmp_path / "stderr.txt"
    args = ["-m", "commercetools_customers_mcp", "serve", "--data", ":memory:", "--no-demo"]
    args += ["--oauth-issuer", f"http://127.0.0.1:{free_port()}", "--oauth-audience", AUD]
    params = StdioServerParameters(command=sys.executable, args=args, env=child_env())
    with errlog.open("w") as err:
        async with Client(stdio_client(params, errlog=err), mode="legacy") as client:
            tools = (await client.list_tools()).tools
            created = await client.call_tool(P + "create_customer_groups", {"groupName": "Local"})
    assert len(tools) == SEED_COUNT and not created.is_error
    assert "apply to the HTTP transport only" in errlog.read_text()


# --- A real OpenID provider (oidc-provider from npm) ----------------------------------------------------------

OIDC_DIR = Path(__file__).parent / "oidc"
needs_node = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="node/npm not installed: the oidc-provider tests need Node.js 20+ and npm",
)


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``tests/oidc/provider.mjs`` on a free loopback port (oidc-provider installed from the lock file into a
    temp dir); yields its issuer URL. Skips when npm cannot install it (offline)."""
    work = tmp_path_factory.mktemp("oidc")
    for name in ("package.json", "package-lock.json", "provider.mjs"):
        shutil.copy(OIDC_DIR / name, work / name)
    install = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=work,
        capture_output=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    if install.returncode != 0:
        pytest.skip(f"npm could not install oidc-provider: {install.stderr.decode()[-300:]}")
    port = free_port()
    process = subprocess.Popen(
        ["node", "provider.mjs", str(port)],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else b""  # one JSON line once listening ("" if node failed)
        assert line, "oidc-provider did not start within 30 s"
        yield json.loads(line)["issuer"]
    finally:
        process.terminate()
        process.wait(timeout=15)


async def provider_token(issuer: str, client: str, scope: str | None, resource: str = AUD) -> str:
    data = {"grant_type": "client_credentials", "resource": resource, **({"scope": scope} if scope else {})}
    async with httpx2.AsyncClient(timeout=30) as http:
        answer = await http.post(issuer + "/token", data=data, auth=(client, f"{client}-secret"))
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.mark.node
@needs_node
@pytest.mark.parametrize("mode", MODES)
async def test_tokens_from_oidc_provider(oidc_provider: str, mode: str) -> None:
    """Client-credentials tokens from a certified OpenID provider (JWT access tokens bound to the resource with
    RFC 8707): write, read-only, PCID-limited (a custom claim), no scope of ours, and another audience."""
    settings = OAuthSettings(issuer=oidc_provider, audiences=(AUD,), resource_url=RESOURCE)
    resource = ResourceServer(settings)
    await resource.verifier.discover()  # what `serve` does before serving
    clients, transport = two_projects()
    app = http_app(build_server(clients), connection_ids=list(clients), oauth=resource)
    writer = await provider_token(oidc_provider, "writer", f"{READ} {WRITE}")
    reader = await provider_token(oidc_provider, "reader", READ)
    eu_only = await provider_token(oidc_provider, "eu-writer", WRITE)
    other = await provider_token(oidc_provider, "other", "other:read")
    elsewhere = await provider_token(oidc_provider, "writer", WRITE, resource="https://elsewhere.example.com/")
    async with serving(app) as base:
        async with with_token(base + "/mcp", writer, mode=mode) as client:
            assert len((await client.list_tools()).tools) == SEED_COUNT
            made = await client.call_tool(P + "create_customer_groups", {"PCID": "us", "groupName": "OIDC"})
            assert not made.is_error, made
        async with with_token(base + "/mcp", reader, mode=mode) as client:
            assert len((await client.list_tools()).tools) == READ_ONLY_COUNT
            refused = await client.call_tool(
                P + "delete_customer_groups_by_key", {"PCID": "us", "key": "k", "version": 1}
            )
            assert refused.is_error and "read-only tools only" in refused.structured_content["message"]
        async with with_token(base + "/mcp", eu_only, mode=mode) as client:
            assert not (await client.call_tool(P + "list_customer_groups", {"PCID": "eu"})).is_error
            limited = await client.call_tool(P + "list_customer_groups", {"PCID": "us"})
            assert limited.structured_content["message"] == "This access token may not use connection 'us'."
        async with httpx2.AsyncClient(timeout=30) as http:
            for token, status, error in [(other, 403, "insufficient_scope"), (elsewhere, 401, "invalid_token")]:
                headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
                answer = await http.post(base + "/mcp", json=LIST, headers=headers)
                assert (answer.status_code, answer.json()["error"]) == (status, error)
    assert ("DELETE", "/beta/customer-groups/key=k") not in transport.requests
    await close(clients)


class MemoryTokens:
    """The SDK client's token storage, in memory."""

    def __init__(self) -> None:
        self.tokens: Any = None
        self.client_info: Any = None

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client_info

    async def set_client_info(self, client_info: Any) -> None:
        self.client_info = client_info


@pytest.mark.node
@needs_node
@pytest.mark.parametrize("mode", MODES)
async def test_the_sdk_client_finds_the_issuer_and_gets_a_token_by_itself(oidc_provider: str, mode: str) -> None:
    """The MCP SDK's own OAuth client (client credentials) starts with no token: our 401 points it at the
    protected-resource metadata, that at oidc-provider, which issues a token for the resource the metadata
    names, with the scopes the metadata lists (the spec's scope selection: the client's own ``scope`` is not
    used), and the calls go through. Nothing is configured on the client but its credentials and the issuer."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = OAuthSettings(issuer=oidc_provider, audiences=(base + "/mcp",), resource_url=base)
    clients, _ = two_projects()
    app = http_app(build_server(clients), connection_ids=list(clients), oauth=ResourceServer(settings))
    provider = ClientCredentialsOAuthProvider(
        server_url=base + "/mcp",
        storage=MemoryTokens(),
        client_id="writer",
        client_secret="writer-secret",
        issuer=oidc_provider,
    )
    async with serving(app, port=port):
        http = httpx2.AsyncClient(auth=provider, timeout=30)
        async with Client(streamable_http_client(base + "/mcp", http_client=http), mode=mode) as client:
            listed = (await client.list_tools()).tools
            made = await client.call_tool(P + "create_customer_groups", {"PCID": "eu", "groupName": "SDK"})
    assert len(listed) == SEED_COUNT and not made.is_error
    assert provider.context.current_tokens is not None
    assert provider.context.current_tokens.scope == f"{READ} {WRITE}"
    await close(clients)

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from urllib.parse import parse_qs

import httpx2
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from commercetools_customers_mcp import __version__
from commercetools_customers_mcp.upstream.client import (
    BACKOFF_BASE,
    RETRY_AFTER_CAP,
    ApiConnectionError,
    CommercetoolsClient,
    build_path,
)
from commercetools_customers_mcp.upstream.connections import Connection
from commercetools_customers_mcp.upstream.tokens import AuthError

SECRET = "s3cr3t-value-never-shown"
API_HOST = "api.europe-west1.gcp.commercetools.com"
AUTH_HOST = "auth.europe-west1.gcp.commercetools.com"

ApiHandler = Callable[[httpx2.Request], httpx2.Response]


def make_connection(**overrides: object) -> Connection:
    fields: dict[str, object] = {
        "id": "default",
        "project_key": "shop",
        "client_id": "cid",
        "client_secret": SECRET,
        "scopes": ["view_customers:shop", "manage_customers:shop"],
    }
    return Connection.model_validate({**fields, **overrides})


class FakeCommercetools:
    """An in-test HTTP transport standing in for the auth and API hosts."""

    def __init__(self, api: ApiHandler, *, token_delay: float = 0.0, expires_in: int = 172800) -> None:
        self.api = api
        self.token_delay = token_delay
        self.expires_in = expires_in
        self.token_requests: list[httpx2.Request] = []
        self.api_requests: list[httpx2.Request] = []

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.host == AUTH_HOST:
            self.token_requests.append(request)
            await asyncio.sleep(self.token_delay)
            token = f"token-{len(self.token_requests)}"
            return httpx2.Response(
                200, json={"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
            )
        self.api_requests.append(request)
        return self.api(request)

    def bearer(self, index: int) -> str:
        return self.api_requests[index].headers["Authorization"]


class FakeTime:
    """Injected sleep + clock: sleeping records the duration and advances the clock, without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def make_client(fake_time: FakeTime) -> AsyncIterator[Callable[..., CommercetoolsClient]]:
    clients: list[CommercetoolsClient] = []

    def factory(fake: FakeCommercetools, **overrides: object) -> CommercetoolsClient:
        client = CommercetoolsClient(
            make_connection(**overrides),
            transport=httpx2.MockTransport(fake),
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


def ok(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, json={"id": "c1", "version": 1})


def sequence(*responses: httpx2.Response | Exception) -> ApiHandler:
    """API handler answering with the given responses (or raising the given errors) in order."""
    remaining = list(responses)

    def handler(request: httpx2.Request) -> httpx2.Response:
        item = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


# --- tokens -----------------------------------------------------------------------------------------------


async def test_token_request_shape_and_reuse(make_client) -> None:
    fake = FakeCommercetools(ok)
    client = make_client(fake)
    for _ in range(3):
        assert (await client.request("GET", "/{projectKey}/customers")).status == 200
    assert len(fake.token_requests) == 1
    token_request = fake.token_requests[0]
    assert str(token_request.url) == f"https://{AUTH_HOST}/oauth/token"
    assert token_request.method == "POST"
    expected = base64.b64encode(f"cid:{SECRET}".encode()).decode()
    assert token_request.headers["Authorization"] == f"Basic {expected}"
    form = parse_qs(token_request.content.decode())
    assert form == {"grant_type": ["client_credentials"], "scope": ["view_customers:shop manage_customers:shop"]}
    assert {fake.bearer(i) for i in range(3)} == {"Bearer token-1"}


async def test_no_scope_parameter_without_scopes(make_client) -> None:
    fake = FakeCommercetools(ok)
    await make_client(fake, scopes=[]).request("GET", "/{projectKey}/customers")
    assert parse_qs(fake.token_requests[0].content.decode()) == {"grant_type": ["client_credentials"]}


async def test_single_flight_token_request(make_client) -> None:
    fake = FakeCommercetools(ok, token_delay=0.02)
    client = make_client(fake)
    responses = await asyncio.gather(*(client.request("GET", "/{projectKey}/customers") for _ in range(20)))
    assert [r.status for r in responses] == [200] * 20
    assert len(fake.token_requests) == 1
    assert len(fake.api_requests) == 20


async def test_token_refreshed_shortly_before_expiry(make_client, fake_time: FakeTime) -> None:
    fake = FakeCommercetools(ok, expires_in=3600)
    client = make_client(fake)
    await client.request("GET", "/{projectKey}/customers")
    fake_time.now += 3600 - 300 - 1
    await client.request("GET", "/{projectKey}/customers")
    assert len(fake.token_requests) == 1
    fake_time.now += 2
    await client.request("GET", "/{projectKey}/customers")
    assert len(fake.token_requests) == 2
    assert fake.bearer(2) == "Bearer token-2"


async def test_invalid_token_refreshes_once_and_retries(make_client, fake_time: FakeTime) -> None:
    invalid = httpx2.Response(401, json={"statusCode": 401, "message": "invalid_token", "error": "invalid_token"})
    fake = FakeCommercetools(sequence(invalid, httpx2.Response(200, json={"id": "c1"})))
    response = await make_client(fake).request("POST", "/{projectKey}/customers", json={"email": "a@b.c"})
    assert (response.status, response.attempts) == (200, 2)
    assert len(fake.token_requests) == 2
    assert [fake.bearer(0), fake.bearer(1)] == ["Bearer token-1", "Bearer token-2"]
    assert fake_time.sleeps == []


async def test_second_401_is_returned_not_looped(make_client) -> None:
    fake = FakeCommercetools(sequence(httpx2.Response(401, json={"error": "invalid_token"})))
    response = await make_client(fake).request("GET", "/{projectKey}/customers")
    assert (response.status, response.attempts, len(fake.token_requests)) == (401, 2, 2)
    assert response.body == {"error": "invalid_token"}


async def test_token_endpoint_rejection_raises_auth_error_without_secret(make_client) -> None:
    async def transport(request: httpx2.Request) -> httpx2.Response:
        body = {"statusCode": 401, "error": "invalid_client", "error_description": f"bad credentials {SECRET}"}
        return httpx2.Response(401, json=body)

    client = CommercetoolsClient(make_connection(), transport=httpx2.MockTransport(transport))
    try:
        with pytest.raises(AuthError) as info:
            await client.request("GET", "/{projectKey}/customers")
    finally:
        await client.aclose()
    error = info.value
    assert (error.status, error.error, error.host) == (401, "invalid_client", f"{AUTH_HOST}:443")
    assert "HTTP 401" in str(error) and "invalid_client" in str(error)
    assert SECRET not in str(error) and SECRET not in repr(error)


# --- retries ----------------------------------------------------------------------------------------------


async def test_retry_on_503_with_jittered_backoff(make_client, fake_time: FakeTime) -> None:
    unavailable = httpx2.Response(503, json={"statusCode": 503, "message": "OverCapacity"})
    fake = FakeCommercetools(sequence(unavailable, unavailable, httpx2.Response(200, json={"ok": True})))
    response = await make_client(fake).request("GET", "/{projectKey}/customers")
    assert (response.status, response.body, response.attempts) == (200, {"ok": True}, 3)
    assert len(fake_time.sleeps) == 2
    assert 0 <= fake_time.sleeps[0] <= BACKOFF_BASE
    assert 0 <= fake_time.sleeps[1] <= 2 * BACKOFF_BASE


async def test_retry_after_is_honoured_and_attempts_bounded(make_client, fake_time: FakeTime) -> None:
    limited = httpx2.Response(429, headers={"Retry-After": "2"}, json={"statusCode": 429})
    fake = FakeCommercetools(sequence(limited))
    response = await make_client(fake, max_retries=3).request("GET", "/{projectKey}/customers")
    assert (response.status, response.attempts) == (429, 4)
    assert fake_time.sleeps == [2.0, 2.0, 2.0]
    assert len(fake.api_requests) == 4


async def test_retry_after_capped_and_max_retry_time_bounds(make_client, fake_time: FakeTime) -> None:
    limited = httpx2.Response(503, headers={"Retry-After": "3600"})
    fake = FakeCommercetools(sequence(limited))
    response = await make_client(fake, max_retries=10, max_retry_time=70).request("GET", "/{projectKey}/customers")
    assert fake_time.sleeps == [RETRY_AFTER_CAP, RETRY_AFTER_CAP]
    assert response.attempts == 3


async def test_post_create_not_retried_on_503(make_client, fake_time: FakeTime) -> None:
    fake = FakeCommercetools(sequence(httpx2.Response(503), httpx2.Response(201, json={"customer": {}})))
    response = await make_client(fake).request("POST", "/{projectKey}/customers", json={"email": "a@b.c"})
    assert (response.status, response.attempts, len(fake.api_requests)) == (503, 1, 1)
    assert fake_time.sleeps == []


async def test_post_create_retried_on_429_honouring_retry_after(make_client, fake_time: FakeTime) -> None:
    """A 429 means the API applied nothing: a create is retried like a read."""
    limited = httpx2.Response(429, headers={"Retry-After": "3"}, json={"statusCode": 429})
    fake = FakeCommercetools(sequence(limited, httpx2.Response(201, json={"customer": {"id": "c1"}})))
    response = await make_client(fake).request("POST", "/{projectKey}/customers", json={"email": "a@b.c"})
    assert (response.status, response.attempts, len(fake.api_requests)) == (201, 2, 2)
    assert fake_time.sleeps == [3.0]


async def test_idempotent_post_retried_on_503(make_client) -> None:
    fake = FakeCommercetools(sequence(httpx2.Response(503), httpx2.Response(200, json={"version": 2})))
    response = await make_client(fake).request(
        "POST", "/{projectKey}/customers/{id}", path_params={"id": "c1"}, json={"version": 1}, idempotent=True
    )
    assert (response.status, response.attempts) == (200, 2)


async def test_delete_retried_by_default_and_409_never(make_client) -> None:
    fake = FakeCommercetools(sequence(httpx2.Response(502), httpx2.Response(409, json={"statusCode": 409})))
    response = await make_client(fake).request(
        "DELETE", "/{projectKey}/customers/{id}", path_params={"id": "c1"}, params=[("version", "1")]
    )
    assert (response.status, response.attempts) == (409, 2)
    assert response.body == {"statusCode": 409}


async def test_retry_on_connect_error_even_for_post_create(make_client) -> None:
    refused = httpx2.ConnectError("connection refused")
    fake = FakeCommercetools(sequence(refused, httpx2.Response(201, json={"customer": {"id": "c1"}})))
    response = await make_client(fake).request("POST", "/{projectKey}/customers", json={"email": "a@b.c"})
    assert (response.status, response.attempts) == (201, 2)


async def test_connection_error_after_retries_names_host(make_client, fake_time: FakeTime) -> None:
    fake = FakeCommercetools(sequence(httpx2.ConnectError("connection refused")))
    with pytest.raises(ApiConnectionError) as info:
        await make_client(fake, max_retries=2).request("GET", "/{projectKey}/customers", correlation_id="cid-1")
    error = info.value
    assert str(error) == f"could not reach {API_HOST}:443: ConnectError: connection refused (after 3 attempts)"
    assert (error.host, error.correlation_id, error.attempts) == (f"{API_HOST}:443", "cid-1", 3)
    assert not error.timed_out and not error.may_have_applied
    assert len(fake_time.sleeps) == 2


async def test_read_timeout_on_post_create_is_not_retried(make_client) -> None:
    fake = FakeCommercetools(sequence(httpx2.ReadTimeout("timed out")))
    with pytest.raises(ApiConnectionError, match="may have been applied") as info:
        await make_client(fake).request("POST", "/{projectKey}/customers", json={"email": "a@b.c"})
    assert info.value.attempts == 1
    assert len(fake.api_requests) == 1
    assert info.value.timed_out and info.value.may_have_applied
    assert str(info.value).startswith(f"timed out waiting for {API_HOST}:443: no answer within 30 s (ReadTimeout)")


async def test_read_timeout_on_a_read_is_retried_then_named_a_timeout(make_client, fake_time: FakeTime) -> None:
    fake = FakeCommercetools(sequence(httpx2.ReadTimeout("timed out")))
    with pytest.raises(ApiConnectionError) as info:
        await make_client(fake, max_retries=1).request("GET", "/{projectKey}/customers")
    assert info.value.timed_out and not info.value.may_have_applied and info.value.attempts == 2


async def test_unreachable_auth_host_is_named(fake_time: FakeTime) -> None:
    async def transport(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectTimeout("timed out")

    client = CommercetoolsClient(
        make_connection(), transport=httpx2.MockTransport(transport), sleep=fake_time.sleep, clock=fake_time.clock
    )
    try:
        with pytest.raises(ApiConnectionError, match=f"timed out waiting for {AUTH_HOST}:443: no connection") as info:
            await client.request("POST", "/{projectKey}/customers", json={"email": "a@b.c"})
    finally:
        await client.aclose()
    assert info.value.attempts == 4
    assert len(fake_time.sleeps) == 3


async def test_correlation_id_constant_across_retries(make_client) -> None:
    fake = FakeCommercetools(sequence(httpx2.Response(503), httpx2.Response(504), httpx2.Response(200, json={})))
    response = await make_client(fake).request("GET", "/{projectKey}/customers")
    ids = {request.headers["X-Correlation-ID"] for request in fake.api_requests}
    assert ids == {response.correlation_id}
    assert response.correlation_id.startswith("commercetools-customers-mcp/")
    other = await make_client(fake).request("GET", "/{projectKey}/customers", correlation_id="mine-42")
    assert other.correlation_id == "mine-42"
    assert fake.api_requests[-1].headers["X-Correlation-ID"] == "mine-42"


# --- request shape ----------------------------------------------------------------------------------------


async def test_headers_body_params_and_timeouts(make_client) -> None:
    fake = FakeCommercetools(sequence(httpx2.Response(201, json={"customer": {"id": "c1"}})))
    client = make_client(fake, timeout=12.5, connect_timeout=2)
    draft = {"email": "jürgen@example.com", "addresses": [{"country": "DE"}]}
    response = await client.request(
        "POST", "/{projectKey}/customers", json=draft, params=[("expand", "customerGroup"), ("expand", "stores[*]")]
    )
    assert response.body == {"customer": {"id": "c1"}}
    assert response.headers["content-type"] == "application/json"
    request = fake.api_requests[0]
    assert request.headers["User-Agent"] == f"commercetools-customers-mcp/{__version__}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert orjson.loads(request.content) == draft
    assert request.url.raw_path == b"/shop/customers?expand=customerGroup&expand=stores%5B%2A%5D"
    assert request.extensions["timeout"] == {"connect": 2.0, "read": 12.5, "write": 12.5, "pool": 12.5}
    assert fake.token_requests[0].headers["User-Agent"] == f"commercetools-customers-mcp/{__version__}"


async def test_repeated_where_params(make_client) -> None:
    fake = FakeCommercetools(ok)
    params = [("where", 'email = "a@b.c"'), ("where", "version > 1"), ("limit", "5")]
    await make_client(fake).request("GET", "/{projectKey}/customers", params=params)
    assert fake.api_requests[0].url.params.multi_items() == params


async def test_non_json_and_empty_bodies(make_client) -> None:
    html = httpx2.Response(502, text="<html>" + "x" * 1000 + "</html>")
    fake = FakeCommercetools(sequence(html))
    response = await make_client(fake, max_retries=0).request("GET", "/{projectKey}/customers")
    assert response.status == 502
    assert response.body == "<html>" + "x" * 1000 + "</html>"  # the text, for the MCP layer to describe
    fake.api = sequence(httpx2.Response(200))
    head = await make_client(fake).request("HEAD", "/{projectKey}/customers/{id}", path_params={"id": "c1"})
    assert (head.status, head.body) == (200, None)


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("a/b?c", "a%2Fb%3Fc"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("%2F", "%252F"),
        ("#frag", "%23frag"),
        ("jürgen ✓", "j%C3%BCrgen%20%E2%9C%93"),
        ("a.b", "a.b"),
    ],
)
async def test_path_values_are_one_segment(make_client, value: str, segment: str) -> None:
    fake = FakeCommercetools(ok)
    await make_client(fake).request("GET", "/{projectKey}/customers/key={key}", path_params={"key": value})
    assert fake.api_requests[0].url.raw_path == f"/shop/customers/key={segment}".encode()
    await make_client(fake).request("GET", "/{projectKey}/customers/{id}", path_params={"id": value})
    assert fake.api_requests[1].url.raw_path == f"/shop/customers/{segment}".encode()


def test_path_cannot_escape_resource() -> None:
    path = build_path("/{projectKey}/customers/{id}", "..", {"id": "../../other?x=1#y"})
    assert path == "/%2E%2E/customers/..%2F..%2Fother%3Fx%3D1%23y"
    assert httpx2.URL("https://h" + path).raw_path == path.encode()


def test_missing_or_empty_path_param() -> None:
    with pytest.raises(ValueError, match="'id'"):
        build_path("/{projectKey}/customers/{id}", "shop", {})
    with pytest.raises(ValueError, match="empty"):
        build_path("/{projectKey}/customers/{id}", "shop", {"id": ""})


# --- real in-process ASGI app ---------------------------------------------------------------------------


async def test_asgi_transport_reaches_starlette_app() -> None:
    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        assert form["grant_type"] == "client_credentials"
        return JSONResponse({"access_token": "asgi-token", "token_type": "Bearer", "expires_in": 60})

    async def customer(request: Request) -> JSONResponse:
        if request.headers["authorization"] != "Bearer asgi-token":
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse(
            {
                "project": request.path_params["project"],
                "id": request.path_params["id"],
                "correlation": request.headers["x-correlation-id"],
                "raw_path": request.scope["raw_path"].decode(),
            }
        )

    app = Starlette(
        routes=[Route("/oauth/token", token, methods=["POST"]), Route("/{project}/customers/{id:path}", customer)]
    )
    connection = make_connection(auth_url="http://emulator", api_url="http://emulator")
    client = CommercetoolsClient(connection, transport=httpx2.ASGITransport(app=app))
    try:
        response = await client.request(
            "GET", "/{projectKey}/customers/{id}", path_params={"id": "a/b"}, correlation_id="asgi-1"
        )
    finally:
        await client.aclose()
    assert response.status == 200
    # Starlette routes on the decoded path; the raw path keeps the value as one segment.
    assert response.body == {
        "project": "shop",
        "id": "a/b",
        "correlation": "asgi-1",
        "raw_path": "/shop/customers/a%2Fb",
    }


async def test_token_fetch_timeout_retried_for_post_on_shared_host(fake_time: FakeTime) -> None:
    calls: list[str] = []

    async def transport(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        if request.url.path == "/oauth/token" and len(calls) == 1:
            raise httpx2.ReadTimeout("timed out")
        if request.url.path == "/oauth/token":
            return httpx2.Response(200, json={"access_token": "t", "expires_in": 60})
        return httpx2.Response(201, json={"customer": {}})

    connection = make_connection(auth_url="http://emulator", api_url="http://emulator")
    client = CommercetoolsClient(
        connection, transport=httpx2.MockTransport(transport), sleep=fake_time.sleep, clock=fake_time.clock
    )
    try:
        response = await client.request("POST", "/{projectKey}/customers", json={"email": "a@b.c"})
    finally:
        await client.aclose()
    assert (response.status, response.attempts) == (201, 2)
    assert calls == ["/oauth/token", "/oauth/token", "/shop/customers"]


# --- events hook (what metrics count) ----------------------------------------------------------------------


def recorder() -> tuple[list[tuple[str, int | str]], Callable[[str, int | str], None]]:
    seen: list[tuple[str, int | str]] = []
    return seen, lambda kind, value: seen.append((kind, value))


async def test_events_for_requests_retries_and_tokens(fake_time: FakeTime) -> None:
    seen, hook = recorder()
    invalid = httpx2.Response(401, json={"error": "invalid_token"})
    fake = FakeCommercetools(sequence(httpx2.Response(503), invalid, httpx2.Response(200, json={})))
    client = CommercetoolsClient(
        make_connection(),
        transport=httpx2.MockTransport(fake),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        events=hook,
    )
    try:
        response = await client.request("GET", "/{projectKey}/customers")
        assert response.status == 200
        assert seen == [
            ("token", "ok"),
            ("request", 503),
            ("retry", "503"),
            ("request", 401),
            ("retry", "401"),
            ("token", "ok"),
            ("request", 200),
        ]
        seen.clear()
        fake.api = sequence(httpx2.ReadTimeout("timed out"), httpx2.Response(409, json={}))
        assert (await client.request("DELETE", "/{projectKey}/customers/{id}", path_params={"id": "c"})).status == 409
        assert seen == [("request", "network-error"), ("retry", "network"), ("request", 409)]
    finally:
        await client.aclose()


async def test_events_for_failed_token_fetches(fake_time: FakeTime) -> None:
    seen, hook = recorder()
    answers: list[httpx2.Response | Exception] = [
        httpx2.ConnectError("refused"),
        httpx2.Response(503, json={"error": "unavailable"}),
        httpx2.Response(401, json={"error": "invalid_client"}),
    ]

    async def transport(request: httpx2.Request) -> httpx2.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = CommercetoolsClient(
        make_connection(),
        transport=httpx2.MockTransport(transport),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        events=hook,
    )
    try:
        with pytest.raises(AuthError):
            await client.request("GET", "/{projectKey}/customers")
    finally:
        await client.aclose()
    assert seen == [
        ("token", "error"),
        ("retry", "token"),
        ("token", "refused"),
        ("retry", "token"),
        ("token", "refused"),
    ]


async def test_an_auth_url_given_with_its_token_path_reaches_the_same_endpoint() -> None:
    """CTP_AUTH_URL copied as …/oauth/token used to request /oauth/token/oauth/token and blame the credentials."""
    from commercetools_customers_mcp.emulator import create_app
    from mcp_helpers import project_connection

    app = create_app(":memory:", demo=False, project="shop")
    for auth_url in ("http://emulator/oauth/token", "http://emulator/oauth/token/", "http://emulator"):
        connection = project_connection("eu", "shop", auth_url=auth_url)
        assert connection.auth_url == "http://emulator"
        client = CommercetoolsClient(connection, transport=httpx2.ASGITransport(app=app))
        try:
            assert (await client.request("GET", "/{projectKey}/customers")).status == 200
        finally:
            await client.aclose()


async def test_a_connect_error_without_a_message_says_what_it_means(make_client, fake_time: FakeTime) -> None:
    fake = FakeCommercetools(sequence(httpx2.ConnectError("")))
    with pytest.raises(ApiConnectionError) as info:
        await make_client(fake, max_retries=0).request("GET", "/{projectKey}/customers")
    assert "ConnectError: refused, unreachable, or the host name did not resolve" in str(info.value)

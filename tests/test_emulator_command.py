"""`commercetools-customers-mcp emulator` for other people's tests (issue #22): any project key, what to paste at
start-up, data of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2

from commercetools_customers_mcp.cli import EMULATOR_DATA, build_parser, default_data_path


@contextmanager
def emulator(*args: str) -> Iterator[tuple[dict[str, str], str]]:
    """The command started on a free port: the variables its start-up output exports, and the whole output."""
    command = [sys.executable, "-m", "commercetools_customers_mcp", "emulator", "--port", "0", *args]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("export OAUTHLIB_INSECURE_TRANSPORT"):
                break
        exported = dict(
            line.removeprefix("export ").split("#")[0].strip().split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        yield exported, "".join(lines)
    finally:
        proc.terminate()
        proc.wait(10)


def _token(http: httpx2.Client, env: dict[str, str], scope: str) -> httpx2.Response:
    form = {"grant_type": "client_credentials", "scope": scope}
    return http.post(
        env["CTP_AUTH_URL"] + "/oauth/token", data=form, auth=(env["CTP_CLIENT_ID"], env["CTP_CLIENT_SECRET"])
    )


def test_the_start_up_output_is_what_to_paste_and_any_project_key_works() -> None:
    with emulator("--no-demo") as (env, text), httpx2.Client(timeout=10) as http:
        assert set(env) == {
            "CTP_PROJECT_KEY",
            "CTP_CLIENT_ID",
            "CTP_CLIENT_SECRET",
            "CTP_AUTH_URL",
            "CTP_API_URL",
            "CTP_SCOPES",
            "OAUTHLIB_INSECURE_TRANSPORT",
        }
        assert "Any project key" in text and env["OAUTHLIB_INSECURE_TRANSPORT"] == "1"
        # the pasted lines work as they are
        r = _token(http, env, env["CTP_SCOPES"])
        assert r.status_code == 200, r.text
        # and for a project key of one's own
        token = _token(http, env, "manage_project:my-shop").json()["access_token"]
        r = http.post(
            env["CTP_API_URL"] + "/my-shop/customers",
            json={"email": "a@b.c", "password": "pw"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
        viewer = _token(http, env, "view_customers:my-shop").json()["access_token"]
        r = http.post(
            env["CTP_API_URL"] + "/my-shop/customers",
            json={"email": "d@b.c", "password": "pw"},
            headers={"Authorization": f"Bearer {viewer}"},
        )
        assert r.status_code == 403


def test_project_restricts_the_served_projects_and_pinned_clients_are_printed() -> None:
    with emulator("--project", "shop-eu", "--project", "shop-us") as (env, _), httpx2.Client(timeout=10) as http:
        assert env["CTP_PROJECT_KEY"] == "shop-eu" and env["CTP_SCOPES"] == "manage_project:shop-eu"
        assert _token(http, env, "manage_project:shop-us").status_code == 200
        r = _token(http, env, "manage_project:demo")
        assert r.status_code == 400 and "--project" in r.json()["error_description"]
    with emulator("--client", "app:s3cret:view_customers:shop") as (env, _), httpx2.Client(timeout=10) as http:
        assert (env["CTP_CLIENT_ID"], env["CTP_CLIENT_SECRET"], env["CTP_PROJECT_KEY"]) == ("app", "s3cret", "shop")
        assert _token(http, env, env["CTP_SCOPES"]).status_code == 200


def test_emulator_and_serve_never_share_a_database_by_default() -> None:
    parser = build_parser()
    assert parser.parse_args(["emulator"]).data is None and EMULATOR_DATA == ":memory:"
    assert default_data_path() != EMULATOR_DATA


def test_the_access_log_masks_secrets_and_writes_a_burst_at_once() -> None:
    import asyncio
    import io

    from commercetools_customers_mcp.emulator import AccessLog, create_app

    out = io.StringIO()
    app = AccessLog(create_app(":memory:", demo=False), out)

    async def run() -> None:
        transport = httpx2.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx2.AsyncClient(transport=transport, base_url="http://e") as http:
            await http.post("/oauth/token?token=SECRET-1", data={"grant_type": "client_credentials"}, auth=("a", "b"))
            await http.get("/demo/customers/password-token=SECRET-2")
        assert out.getvalue() == ""  # not yet: one write for the burst
        app.flush()

    asyncio.run(run())
    lines = out.getvalue().splitlines()
    assert lines == [
        'INFO:     127.0.0.1:5000 - "POST /oauth/token?token=*** HTTP/1.1" 200 OK',
        'INFO:     127.0.0.1:5000 - "GET /demo/customers/password-token=*** HTTP/1.1" 401 Unauthorized',
    ]

"""The command line: tools, call (with --arg parsing and exit codes), configuration errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from commercetools_customers_mcp.cli import main, parse_arguments
from mcp_helpers import SEED_COUNT, P


def test_version(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert "0.1.0" in capsys.readouterr().out


def test_tools_table_and_json(capsys: Any) -> None:
    assert main(["tools"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == SEED_COUNT
    assert any(line.startswith(P + "get_by_key") and "GET" in line and "key" in line for line in table)
    assert main(["tools", "--json", "--compact-schemas"]) == 0
    assert len(json.loads(capsys.readouterr().out)["tools"]) == SEED_COUNT


def test_sizes_table_is_the_readmes(capsys: Any) -> None:
    assert main(["tools", "--sizes", "--allow-tools", "get_by_*"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| Tool") and len(lines) == 2 + 2 + 1  # header, two tools, the total
    assert lines[-1].startswith("| **tools/list result** |") and all(line.startswith("|") for line in lines)


def test_parse_arguments() -> None:
    parsed = parse_arguments(["limit=5", "key=vip", 'where=["a = 1"]', "flag=true", 'key2="5"'], '{"limit": 1, "x": 2}')
    assert parsed == {"limit": 5, "x": 2, "key": "vip", "where": ["a = 1"], "flag": True, "key2": "5"}


@pytest.fixture
def no_ctp_env(monkeypatch: Any) -> None:
    for name in ("CTP_PROJECT_KEY", "CTP_CONNECTIONS_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_call_success_and_error_exit_codes(capsys: Any, no_ctp_env: None) -> None:
    args = ["call", P + "create_customer_groups", "--data", ":memory:", "--arg", "groupName=Gold", "--arg", "key=gold"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "Gold"
    assert main(["call", P + "get_customer_groups_by_key", "--data", ":memory:", "--arg", "key=none"]) == 1
    assert json.loads(capsys.readouterr().out)["statusCode"] == 404
    assert main(["call", P + "list_customers", "--data", ":memory:", "--pcid", "elsewhere"]) == 1
    assert "emulator" in json.loads(capsys.readouterr().out)["hint"]


def test_configuration_error_exits_2_before_serving(tmp_path: Path, capsys: Any, no_ctp_env: None) -> None:
    bad = tmp_path / "connections.toml"
    bad.write_text("[connections.eu]\nproject_key = 'p'\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--connections", str(bad)])
    assert exit_info.value.code == 2
    assert "configuration error" in capsys.readouterr().err


def test_emulator_settings_from_the_environment(monkeypatch: Any, capsys: Any, no_ctp_env: None) -> None:
    """CTP_EMULATOR_* reach the embedded emulator; a bad value is a configuration error (exit 2) naming it."""
    monkeypatch.setenv("CTP_EMULATOR_PASSWORD_COST", "1024")
    args = ["call", P + "create_customers", "--data", ":memory:", "--arg", "email=a@x.com", "--arg", "password=pw-1"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["customer"]["email"] == "a@x.com"
    monkeypatch.setenv("CTP_EMULATOR_PASSWORD_COST", "fast")
    started = "the emulator started despite a bad setting"
    monkeypatch.setattr(uvicorn.Server, "run", lambda *a, **k: pytest.fail(started))
    for command in (
        ["emulator", "--data", ":memory:", "--port", "0"],
        ["call", P + "list_customers", "--data", ":memory:"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(command)
        assert exit_info.value.code == 2
        assert "CTP_EMULATOR_PASSWORD_COST" in capsys.readouterr().err


def test_console_entry_point_runs_as_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "commercetools_customers_mcp", "call", P + "nope", "--data", ":memory:"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "no tool named" in done.stderr and "Traceback" not in done.stderr


# --- first use (issue #18 items 8, 9, 12): one line, never a traceback ----------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["serve", "--log-level", "bogus"], "'bogus' is not one of DEBUG, INFO"),
        (["serve", "--port", "99999"], "99999 is not a port number"),
        (["serve", "--data", "/no/such/folder/e.sqlite3"], "the folder /no/such/folder does not exist"),
        (["call", P + "list_customers", "--data", "/no/such/folder/e.sqlite3"], "does not exist"),
        (["emulator", "--data", "/no/such/folder/e.sqlite3"], "does not exist"),
        (["emulator", "--log-level", "loud"], "'loud' is not one of"),
    ],
)
def test_bad_flags_are_one_line(argv: list[str], says: str, capsys: Any, no_ctp_env: None) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and says in err and "Traceback" not in err


def test_a_port_in_use_is_one_line_before_serving(capsys: Any, caplog: Any, no_ctp_env: None) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exit_info:
            main(["serve", "--transport", "http", "--port", str(port), "--data", ":memory:", "--no-demo"])
    assert exit_info.value.code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert "serving MCP" not in caplog.text


@pytest.mark.parametrize("command", ["tools", "call list_customers --data :memory:"])
def test_a_closed_pipe_is_no_traceback(command: str) -> None:
    script = Path(sys.executable).parent / "commercetools-customers-mcp"
    done = subprocess.run(f"{script} {command} | head -c 10", shell=True, capture_output=True, text=True, timeout=60)
    assert len(done.stdout) == 10 and done.stderr == ""


def test_call_takes_any_name_form_and_types_arguments_by_schema(capsys: Any, no_ctp_env: None) -> None:
    created = ["call", "create_customer_groups", "--data", ":memory:", "--arg", "groupName=7", "--arg", "key=123"]
    assert main(created) == 0  # no prefix; "7" and "123" stay strings, as the schema says
    assert json.loads(capsys.readouterr().out)["name"] == "7"
    assert main(["call", "get_customer_groups_by_key", "--data", ":memory:", "--arg", "key=123"]) == 1
    assert json.loads(capsys.readouterr().out)["statusCode"] == 404  # sent as the string "123": not found
    assert main(["call", "list_customers", "--data", ":memory:", "--arg", "limit=2"]) == 0
    assert json.loads(capsys.readouterr().out)["limit"] == 2
    assert main(["call", "list_custmers", "--data", ":memory:"]) == 2
    assert "did you mean list_customers" in capsys.readouterr().err


def test_help_shows_the_defaults(capsys: Any) -> None:
    for command, default in (("serve", "(default: INFO)"), ("call", "(default: WARNING)")):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert default in out and "(default: 8000)" in out if command == "serve" else default in out


def test_serve_says_it_is_serving_once() -> None:
    """The SDK's two session managers (SSE and JSON answers) each logged "StreamableHTTP session manager started"."""
    import signal

    argv = ["serve", "--transport", "http", "--port", "0", "--data", ":memory:", "--no-demo"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "commercetools_customers_mcp", *argv],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines = []
    while "Application startup complete" not in (line := proc.stderr.readline()):  # the test's timeout bounds it
        assert line, "serve exited before it served: " + "".join(lines)
        lines.append(line)
    proc.send_signal(signal.SIGTERM)
    err = "".join(lines) + line + proc.communicate(timeout=60)[1]
    assert err.count("serving MCP on http://127.0.0.1:") == 1 and "Application startup complete" in err
    assert "session manager" not in err

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
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the emulator started despite a bad setting"))
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
    assert done.returncode == 1 and "Unknown tool" in done.stdout

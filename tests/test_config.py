from pathlib import Path

import pytest

from commercetools_customers_mcp.config import ConfigError
from commercetools_customers_mcp.upstream.connections import (
    DEFAULT_API_URL,
    DEFAULT_AUTH_URL,
    Connection,
    load_connections,
)

SECRET = "s3cr3t-value-never-shown"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connections.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_nothing_configured_gives_empty_dict() -> None:
    assert load_connections(env={}) == {}


def test_env_connection() -> None:
    env = {
        "CTP_PROJECT_KEY": "shop",
        "CTP_CLIENT_ID": "cid",
        "CTP_CLIENT_SECRET": SECRET,
        "CTP_AUTH_URL": "https://auth.us-central1.gcp.commercetools.com/",
        "CTP_API_URL": "https://api.us-central1.gcp.commercetools.com",
        "CTP_SCOPES": "manage_customers:shop, view_business_units:shop view_associate_roles:shop",
    }
    conn = load_connections(env=env)["default"]
    assert conn.project_key == "shop"
    assert conn.client_id == "cid"
    assert conn.client_secret.get_secret_value() == SECRET
    assert conn.auth_url == "https://auth.us-central1.gcp.commercetools.com"
    assert conn.scopes == ["manage_customers:shop", "view_business_units:shop", "view_associate_roles:shop"]
    assert (conn.timeout, conn.connect_timeout, conn.max_retries) == (30.0, 10.0, 3)
    assert SECRET not in repr(conn)


def test_env_pcid_and_default_hosts() -> None:
    env = {"CTP_PROJECT_KEY": "shop", "CTP_CLIENT_ID": "cid", "CTP_CLIENT_SECRET": SECRET, "CTP_PCID": "prod"}
    conn = load_connections(env=env)["prod"]
    assert (conn.auth_url, conn.api_url, conn.scopes) == (DEFAULT_AUTH_URL, DEFAULT_API_URL, [])


def test_env_missing_secret() -> None:
    with pytest.raises(ConfigError, match="CTP_CLIENT_SECRET"):
        load_connections(env={"CTP_PROJECT_KEY": "shop", "CTP_CLIENT_ID": "cid"})


def test_toml_file_with_secret_from_env(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[connections.prod]
project_key = "shop"
client_id = "cid"
client_secret_env = "SHOP_SECRET"
scopes = ["view_customers:shop", "manage_customers:shop"]
timeout = 12.5
connect_timeout = 2
max_retries = 5

[connections.staging]
project_key = "shop-staging"
client_id = "cid2"
client_secret = "inline"
api_url = "http://127.0.0.1:8790"
auth_url = "http://127.0.0.1:8790"
scopes = "manage_project:shop-staging"
""",
    )
    conns = load_connections(path, env={"SHOP_SECRET": SECRET})
    assert set(conns) == {"prod", "staging"}
    prod = conns["prod"]
    assert prod.client_secret.get_secret_value() == SECRET
    assert (prod.timeout, prod.connect_timeout, prod.max_retries) == (12.5, 2.0, 5)
    assert prod.api_url == DEFAULT_API_URL
    assert conns["staging"].scopes == ["manage_project:shop-staging"]
    assert conns["staging"].api_url == "http://127.0.0.1:8790"


def test_file_named_by_env_combined_with_env_connection(tmp_path: Path) -> None:
    path = write(tmp_path, '[connections.b]\nproject_key = "p"\nclient_id = "c"\nclient_secret = "x"\n')
    env = {
        "CTP_CONNECTIONS_FILE": str(path),
        "CTP_PROJECT_KEY": "shop",
        "CTP_CLIENT_ID": "cid",
        "CTP_CLIENT_SECRET": SECRET,
    }
    assert set(load_connections(env=env)) == {"default", "b"}


def test_duplicate_id_between_env_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[connections.default]\nproject_key = "p"\nclient_id = "c"\nclient_secret = "x"\n')
    env = {"CTP_PROJECT_KEY": "shop", "CTP_CLIENT_ID": "cid", "CTP_CLIENT_SECRET": SECRET}
    with pytest.raises(ConfigError, match="'default' is defined both"):
        load_connections(path, env=env)


def test_missing_secret_env_var(tmp_path: Path) -> None:
    path = write(tmp_path, '[connections.a]\nproject_key = "p"\nclient_id = "c"\nclient_secret_env = "NOPE"\n')
    with pytest.raises(ConfigError, match="NOPE") as info:
        load_connections(path, env={})
    assert "[connections.a]" in str(info.value)


def test_every_problem_of_a_table_is_named_in_one_message(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'[connections.a]\nproject_key = "p"\nclient_id = "c"\nclient_secret = "{SECRET}"\ntimeout = -1\n'
        'scopes = 1\ncolour = "red"\n',
    )
    with pytest.raises(ConfigError) as info:
        load_connections(path, env={})
    assert str(info.value) == (
        f"invalid connection in [connections.a] in {path}: scopes must be a list; timeout must be greater than 0; "
        "unknown key(s) colour; allowed: project_key, client_id, client_secret, auth_url, api_url, scopes, "
        "timeout, connect_timeout, max_retries, max_retry_time, store, client_secret_env"
    )


def test_bad_toml_reports_line(tmp_path: Path) -> None:
    path = write(tmp_path, f'[connections.a]\nproject_key = "p"\nclient_secret = "{SECRET}"\nclient_id = \n')
    with pytest.raises(ConfigError, match="line 4") as info:
        load_connections(path, env={})
    assert SECRET not in str(info.value)


def test_missing_field_and_bad_url_never_show_secret(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'[connections.a]\nclient_id = "c"\nclient_secret = "{SECRET}"\napi_url = "ftp://{SECRET}@host"\n',
    )
    with pytest.raises(ConfigError) as info:
        load_connections(path, env={})
    message = str(info.value)
    assert "project_key" in message
    assert "api_url" in message
    assert SECRET not in message


def test_wrongly_typed_secret_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, '[connections.a]\nproject_key = "p"\nclient_id = "c"\nclient_secret = 123456789\n')
    with pytest.raises(ConfigError, match="client_secret") as info:
        load_connections(path, env={})
    assert "123456789" not in str(info.value)


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_connections(tmp_path / "absent.toml", env={})
    with pytest.raises(ConfigError, match=r"no \[connections"):
        load_connections(write(tmp_path, ""), env={})


def test_secret_and_secret_env_both_given(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[connections.a]\nproject_key = "p"\nclient_id = "c"\nclient_secret = "x"\nclient_secret_env = "S"\n',
    )
    with pytest.raises(ConfigError, match="not both"):
        load_connections(path, env={"S": SECRET})


def test_unknown_pcid_is_absent_for_the_caller(tmp_path: Path) -> None:
    path = write(tmp_path, '[connections.a]\nproject_key = "p"\nclient_id = "c"\nclient_secret = "x"\n')
    conns = load_connections(path, env={})
    assert conns.get("nope") is None
    assert isinstance(conns["a"], Connection)

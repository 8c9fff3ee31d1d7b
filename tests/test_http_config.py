"""Settings for ``devicesrp serve``: TOML file, environment admin key, overrides, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from devicesrp.errors import InvalidParameterError
from devicesrp.http.config import ServiceConfig, load_config
from devicesrp.http.serve import banner, redact_url

FULL = """
[server]
host = "0.0.0.0"
port = 9500
db = "postgresql://svc:pa55word@db.internal:5432/idp"
region = "eu-west-1"
workers = 2
issuer = "https://idp.example.com/"
trusted_proxies = ["10.0.0.0/8", "::1"]
max_body_bytes = 32768
access_log = false

[throttle]
address_per_second = 5
address_burst = 10
client_per_second = 50.5
client_burst = 100

[[admin_keys]]
key_id = "AKIDFILE"
secret = "file-secret-value"
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "devicesrp.toml"
    path.write_text(text)
    return str(path)


def test_defaults_with_nothing_set() -> None:
    config = load_config()
    assert (config.host, config.port, config.region, config.workers) == (
        "127.0.0.1",
        9229,
        "us-east-1",
        1,
    )
    assert config.db_url.startswith("sqlite:///") and config.db_url.endswith("devicesrp.sqlite3")
    assert config.admin_keys == ()
    assert config.issuer_base == "http://127.0.0.1:9229"


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    env = {"DEVICESRP_ADMIN_KEY_ID": "AKIDENV", "DEVICESRP_ADMIN_SECRET": "env-secret-value"}
    config = load_config(write(tmp_path, FULL), env, {"port": 9600, "region": None})
    assert config.port == 9600  # the command line wins
    assert config.region == "eu-west-1"  # None means "not given"
    assert config.trusted_proxies == ("10.0.0.0/8", "::1")
    assert config.address_per_second == 5.0 and config.client_burst == 100.0
    assert [k.key_id for k in config.admin_keys] == ["AKIDFILE", "AKIDENV"]
    assert config.issuer_base == "https://idp.example.com"
    assert config.access_log is False and config.max_body_bytes == 32768


def test_secrets_stay_out_of_repr_and_banner(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    text = repr(config) + banner(config)
    assert "file-secret-value" not in text and "pa55word" not in text
    assert redact_url(config.db) == "postgresql://svc:***@db.internal:5432/idp"


def test_operations_run_in_threads_over_postgresql_and_on_the_loop_over_sqlite(
    tmp_path: Path,
) -> None:
    assert load_config().handler_threads is False  # the embedded SQLite default
    assert load_config(overrides={"db": "sqlite:////tmp/x.sqlite3"}).handler_threads is False
    for url in ("postgresql://u@h/db", "postgres://u@h/db"):
        assert load_config(overrides={"db": url}).handler_threads is True
    # the setting, when given, wins either way
    pg = "[server]\ndb = 'postgresql://u@h/db'\nthreaded_handlers = false\n"
    assert load_config(write(tmp_path, pg)).handler_threads is False
    lite = "[server]\nthreaded_handlers = true\n"
    assert load_config(write(tmp_path, lite)).handler_threads is True
    with pytest.raises(InvalidParameterError):
        load_config(write(tmp_path, "[server]\nthreaded_handlers = 'auto'\n"))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[server]\nport = 70000\n", "port"),
        ("[server]\nport = true\n", "server.port"),
        ("[server]\nworkers = 0\n", "workers"),
        ("[server]\nhots = 'x'\n", "config"),
        ("[sever]\n", "config"),
        ("[server]\ntrusted_proxies = ['not-an-ip']\n", "trusted_proxies"),
        ("[server]\ntls_cert = 'cert.pem'\n", "tls_cert"),
        ("[server]\nmax_body_bytes = 10\n", "max_body_bytes"),
        ("[throttle]\naddress_burst = 0\n", "throttle"),
        ("[[admin_keys]]\nkey_id = 'A'\n", "admin_keys"),
        ("not toml at all [", "config"),
    ],
)
def test_bad_settings_are_refused_with_the_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        load_config(write(tmp_path, text))
    assert info.value.field == field


def test_half_an_environment_key_is_refused() -> None:
    with pytest.raises(InvalidParameterError):
        load_config(env={"DEVICESRP_ADMIN_KEY_ID": "AKIDONLY"})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="cannot read"):
        load_config(str(tmp_path / "absent.toml"))


def test_issuer_for_a_wildcard_bind_uses_loopback() -> None:
    assert ServiceConfig(host="0.0.0.0", port=1).issuer_base == "http://127.0.0.1:1"

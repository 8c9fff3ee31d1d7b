"""Service settings: defaults < TOML file < environment < command-line options.

Example file (every key optional)::

    [server]
    host = "127.0.0.1"
    port = 9229
    db = "sqlite:///var/lib/devicesrp/devicesrp.sqlite3"   # or postgresql://...
    region = "us-east-1"
    workers = 1
    issuer = "https://idp.example.com"      # JWT iss base; default http(s)://host:port
    trusted_proxies = ["10.0.0.0/8"]        # peers whose X-Forwarded-For is believed
    cors_origins = ["https://app.example.com"]  # browser apps allowed to call (none by default)
    max_body_bytes = 65536
    access_log = true
    threaded_handlers = true                # operations in a pool of 10 threads per worker, or
                                            # (false) on the event loop, one at a time. Default:
                                            # threads over PostgreSQL (they overlap its round
                                            # trips), the event loop over SQLite (in-process
                                            # work, one writer: threads only add CPU)
    tls_cert = "/etc/devicesrp/cert.pem"
    tls_key = "/etc/devicesrp/key.pem"

    [throttle]                              # token buckets; per_second = 0 disables one
    address_per_second = 20.0
    address_burst = 40
    client_per_second = 100.0
    client_burst = 200

    [[admin_keys]]                          # SigV4 credentials for the Admin* operations
    key_id = "AKIDEXAMPLE"
    secret = "..."

The environment adds one admin key: ``DEVICESRP_ADMIN_KEY_ID`` and ``DEVICESRP_ADMIN_SECRET``.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import InvalidParameterError
from .sigv4 import AdminKey

DEFAULT_DB_PATH = Path(".devicesrp") / "devicesrp.sqlite3"
ENV_KEY_ID = "DEVICESRP_ADMIN_KEY_ID"
ENV_SECRET = "DEVICESRP_ADMIN_SECRET"  # noqa: S105 - the name of a variable, not a secret


@dataclass(frozen=True)
class ServiceConfig:
    """Everything ``devicesrp serve`` needs; admin secrets are kept out of ``repr``."""

    host: str = "127.0.0.1"
    port: int = 9229
    db: str = field(default="", repr=False)  # a PostgreSQL URL may carry a password
    region: str = "us-east-1"
    workers: int = 1
    issuer: str = ""
    trusted_proxies: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 65_536
    access_log: bool = True
    threaded_handlers: bool | None = None  # None: by database, see handler_threads
    tls_cert: str = ""
    tls_key: str = ""
    address_per_second: float = 20.0
    address_burst: float = 40.0
    client_per_second: float = 100.0
    client_burst: float = 200.0
    admin_keys: tuple[AdminKey, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise InvalidParameterError("port", "must be 0..65535")
        if not 1 <= self.workers <= 64:
            raise InvalidParameterError("workers", "must be 1..64")
        if not 1024 <= self.max_body_bytes <= 16 * 1024 * 1024:
            raise InvalidParameterError("max_body_bytes", "must be 1024..16 MiB")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise InvalidParameterError("tls_cert", "tls_cert and tls_key go together")
        if not self.region or not self.region.replace("-", "").isalnum():
            raise InvalidParameterError("region", "must look like us-east-1")
        for net in self.trusted_proxies:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise InvalidParameterError("trusted_proxies", "not an address or CIDR") from None
        for origin in self.cors_origins:
            if origin != "*" and not origin.startswith(("https://", "http://")):
                raise InvalidParameterError("cors_origins", "origins look like https://host[:port]")
        for rate in (self.address_per_second, self.client_per_second):
            if rate < 0:
                raise InvalidParameterError("throttle", "rates must be >= 0")
        for burst in (self.address_burst, self.client_burst):
            if burst < 1:
                raise InvalidParameterError("throttle", "bursts must be >= 1")

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @property
    def db_url(self) -> str:
        return self.db or f"sqlite:///{DEFAULT_DB_PATH.resolve()}"

    @property
    def handler_threads(self) -> bool:
        """Whether operations run in threads. Measured (benchmarks/test_bench_service.py, 1 worker):
        over SQLite the event loop takes 30-40% less CPU per sign-in and serves 1.5-1.9x the
        sign-ins per second; over PostgreSQL threads serve 1.2-1.4x the sign-ins per second."""
        if self.threaded_handlers is not None:
            return self.threaded_handlers
        return urlsplit(self.db_url).scheme in ("postgresql", "postgres")

    @property
    def issuer_base(self) -> str:
        """JWT ``iss`` is ``<issuer_base>/<poolId>`` (pycognito checks it against its endpoint)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return (self.issuer or f"{self.scheme}://{host}:{self.port}").rstrip("/")


_SERVER_KEYS: dict[str, type] = {
    "host": str,
    "port": int,
    "db": str,
    "region": str,
    "workers": int,
    "issuer": str,
    "trusted_proxies": list,
    "cors_origins": list,
    "max_body_bytes": int,
    "access_log": bool,
    "threaded_handlers": bool,
    "tls_cert": str,
    "tls_key": str,
}
_THROTTLE_KEYS = ("address_per_second", "address_burst", "client_per_second", "client_burst")


def _typed(section: str, key: str, value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidParameterError(f"{section}.{key}", f"must be {kind.__name__}")
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise InvalidParameterError(f"{section}.{key}", "must be a list of strings")
        return tuple(value)
    return value


def _from_toml(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    unknown = set(data) - {"server", "throttle", "admin_keys"}
    if unknown:
        raise InvalidParameterError("config", f"unknown section {sorted(unknown)[0]!r}")
    server = data.get("server", {})
    throttle = data.get("throttle", {})
    if not isinstance(server, dict) or not isinstance(throttle, dict):
        raise InvalidParameterError("config", "server and throttle must be tables")
    for key, value in server.items():
        if key not in _SERVER_KEYS:
            raise InvalidParameterError("config", f"unknown key server.{key}")
        out[key] = _typed("server", key, value, _SERVER_KEYS[key])
    for key, value in throttle.items():
        if key not in _THROTTLE_KEYS:
            raise InvalidParameterError("config", f"unknown key throttle.{key}")
        out[key] = _typed("throttle", key, value, float)
    keys = data.get("admin_keys", [])
    if not isinstance(keys, list):
        raise InvalidParameterError("admin_keys", "must be an array of tables")
    admin: list[AdminKey] = []
    for entry in keys:
        if (
            not isinstance(entry, dict)
            or set(entry) != {"key_id", "secret"}
            or not all(isinstance(v, str) and v for v in entry.values())
        ):
            raise InvalidParameterError("admin_keys", "each entry needs key_id and secret strings")
        admin.append(AdminKey(entry["key_id"], entry["secret"]))
    out["admin_keys"] = tuple(admin)
    return out


def load_config(
    path: str | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ServiceConfig:
    """Resolve the settings; a bad file, key or value raises ``InvalidParameterError``."""
    values: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as fh:
                values.update(_from_toml(tomllib.load(fh)))
        except OSError as exc:
            raise InvalidParameterError("config", f"cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise InvalidParameterError("config", f"{path} is not valid TOML: {exc}") from None
    env = env or {}
    key_id, secret = env.get(ENV_KEY_ID, ""), env.get(ENV_SECRET, "")
    if bool(key_id) != bool(secret):
        raise InvalidParameterError("environment", f"set both {ENV_KEY_ID} and {ENV_SECRET}")
    if key_id:
        values["admin_keys"] = (*values.get("admin_keys", ()), AdminKey(key_id, secret))
    known = {f.name for f in fields(ServiceConfig)}
    for key, value in (overrides or {}).items():
        if key not in known:
            raise InvalidParameterError("overrides", f"unknown setting {key}")
        if value is not None:
            values[key] = value
    return replace(ServiceConfig(), **values)

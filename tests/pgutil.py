"""PostgreSQL for tests: a fresh schema per test run in database ``test`` at 127.0.0.1:5432.

``DEVICESRP_TEST_PG`` overrides the server URL. When PostgreSQL is unreachable the tests that need
it skip with the reason, except under ``CI=true``, where they fail (CI must never skip it silently).

Use ``pg_url()`` for a URL whose ``search_path`` is this run's private schema (created on first
use, dropped at exit), and ``truncate_all(url)`` to empty it between tests.
"""

from __future__ import annotations

import atexit
import os
import secrets
from urllib.parse import quote

import pytest

_CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
)
_state: dict[str, str] = {}


def _connect(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(url, connect_timeout=3, autocommit=True)


def server_url() -> str | None:
    """The first candidate server URL that accepts a connection, or None (reason kept)."""
    if "server" in _state:
        return _state["server"] or None
    override = os.environ.get("DEVICESRP_TEST_PG")
    errors = []
    for url in [override] if override else _CANDIDATES:
        try:
            with _connect(url) as conn:
                conn.execute("SELECT 1")
            _state["server"] = url
            return url
        except Exception as exc:
            errors.append(f"{url}: {type(exc).__name__}: {str(exc).strip()[:200]}")
    _state["server"] = ""
    _state["reason"] = "PostgreSQL unreachable (" + "; ".join(errors) + ")"
    return None


def require_postgres() -> str:
    """The server URL, or skip (fail under CI=true) with the reason."""
    url = server_url()
    if url is None:
        reason = _state.get("reason", "PostgreSQL unreachable")
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return url


def with_schema(server: str, schema: str) -> str:
    sep = "&" if "?" in server else "?"
    return f"{server}{sep}options={quote(f'-csearch_path={schema}')}"


def new_schema(prefix: str = "dsrp") -> str:
    """A brand-new empty schema (its URL via ``with_schema``); dropped when the process exits."""
    server = require_postgres()
    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with _connect(server) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    atexit.register(drop_schema, server, schema)
    return with_schema(server, schema)


def drop_schema(server: str, schema: str) -> None:
    try:
        with _connect(server) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except Exception:  # best effort at exit; a leftover schema is harmless
        pass


def pg_url() -> str:
    """This run's schema (one per process), created on first use."""
    if "url" not in _state:
        _state["url"] = new_schema()
    return _state["url"]


def truncate_all(url: str) -> None:
    """Empty every table of the schema in ``url`` except the migration log.

    DELETE, children first, rather than TRUNCATE: on tables this small it is several times faster.
    """
    with _connect(url) as conn:
        present = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            ).fetchall()
        }
        present.discard("schema_migrations")
        # Known tables children first; any table a later migration adds, after them.
        order = [t for t in _CHILDREN_FIRST if t in present]
        order += sorted(present - set(order))
        with conn.transaction():
            for table in order:
                conn.execute(f'DELETE FROM "{table}"')


_CHILDREN_FIRST = (
    "refresh_tokens",
    "devices",
    "users",
    "clients",
    "pools",
    "consumed",
    "tickets",
    "lockouts",
    "wrapped_keys",
    "outbox",
)


def shared_store():  # type: ignore[no-untyped-def]
    """One store on this run's schema, emptied on each call (reopening per test is slow)."""
    from devicesrp.store import open_store

    url = pg_url()
    store = _stores.get(url)
    if store is None:
        store = _stores[url] = open_store(url, pool_size=4)
        atexit.register(store.close)
    truncate_all(url)
    return store


_stores: dict[str, object] = {}

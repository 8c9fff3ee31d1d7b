"""Pagination as a property: walking every page yields each row exactly once, in order, for any
set of devices (ties in first-tracked time included) and any page size; plus URL parsing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counts import count
from devicesrp.errors import InvalidParameterError
from devicesrp.store import SqlStore, _paging, open_store, sqlite_path
from devicesrp.store import testing as t

SUB = t.user(1).sub


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    s = open_store(f"sqlite:///{tmp_path_factory.mktemp('paging')}/p.db")
    s.create_pool(t.pool())
    s.create_user(t.user(1))
    yield s
    s.close()


@settings(
    max_examples=count(ci=40, soak=400),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    times=st.lists(st.sampled_from([1.0, 2.0, 2.5, 1e9, 1e9 + 0.5]), min_size=0, max_size=25),
    remembered=st.lists(st.booleans(), min_size=25, max_size=25),
    limit=st.integers(min_value=0, max_value=7),
)
def test_walking_pages_visits_every_device_once_in_order(
    store: SqlStore, times: list[float], remembered: list[bool], limit: int
) -> None:
    with store.transaction():
        store.delete_user(t.POOL, SUB)
        store.create_user(t.user(1))
        for n, when in enumerate(times):
            conf = dataclasses.replace(t.confirmation(n, SUB, remembered=remembered[n]), now=when)
            store.confirm_device(conf)
    for remembered_only in (False, True):
        keys: list[str] = []
        token = None
        for _ in range(100):
            page = store.list_devices(
                t.POOL, SUB, remembered_only=remembered_only, limit=limit, pagination_token=token
            )
            assert len(page.items) <= (limit or 60)
            keys += [d.device_key for d in page.items]
            token = page.next_token
            if token is None:
                break
        expected = sorted(
            (when, t.device_key(n))
            for n, when in enumerate(times)
            if remembered[n] or not remembered_only
        )
        assert keys == [key for _, key in expected]


@given(st.text(max_size=80))
def test_arbitrary_tokens_never_crash(token: str) -> None:
    try:
        _paging.decode("pagination_token", "devices", token, (float, str))
    except InvalidParameterError:
        pass


def test_token_round_trip_and_kind_binding() -> None:
    token = _paging.encode("devices", [1.5, "us-east-1_ab"])
    assert _paging.decode("f", "devices", token, (float, str)) == [1.5, "us-east-1_ab"]
    with pytest.raises(InvalidParameterError):
        _paging.decode("f", "users", token, (str,))
    with pytest.raises(InvalidParameterError):
        _paging.decode("f", "devices", token + "=", (float, str))


def test_sqlite_url_convention() -> None:
    assert sqlite_path("sqlite:///rel/x.db") == Path("rel/x.db")
    assert sqlite_path("sqlite:////abs/x.db") == Path("/abs/x.db")
    assert sqlite_path("sqlite:///with%20space.db") == Path("with space.db")
    for bad in ["sqlite:/x.db", "sqlite://host/x.db", "sqlite:///", "sqlite:///a%00b"]:
        with pytest.raises(InvalidParameterError):
            sqlite_path(bad)

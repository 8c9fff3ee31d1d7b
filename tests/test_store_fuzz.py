"""Hostile input, generated: every store method and every record field gets arbitrary values; the
only outcomes allowed are a result or a typed refusal, never a crash or a driver error."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pgutil
from counts import count
from devicesrp.errors import (
    DeviceKeyConflictError,
    InvalidParameterError,
    InvalidTypeError,
    RecordExistsError,
    RecordNotFoundError,
)
from devicesrp.store import SqlStore, Store, open_store
from devicesrp.store import testing as t

ALLOWED = (
    InvalidParameterError,
    InvalidTypeError,
    RecordExistsError,
    RecordNotFoundError,
    DeviceKeyConflictError,
)
SKIP = {"close", "transaction", "schema_version", "run_unit"}  # run_unit runs caller code
METHODS = sorted(
    name
    for name, _ in inspect.getmembers(Store, inspect.isfunction)
    if name not in SKIP and not name.startswith("_")
)

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.binary(max_size=500),
    st.sampled_from(
        [t.POOL, t.CLIENT, t.user(1).sub, t.device_key(1), "user0001", "", "\x00", "x" * 5000]
    ),
    st.sampled_from([b"\x00" * 32, [], {}, {"a": 1}, object(), lambda n: 1.0]),
)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/f.db", pool_size=2)
    else:
        s = open_store(pgutil.new_schema("fuzz"), pool_size=2)
    s.create_pool(t.pool())
    s.create_client(t.client())
    s.create_user(t.user(1))
    s.confirm_device(t.confirmation(1, t.user(1).sub))
    yield s
    s.close()


def call_with(store: SqlStore, name: str, draw: Any) -> None:
    method = getattr(store, name)
    args: list[object] = []
    kwargs: dict[str, object] = {}
    for param in inspect.signature(method).parameters.values():
        value = draw(values)
        if param.kind is param.KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            args.append(value)
    try:
        method(*args, **kwargs)
    except ALLOWED:
        pass


@settings(
    max_examples=count(ci=300, soak=5000),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.sampled_from(METHODS), data=st.data())
def test_any_arguments_to_any_method(store: SqlStore, name: str, data: st.DataObject) -> None:
    call_with(store, name, data.draw)


RECORDS = {
    "confirm_device": t.confirmation(2, t.user(1).sub),
    "create_user": t.user(2),
    "insert_refresh_token": t.refresh_token(2, t.user(1).sub),
    "create_client": t.client("client2"),
}


class Rollback(Exception):
    """Raised at the end of each unit so every accepted write is undone between examples."""


@settings(
    max_examples=count(ci=200, soak=3000),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(method=st.sampled_from(sorted(RECORDS)), data=st.data())
def test_any_value_in_any_record_field(store: SqlStore, method: str, data: st.DataObject) -> None:
    record = RECORDS[method]
    field = data.draw(st.sampled_from([f.name for f in dataclasses.fields(record)]))
    try:
        changed = dataclasses.replace(record, **{field: data.draw(values)})
    except (InvalidParameterError, InvalidTypeError):
        return
    with pytest.raises(Rollback), store.transaction():
        try:
            getattr(store, method)(changed)
        except ALLOWED:
            pass
        raise Rollback


def test_every_contract_method_is_fuzzed() -> None:
    assert {"confirm_device", "consume_once", "list_devices", "record_failure"} <= set(METHODS)

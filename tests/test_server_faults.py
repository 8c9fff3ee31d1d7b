"""Row 28 at the domain level: a fault after any statement of a multi-step domain write leaves
the state before it, and the same operation then succeeds — on both stores."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devicesrp.errors import InjectedFaultError
from devicesrp.server.config import DeviceCapMode, DeviceConfiguration, PoolSettings
from devicesrp.srp.cognito import device_verifier
from devicesrp.store import testing as t
from test_server_harness import (
    CLIENT,
    POOL,
    Env,
    confirm_new_device,
    make_env,
    open_backend,
    password_login,
)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    store = open_backend(request.param, tmp_path)
    settings = PoolSettings(
        POOL,
        devices=DeviceConfiguration(True, False),
        max_remembered_devices=1,
        device_cap_mode=DeviceCapMode.EVICT,
        refresh_rotation=True,
    )
    e = make_env(store, settings)
    e.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!")
    yield e
    store.close()


def confirm_with_eviction(env: Env) -> Callable[[], object]:
    confirm_new_device(env, password_login(env, "alice"))
    second = password_login(env, "alice")
    meta = second.new_device
    assert meta is not None
    cfg = device_verifier(meta.device_group_key, meta.device_key, "pw", os.urandom(16))
    salt = base64.b64encode(cfg.salt).decode()
    verifier = base64.b64encode(cfg.password_verifier).decode()
    return lambda: env.idp.confirm_device(second.access_token, meta.device_key, salt, verifier)


def rotate_refresh(env: Env) -> Callable[[], object]:
    first = password_login(env, "alice")
    key = first.new_device.device_key if first.new_device else None
    return lambda: env.idp.get_tokens_from_refresh_token(
        CLIENT, first.refresh_token, device_key=key
    )


def revoke(env: Env) -> Callable[[], object]:
    first = password_login(env, "alice")
    return lambda: env.idp.revoke_token(CLIENT, first.refresh_token)


def sign_out(env: Env) -> Callable[[], object]:
    first = password_login(env, "alice")
    env.clock.advance(5)
    return lambda: env.idp.global_sign_out(first.access_token)


SCENARIOS = {
    "confirm_device_evicting": confirm_with_eviction,
    "refresh_rotation": rotate_refresh,
    "revoke_token": revoke,
    "global_sign_out": sign_out,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_fault_after_every_statement(env: Env, name: str) -> None:
    operation = SCENARIOS[name](env)
    before = t.dump(env.store)
    n = 0
    while True:
        n += 1
        assert n < 50, "the write never completed"
        with env.store.statement_hook(fail_after=n):
            try:
                operation()
            except InjectedFaultError:
                assert t.dump(env.store) == before, f"{name}: fault after statement {n}"
                continue
        break
    assert n > 2, f"{name}: not a multi-step write"
    assert t.dump(env.store) != before

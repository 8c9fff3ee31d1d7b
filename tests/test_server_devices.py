"""Device APIs on both stores: ConfirmDevice bounds (row 35) and races (row 29), forget mid-login
(row 30), unknown vs forgotten devices (row 18), status, listing, admin twins and the device cap."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from devicesrp.server.config import DeviceCapMode, DeviceConfiguration, PoolSettings
from devicesrp.server.errors import (
    DeviceKeyExistsError,
    InvalidParameterDomainError,
    LimitExceededError,
    NotAuthorizedError,
    ResourceNotFoundError,
)
from devicesrp.srp.cognito import device_verifier
from devicesrp.srp.groups import COGNITO_GROUP
from test_server_harness import (
    POOL,
    Env,
    SignIn,
    confirm_new_device,
    device_login,
    make_env,
    open_backend,
    password_login,
    tokens_of,
)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
N = COGNITO_GROUP.N


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def env(backend: str, tmp_path: Path) -> Iterator[Env]:
    store = open_backend(backend, tmp_path)
    e = make_env(store)
    e.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!")
    e.idp.admin_create_user(POOL, "mallory", "Corr3ct-horse!")
    yield e
    store.close()


def _config(meta_group: str, meta_key: str) -> tuple[str, str]:
    cfg = device_verifier(meta_group, meta_key, "pw", os.urandom(16))
    return b64(cfg.salt), b64(cfg.password_verifier)


@pytest.mark.parametrize(
    ("salt", "verifier"),
    [
        (b64(b"\x01" * 65), b64((5).to_bytes(384, "big"))),  # salt > 64 bytes
        (b64(b"\x01" * 16), b64(b"\x01" * 385)),  # 385 bytes not in PAD form
        (b64(b"\x01" * 16), b64(b"\x00" + b"\x01" * 385)),  # > 385 bytes
        (b64(b"\x01" * 16), b64((1).to_bytes(384, "big"))),  # v = 1
        (b64(b"\x01" * 16), b64((N - 1).to_bytes(384, "big"))),  # v = N - 1
        (b64(b"\x01" * 16), b64(N.to_bytes(384, "big"))),  # v = N
        ("not base64!", b64((5).to_bytes(384, "big"))),
        (b64(b"\x01" * 16), "AAA"),  # bad padding
        ("", b64((5).to_bytes(384, "big"))),
        (None, None),
    ],
)
def test_confirm_device_bounds_store_nothing(env: Env, salt: object, verifier: object) -> None:
    """Row 35: InvalidParameterException and no record."""
    first = password_login(env, "alice")
    assert first.new_device is not None
    key = first.new_device.device_key
    with pytest.raises(InvalidParameterDomainError):
        env.idp.confirm_device(first.access_token, key, salt, verifier, "x")
    record = env.store.get_device(POOL, key)
    assert record is not None and not record.confirmed and record.verifier is None


def test_boundary_verifiers_are_accepted(env: Env) -> None:
    for v in (2, N - 2):
        first = password_login(env, "alice")
        assert first.new_device is not None
        pad = v.to_bytes(385, "big") if v.bit_length() == 3072 else v.to_bytes(384, "big")
        env.idp.confirm_device(
            first.access_token, first.new_device.device_key, b64(b"\x07"), b64(pad)
        )
        assert env.store.get_device(POOL, first.new_device.device_key).confirmed  # type: ignore[union-attr]


def test_confirm_is_idempotent_and_never_overwritten(env: Env) -> None:
    """Row 29: identical retry, a different verifier, 20 concurrent confirmations."""
    first = password_login(env, "alice")
    meta = first.new_device
    assert meta is not None
    salt, verifier = _config(meta.device_group_key, meta.device_key)
    assert env.idp.confirm_device(first.access_token, meta.device_key, salt, verifier, "n") is False
    assert env.idp.confirm_device(first.access_token, meta.device_key, salt, verifier, "n") is False
    other_salt, other_verifier = _config(meta.device_group_key, meta.device_key)
    with pytest.raises(DeviceKeyExistsError):
        env.idp.confirm_device(first.access_token, meta.device_key, other_salt, other_verifier)
    stored = env.store.get_device(POOL, meta.device_key)
    assert stored is not None and stored.salt == base64.b64decode(salt)

    second = password_login(env, "alice")
    meta2 = second.new_device
    assert meta2 is not None
    configs = [_config(meta2.device_group_key, meta2.device_key) for _ in range(20)]
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def run(cfg: tuple[str, str]) -> None:
        barrier.wait()
        try:
            env.idp.confirm_device(second.access_token, meta2.device_key, *cfg)
            outcomes.append("ok")
        except DeviceKeyExistsError:
            outcomes.append("exists")

    threads = [threading.Thread(target=run, args=(c,)) for c in configs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and outcomes.count("exists") == 19
    stored2 = env.store.get_device(POOL, meta2.device_key)
    assert stored2 is not None
    winner = [c for c in configs if base64.b64decode(c[0]) == stored2.salt]
    assert len(winner) == 1


def test_key_must_belong_to_the_caller(env: Env) -> None:
    alice = password_login(env, "alice")
    mallory = password_login(env, "mallory")
    assert alice.new_device is not None
    salt, verifier = _config(alice.new_device.device_group_key, alice.new_device.device_key)
    with pytest.raises(ResourceNotFoundError):
        env.idp.confirm_device(mallory.access_token, alice.new_device.device_key, salt, verifier)
    with pytest.raises(ResourceNotFoundError):
        env.idp.confirm_device(
            alice.access_token, "us-east-1_33333333-3333-4333-8333-333333333333", salt, verifier
        )
    with pytest.raises(NotAuthorizedError):
        env.idp.confirm_device("not.a.token", alice.new_device.device_key, salt, verifier)


def test_forget_between_device_steps_gives_no_tokens(env: Env) -> None:
    """Row 30: ForgetDevice between DEVICE_SRP_AUTH and the proof."""
    first = password_login(env, "alice")
    device = confirm_new_device(env, first)
    s = SignIn(env, "alice")
    s.initiate()
    s.respond(s.proof(device_key=device.key))
    s.respond(s.device_srp_auth(device))
    env.idp.forget_device(first.access_token, device.key)
    with pytest.raises(ResourceNotFoundError) as info:
        s.respond(s.device_proof(device))
    assert info.value.message == "Device does not exist."
    # The refresh token bound to the forgotten device died with it.
    with pytest.raises(NotAuthorizedError):
        env.idp.get_tokens_from_refresh_token("client1", first.refresh_token, device_key=device.key)


def test_unknown_and_forgotten_keys_get_the_same_answer(env: Env) -> None:
    """Row 18: never-issued and forgotten keys -> "Device does not exist."; wrong secret ->
    NotAuthorized."""
    first = password_login(env, "alice")
    device = confirm_new_device(env, first)
    env.idp.forget_device(first.access_token, device.key)
    unconfirmed = password_login(env, "alice").new_device
    assert unconfirmed is not None
    never = "us-east-1_44444444-4444-4444-8444-444444444444"
    for key in (never, device.key, unconfirmed.device_key):
        s = SignIn(env, "alice")
        s.initiate()
        with pytest.raises(ResourceNotFoundError) as info:
            s.respond(s.proof(device_key=key))
        assert info.value.message == "Device does not exist."


def test_user_opt_in_status_list_get_and_admin_twins(backend: str, tmp_path: Path) -> None:
    store = open_backend(backend, tmp_path)
    opt_in = DeviceConfiguration(
        challenge_required_on_new_device=True, only_remembered_on_user_prompt=True
    )
    env = make_env(store, PoolSettings(POOL, devices=opt_in))
    env.idp.admin_create_user(POOL, "carol", "Corr3ct-horse!")
    first = password_login(env, "carol")
    meta = first.new_device
    assert meta is not None
    salt, verifier = _config(meta.device_group_key, meta.device_key)
    assert env.idp.confirm_device(first.access_token, meta.device_key, salt, verifier, "phone")
    assert env.idp.list_devices(first.access_token).devices == ()
    with pytest.raises(ResourceNotFoundError):
        env.idp.get_device(first.access_token, meta.device_key)
    admin = env.idp.admin_list_devices(POOL, "carol")
    assert [d.device_key for d in admin.devices] == [meta.device_key]
    assert not admin.devices[0].remembered
    env.idp.update_device_status(first.access_token, meta.device_key, "remembered")
    view = env.idp.get_device(first.access_token, meta.device_key)
    attrs = {a.name: a.value for a in view.attributes}
    assert attrs["device_name"] == "phone"
    assert attrs["dev:device_remembered_status"] == "remembered"
    with pytest.raises(InvalidParameterDomainError):
        env.idp.update_device_status(first.access_token, meta.device_key, "sometimes")
    with pytest.raises(InvalidParameterDomainError):
        env.idp.list_devices(first.access_token, limit=61)
    env.idp.admin_update_device_status(POOL, "carol", meta.device_key, "not_remembered")
    assert env.idp.list_devices(first.access_token).devices == ()
    env.idp.admin_forget_device(POOL, "carol", meta.device_key)
    assert env.idp.admin_list_devices(POOL, "carol").devices == ()
    store.close()


def test_list_devices_paginates(env: Env) -> None:
    keys = []
    token = ""
    for _ in range(5):
        result = password_login(env, "alice")
        keys.append(confirm_new_device(env, result).key)
        token = result.access_token
    seen: list[str] = []
    page = env.idp.list_devices(token, limit=2)
    while True:
        assert len(page.devices) <= 2
        seen += [d.device_key for d in page.devices]
        if page.pagination_token is None:
            break
        page = env.idp.list_devices(token, limit=2, pagination_token=page.pagination_token)
    assert sorted(seen) == sorted(keys)


@pytest.mark.parametrize("mode", [DeviceCapMode.REFUSE, DeviceCapMode.EVICT])
def test_remembered_device_cap(backend: str, tmp_path: Path, mode: DeviceCapMode) -> None:
    store = open_backend(backend, tmp_path)
    settings = PoolSettings(
        POOL,
        devices=DeviceConfiguration(True, False),
        max_remembered_devices=2,
        device_cap_mode=mode,
    )
    env = make_env(store, settings)
    env.idp.admin_create_user(POOL, "dave", "Corr3ct-horse!")
    devices = []
    for _ in range(2):
        devices.append(confirm_new_device(env, password_login(env, "dave")))
        env.clock.advance(10)
    device_login(env, "dave", devices[1])  # devices[0] is now the least recently authenticated
    third = password_login(env, "dave")
    meta = third.new_device
    assert meta is not None
    salt, verifier = _config(meta.device_group_key, meta.device_key)
    necessary = env.idp.confirm_device(third.access_token, meta.device_key, salt, verifier)
    remembered = {d.device_key for d in env.idp.list_devices(third.access_token).devices}
    if mode is DeviceCapMode.REFUSE:
        # Sign-in and ConfirmDevice succeed; the new device stays not remembered.
        assert necessary is True
        assert remembered == {devices[0].key, devices[1].key}
        with pytest.raises(LimitExceededError):
            env.idp.update_device_status(third.access_token, meta.device_key, "remembered")
    else:
        assert necessary is False
        assert remembered == {devices[1].key, meta.device_key}
        assert env.store.get_device(POOL, devices[0].key) is None
    store.close()


def test_new_device_login_path_keeps_working_after_confirm(env: Env) -> None:
    first = password_login(env, "alice")
    device = confirm_new_device(env, first)
    for _ in range(2):
        assert device_login(env, "alice", device).new_device is None
    s = SignIn(env, "alice")
    s.initiate()
    out = s.respond(s.proof())  # no device presented: a fresh key
    assert tokens_of(out).new_device is not None

"""Tokens and keys at rest: refresh (device-bound, rotation with grace), revocation, global sign
out, signing- and sealing-key rotation without breaking sign-ins in flight, the KEK."""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from devicesrp.server.config import PoolSettings
from devicesrp.server.errors import NotAuthorizedError
from devicesrp.server.kek import Kek, KekError, load_kek
from devicesrp.server.vault import KIND_FAKE_SALT, KIND_JWT, KIND_SEAL, KIND_TOTP, KeyVault
from test_server_harness import (
    CLIENT,
    POOL,
    TRACK_REPLACE_MFA,
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


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    store = open_backend(request.param, tmp_path)
    e = make_env(store)
    e.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!")
    yield e
    store.close()


def claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def test_refresh_keeps_the_token_and_its_device_binding(env: Env) -> None:
    first = password_login(env, "alice")
    device = confirm_new_device(env, first)
    result = device_login(env, "alice", device)
    env.clock.advance(60)
    again = env.idp.get_tokens_from_refresh_token(
        CLIENT, result.refresh_token, device_key=device.key
    )
    assert again.refresh_token is None  # Cognito does not rotate by default
    c = claims(again.access_token)
    assert c["device_key"] == device.key
    assert c["origin_jti"] == claims(result.access_token)["origin_jti"]
    assert c["auth_time"] == claims(result.access_token)["auth_time"]
    assert int(str(c["iat"])) == int(env.clock())
    for wrong in (None, "us-east-1_55555555-5555-4555-8555-555555555555"):
        with pytest.raises(NotAuthorizedError):
            env.idp.get_tokens_from_refresh_token(CLIENT, result.refresh_token, device_key=wrong)
    for garbage in ("", "rt1.", "x" * 5000, None, 42, result.refresh_token + "A"):
        with pytest.raises(NotAuthorizedError):
            env.idp.get_tokens_from_refresh_token(CLIENT, garbage, device_key=device.key)


def test_refresh_needs_the_key_of_the_device_it_was_issued_with(env: Env) -> None:
    first = password_login(env, "alice")
    assert first.new_device is not None
    for wrong in (None, "us-east-1_66666666-6666-4666-8666-666666666666"):
        with pytest.raises(NotAuthorizedError):
            env.idp.get_tokens_from_refresh_token(CLIENT, first.refresh_token, device_key=wrong)
    env.idp.get_tokens_from_refresh_token(
        CLIENT, first.refresh_token, device_key=first.new_device.device_key
    )


def test_refresh_token_is_stored_hashed(env: Env) -> None:
    result = password_login(env, "alice")
    assert result.refresh_token is not None
    record = env.store.get_refresh_token(hashlib.sha256(result.refresh_token.encode()).digest())
    assert record is not None and record.client_id == CLIENT


def test_refresh_token_expires(env: Env) -> None:
    result = password_login(env, "alice")
    assert result.new_device is not None
    env.clock.advance(30 * 24 * 3600 + 1)
    with pytest.raises(NotAuthorizedError):
        env.idp.get_tokens_from_refresh_token(
            CLIENT, result.refresh_token, device_key=result.new_device.device_key
        )


def test_revoke_token_kills_the_family_and_its_access_tokens(env: Env) -> None:
    result = password_login(env, "alice")
    assert result.new_device is not None
    other = password_login(env, "alice")
    env.idp.get_user(result.access_token)
    env.idp.revoke_token(CLIENT, result.refresh_token)
    with pytest.raises(NotAuthorizedError):
        env.idp.get_tokens_from_refresh_token(
            CLIENT, result.refresh_token, device_key=result.new_device.device_key
        )
    with pytest.raises(NotAuthorizedError):
        env.idp.get_user(result.access_token)
    env.idp.get_user(other.access_token)  # another sign-in is untouched
    env.idp.revoke_token(CLIENT, "rt1.not-a-token")  # RFC 7009: no error


def test_global_sign_out(env: Env) -> None:
    result = password_login(env, "alice")
    env.clock.advance(5)
    env.idp.global_sign_out(result.access_token)
    with pytest.raises(NotAuthorizedError):
        env.idp.get_user(result.access_token)
    env.clock.advance(1)
    fresh = password_login(env, "alice")
    assert env.idp.get_user(fresh.access_token).username == "alice"


def test_refresh_rotation_with_one_retry_in_grace(tmp_path: Path) -> None:
    store = open_backend("sqlite", tmp_path)
    env = make_env(store, PoolSettings(POOL, devices=TRACK_REPLACE_MFA, refresh_rotation=True))
    env.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!")
    first = password_login(env, "alice")
    key = first.new_device.device_key if first.new_device else None
    second = env.idp.get_tokens_from_refresh_token(CLIENT, first.refresh_token, device_key=key)
    assert second.refresh_token is not None and second.refresh_token != first.refresh_token
    env.clock.advance(10)
    # The response was lost: the old token works once more within the grace period.
    retry = env.idp.get_tokens_from_refresh_token(CLIENT, first.refresh_token, device_key=key)
    assert retry.refresh_token is not None
    with pytest.raises(NotAuthorizedError):
        env.idp.get_tokens_from_refresh_token(CLIENT, first.refresh_token, device_key=key)
    env.idp.get_tokens_from_refresh_token(CLIENT, retry.refresh_token, device_key=key)
    store.close()


def test_signing_key_rotation_keeps_old_tokens_valid_until_retired(env: Env) -> None:
    old = password_login(env, "alice")
    old_kid = jwt.get_unverified_header(old.access_token)["kid"]
    new_kid = env.rt.vault.rotate(KIND_JWT)
    new = password_login(env, "alice")
    assert jwt.get_unverified_header(new.access_token)["kid"] == new_kid != old_kid
    kids = {k["kid"] for k in (env.idp.jwks(POOL) or {"keys": []})["keys"]}
    assert kids == {old_kid, new_kid}
    env.idp.get_user(old.access_token)
    env.rt.vault.retire_older(KIND_JWT)
    with pytest.raises(NotAuthorizedError):
        env.idp.get_user(old.access_token)
    env.idp.get_user(new.access_token)


def test_sealing_key_rotation_does_not_break_sign_ins_in_flight(env: Env) -> None:
    """Row 16 at the domain level: begun under K1, rotated to K2, finished; retired K1 stops."""
    device = confirm_new_device(env, password_login(env, "alice"))
    s = SignIn(env, "alice")
    s.initiate()
    out = s.respond(s.proof(device_key=device.key))
    assert out.challenge is not None
    env.rt.vault.rotate(KIND_SEAL)
    s.respond(s.device_srp_auth(device))
    tokens_of(s.respond(s.device_proof(device)))
    late = SignIn(env, "alice")
    late.initiate()
    env.rt.vault.rotate(KIND_SEAL)
    env.rt.vault.retire_older(KIND_SEAL)
    with pytest.raises(NotAuthorizedError):
        late.respond(late.proof())


def test_a_rotation_by_another_process_is_seen_after_the_reload_interval(env: Env) -> None:
    """Row 16 across processes (e.g. ``devicesrp keys`` beside a running serve): a vault's key
    ring is at most ``reload_seconds`` old, and a wall clock stepped back does not stretch that."""
    first = env.rt.vault.session_keys()[0][0]
    other = KeyVault(env.store, env.rt.kek, clock=env.clock, random_bytes=os.urandom)
    new = bytes.fromhex(other.rotate(KIND_SEAL))
    env.clock.advance(29)
    assert env.rt.vault.session_keys()[0][0] == first  # still the cached ring
    env.clock.advance(1)
    assert [k for k, _ in env.rt.vault.session_keys()] == [new, first]
    other.retire_older(KIND_SEAL)
    env.clock.advance(-3600)  # the wall clock stepped back an hour
    assert [k for k, _ in env.rt.vault.session_keys()] == [new]


def test_fake_salts_survive_rotation(env: Env) -> None:
    """The fake-salt key is re-wrapped, never replaced: unknown names keep their salts."""
    before = SignIn(env, "nobody").initiate().parameters["SALT"]
    env.rt.vault.rotate_all()
    env.rt.vault.refresh()
    assert SignIn(env, "nobody").initiate().parameters["SALT"] == before


def test_keys_at_rest_need_the_kek(tmp_path: Path) -> None:
    store = open_backend("sqlite", tmp_path)
    kek = Kek(os.urandom(32))
    env = make_env(store, kek=kek)
    env.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!")
    password_login(env, "alice")
    secrets = [env.rt.vault.secret(KIND_FAKE_SALT), env.rt.vault.secret(KIND_TOTP)]
    secrets += [k for _, k in env.rt.vault.session_keys()]
    store.close()
    raw = (tmp_path / "server.db").read_bytes()
    for name in ("server.db-wal",):
        if (tmp_path / name).exists():
            raw += (tmp_path / name).read_bytes()
    for secret in secrets:
        assert secret not in raw and base64.b64encode(secret) not in raw
    with sqlite3.connect(tmp_path / "server.db") as db:
        pems = db.execute("SELECT COUNT(*) FROM wrapped_keys").fetchone()[0]
    assert pems >= 4 and b"PRIVATE KEY" not in raw
    # Another KEK opens nothing; the previous KEK still opens after a KEK change.
    reopened = open_backend("sqlite", tmp_path)
    stranger = make_env(reopened, kek=Kek(os.urandom(32)))
    with pytest.raises(KekError):
        stranger.rt.vault.secret(KIND_FAKE_SALT)
    successor = make_env(reopened, kek=Kek(os.urandom(32), previous=(kek.current,)))
    assert successor.rt.vault.secret(KIND_FAKE_SALT) == secrets[0]
    reopened.close()


def test_load_kek_from_env_and_file(tmp_path: Path) -> None:
    key = os.urandom(32)
    text = base64.b64encode(key).decode()
    assert load_kek({"DEVICESRP_KEK": text}).current == key
    path = tmp_path / "kek"
    path.write_text(text + "\n")
    assert load_kek({"DEVICESRP_KEK_FILE": str(path)}).current == key
    path.write_bytes(key)
    assert load_kek({"DEVICESRP_KEK_FILE": str(path)}).current == key
    for bad in (
        {},
        {"DEVICESRP_KEK": "short"},
        {"DEVICESRP_KEK": base64.b64encode(b"x" * 31).decode()},
        {"DEVICESRP_KEK": text, "DEVICESRP_KEK_FILE": str(path)},
        {"DEVICESRP_KEK_FILE": str(tmp_path / "missing")},
    ):
        with pytest.raises(KekError) as info:
            load_kek(bad)
        assert text not in str(info.value)
    assert text not in repr(load_kek({"DEVICESRP_KEK": text}))


def test_wrapped_blob_is_bound_to_its_slot() -> None:
    kek = Kek(os.urandom(32))
    blob = kek.wrap("seal", "0a0b0c0d", b"k" * 32, os.urandom(12))
    assert kek.unwrap("seal", "0a0b0c0d", blob) == b"k" * 32
    for purpose, key_id in (("jwt", "0a0b0c0d"), ("seal", "0a0b0c0e")):
        with pytest.raises(KekError):
            kek.unwrap(purpose, key_id, blob)
    for i in range(len(blob)):
        flipped = blob[:i] + bytes([blob[i] ^ 1]) + blob[i + 1 :]
        with pytest.raises(KekError):
            kek.unwrap("seal", "0a0b0c0d", flipped)


def test_purge_expired_drops_spent_challenge_ids(env: Env) -> None:
    password_login(env, "alice")
    assert env.idp.purge_expired() == 0  # nothing has expired yet
    env.clock.advance(3600)
    assert env.idp.purge_expired() > 0

"""Full sign-ins through the domain, driven by a real SRP client computation, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from devicesrp.server.config import PoolSettings
from devicesrp.server.errors import (
    InvalidParameterDomainError,
    NotAuthorizedError,
    ResourceNotFoundError,
)
from devicesrp.server.flow import InitiateAuthRequest, RespondRequest
from devicesrp.srp.cognito import secret_hash
from devicesrp.srp.groups import COGNITO_GROUP
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    store = open_backend(request.param, tmp_path)
    e = make_env(store)
    e.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!", {"email": "alice@example.com"})
    yield e
    store.close()


def test_password_sign_in_gives_verifiable_tokens_and_new_device(env: Env) -> None:
    result = password_login(env, "alice")
    jwks = jwt.PyJWKSet.from_dict(env.idp.jwks(POOL) or {})
    kid = jwt.get_unverified_header(result.access_token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    access = jwt.decode(
        result.access_token, key.key, algorithms=["RS256"], options={"verify_exp": False}
    )
    ident = jwt.decode(
        result.id_token,
        key.key,
        algorithms=["RS256"],
        audience=CLIENT,
        options={"verify_exp": False},
    )
    assert access["iss"] == ident["iss"] == f"http://127.0.0.1:9229/{POOL}"
    assert access["token_use"] == "access" and ident["token_use"] == "id"
    assert access["scope"] == "aws.cognito.signin.user.admin"
    assert access["client_id"] == CLIENT and access["username"] == "alice"
    assert ident["cognito:username"] == "alice" and ident["email"] == "alice@example.com"
    assert access["sub"] == ident["sub"] and access["origin_jti"] == ident["origin_jti"]
    assert isinstance(access["iat"], int) and access["exp"] == access["iat"] + 3600
    assert result.new_device is not None
    assert access["device_key"] == result.new_device.device_key
    assert result.new_device.device_key.startswith("us-east-1_")
    assert result.refresh_token and result.server_proof


def test_wrong_password_is_the_uniform_refusal(env: Env) -> None:
    s = SignIn(env, "alice")
    s.initiate()
    with pytest.raises(NotAuthorizedError) as info:
        s.respond(s.proof(password="Wrong-horse1!"))
    assert info.value.message == "Incorrect username or password."
    assert info.value.cognito_type == "NotAuthorizedException"


def test_remembered_device_signs_in_with_device_srp(env: Env) -> None:
    first = password_login(env, "alice")
    device = confirm_new_device(env, first)
    result = device_login(env, "alice", device)
    assert result.new_device is None
    claims = jwt.decode(result.access_token, options={"verify_signature": False})
    assert claims["device_key"] == device.key
    view = env.idp.get_device(result.access_token, device.key)
    assert view.last_authenticated_date == env.clock()


def test_wrong_device_password_fails_and_no_tokens(env: Env) -> None:
    device = confirm_new_device(env, password_login(env, "alice"))
    s = SignIn(env, "alice")
    s.initiate()
    s.respond(s.proof(device_key=device.key))
    s.respond(s.device_srp_auth(device))
    with pytest.raises(NotAuthorizedError):
        s.respond(s.device_proof(device, password="not-the-device-password"))


def test_pycognito_style_sessionless_device_steps(env: Env) -> None:
    device = confirm_new_device(env, password_login(env, "alice"))
    s = SignIn(env, "alice")
    s.initiate(device_key=device.key)
    out = s.respond(s.proof(device_key=device.key, with_session=False))
    assert out.challenge is not None and out.challenge.name.value == "DEVICE_SRP_AUTH"
    req = s.device_srp_auth(device, with_session=False, reuse_a=True)
    out = s.respond(req)
    assert out.challenge is not None
    assert {"USERNAME", "SALT", "SRP_B", "SECRET_BLOCK", "DEVICE_KEY"} <= set(
        out.challenge.parameters
    )
    # The ticket is single-use: the same Session-less DEVICE_SRP_AUTH again is refused.
    with pytest.raises(NotAuthorizedError):
        env.idp.respond_to_auth_challenge(req)
    tokens_of(s.respond(s.device_proof(device, with_session=False)))


def test_sessionless_device_step_without_password_step_is_refused(env: Env) -> None:
    device = confirm_new_device(env, password_login(env, "alice"))
    s = SignIn(env, "alice")
    s.initiate()
    with pytest.raises(NotAuthorizedError):
        s.respond(s.device_srp_auth(device, with_session=False, reuse_a=True))


def test_ticket_expires_after_its_lifetime(env: Env) -> None:
    device = confirm_new_device(env, password_login(env, "alice"))
    s = SignIn(env, "alice")
    s.initiate()
    s.respond(s.proof(device_key=device.key, with_session=False))
    env.clock.advance(61)
    with pytest.raises(NotAuthorizedError):
        s.respond(s.device_srp_auth(device, with_session=False, reuse_a=True))


def test_stale_device_then_exactly_one_deviceless_resend(env: Env) -> None:
    """Row 8/18: "Device does not exist.", then the same challenge once more without the device."""
    s = SignIn(env, "alice")
    s.initiate()
    stale = "us-east-1_00000000-0000-4000-8000-000000000000"
    with pytest.raises(ResourceNotFoundError) as info:
        s.respond(s.proof(device_key=stale))
    assert info.value.message == "Device does not exist."
    identical = s.proof(device_key="null")  # amazon-cognito-identity-js: DEVICE_KEY null
    result = tokens_of(s.respond(identical))
    assert result.new_device is not None
    for again in (identical, s.proof()):
        with pytest.raises(NotAuthorizedError):
            s.respond(again)


def test_deviceless_resend_with_fresh_timestamp(env: Env) -> None:
    """Amplify v6: a new signature with a new TIMESTAMP over the same SECRET_BLOCK."""
    s = SignIn(env, "alice")
    s.initiate()
    with pytest.raises(ResourceNotFoundError):
        s.respond(s.proof(device_key="us-east-1_11111111-1111-4111-8111-111111111111"))
    env.clock.advance(2)
    tokens_of(s.respond(s.proof()))


def test_deviceless_resend_still_needs_the_password(env: Env) -> None:
    s = SignIn(env, "alice")
    s.initiate()
    with pytest.raises(ResourceNotFoundError):
        s.respond(s.proof(device_key="us-east-1_11111111-1111-4111-8111-111111111111"))
    with pytest.raises(NotAuthorizedError):
        s.respond(s.proof(password="Wrong-horse1!"))
    with pytest.raises(NotAuthorizedError):  # the one resend is spent
        s.respond(s.proof())


def test_replay_of_a_valid_proof_fails(env: Env) -> None:
    s = SignIn(env, "alice")
    s.initiate()
    request = s.proof()
    tokens_of(s.respond(request))
    with pytest.raises(NotAuthorizedError):
        s.respond(request)


def test_tracking_off_ignores_devices(tmp_path: Path) -> None:
    store = open_backend("sqlite", tmp_path)
    env = make_env(store, PoolSettings(POOL))
    env.idp.admin_create_user(POOL, "bob", "Corr3ct-horse!")
    s = SignIn(env, "bob")
    s.initiate()
    result = tokens_of(
        s.respond(s.proof(device_key="us-east-1_22222222-2222-4222-8222-222222222222"))
    )
    assert result.new_device is None
    assert "device_key" not in jwt.decode(result.access_token, options={"verify_signature": False})
    store.close()


N_HEX = format(COGNITO_GROUP.N, "x")


@pytest.mark.parametrize(
    ("srp_a", "error"),
    [
        ("0", NotAuthorizedError),
        (N_HEX, NotAuthorizedError),
        (format(2 * COGNITO_GROUP.N, "x"), NotAuthorizedError),
        ("1", NotAuthorizedError),
        (format(COGNITO_GROUP.N - 1, "x"), NotAuthorizedError),
        ("", InvalidParameterDomainError),
        ("zz", NotAuthorizedError),
        ("-5", NotAuthorizedError),
        ("0x10", NotAuthorizedError),
        ("a" * 771, NotAuthorizedError),
        ("١٢٣", NotAuthorizedError),
    ],
)
def test_unsafe_or_malformed_srp_a_is_refused(env: Env, srp_a: str, error: type) -> None:
    """Rows 1-2 through the domain: no challenge is issued for an unsafe or malformed A."""
    params: dict[str, str | None] = {"USERNAME": "alice", "SRP_A": srp_a}
    with pytest.raises(error):
        env.idp.initiate_auth(InitiateAuthRequest(CLIENT, "USER_SRP_AUTH", params))


@pytest.mark.parametrize(
    ("stamp", "error"),
    [
        ("Tue Jan 01 06:06:09 UTC 2019", NotAuthorizedError),  # zero-padded day
        ("Wed Jan 1 06:06:09 UTC 2019", NotAuthorizedError),  # wrong weekday
        ("not a timestamp", InvalidParameterDomainError),
        ("x" * 100_000, InvalidParameterDomainError),
    ],
)
def test_timestamp_format(env: Env, stamp: str, error: type) -> None:
    """Row 12 through the domain: unparsable -> InvalidParameter; non-canonical -> NotAuthorized."""
    s = SignIn(env, "alice")
    s.initiate()
    request = s.proof()
    bad = RespondRequest(
        request.client_id, request.challenge_name, {**request.responses, "TIMESTAMP": stamp}, None
    )
    with pytest.raises(error) as info:
        env.idp.respond_to_auth_challenge(bad)
    if error is InvalidParameterDomainError:
        assert "TIMESTAMP" in info.value.message


def test_ticket_switch_off_refuses_sessionless_device_step(tmp_path: Path) -> None:
    store = open_backend("sqlite", tmp_path)
    env = make_env(
        store, PoolSettings(POOL, devices=TRACK_REPLACE_MFA, device_ticket_enabled=False)
    )
    env.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!")
    device = confirm_new_device(env, password_login(env, "alice"))
    s = SignIn(env, "alice")
    s.initiate()
    s.respond(s.proof(device_key=device.key, with_session=False))
    with pytest.raises(NotAuthorizedError):
        s.respond(s.device_srp_auth(device, with_session=False, reuse_a=True))
    store.close()


def test_refresh_through_initiate_auth_checks_secret_hash(tmp_path: Path) -> None:
    store = open_backend("sqlite", tmp_path)
    env = make_env(store, with_secret=True)
    view = env.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!")
    first = password_login(env, "alice")
    assert env.client.secret is not None and first.new_device is not None
    params: dict[str, str | None] = {
        "REFRESH_TOKEN": first.refresh_token,
        "DEVICE_KEY": first.new_device.device_key,
    }
    with pytest.raises(NotAuthorizedError):
        env.idp.initiate_auth(InitiateAuthRequest(CLIENT, "REFRESH_TOKEN_AUTH", params))
    params["SECRET_HASH"] = secret_hash(env.client.secret, view.sub, CLIENT)
    out = env.idp.initiate_auth(InitiateAuthRequest(CLIENT, "REFRESH_TOKEN_AUTH", params))
    assert tokens_of(out).refresh_token is None
    with pytest.raises(NotAuthorizedError):  # GetTokensFromRefreshToken needs the secret
        env.idp.get_tokens_from_refresh_token(
            CLIENT, first.refresh_token, device_key=first.new_device.device_key
        )
    env.idp.get_tokens_from_refresh_token(
        CLIENT,
        first.refresh_token,
        client_secret=env.client.secret,
        device_key=first.new_device.device_key,
    )
    store.close()


def test_unknown_client_and_flow(env: Env) -> None:
    with pytest.raises(ResourceNotFoundError):
        env.idp.initiate_auth(InitiateAuthRequest("nope", "USER_SRP_AUTH", {"USERNAME": "a"}))
    with pytest.raises(InvalidParameterDomainError):
        env.idp.initiate_auth(InitiateAuthRequest(CLIENT, "USER_PASSWORD_AUTH", {"USERNAME": "a"}))
    with pytest.raises(InvalidParameterDomainError):
        env.idp.respond_to_auth_challenge(RespondRequest(CLIENT, "CUSTOM_CHALLENGE", {}))

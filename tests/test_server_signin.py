"""Full sign-ins through the domain, driven by a real SRP client computation, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from devicesrp.errors import InvalidParameterError
from devicesrp.server.config import AppClient, PoolSettings
from devicesrp.server.errors import (
    InvalidParameterDomainError,
    NotAuthorizedError,
    ResourceNotFoundError,
)
from devicesrp.server.flow import AuthOutcome, InitiateAuthRequest, RespondRequest
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
        env.idp.initiate_auth(InitiateAuthRequest(CLIENT, "CUSTOM_AUTH", {"USERNAME": "a"}))
    with pytest.raises(InvalidParameterDomainError):
        env.idp.respond_to_auth_challenge(RespondRequest(CLIENT, "CUSTOM_CHALLENGE", {}))


# -- USER_PASSWORD_AUTH ----------------------------------------------------------------------------
PASSWORD_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def pw_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    """A pool whose app client allows USER_PASSWORD_AUTH besides SRP and refresh."""
    store = open_backend(request.param, tmp_path)
    e = make_env(store, auth_flows=PASSWORD_FLOWS)
    e.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!", {"email": "alice@example.com"})
    yield e
    store.close()


def password_auth(
    env: Env, username: str, password: str, *, client: str = CLIENT, **extra: str
) -> AuthOutcome:
    params: dict[str, str | None] = {"USERNAME": username, "PASSWORD": password, **extra}
    return env.idp.initiate_auth(InitiateAuthRequest(client, "USER_PASSWORD_AUTH", params))


def refused(env: Env, username: str, password: str) -> str:
    with pytest.raises(NotAuthorizedError) as info:
        password_auth(env, username, password)
    assert info.value.cognito_type == "NotAuthorizedException"
    return info.value.message


@pytest.mark.matrix(17)
def test_user_password_auth_right_wrong_and_unknown_name(pw_env: Env) -> None:
    result = tokens_of(password_auth(pw_env, "alice", "Corr3ct-horse!"))
    claims = jwt.decode(result.access_token, options={"verify_signature": False})
    assert claims["username"] == "alice" and claims["client_id"] == CLIENT
    assert result.new_device is not None  # tracking pool: a new device, as after SRP
    assert claims["device_key"] == result.new_device.device_key
    assert result.server_proof is None  # no SRP, no server proof
    assert result.refresh_token
    # A wrong password and a name nobody has: the same refusal, word for word.
    assert refused(pw_env, "alice", "Wrong-horse1!") == "Incorrect username or password."
    assert refused(pw_env, "mallory", "Corr3ct-horse!") == "Incorrect username or password."
    assert refused(pw_env, "ALICE", "wrong") == "Incorrect username or password."  # case-folded
    with pytest.raises(InvalidParameterDomainError):
        pw_env.idp.initiate_auth(
            InitiateAuthRequest(CLIENT, "USER_PASSWORD_AUTH", {"USERNAME": "a"})
        )


@pytest.mark.matrix(19)
def test_user_password_auth_shares_the_lockout_with_srp_proofs(pw_env: Env) -> None:
    """5 failures in any mix of SRP proofs and passwords lock the user (1 s, then doubling):
    while locked the right password is refused in both flows; after the wait it signs in and the
    counter starts again. An unknown name is locked after as many failures, with the same words."""
    for _ in range(3):
        s = SignIn(pw_env, "alice")
        s.initiate()
        with pytest.raises(NotAuthorizedError):
            s.respond(s.proof(password="Wrong-horse1!"))
    for _ in range(2):
        assert refused(pw_env, "alice", "Wrong-horse1!") == "Incorrect username or password."
    assert refused(pw_env, "alice", "Corr3ct-horse!") == "Password attempts exceeded"
    s = SignIn(pw_env, "alice")
    s.initiate()
    with pytest.raises(NotAuthorizedError) as info:
        s.respond(s.proof())
    assert info.value.message == "Password attempts exceeded"
    pw_env.clock.advance(1.0)
    tokens_of(password_auth(pw_env, "alice", "Corr3ct-horse!"))
    for _ in range(4):  # reset by the success: four more failures do not lock
        refused(pw_env, "alice", "Wrong-horse1!")
    tokens_of(password_auth(pw_env, "alice", "Corr3ct-horse!"))
    for _ in range(5):
        assert refused(pw_env, "ghost", "Wrong-horse1!") == "Incorrect username or password."
    assert refused(pw_env, "ghost", "Corr3ct-horse!") == "Password attempts exceeded"


def test_user_password_auth_then_the_remembered_device(pw_env: Env) -> None:
    device = confirm_new_device(pw_env, password_login(pw_env, "alice"))
    out = password_auth(pw_env, "alice", "Corr3ct-horse!", DEVICE_KEY=device.key)
    assert out.challenge is not None and out.challenge.name.value == "DEVICE_SRP_AUTH"
    s = SignIn(pw_env, "alice", challenge=out.challenge)
    s.respond(s.device_srp_auth(device))
    result = tokens_of(s.respond(s.device_proof(device)))
    assert result.new_device is None
    claims = jwt.decode(result.access_token, options={"verify_signature": False})
    assert claims["device_key"] == device.key
    # A wrong device secret after the right password: refused, no tokens.
    out = password_auth(pw_env, "alice", "Corr3ct-horse!", DEVICE_KEY=device.key)
    s = SignIn(pw_env, "alice", challenge=out.challenge)
    s.respond(s.device_srp_auth(device))
    with pytest.raises(NotAuthorizedError):
        s.respond(s.device_proof(device, password="not-the-device-password"))
    # A device key the user does not have: "Device does not exist."; again without it: tokens.
    other_key = device.key[:-4] + ("1111" if device.key.endswith("0000") else "0000")
    with pytest.raises(ResourceNotFoundError) as info:
        password_auth(pw_env, "alice", "Corr3ct-horse!", DEVICE_KEY=other_key)
    assert info.value.message == "Device does not exist."
    assert tokens_of(password_auth(pw_env, "alice", "Corr3ct-horse!")).new_device is not None


def test_auth_flows_are_the_app_clients(env: Env) -> None:
    """Omitted ExplicitAuthFlows: SRP, refresh and custom, as Cognito (no USER_PASSWORD_AUTH);
    a client allows exactly its flows; legacy values keep SRP and refresh; bad lists refused."""
    with pytest.raises(InvalidParameterDomainError) as info:
        password_auth(env, "alice", "Corr3ct-horse!")
    assert info.value.message == "USER_PASSWORD_AUTH flow not enabled for this client"
    only = env.idp.create_client(POOL, "pwonly", auth_flows=["ALLOW_USER_PASSWORD_AUTH"])
    assert only.allowed_flows == {"ALLOW_USER_PASSWORD_AUTH"}
    result = tokens_of(password_auth(env, "alice", "Corr3ct-horse!", client="pwonly"))
    srp = {"USERNAME": "alice", "SRP_A": "ab" * 384}
    with pytest.raises(InvalidParameterDomainError) as info:
        env.idp.initiate_auth(InitiateAuthRequest("pwonly", "USER_SRP_AUTH", srp))
    assert info.value.message == "USER_SRP_AUTH is not enabled for the client."
    refresh = {"REFRESH_TOKEN": result.refresh_token or ""}
    with pytest.raises(InvalidParameterDomainError) as info:
        env.idp.initiate_auth(InitiateAuthRequest("pwonly", "REFRESH_TOKEN_AUTH", refresh))
    assert info.value.message == "REFRESH_TOKEN_AUTH flow not enabled for this client"
    with pytest.raises(InvalidParameterDomainError):
        env.idp.get_tokens_from_refresh_token("pwonly", result.refresh_token)
    legacy = env.idp.create_client(POOL, "legacy", auth_flows=["USER_PASSWORD_AUTH"])
    assert legacy.allowed_flows == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    tokens_of(password_auth(env, "alice", "Corr3ct-horse!", client="legacy"))
    custom = AppClient("c", POOL, auth_flows=("CUSTOM_AUTH_FLOW_ONLY",))
    assert not custom.allows("USER_SRP_AUTH") and custom.allows("REFRESH_TOKEN_AUTH")
    for bad in (["ALLOW_NOTHING"], ["USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH"], ["A"] * 2):
        with pytest.raises(InvalidParameterError):
            env.idp.create_client(POOL, "bad", auth_flows=bad)
        assert env.store.get_client("bad") is None

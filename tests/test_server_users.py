"""Users: sign-up and confirmation (codes from the outbox), password change and reset, username
modes, case-insensitive names, SECRET_HASH over either name, admin operations."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from devicesrp.server.config import PoolSettings, UsernameMode
from devicesrp.server.errors import (
    CodeMismatchError,
    ExpiredCodeError,
    InvalidParameterDomainError,
    InvalidPasswordError,
    LimitExceededError,
    NotAuthorizedError,
    PasswordResetRequiredError,
    TooManyRequestsError,
    UsernameExistsError,
    UserNotConfirmedError,
    UserNotFoundError,
)
from devicesrp.server.flow import InitiateAuthRequest, RespondRequest
from devicesrp.srp.cognito import secret_hash
from devicesrp.srp.encoding import to_hex
from test_server_harness import (
    CLIENT,
    POOL,
    TRACK_REPLACE_MFA,
    Env,
    SignIn,
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
    yield e
    store.close()


def last_code(env: Env, sub: str) -> str:
    messages = env.store.read_outbox(POOL, user_sub=sub)
    match = re.search(r"\b(\d{6})\b", messages[-1].body)
    assert match is not None
    return match.group(1)


def test_sign_up_confirm_and_sign_in(env: Env) -> None:
    sub, delivery = env.idp.sign_up(
        CLIENT, "Frank", "Corr3ct-horse!", {"email": "frank@example.com"}
    )
    assert delivery.delivery_medium == "EMAIL" and delivery.destination == "f***@e***"
    s = SignIn(env, "frank")
    s.initiate()
    with pytest.raises(UserNotConfirmedError):
        s.respond(s.proof())
    code = last_code(env, sub)
    with pytest.raises(CodeMismatchError):
        env.idp.confirm_sign_up(CLIENT, "frank", f"{(int(code) + 1) % 1_000_000:06d}")
    env.idp.confirm_sign_up(CLIENT, "FRANK", code)
    with pytest.raises(ExpiredCodeError):  # a code is good once
        env.idp.confirm_sign_up(CLIENT, "frank", code)
    result = password_login(env, "fRaNk")
    assert (
        jwt.decode(result.access_token, options={"verify_signature": False})["username"] == "Frank"
    )
    with pytest.raises(UsernameExistsError):
        env.idp.sign_up(CLIENT, "frank", "Corr3ct-horse!", {"email": "x@example.com"})


@pytest.mark.parametrize(
    "password", ["short1!A", "alllowercase1!", "ALLUPPERCASE1!", "NoDigits!!", "NoSymbols123", ""]
)
def test_password_policy(env: Env, password: str) -> None:
    if password == "short1!A":
        env.idp.admin_create_user(POOL, "ok", password)  # exactly 8 characters is enough
        return
    with pytest.raises(InvalidPasswordError) as info:
        env.idp.admin_create_user(POOL, "grace", password)
    assert password not in info.value.message or not password
    with pytest.raises(UserNotFoundError):
        env.idp.admin_get_user(POOL, "grace")


def test_forgot_password_flow(env: Env) -> None:
    env.idp.admin_create_user(POOL, "heidi", "Corr3ct-horse!", {"email": "heidi@example.com"})
    sub = env.idp.admin_get_user(POOL, "heidi").sub
    env.idp.forgot_password(CLIENT, "heidi")
    code = last_code(env, sub)
    with pytest.raises(InvalidPasswordError):  # a bad new password does not burn the code
        env.idp.confirm_forgot_password(CLIENT, "heidi", code, "weak")
    env.idp.confirm_forgot_password(CLIENT, "heidi", code, "N3w-password!")
    password_login_with(env, "heidi", "N3w-password!")
    s = SignIn(env, "heidi")
    s.initiate()
    with pytest.raises(NotAuthorizedError):
        s.respond(s.proof())  # the old password is gone
    # Unknown names get a plausible answer and no message is written.
    before = len(env.store.read_outbox(POOL))
    assert env.idp.forgot_password(CLIENT, "nobody").delivery_medium == "EMAIL"
    assert len(env.store.read_outbox(POOL)) == before


def test_reset_code_tries_are_limited(env: Env) -> None:
    env.idp.admin_create_user(POOL, "ivan", "Corr3ct-horse!", {"email": "ivan@example.com"})
    env.idp.forgot_password(CLIENT, "ivan")
    code = last_code(env, env.idp.admin_get_user(POOL, "ivan").sub)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        with pytest.raises(CodeMismatchError):
            env.idp.confirm_forgot_password(CLIENT, "ivan", wrong, "N3w-password!")
    with pytest.raises(LimitExceededError):
        env.idp.confirm_forgot_password(CLIENT, "ivan", wrong, "N3w-password!")
    with pytest.raises(ExpiredCodeError):
        env.idp.confirm_forgot_password(CLIENT, "ivan", code, "N3w-password!")


def password_login_with(env: Env, name: str, password: str) -> None:
    s = SignIn(env, name, password=password)
    s.initiate()
    tokens_of(s.respond(s.proof()))


def test_change_password(env: Env) -> None:
    env.idp.admin_create_user(POOL, "judy", "Corr3ct-horse!")
    token = password_login(env, "judy").access_token
    with pytest.raises(NotAuthorizedError):
        env.idp.change_password(token, "Wrong-horse1!", "N3w-password!")
    env.idp.change_password(token, "Corr3ct-horse!", "N3w-password!")
    password_login_with(env, "judy", "N3w-password!")


def test_email_as_username_uses_the_sub_for_srp(tmp_path: Path) -> None:
    store = open_backend("sqlite", tmp_path)
    env = make_env(
        store, PoolSettings(POOL, devices=TRACK_REPLACE_MFA, username_mode=UsernameMode.EMAIL)
    )
    view = env.idp.admin_create_user(POOL, "Kate@Example.com", "Corr3ct-horse!")
    s = SignIn(env, "kate@example.com")
    challenge = s.initiate()
    assert challenge.parameters["USER_ID_FOR_SRP"] == challenge.parameters["USERNAME"] == view.sub
    result = tokens_of(s.respond(s.proof()))
    ident = jwt.decode(result.id_token, options={"verify_signature": False})
    assert ident["cognito:username"] == view.sub and ident["email"] == "Kate@Example.com"
    # Unknown e-mails get a UUID-shaped USER_ID_FOR_SRP too.
    ghost = SignIn(env, "ghost@example.com").initiate().parameters["USER_ID_FOR_SRP"]
    assert re.fullmatch(r"[0-9a-f-]{36}", ghost)
    assert SignIn(env, "Ghost@Example.com").initiate().parameters["USER_ID_FOR_SRP"] == ghost
    # Its proofs are evaluated and counted like a known user's: it locks the same way.
    for who in ("kate@example.com", "ghost@example.com"):
        answers = []
        for _ in range(6):
            s = SignIn(env, who)
            s.initiate()
            try:
                s.respond(s.proof(password="Wrong-horse1!"))
            except NotAuthorizedError as exc:
                answers.append(exc.message)
        assert answers == ["Incorrect username or password."] * 5 + ["Password attempts exceeded"]
    store.close()


def test_case_sensitive_pool(tmp_path: Path) -> None:
    store = open_backend("sqlite", tmp_path)
    env = make_env(store, PoolSettings(POOL, case_insensitive=False))
    env.idp.admin_create_user(POOL, "Leo", "Corr3ct-horse!")
    env.idp.admin_create_user(POOL, "leo", "Other-horse1!")
    password_login(env, "Leo")
    password_login_with(env, "leo", "Other-horse1!")
    store.close()


def test_secret_hash_over_either_name(tmp_path: Path) -> None:
    store = open_backend("sqlite", tmp_path)
    env = make_env(store, with_secret=True)
    view = env.idp.admin_create_user(POOL, "mia", "Corr3ct-horse!")
    password_login(env, "mia")  # the harness hashes the typed name, then USER_ID_FOR_SRP
    assert env.client.secret is not None
    s = SignIn(env, "mia")
    params: dict[str, str | None] = {"USERNAME": "mia", "SRP_A": to_hex(s.A)}
    for name in (view.sub, "mia"):
        params["SECRET_HASH"] = secret_hash(env.client.secret, name, CLIENT)
        env.idp.initiate_auth(InitiateAuthRequest(CLIENT, "USER_SRP_AUTH", params))
    for bad in (None, "", secret_hash(env.client.secret, "other", CLIENT), "x" * 100):
        params["SECRET_HASH"] = bad
        with pytest.raises(NotAuthorizedError) as info:
            env.idp.initiate_auth(InitiateAuthRequest(CLIENT, "USER_SRP_AUTH", params))
        assert "secret hash" in info.value.message
    params["SECRET_HASH"] = "x" * 5000
    with pytest.raises(InvalidParameterDomainError):
        env.idp.initiate_auth(InitiateAuthRequest(CLIENT, "USER_SRP_AUTH", params))
    store.close()


def test_admin_operations(env: Env) -> None:
    env.idp.admin_create_user(POOL, "nina", "Corr3ct-horse!", {"email": "nina@example.com"})
    view = env.idp.admin_get_user(POOL, "NINA")
    assert view.attributes["email"] == "nina@example.com" and view.status == "CONFIRMED"
    assert "srp" not in repr(view).lower()
    env.idp.admin_set_user_enabled(POOL, "nina", False)
    s = SignIn(env, "nina")
    s.initiate()
    with pytest.raises(NotAuthorizedError) as info:
        s.respond(s.proof())
    assert info.value.message == "User is disabled."
    env.idp.admin_set_user_enabled(POOL, "nina", True)
    env.idp.admin_set_user_password(POOL, "nina", "An0ther-pass!")
    password_login_with(env, "nina", "An0ther-pass!")
    env.idp.admin_delete_user(POOL, "nina")
    with pytest.raises(UserNotFoundError):
        env.idp.admin_get_user(POOL, "nina")


def test_temporary_password_requires_a_new_one(env: Env) -> None:
    env.idp.admin_create_user(
        POOL, "olga", "Temp-pass1!", {"email": "olga@example.com"}, temporary=True
    )
    s = SignIn(env, "olga", password="Temp-pass1!")
    s.initiate()
    out = s.respond(s.proof())
    assert out.challenge is not None and out.challenge.name.value == "NEW_PASSWORD_REQUIRED"
    assert json.loads(out.challenge.parameters["userAttributes"]) == {"email": "olga@example.com"}
    session = out.challenge.session

    def answer(password: str) -> RespondRequest:
        return RespondRequest(
            CLIENT, "NEW_PASSWORD_REQUIRED", {"USERNAME": "olga", "NEW_PASSWORD": password}, session
        )

    with pytest.raises(InvalidPasswordError):  # a weak one does not spend the Session
        env.idp.respond_to_auth_challenge(answer("weak"))
    result = tokens_of(env.idp.respond_to_auth_challenge(answer("Chosen-pass1!")))
    assert result.new_device is not None
    with pytest.raises(NotAuthorizedError):
        env.idp.respond_to_auth_challenge(answer("Chosen-pass2!"))
    assert env.idp.admin_get_user(POOL, "olga").status == "CONFIRMED"
    password_login_with(env, "olga", "Chosen-pass1!")
    env.idp.admin_set_user_password(POOL, "olga", "Temp-pass2!", permanent=False)
    s = SignIn(env, "olga", password="Temp-pass2!")
    s.initiate()
    out = s.respond(s.proof())
    assert out.challenge is not None and out.challenge.name.value == "NEW_PASSWORD_REQUIRED"


def test_admin_reset_user_password(env: Env) -> None:
    env.idp.admin_create_user(POOL, "pete", "Corr3ct-horse!", {"email": "pete@example.com"})
    env.idp.admin_reset_user_password(POOL, "pete")
    s = SignIn(env, "pete")
    with pytest.raises(PasswordResetRequiredError):
        s.initiate()
    code = last_code(env, env.idp.admin_get_user(POOL, "pete").sub)
    env.idp.confirm_forgot_password(CLIENT, "pete", code, "N3w-password!")
    password_login_with(env, "pete", "N3w-password!")


def test_sign_in_starts_per_name_are_throttled(tmp_path: Path) -> None:
    store = open_backend("sqlite", tmp_path)
    env = make_env(store, PoolSettings(POOL, signin_starts_per_minute=3))
    env.idp.admin_create_user(POOL, "quinn", "Corr3ct-horse!")
    for name in ("quinn", "nobody"):
        for _ in range(3):
            SignIn(env, name).initiate()
        with pytest.raises(TooManyRequestsError):
            SignIn(env, name.upper()).initiate()  # the same name in another case
    SignIn(env, "someone-else").initiate()
    env.clock.advance(60)
    SignIn(env, "quinn").initiate()
    store.close()

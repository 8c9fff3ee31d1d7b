"""Hostile inputs at every entry of the domain: each call either works or raises a DomainError
(a Cognito error), never another exception — no crash, no 500."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devicesrp.server.errors import DomainError
from devicesrp.server.flow import InitiateAuthRequest, RespondRequest
from test_server_harness import (
    CLIENT,
    POOL,
    Env,
    SignIn,
    confirm_new_device,
    make_env,
    open_backend,
    password_login,
)

HOSTILE: list[object] = [
    None,
    "",
    0,
    -1,
    2**80,
    1.5,
    True,
    ["x"],
    {"x": 1},
    b"bytes",
    "x" * 100_000,
    "\x00",
    "a\nb",
    "a b",
    "ÄÖÜ",
    "ß" * 100,
    "\ud800",
    "١٢٣",
    "us-east-1_00000000-0000-4000-8000-000000000000",
    "../../etc/passwd",
    "' OR 1=1 --",
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    store = open_backend("sqlite", tmp_path_factory.mktemp("hostile"))
    e = make_env(store)
    e.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!")
    yield e
    store.close()


def survives(call: Callable[[], object]) -> None:
    try:
        call()
    except DomainError as exc:
        assert exc.cognito_type.endswith("Exception")
        assert len(exc.message) < 300


def test_initiate_auth(env: Env) -> None:
    good: dict[str, object] = {
        "USERNAME": "alice",
        "SRP_A": SignIn(env, "alice").initiate().parameters["SRP_B"],
    }
    for key, bad in itertools.product(["USERNAME", "SRP_A", "DEVICE_KEY", "SECRET_HASH"], HOSTILE):
        params = {**good, key: bad}
        survives(
            lambda p=params: env.idp.initiate_auth(InitiateAuthRequest(CLIENT, "USER_SRP_AUTH", p))
        )  # type: ignore[misc]
    for flow, client in itertools.product(
        ["USER_SRP_AUTH", "REFRESH_TOKEN_AUTH", *HOSTILE], [CLIENT, *HOSTILE]
    ):
        survives(lambda f=flow, c=client: env.idp.initiate_auth(InitiateAuthRequest(c, f, good)))  # type: ignore[arg-type, misc]
    for bad in HOSTILE:
        survives(
            lambda b=bad: env.idp.initiate_auth(
                InitiateAuthRequest(CLIENT, "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": b})
            )
        )  # type: ignore[dict-item, misc]


def test_respond_to_auth_challenge(env: Env) -> None:
    device = confirm_new_device(env, password_login(env, "alice"))
    s = SignIn(env, "alice")
    s.initiate()
    requests = [s.proof(device_key=device.key)]
    out = s.respond(s.proof(device_key=device.key))
    requests.append(s.device_srp_auth(device))
    s.respond(requests[-1])
    requests.append(s.device_proof(device))
    requests.append(
        RespondRequest(
            CLIENT,
            "SOFTWARE_TOKEN_MFA",
            {"USERNAME": "alice", "SOFTWARE_TOKEN_MFA_CODE": "123456"},
            out.challenge.session if out.challenge else None,
        )
    )
    requests.append(
        RespondRequest(
            CLIENT, "NEW_PASSWORD_REQUIRED", {"USERNAME": "alice", "NEW_PASSWORD": "x"}, None
        )
    )
    for request in requests:
        for key, bad in itertools.product(
            [*request.responses, "DEVICE_KEY", "SECRET_HASH"], HOSTILE
        ):
            mutated = RespondRequest(
                request.client_id,
                request.challenge_name,
                {**request.responses, key: bad},
                request.session,
            )  # type: ignore[dict-item]
            survives(lambda m=mutated: env.idp.respond_to_auth_challenge(m))  # type: ignore[misc]
        for bad in HOSTILE:
            for mutated in (
                RespondRequest(request.client_id, request.challenge_name, request.responses, bad),  # type: ignore[arg-type]
                RespondRequest(bad, request.challenge_name, request.responses, request.session),  # type: ignore[arg-type]
                RespondRequest(request.client_id, bad, request.responses, request.session),  # type: ignore[arg-type]
            ):
                survives(lambda m=mutated: env.idp.respond_to_auth_challenge(m))  # type: ignore[misc]


def test_device_and_user_apis(env: Env) -> None:
    first = password_login(env, "alice")
    token = first.access_token
    key = first.new_device.device_key if first.new_device else ""
    idp = env.idp
    calls: list[Callable[[object], object]] = [
        lambda b: idp.confirm_device(b, key, "AQ==", "BQ=="),
        lambda b: idp.confirm_device(token, b, "AQ==", "BQ=="),
        lambda b: idp.confirm_device(token, key, b, "BQ=="),
        lambda b: idp.confirm_device(token, key, "AQ==", b),
        lambda b: idp.confirm_device(token, key, "AQ==", "BQ==", b),
        lambda b: idp.update_device_status(token, key, b),
        lambda b: idp.update_device_status(token, b, "remembered"),
        lambda b: idp.get_device(token, b),
        lambda b: idp.get_device(b, key),
        lambda b: idp.list_devices(token, b),
        lambda b: idp.list_devices(token, 10, b),
        lambda b: idp.forget_device(b, key),
        lambda b: idp.admin_list_devices(POOL, b),
        lambda b: idp.admin_get_device(POOL, "alice", b),
        lambda b: idp.admin_get_user(POOL, b),
        lambda b: idp.admin_create_user(POOL, b, "Corr3ct-horse!"),
        lambda b: idp.admin_create_user(POOL, "newbie", b),
        lambda b: idp.admin_create_user(POOL, "newbie2", "Corr3ct-horse!", {"email": b}),
        lambda b: idp.get_user(b),
        lambda b: idp.change_password(token, b, "N3w-password!"),
        lambda b: idp.sign_up(CLIENT, b, "Corr3ct-horse!", {"email": "a@example.com"}),
        lambda b: idp.confirm_sign_up(CLIENT, "alice", b),
        lambda b: idp.forgot_password(CLIENT, b),
        lambda b: idp.confirm_forgot_password(CLIENT, "alice", b, "N3w-password!"),
        lambda b: idp.associate_software_token(session=b),
        lambda b: idp.verify_software_token(b, access_token=token),
        lambda b: idp.revoke_token(CLIENT, b),
        lambda b: idp.get_tokens_from_refresh_token(CLIENT, b),
        lambda b: idp.get_tokens_from_refresh_token(b, first.refresh_token),  # type: ignore[arg-type]
    ]
    for call, bad in itertools.product(calls, HOSTILE):
        survives(lambda c=call, b=bad: c(b))  # type: ignore[misc]


def test_unicode_names_are_users_like_others(tmp_path: Path) -> None:
    store = open_backend("sqlite", tmp_path)
    env = make_env(store)
    env.idp.admin_create_user(POOL, "Jürgen", "Corr3ct-horse!")
    password_login(env, "JÜRGEN")
    with pytest.raises(DomainError):
        env.idp.admin_create_user(POOL, "ß" * 100, "Corr3ct-horse!")  # folds to 200 characters
    store.close()

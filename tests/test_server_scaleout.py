"""Scale-out: two processes serving one PostgreSQL database. A sign-in begun on one finishes on
the other; a replay across them fails; lockout counters stay exact across them."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import pgutil
from devicesrp.server.errors import DomainError, NotAuthorizedError
from devicesrp.server.kek import Kek
from devicesrp.server.lockout import user_key
from devicesrp.store import open_store
from test_server_harness import (
    POOL,
    Env,
    RemoteDomain,
    SignIn,
    confirm_new_device,
    make_env,
    password_login,
    serve_domain,
    tokens_of,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster() -> Iterator[tuple[Env, RemoteDomain, RemoteDomain]]:
    url = pgutil.pg_url()
    pgutil.truncate_all(url)
    kek = os.urandom(32)
    store = open_store(url, pool_size=8)
    env = make_env(store, kek=Kek(kek))
    env.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!")
    ctx = multiprocessing.get_context("spawn")
    workers, remotes = [], []
    for _ in range(2):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=serve_domain, args=(url, kek, child), daemon=True)
        proc.start()
        workers.append((proc, parent))
        remotes.append(RemoteDomain(parent, env.clock))
    yield env, remotes[0], remotes[1]
    for proc, conn in workers:
        conn.send(None)
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
    store.close()


def on(env: Env, remote: RemoteDomain) -> Env:
    return dataclasses.replace(env, idp=remote)  # type: ignore[arg-type]


def test_sign_in_begun_on_one_finishes_on_the_other(
    cluster: tuple[Env, RemoteDomain, RemoteDomain],
) -> None:
    env, a, b = cluster
    s = SignIn(on(env, a), "alice")
    s.initiate()
    request = s.proof()
    assert tokens_of(b.respond_to_auth_challenge(request)).refresh_token
    with pytest.raises(NotAuthorizedError):  # the replay, on the other process
        a.respond_to_auth_challenge(request)
    with pytest.raises(NotAuthorizedError):
        b.respond_to_auth_challenge(request)


def test_device_sign_in_alternating_processes(
    cluster: tuple[Env, RemoteDomain, RemoteDomain],
) -> None:
    env, a, b = cluster
    device = confirm_new_device(env, password_login(env, "alice"))
    s = SignIn(on(env, a), "alice")
    s.initiate()
    out = b.respond_to_auth_challenge(s.proof(device_key=device.key))
    s.challenge = out.challenge
    dsa = s.device_srp_auth(device)
    out = a.respond_to_auth_challenge(dsa)
    s.challenge = out.challenge
    with pytest.raises(NotAuthorizedError):
        b.respond_to_auth_challenge(dsa)
    result = tokens_of(b.respond_to_auth_challenge(s.device_proof(device)))
    assert result.new_device is None


def test_lockout_counters_exact_across_processes(
    cluster: tuple[Env, RemoteDomain, RemoteDomain],
) -> None:
    env, a, b = cluster
    requests = []
    for i in range(12):
        s = SignIn(on(env, a if i % 2 else b), "alice")
        s.initiate()
        requests.append((a if i % 3 else b, s.proof(password="Wrong-horse1!")))
    barrier = threading.Barrier(len(requests))

    def submit(item: tuple[RemoteDomain, object]) -> str:
        remote, request = item
        barrier.wait()
        try:
            remote.respond_to_auth_challenge(request)
            return "ok"
        except DomainError as exc:
            return exc.message

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        results = list(pool.map(submit, requests))
    evaluated = results.count("Incorrect username or password.")
    assert evaluated + results.count("Password attempts exceeded") == len(requests)
    sub = env.store.get_user(POOL, "alice").sub  # type: ignore[union-attr]
    record = env.store.get_lockout("signin.user", user_key(POOL, sub))
    assert record is not None and record.failures == evaluated >= 5
    s = SignIn(on(env, b), "alice")
    s.initiate()
    with pytest.raises(NotAuthorizedError) as info:
        a.respond_to_auth_challenge(s.proof())
    assert info.value.message == "Password attempts exceeded"

"""The console's views over a real domain (Runtime on an SQLite file): the device table's pages,
users named by ``sub`` only, pool edits keeping the settings the page does not show, the cap."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devicesrp.errors import InvalidParameterError
from devicesrp.http.console import views
from devicesrp.server.config import (
    DeviceCapMode,
    DeviceConfiguration,
    PoolSettings,
    TokenLifetimes,
)
from devicesrp.server.errors import LimitExceededError, ResourceNotFoundError, UserNotFoundError
from devicesrp.server.kek import Kek
from devicesrp.server.provider import IdentityProvider
from devicesrp.server.runtime import Runtime
from devicesrp.store import open_store
from devicesrp.store import testing as records

POOL = "us-east-1_ConsoleViews"
PASSWORD = "Corr3ct-Horse!"


@pytest.fixture
def idp(tmp_path: Path) -> Iterator[IdentityProvider]:
    store = open_store(f"sqlite:///{tmp_path / 'views.sqlite3'}")
    provider = IdentityProvider(Runtime(store=store, kek=Kek(os.urandom(32))))
    provider.create_pool(
        PoolSettings(
            POOL,
            devices=DeviceConfiguration(challenge_required_on_new_device=True),
            tokens=TokenLifetimes(access=600),
            refresh_rotation=True,
        ),
        "views pool",
    )
    yield provider
    store.close()


def add_devices(idp: IdentityProvider, sub: str, first: int, count: int, **kw: bool) -> None:
    for n in range(first, first + count):
        idp.rt.store.issue_device(records.issued_device(n, sub, POOL))
        idp.rt.store.confirm_device(records.confirmation(n, sub, POOL, **kw))


def test_device_table_pages_and_user_lookup_by_sub_only(idp: IdentityProvider) -> None:
    alice = idp.admin_create_user(POOL, "alice", PASSWORD, {"email": "alice@example.com"})
    # a user whose *name* is alice's sub: a name lookup would find this one first
    impostor = idp.admin_create_user(POOL, alice.sub, PASSWORD)
    add_devices(idp, alice.sub, 1, 65)
    add_devices(idp, impostor.sub, 100, 1)

    first = views.user_detail(idp, POOL, alice.sub)
    assert first.user.username == "alice" and first.user.email == "alice@example.com"
    assert len(first.devices) == 60 and first.next_devices is not None
    rest = views.user_detail(idp, POOL, alice.sub, device_token=first.next_devices)
    assert len(rest.devices) == 5 and rest.next_devices is None
    keys = [d.device_key for d in first.devices + rest.devices]
    assert sorted(keys) == sorted(records.device_key(n) for n in range(1, 66))
    row = first.devices[0]
    assert row.name is not None and row.name.startswith("device ")
    assert row.sdk == "devicesrp-tests" and row.remembered
    assert dict(first.attributes)["sub"] == alice.sub

    # the impostor's device is not alice's: the console refuses to touch it under alice
    with pytest.raises(ResourceNotFoundError):
        views.forget_device(idp, POOL, alice.sub, records.device_key(100))
    assert idp.rt.store.get_device(POOL, records.device_key(100)) is not None
    views.forget_device(idp, POOL, alice.sub, records.device_key(1))
    assert idp.rt.store.get_device(POOL, records.device_key(1)) is None
    for missing in ("alice", "nobody", "x" * 200):
        with pytest.raises(UserNotFoundError):
            views.user_detail(idp, POOL, missing)
    with pytest.raises(ResourceNotFoundError):
        views.user_detail(idp, "us-east-1_Nope", alice.sub)
    with pytest.raises(ResourceNotFoundError):
        views.pool_row(idp, "not a pool id")


def test_pool_edit_keeps_what_the_page_does_not_show(idp: IdentityProvider) -> None:
    views.save_pool(
        idp,
        POOL,
        views.PoolUpdate(
            "opt_in", False, "OPTIONAL", sms=False, totp=True, cap=2, cap_mode="evict"
        ),
    )
    saved = idp.pool_settings(POOL)
    assert saved.devices == DeviceConfiguration(False, True)
    assert saved.max_remembered_devices == 2 and saved.device_cap_mode is DeviceCapMode.EVICT
    assert saved.mfa.software_token_enabled and not saved.mfa.sms_enabled
    assert saved.tokens.access == 600 and saved.refresh_rotation  # kept
    assert views.pool_row(idp, POOL).name == "views pool"  # kept
    assert views.pool_row(idp, POOL).mfa_summary == "OPTIONAL (TOTP)"
    with pytest.raises(InvalidParameterError):  # ON needs a factor
        views.save_pool(
            idp, POOL, views.PoolUpdate("off", False, "ON", False, False, None, "refuse")
        )
    assert idp.pool_settings(POOL) == saved


def test_remembering_past_the_cap_is_refused(idp: IdentityProvider) -> None:
    settings = dataclasses.replace(idp.pool_settings(POOL), max_remembered_devices=1)
    idp.update_pool(settings, "views pool")
    bob = idp.admin_create_user(POOL, "bob", PASSWORD)
    add_devices(idp, bob.sub, 200, 1)
    add_devices(idp, bob.sub, 201, 1, remembered=False)
    with pytest.raises(LimitExceededError):
        views.set_remembered(idp, POOL, bob.sub, records.device_key(201), True)
    views.set_remembered(idp, POOL, bob.sub, records.device_key(200), False)
    views.set_remembered(idp, POOL, bob.sub, records.device_key(201), True)
    shown = {d.device_key: d.remembered for d in views.user_detail(idp, POOL, bob.sub).devices}
    assert shown == {records.device_key(200): False, records.device_key(201): True}


def test_search_uses_the_pools_name_rule(idp: IdentityProvider) -> None:
    for name in ("Carol", "carl", "Dave"):
        idp.admin_create_user(POOL, name, PASSWORD, {"email": f"{name}@Example.org"})
    # the pool is case-insensitive (the default): names are looked up case-folded
    page = views.find_users(idp, POOL, by="username", prefix="CAR", token=None)
    assert [u.username for u in page.users] == ["carl", "Carol"]
    page = views.find_users(idp, POOL, by="email", prefix="dave@example", token=None)
    assert [u.username for u in page.users] == ["Dave"]
    assert views.find_users(idp, POOL, by="username", prefix="", token=None).next_token is None

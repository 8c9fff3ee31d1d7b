"""The device credentials stores: one contract run on the memory and the file store, plus what
only the file store promises (0600, atomic replace, two writer processes, strict reading)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from counts import count
from devicesrp.client import (
    DeviceSecrets,
    DeviceStore,
    FileDeviceStore,
    MemoryDeviceStore,
    StoreKey,
    default_store_path,
)
from devicesrp.errors import CredentialStoreError, InvalidParameterError, InvalidTypeError

POOL = "us-east-1_StorePool"
PASSWORD = "c2VjcmV0LWRldmljZS1wYXNzd29yZC1mb3ItdGVzdHMtb25seS0wMTIzNDU2Nzg5"


def secrets_for(n: int) -> DeviceSecrets:
    return DeviceSecrets(
        f"us-east-1_{n:08x}-0000-4000-8000-00000000abcd", f"-grp{n}", f"{PASSWORD}{n}"
    )


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> DeviceStore:
    if request.param == "memory":
        return MemoryDeviceStore()
    return FileDeviceStore(tmp_path / "cfg" / "devices.json")


def test_contract_round_trip(store: DeviceStore) -> None:
    assert isinstance(store, DeviceStore)
    alice = StoreKey(POOL, "client1", "alice")
    bob = StoreKey(POOL, "client1", "bob")
    other_client = StoreKey(POOL, "client2", "alice")
    assert store.load(alice) is None
    assert store.entries() == []
    store.save(alice, secrets_for(1))
    store.save(bob, secrets_for(2))
    assert store.load(alice) == secrets_for(1)
    assert store.load(bob) == secrets_for(2)
    assert store.load(other_client) is None  # keyed by pool, client and user
    store.save(alice, secrets_for(3))  # a newer device replaces the old one
    assert store.load(alice) == secrets_for(3)
    assert sorted(k.username for k, _ in store.entries()) == ["alice", "bob"]


def test_contract_conditional_delete(store: DeviceStore) -> None:
    key = StoreKey(POOL, "client1", "carol")
    store.save(key, secrets_for(4))
    # Clearing a stale device that another process already replaced must keep the new one.
    assert store.delete(key, device_key=secrets_for(5).device_key) is False
    assert store.load(key) == secrets_for(4)
    assert store.delete(key, device_key=secrets_for(4).device_key) is True
    assert store.load(key) is None
    assert store.delete(key) is False
    store.save(key, secrets_for(6))
    assert store.delete(key) is True
    assert store.load(key) is None


def test_contract_rejects_bad_arguments(store: DeviceStore) -> None:
    with pytest.raises(InvalidTypeError):
        store.load(("pool", "client", "user"))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        store.save(StoreKey(POOL, "c", "u"), {"device_key": "x"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("device_key", "group", "password"),
    [
        ("no-underscore", "g", "p"),
        ("us-east-1_XYZ", "g", "p"),  # uppercase is outside [0-9a-f-]
        ("us-east-1_" + "a" * 50, "g", "p"),  # longer than 55
        ("us-east-1_abc", "", "p"),
        ("us-east-1_abc", "g", ""),
        ("us-east-1_abc", "g", "p\n"),
    ],
)
def test_device_secrets_are_validated(device_key: str, group: str, password: str) -> None:
    with pytest.raises(InvalidParameterError):
        DeviceSecrets(device_key, group, password)


def test_secrets_stay_out_of_repr() -> None:
    value = secrets_for(7)
    assert value.device_password not in repr(value)
    assert "device_key" in repr(value)


def test_file_store_permissions_and_no_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "new" / "devices.json"
    store = FileDeviceStore(path)
    store.save(StoreKey(POOL, "c", "u"), secrets_for(8))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["devices.json", "devices.json.lock"]
    document = json.loads(path.read_text())
    assert document["version"] == 1
    assert document["devices"][0]["device_password"] == secrets_for(8).device_password


def test_file_store_refuses_a_loose_file(tmp_path: Path) -> None:
    store = FileDeviceStore(tmp_path / "devices.json")
    store.save(StoreKey(POOL, "c", "u"), secrets_for(9))
    os.chmod(store.path, 0o644)
    with pytest.raises(CredentialStoreError, match="readable by others"):
        store.load(StoreKey(POOL, "c", "u"))


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe",
        b"[]",
        b'{"version": 2, "devices": []}',
        b'{"version": 1, "devices": {}}',
        b'{"version": 1, "devices": [{"user_pool_id": "x"}]}',
    ],
)
def test_file_store_refuses_corrupt_content(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "devices.json"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(CredentialStoreError) as caught:
        FileDeviceStore(path).entries()
    assert str(path) in str(caught.value)


def test_file_store_errors_never_show_secrets(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    row = {
        "user_pool_id": POOL,
        "client_id": "c",
        "username": "u",
        "device_key": "bad key",
        "device_group_key": "g",
        "device_password": PASSWORD,
    }
    path.write_text(json.dumps({"version": 1, "devices": [row]}))
    os.chmod(path, 0o600)
    with pytest.raises(CredentialStoreError) as caught:
        FileDeviceStore(path).entries()
    assert PASSWORD not in str(caught.value)
    assert "entry 0" in str(caught.value)


def test_file_store_refuses_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    FileDeviceStore(target).save(StoreKey(POOL, "c", "u"), secrets_for(10))
    link = tmp_path / "link.json"
    link.symlink_to(target)
    with pytest.raises(CredentialStoreError):
        FileDeviceStore(link).entries()


def test_default_path_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEVICESRP_DEVICE_STORE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "devicesrp" / "devices.json"
    monkeypatch.setenv("DEVICESRP_DEVICE_STORE", str(tmp_path / "x.json"))
    assert default_store_path() == tmp_path / "x.json"
    assert FileDeviceStore().path == tmp_path / "x.json"


WRITER = textwrap.dedent(
    """
    import sys
    from devicesrp.client import DeviceSecrets, FileDeviceStore, StoreKey
    path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = FileDeviceStore(path)
    for i in range(n):
        key = StoreKey("us-east-1_StorePool", "client1", f"{tag}{i}")
        store.save(key, DeviceSecrets(f"us-east-1_{i:08x}-aaaa", "grp", f"pw-{tag}-{i}"))
        if i % 3 == 2:
            store.delete(StoreKey("us-east-1_StorePool", "client1", f"{tag}{i - 1}"))
    """
)


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    n = count(ci=40, soak=400)
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, str(n)])
        for tag in ("p", "q")
    ]
    # Read while they write: every read must see a whole, valid file.
    reader = FileDeviceStore(path)
    reads = 0
    while any(p.poll() is None for p in procs):
        reader.entries()
        reads += 1
    assert [p.wait() for p in procs] == [0, 0]
    names = {key.username for key, _ in reader.entries()}
    expected = {f"{tag}{i}" for tag in ("p", "q") for i in range(n) if i % 3 != 1 or i == n - 1}
    assert names == expected
    assert reads > 0
    for key, value in reader.entries():
        tag, i = key.username[0], key.username[1:]
        assert value.device_password == f"pw-{tag}-{i}"


def test_without_boto3_the_import_error_names_the_extra() -> None:
    code = textwrap.dedent(
        """
        import importlib.abc, sys
        class Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in {'boto3', 'botocore'}:
                    raise ImportError(f'No module named {name!r}', name=name)
                return None
        sys.meta_path.insert(0, Hide())
        try:
            import devicesrp.client
        except ImportError as exc:
            print(exc)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "pip install 'devicesrp[client]'" in run.stdout

"""Where a remembered device's three secrets live between sign-ins.

Official SDKs keep exactly three values per (app client, user): the device key, the device group
key and the random device password (``CognitoIdentityServiceProvider.<clientId>.<username>.
deviceKey | deviceGroupKey | randomPasswordKey``; cognito-device-srp.md §7). A device is usable
only with all three, so they are stored and cleared together, keyed by pool, client and user.

- ``DeviceStore``: the interface any backend implements (an OS keyring, a database ...).
- ``MemoryDeviceStore``: a dict, for tests and short-lived processes.
- ``FileDeviceStore``: the default, one JSON file, mode 0600 in a 0700 directory, replaced
  atomically (write a temporary file, fsync, rename) under an exclusive ``flock`` on a side lock
  file, so two processes saving at once both keep their entries and a reader never sees half a
  file. A file readable by group or others is refused, as OpenSSH refuses a loose private key.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import CredentialStoreError, InvalidParameterError, InvalidTypeError

__all__ = [
    "DEFAULT_STORE_ENV",
    "DeviceSecrets",
    "DeviceStore",
    "FileDeviceStore",
    "MemoryDeviceStore",
    "StoreKey",
    "default_store_path",
]

#: Environment variable naming the file store's path (else $XDG_CONFIG_HOME/devicesrp/...).
DEFAULT_STORE_ENV = "DEVICESRP_DEVICE_STORE"
#: Cognito's DeviceKeyType: ``[\w-]+_[0-9a-f-]+``, at most 55 characters.
DEVICE_KEY_PATTERN = re.compile(r"[\w-]+_[0-9a-f-]+", re.ASCII)
MAX_DEVICE_KEY_CHARS = 55
_MAX_TEXT = 1024
_MAX_FILE_BYTES = 4 * 1024 * 1024
_FORMAT_VERSION = 1


def _text(name: str, value: object, cap: int = _MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(name, "str", value)
    if not value or len(value) > cap:
        raise InvalidParameterError(name, f"must be 1..{cap} characters")
    if not value.isprintable():
        raise InvalidParameterError(name, "must be printable text")
    return value


def check_device_key(value: object, name: str = "device_key") -> str:
    """A DeviceKey as Cognito shapes it (``<region>_<uuid>``), else InvalidParameterError."""
    text = _text(name, value, MAX_DEVICE_KEY_CHARS)
    if not DEVICE_KEY_PATTERN.fullmatch(text):
        raise InvalidParameterError(name, "must look like <region>_<hex and dashes>")
    return text


@dataclass(frozen=True)
class StoreKey:
    """Whose device: the pool id, the app client id and the user name typed at sign-in."""

    user_pool_id: str
    client_id: str
    username: str

    def __post_init__(self) -> None:
        _text("user_pool_id", self.user_pool_id, 55)
        _text("client_id", self.client_id, 128)
        _text("username", self.username, 128)


@dataclass(frozen=True)
class DeviceSecrets:
    """The three values that let a device sign in; the password never appears in ``repr``."""

    device_key: str
    device_group_key: str
    device_password: str = field(repr=False)

    def __post_init__(self) -> None:
        check_device_key(self.device_key)
        _text("device_group_key", self.device_group_key)
        _text("device_password", self.device_password)


@runtime_checkable
class DeviceStore(Protocol):
    """The credential store interface. Implementations must be safe to call from several threads.

    - ``load(key)``: the device held for (pool, client, user), or None.
    - ``save(key, secrets)``: store all three values at once (replacing any older device).
    - ``delete(key, device_key=None)``: remove the entry; with ``device_key``, only while it still
      holds that device, so a process clearing a stale device never erases a newer one another
      process just saved. True if something was removed.
    - ``entries()``: every (key, secrets) held (for ``devicesrp client devices list``).

    An OS keyring backend, for instance, would keep one secret per key under a service name
    such as ``devicesrp:<pool>:<client>:<user>`` holding the three values as JSON, and an index
    entry for ``entries()``; errors it meets should be raised as ``CredentialStoreError``.
    """

    def load(self, key: StoreKey) -> DeviceSecrets | None: ...

    def save(self, key: StoreKey, secrets: DeviceSecrets) -> None: ...

    def delete(self, key: StoreKey, *, device_key: str | None = None) -> bool: ...

    def entries(self) -> list[tuple[StoreKey, DeviceSecrets]]: ...


def _check_key(key: object) -> StoreKey:
    if not isinstance(key, StoreKey):
        raise InvalidTypeError("key", "StoreKey", key)
    return key


def _check_secrets(secrets: object) -> DeviceSecrets:
    if not isinstance(secrets, DeviceSecrets):
        raise InvalidTypeError("secrets", "DeviceSecrets", secrets)
    return secrets


class MemoryDeviceStore:
    """A process-local store (nothing survives the process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[StoreKey, DeviceSecrets] = {}

    def __repr__(self) -> str:
        return f"MemoryDeviceStore({len(self._data)} devices)"

    def load(self, key: StoreKey) -> DeviceSecrets | None:
        with self._lock:
            return self._data.get(_check_key(key))

    def save(self, key: StoreKey, secrets: DeviceSecrets) -> None:
        _check_key(key)
        _check_secrets(secrets)
        with self._lock:
            self._data[key] = secrets

    def delete(self, key: StoreKey, *, device_key: str | None = None) -> bool:
        _check_key(key)
        with self._lock:
            current = self._data.get(key)
            if current is None or (device_key is not None and current.device_key != device_key):
                return False
            del self._data[key]
            return True

    def entries(self) -> list[tuple[StoreKey, DeviceSecrets]]:
        with self._lock:
            return list(self._data.items())


def default_store_path() -> Path:
    """``$DEVICESRP_DEVICE_STORE``, else ``$XDG_CONFIG_HOME/devicesrp/devices.json``
    (``~/.config/devicesrp/devices.json``)."""
    explicit = os.environ.get(DEFAULT_STORE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "devicesrp" / "devices.json"


class FileDeviceStore:
    """One JSON file: ``{"version": 1, "devices": [{user_pool_id, client_id, username,
    device_key, device_group_key, device_password}, ...]}``."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileDeviceStore({str(self.path)!r})"

    # -- public interface ------------------------------------------------------------------

    def load(self, key: StoreKey) -> DeviceSecrets | None:
        _check_key(key)
        with self._locked(create=False) as present:
            return self._read().get(key) if present else None

    def save(self, key: StoreKey, secrets: DeviceSecrets) -> None:
        _check_key(key)
        _check_secrets(secrets)
        with self._locked(create=True):
            data = self._read()
            data[key] = secrets
            self._write(data)

    def delete(self, key: StoreKey, *, device_key: str | None = None) -> bool:
        _check_key(key)
        with self._locked(create=False) as present:
            if not present:
                return False
            data = self._read()
            current = data.get(key)
            if current is None or (device_key is not None and current.device_key != device_key):
                return False
            del data[key]
            self._write(data)
            return True

    def entries(self) -> list[tuple[StoreKey, DeviceSecrets]]:
        with self._locked(create=False) as present:
            return list(self._read().items()) if present else []

    # -- locking and I/O -------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, create: bool) -> Iterator[bool]:
        """Hold the exclusive lock; yields False (no lock taken) when nothing exists yet."""
        directory = self.path.parent
        if not create and not directory.is_dir():
            yield False
            return
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise CredentialStoreError(f"cannot open the store lock: {exc.strerror}") from None
        with self._thread_lock:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield True
            finally:
                os.close(fd)  # closing releases the flock

    def _read(self) -> dict[StoreKey, DeviceSecrets]:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise CredentialStoreError(f"cannot open {self.path}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise CredentialStoreError(f"{self.path} is not a regular file")
            if info.st_mode & 0o077:
                raise CredentialStoreError(
                    f"{self.path} is readable by others (mode {info.st_mode & 0o777:o});"
                    " chmod 600 it"
                )
            raw = handle.read(_MAX_FILE_BYTES + 1)
        if len(raw) > _MAX_FILE_BYTES:
            raise CredentialStoreError(f"{self.path} is larger than {_MAX_FILE_BYTES} bytes")
        return _decode(raw, self.path)

    def _write(self, data: dict[StoreKey, DeviceSecrets]) -> None:
        body = _encode(data)
        directory = self.path.parent
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
        except OSError as exc:
            raise CredentialStoreError(f"cannot write in {directory}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(dir_fd)  # make the rename itself durable
            finally:
                os.close(dir_fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise CredentialStoreError(f"cannot write {self.path}: {exc.strerror}") from None


_FIELDS = ("user_pool_id", "client_id", "username", "device_key", "device_group_key")


def _encode(data: dict[StoreKey, DeviceSecrets]) -> bytes:
    rows = [
        {
            "user_pool_id": key.user_pool_id,
            "client_id": key.client_id,
            "username": key.username,
            "device_key": secrets.device_key,
            "device_group_key": secrets.device_group_key,
            "device_password": secrets.device_password,
        }
        for key, secrets in sorted(
            data.items(),
            key=lambda item: (item[0].user_pool_id, item[0].client_id, item[0].username),
        )
    ]
    document = {"version": _FORMAT_VERSION, "devices": rows}
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _decode(raw: bytes, path: Path) -> dict[StoreKey, DeviceSecrets]:
    # Messages name the file and the problem, never a value: the file holds secrets.
    try:
        document: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CredentialStoreError(f"{path} is not valid UTF-8 JSON") from None
    if not isinstance(document, dict) or document.get("version") != _FORMAT_VERSION:
        raise CredentialStoreError(f"{path}: unknown format (expected version {_FORMAT_VERSION})")
    rows = document.get("devices")
    if not isinstance(rows, list):
        raise CredentialStoreError(f"{path}: 'devices' must be a list")
    data: dict[StoreKey, DeviceSecrets] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict) or set(row) != {*_FIELDS, "device_password"}:
            raise CredentialStoreError(f"{path}: entry {index} has the wrong fields")
        try:
            key = StoreKey(row["user_pool_id"], row["client_id"], row["username"])
            secrets = DeviceSecrets(
                row["device_key"], row["device_group_key"], row["device_password"]
            )
        except (InvalidParameterError, InvalidTypeError) as exc:
            raise CredentialStoreError(f"{path}: entry {index}: {exc.args[0]}") from None
        data[key] = secrets
    return data

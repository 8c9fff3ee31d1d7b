"""docs/examples/embed_starlette.py, the embedding example of docs/embedding.md, served for real
(uvicorn on 127.0.0.1): the Python client signs in through the mounted Cognito endpoint, its device
replaces MFA the second time, and the app's own route knows the caller from the access token."""

from __future__ import annotations

import base64
import importlib.util
import os
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

from clients.harness import HERMETIC_ENV, thread_server
from clients.raw import Totp
from devicesrp.client import Callbacks, Client, MemoryDeviceStore
from devicesrp.server.config import (
    DeviceConfiguration,
    MfaConfiguration,
    MfaMode,
    PoolSettings,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "embed_starlette.py"
PASSWORD = "Corr3ct-Horse!"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("embed_starlette", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_embedding_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in HERMETIC_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DEVICESRP_KEK", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.delenv("DEVICESRP_KEK_FILE", raising=False)
    example = load_example()
    app = example.create_app(f"sqlite:///{tmp_path / 'app.sqlite3'}")
    idp = app.state.idp
    pool = "us-east-1_Embedded1"
    idp.create_pool(
        PoolSettings(
            pool,
            devices=DeviceConfiguration(challenge_required_on_new_device=True),
            mfa=MfaConfiguration(MfaMode.ON, software_token_enabled=True),
        )
    )
    client_id = idp.create_client(pool, "embeddedappclient000000001").client_id
    idp.admin_create_user(pool, "alice", PASSWORD)
    with thread_server(app) as url:
        assert get(f"{url}/") == (200, b"my existing app\n")
        totp: list[Totp] = []

        def setup(secret: str) -> str:
            totp.append(Totp(secret))
            return totp[0].code()

        client = Client(
            pool,
            client_id,
            endpoint_url=f"{url}/cognito/",
            store=MemoryDeviceStore(),
            callbacks=Callbacks(totp_setup=setup, totp_code=lambda: totp[0].code()),
        )
        first = client.sign_in("alice", PASSWORD)
        assert first.new_device and first.remembered and len(totp) == 1
        second = client.sign_in("alice", PASSWORD, callbacks=Callbacks())  # no MFA callback
        assert second.device_authenticated
        status, body = get(f"{url}/api/me", second.tokens.access_token)
        assert status == 200 and b'"username":"alice"' in body
        assert get(f"{url}/api/me")[0] == 401
        assert get(f"{url}/api/me", second.tokens.access_token[:-4] + "AAAA")[0] == 401
        client.sign_out(second.tokens)
        assert get(f"{url}/api/me", second.tokens.access_token)[0] == 401
        jwks = get(f"{url}/cognito/{pool}/.well-known/jwks.json")
        assert jwks[0] == 200 and b'"keys"' in jwks[1]


def test_the_uvicorn_factory_uses_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVICESRP_KEK", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'factory.sqlite3'}")
    monkeypatch.chdir(tmp_path)
    app = load_example().main()
    try:
        assert app.state.idp.rt.store.list_pools() == []
    finally:
        app.state.idp.rt.store.close()
    assert (tmp_path / "factory.sqlite3").exists()
    assert not (tmp_path / "embedded.sqlite3").exists()

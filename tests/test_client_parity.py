"""Cross-client parity against a real ``devicesrp serve``: a device confirmed by
amazon-cognito-identity-js 6.3.21 (Node) or pycognito signs in through devicesrp's client given
the same three values (device key, group key, device password), and a device confirmed by
devicesrp's client signs in through each of them. The official clients compute their SRP
independently of this project, so agreement here is byte compatibility on the wire."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from clients.harness import HERMETIC_ENV, REPO, Service, shared_service
from devicesrp.client import Client, DeviceSecrets, MemoryDeviceStore, StoreKey

PASSWORD = "Par1ty-Passw0rd!"
DRIVER = REPO / "tests" / "clients" / "client_parity_identity_js.js"


@pytest.fixture(autouse=True)
def hermetic_boto(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in HERMETIC_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return shared_service("sqlite", Path(tmp_path_factory.getbasetemp() / "client-sqlite"))


@pytest.fixture
def pool(svc: Service) -> tuple[str, str]:
    admin = svc.admin()
    pool_id = admin.create_user_pool(
        PoolName=f"par{uuid.uuid4().hex[:8]}",
        DeviceConfiguration={
            "ChallengeRequiredOnNewDevice": True,
            "DeviceOnlyRememberedOnUserPrompt": False,
        },
    )["UserPool"]["Id"]
    client_id = admin.create_user_pool_client(UserPoolId=pool_id, ClientName="app")[
        "UserPoolClient"
    ]["ClientId"]
    admin.admin_create_user(
        UserPoolId=pool_id, Username="carol", TemporaryPassword=PASSWORD, MessageAction="SUPPRESS"
    )
    admin.admin_set_user_password(
        UserPoolId=pool_id, Username="carol", Password=PASSWORD, Permanent=True
    )
    return pool_id, client_id


def ours(svc: Service, pool_id: str, client_id: str, device: DeviceSecrets | None) -> Client:
    store = MemoryDeviceStore()
    if device is not None:
        store.save(StoreKey(pool_id, client_id, "carol"), device)
    return Client(pool_id, client_id, store=store, endpoint_url=svc.url, require_server_proof=True)


def node_js(svc: Service, pool_id: str, client_id: str, device: DeviceSecrets | None) -> Any:
    node = shutil.which("node")
    module = REPO / "node_modules" / "amazon-cognito-identity-js"
    if node is None or not module.is_dir():
        reason = "node or node_modules/amazon-cognito-identity-js missing (make setup runs npm ci)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    config: dict[str, Any] = {
        "endpoint": svc.url,
        "poolId": pool_id,
        "clientId": client_id,
        "username": "carol",
        "password": PASSWORD,
    }
    if device is not None:
        config["device"] = {
            "deviceKey": device.device_key,
            "deviceGroupKey": device.device_group_key,
            "randomPassword": device.device_password,
        }
    run = subprocess.run(
        [node, str(DRIVER), json.dumps(config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads(run.stdout)


def answered(wire: list[dict[str, Any]]) -> list[str]:
    return [entry["answered"] for entry in wire if "answered" in entry]


def test_identity_js_device_signs_in_through_devicesrp(svc: Service, pool: tuple[str, str]) -> None:
    pool_id, client_id = pool
    js = node_js(svc, pool_id, client_id, None)
    assert js["ok"], js
    assert "ConfirmDevice" in [entry["op"] for entry in js["wire"]]
    device = DeviceSecrets(
        js["device"]["deviceKey"], js["device"]["deviceGroupKey"], js["device"]["randomPassword"]
    )
    result = ours(svc, pool_id, client_id, device).sign_in("carol", PASSWORD)
    assert result.device_authenticated and not result.new_device
    assert result.device_key == device.device_key
    assert result.tokens.claims()["device_key"] == device.device_key


def test_devicesrp_device_signs_in_through_identity_js(svc: Service, pool: tuple[str, str]) -> None:
    pool_id, client_id = pool
    client = ours(svc, pool_id, client_id, None)
    first = client.sign_in("carol", PASSWORD)
    assert first.new_device
    device = client.stored_device("carol")
    assert device is not None
    js = node_js(svc, pool_id, client_id, device)
    assert js["ok"], js
    assert answered(js["wire"]) == [
        "PASSWORD_VERIFIER",
        "DEVICE_SRP_AUTH",
        "DEVICE_PASSWORD_VERIFIER",
    ]
    assert js["accessDeviceKey"] == device.device_key
    assert js["device"]["deviceKey"] == device.device_key  # kept, not replaced
    # A wrong device password from the same client is refused: the check is real.
    bad = DeviceSecrets(device.device_key, device.device_group_key, "B" * 56)
    refused = node_js(svc, pool_id, client_id, bad)
    assert not refused["ok"] and refused["error"] == "NotAuthorizedException"


def recording_boto3(svc: Service) -> tuple[Any, list[str]]:
    cognito = svc.public()
    seen: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(params.get("ChallengeName", ""))

    cognito.meta.events.register("provide-client-params.cognito-idp.RespondToAuthChallenge", record)
    return cognito, seen


def test_pycognito_device_signs_in_through_devicesrp(svc: Service, pool: tuple[str, str]) -> None:
    from pycognito.aws_srp import AWSSRP, generate_hash_device

    pool_id, client_id = pool
    cognito, _ = recording_boto3(svc)
    tokens = AWSSRP("carol", PASSWORD, pool_id, client_id, client=cognito).authenticate_user()
    result = tokens["AuthenticationResult"]
    meta = result["NewDeviceMetadata"]
    password, config = generate_hash_device(meta["DeviceGroupKey"], meta["DeviceKey"])
    cognito.confirm_device(
        AccessToken=result["AccessToken"],
        DeviceKey=meta["DeviceKey"],
        DeviceSecretVerifierConfig=config,
        DeviceName="pycognito",
    )
    device = DeviceSecrets(meta["DeviceKey"], meta["DeviceGroupKey"], password)
    ours_result = ours(svc, pool_id, client_id, device).sign_in("carol", PASSWORD)
    assert ours_result.device_authenticated and ours_result.device_key == meta["DeviceKey"]


def test_devicesrp_device_signs_in_through_pycognito(svc: Service, pool: tuple[str, str]) -> None:
    from pycognito.aws_srp import AWSSRP

    pool_id, client_id = pool
    client = ours(svc, pool_id, client_id, None)
    assert client.sign_in("carol", PASSWORD).new_device
    device = client.stored_device("carol")
    assert device is not None
    cognito, seen = recording_boto3(svc)
    srp = AWSSRP(
        "carol",
        PASSWORD,
        pool_id,
        client_id,
        client=cognito,
        device_key=device.device_key,
        device_group_key=device.device_group_key,
        device_password=device.device_password,
    )
    tokens = srp.authenticate_user()
    assert seen == ["PASSWORD_VERIFIER", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"]
    assert tokens["AuthenticationResult"]["AccessToken"]
    assert "NewDeviceMetadata" not in tokens["AuthenticationResult"]

"""``devicesrp demo``: the remembered-device story, end to end, narrated.

It starts ``devicesrp serve`` (a child process) on the embedded SQLite backend in a temporary
directory on a free loopback port, creates a pool (SMS MFA required, devices remembered when the
user opts in) and a user through the SigV4 admin API, then signs in three times with the Python
client: password + SMS code read from the store's outbox (device confirmed and remembered); the
device SRP steps instead of MFA; after ForgetDevice, MFA again. Every call is timed (botocore's
before/after-call events). The story is also checked: a step that does not happen as narrated
ends the demo with exit code 1. The child is stopped and the directory removed in every case.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from ..errors import DeviceSrpError
from .demoservice import DemoFailure, Service, running_service

__all__ = ["DemoFailure", "run_demo"]

USERNAME = "alice"
PHONE = "+15555550100"
REGION = "us-east-1"
_CODE = re.compile(r"\b(\d{6})\b")
_HERMETIC = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@dataclass
class Call:
    """One Cognito call as seen from the client: operation, challenges in and out, wall time."""

    operation: str
    answered: str | None
    started: float
    result: str = ""
    ms: float = 0.0


@dataclass
class Recorder:
    """Times every boto3 call and notes the challenge it answered and the one it received."""

    calls: list[Call] = field(default_factory=list)

    def attach(self, boto_client: Any) -> None:
        events = boto_client.meta.events
        events.register("before-call.cognito-idp", self._before)
        events.register("after-call.cognito-idp", self._after)

    def _before(self, params: Any, model: Any, **_: Any) -> None:
        body = params.get("body") if isinstance(params, dict) else None
        answered = None
        if isinstance(body, (bytes, str)):
            text = body.decode() if isinstance(body, bytes) else body
            found = re.search(r'"(?:ChallengeName|AuthFlow)":\s*"([A-Z_]+)"', text)
            answered = found.group(1) if found else None
        self.calls.append(Call(model.name, answered, time.perf_counter()))

    def _after(self, parsed: Any, **_: Any) -> None:
        call = self.calls[-1]
        call.ms = (time.perf_counter() - call.started) * 1000
        if not isinstance(parsed, dict):
            return
        if "Error" in parsed and parsed["Error"].get("Code"):
            call.result = f"error {parsed['Error']['Code']}"
        elif parsed.get("ChallengeName"):
            call.result = f"challenge {parsed['ChallengeName']}"
        elif "AuthenticationResult" in parsed:
            new = parsed["AuthenticationResult"].get("NewDeviceMetadata")
            call.result = "tokens" + (" + NewDeviceMetadata" if new else "")
        elif "UserConfirmationNecessary" in parsed:
            call.result = f"UserConfirmationNecessary={parsed['UserConfirmationNecessary']}"
        else:
            call.result = "ok"

    def take(self) -> list[Call]:
        taken, self.calls = self.calls, []
        return taken


class Narrator:
    """Numbered steps with elapsed times; progress dots for anything slow."""

    def __init__(self, out: TextIO, steps: int) -> None:
        self.out = out
        self.steps = steps
        self.step = 0

    def waiting(self) -> None:
        """One line per second of waiting, so a slow start never looks like a hang."""
        self.say("      ... still starting (waiting for /health)")

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    @contextlib.contextmanager
    def begin(self, title: str) -> Iterator[None]:
        self.step += 1
        started = time.perf_counter()
        print(f"[{self.step}/{self.steps}] {title} ...", file=self.out, flush=True)
        yield
        self.say(f"      done in {time.perf_counter() - started:.2f} s")

    def calls(self, calls: list[Call]) -> None:
        for call in calls:
            what = call.operation + (f" {call.answered}" if call.answered else "")
            self.say(f"      {what:<50} -> {call.result:<36} {call.ms:7.1f} ms")


def boto_client(url: str, key: tuple[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    for name, value in _HERMETIC.items():
        os.environ.setdefault(name, value)
    return boto3.client(
        "cognito-idp",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 3, "mode": "standard"}),
    )


class Outbox:
    """Reads the SMS codes the service wrote to the store's outbox (the demo's phone)."""

    def __init__(self, db_url: str, pool_id: str) -> None:
        self.db_url = db_url
        self.pool_id = pool_id
        self.last_id = 0
        self.read = 0

    def count(self) -> int:
        return len(self._messages(0))

    def _messages(self, after: int) -> list[Any]:
        from ..store import open_store

        store = open_store(self.db_url)
        try:
            return store.read_outbox(self.pool_id, after_id=after)
        finally:
            store.close()

    def next_code(self) -> str:
        messages = [m for m in self._messages(self.last_id) if m.channel == "sms"]
        if not messages:
            raise DemoFailure("the service asked for an SMS code but the outbox is empty")
        self.last_id = messages[-1].message_id
        found = _CODE.search(messages[-1].body)
        if found is None:
            raise DemoFailure("the SMS in the outbox carries no 6-digit code")
        self.read += 1
        return found.group(1)


def _stamp(when: dt.datetime | None) -> str:
    return "-" if when is None else when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise DemoFailure(what)


def _story(svc: Service, say: Narrator) -> None:
    from ..client import Callbacks, Client, MemoryDeviceStore

    admin = boto_client(svc.url, svc.admin_key)
    password = "Demo-" + secrets.token_urlsafe(12) + "1a!"
    with say.begin("Creating a user pool: SMS MFA required, devices remembered on user opt-in"):
        pool_id = admin.create_user_pool(
            PoolName="demo",
            DeviceConfiguration={
                "ChallengeRequiredOnNewDevice": True,
                "DeviceOnlyRememberedOnUserPrompt": True,
            },
        )["UserPool"]["Id"]
        admin.set_user_pool_mfa_config(
            UserPoolId=pool_id,
            SmsMfaConfiguration={"SmsConfiguration": {"SnsCallerArn": "outbox"}},
            MfaConfiguration="ON",
        )
        client_id = admin.create_user_pool_client(UserPoolId=pool_id, ClientName="demo-app")[
            "UserPoolClient"
        ]["ClientId"]
        say.say(f"      pool {pool_id}, app client {client_id}")
    with say.begin(f"Creating user {USERNAME} (phone {PHONE}, SMS MFA preferred)"):
        admin.admin_create_user(
            UserPoolId=pool_id,
            Username=USERNAME,
            UserAttributes=[{"Name": "phone_number", "Value": PHONE}],
            MessageAction="SUPPRESS",
        )
        admin.admin_set_user_password(
            UserPoolId=pool_id, Username=USERNAME, Password=password, Permanent=True
        )
        admin.admin_set_user_mfa_preference(
            UserPoolId=pool_id,
            Username=USERNAME,
            SMSMfaSettings={"Enabled": True, "PreferredMfa": True},
        )

    outbox = Outbox(svc.db_url, pool_id)
    recorder = Recorder()
    cognito = boto_client(svc.url, ("AKIDDEMOUSER", "unused-user-calls-are-unsigned"))
    recorder.attach(cognito)
    sms_asked: list[str | None] = []

    def sms_code(destination: str | None) -> str:
        sms_asked.append(destination)
        return outbox.next_code()

    client = Client(
        pool_id,
        client_id,
        cognito=cognito,
        store=MemoryDeviceStore(),
        require_server_proof=False,  # tokens after SMS_MFA come from no SRP step
        remember="ask",
        device_name="demo-laptop",
        callbacks=Callbacks(sms_code=sms_code, remember_device=lambda key: True),
    )

    with say.begin("First sign-in: password (SRP), then the SMS code read from the outbox"):
        first = client.sign_in(USERNAME, password)
        say.calls(recorder.take())
        _check(len(sms_asked) == 1, "the first sign-in did not ask for the SMS code")
        _check(first.new_device and first.remembered is True, "the device was not remembered")
        say.say(f"      SMS sent to {sms_asked[0]}; its code came from the store's outbox")
        say.say(f"      => signed in; new device {first.device_key} confirmed; the user")
        say.say("         opted in, so it is remembered (UpdateDeviceStatus)")

    with say.begin("Second sign-in on this device: device SRP replaces MFA"):
        sent_before = outbox.count()
        second = client.sign_in(USERNAME, password)
        say.calls(recorder.take())
        _check(second.device_authenticated, "the second sign-in did not run the device step")
        _check(len(sms_asked) == 1, "the second sign-in asked for an SMS code")
        _check(outbox.count() == sent_before, "an SMS was sent during the second sign-in")
        say.say("      => no MFA challenge, no SMS sent: the device proved its secret instead")
        say.say(f"         ({second.server_proofs} server proof(s) checked by the client)")

    with say.begin("The user's devices (ListDevices)"):
        devices = client.list_devices(second.tokens)
        recorder.take()
        _check([d.device_key for d in devices] == [first.device_key], "unexpected device list")
        for device in devices:
            say.say(f"      {device.device_key}")
            for label, value in (
                ("name", device.name),
                ("remembered", device.remembered),
                ("created", _stamp(device.created)),
                ("last sign-in", _stamp(device.last_authenticated)),
                ("last IP", device.last_ip),
            ):
                say.say(f"        {label:<13} {value}")

    with say.begin("Forget the device (ForgetDevice), then sign in again: MFA is back"):
        client.forget_device(second.tokens)
        third = client.sign_in(USERNAME, password, remember="never")
        say.calls(recorder.take())
        _check(len(sms_asked) == 2, "the third sign-in did not ask for the SMS code")
        _check(not third.device_authenticated, "the forgotten device still authenticated")
        say.say("      => SMS_MFA again; a new device is tracked (not remembered this time)")


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_demo(out: TextIO | None = None) -> int:
    """The demo; 0 when the story happened as narrated, 1 if not, 130 when interrupted."""
    from botocore.exceptions import BotoCoreError, ClientError

    from .. import modexp

    say = Narrator(out or sys.stdout, steps=7)
    started = time.perf_counter()
    info = modexp.backend_info()
    say.say("devicesrp demo: remembered-device sign-in against a local Cognito-compatible service")
    say.say(
        f"modexp backend: {info['backend']}/{info['cpu_path']}"
        f" (constant time: {'yes' if info['constant_time'] else 'NO'})"
    )
    previous: Callable[[int, FrameType | None], Any] | int | None = signal.signal(
        signal.SIGTERM, _on_term
    )
    workdir = Path(tempfile.mkdtemp(prefix="devicesrp-demo-"))
    try:
        with contextlib.ExitStack() as stack:
            with say.begin(f"Starting devicesrp serve (embedded SQLite in {workdir})"):
                svc = stack.enter_context(running_service(workdir, tick=say.waiting))
                say.say(f"      {svc.url}/ (pid {svc.proc.pid})")
            _story(svc, say)
            say.say("Stopping the service ...")
        say.say(
            f"Done in {time.perf_counter() - started:.1f} s: the service (pid {svc.proc.pid}) "
            f"has stopped and {workdir} is removed."
        )
        return 0
    except DemoFailure as exc:
        say.say(f"demo failed: {exc}")
        return 1
    except DeviceSrpError as exc:
        say.say(f"demo failed: {type(exc).__name__}: {exc}")
        return 1
    except (ClientError, BotoCoreError) as exc:
        say.say(f"demo failed: the service refused a call: {exc}")
        return 1
    except KeyboardInterrupt:
        say.say("demo interrupted; the service is stopped")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(workdir, ignore_errors=True)

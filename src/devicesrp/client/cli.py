"""``devicesrp client login`` and ``devicesrp client devices list | forget``, for people.

Settings come from options or the environment (``DEVICESRP_POOL_ID``, ``DEVICESRP_CLIENT_ID``,
``DEVICESRP_CLIENT_SECRET``; boto3's own variables for endpoint, region and retries). Secrets are
never options: the password is prompted for (no echo) or read from standard input with
``--password-stdin``; MFA codes are prompted for. Tokens are written only where asked
(``--tokens-file``, mode 0600), never printed unless ``--print-tokens``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from ..errors import DeviceSrpError, InvalidParameterError, RemoteProtocolError
from .callbacks import Callbacks, NewPassword, RememberPolicy
from .client import Client, SignInResult
from .store import FileDeviceStore, StoreKey

__all__ = ["devices_forget", "devices_list", "login"]

POOL_ENV = "DEVICESRP_POOL_ID"
CLIENT_ENV = "DEVICESRP_CLIENT_ID"
SECRET_ENV = "DEVICESRP_CLIENT_SECRET"  # noqa: S105 - a variable name


def _setting(value: str | None, env: str, what: str) -> str:
    found = value or os.environ.get(env)
    if not found:
        raise InvalidParameterError(what, f"give --{what.replace('_', '-')} or set {env}")
    return found


def _client(args: argparse.Namespace, prompt: Callable[[str], str] | None = None) -> Client:
    callbacks = Callbacks()
    if prompt is not None:
        callbacks = _prompting_callbacks(prompt)
    return Client(
        _setting(args.pool_id, POOL_ENV, "pool_id"),
        _setting(args.client_id, CLIENT_ENV, "client_id"),
        client_secret=os.environ.get(SECRET_ENV) or None,
        store=FileDeviceStore(args.store) if args.store else FileDeviceStore(),
        region=args.region,
        endpoint_url=args.endpoint_url,
        require_server_proof=bool(getattr(args, "require_server_proof", False)),
        remember=_remember_policy(args),
        device_name=getattr(args, "device_name", None),
        callbacks=callbacks,
    )


def _remember_policy(args: argparse.Namespace) -> RememberPolicy:
    """--remember, else ask a person at a terminal and remember for scripts."""
    chosen = getattr(args, "remember", None)
    if chosen:
        return RememberPolicy.parse(chosen)
    return RememberPolicy.ASK if sys.stdin.isatty() else RememberPolicy.ALWAYS


def _read_line(label: str) -> str:
    """One answer: prompts go to stderr so that --json output on stdout stays clean."""
    if sys.stdin.isatty():
        print(f"{label}: ", end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise InvalidParameterError("stdin", f"expected {label} on standard input")
    return line.strip()


def _prompting_callbacks(prompt: Callable[[str], str]) -> Callbacks:
    def sms(destination: str | None) -> str:
        return prompt(f"SMS code sent to {destination or 'your phone'}")

    def select(options: Sequence[str]) -> str:
        return prompt(f"MFA method ({' / '.join(options)})")

    def setup(secret: str) -> str:
        print(f"Add this secret to your authenticator app: {secret}", file=sys.stderr)
        return prompt("First code from the app")

    def new_password(attributes: Any, required: Sequence[str]) -> NewPassword:
        password = getpass.getpass("New password: ")
        values = {name: prompt(f"Value for {name}") for name in required}
        return NewPassword(password, values)

    def remember(device_key: str) -> bool:
        return prompt("Remember this device? [y/N]").lower() in {"y", "yes"}

    return Callbacks(
        sms_code=sms,
        totp_code=lambda: prompt("Authenticator code"),
        select_mfa=select,
        totp_setup=setup,
        new_password=new_password,
        remember_device=remember,
    )


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InvalidParameterError("password", "nothing on standard input")
        return line.rstrip("\r\n")
    return getpass.getpass(f"Password for {args.username}: ")


def _sign_in(args: argparse.Namespace, client: Client) -> SignInResult:
    return client.sign_in(args.username, _password(args))


def _write_tokens(path: str, result: SignInResult) -> None:
    data = {
        "username": result.username,
        "device_key": result.device_key,
        "access_token": result.tokens.access_token,
        "id_token": result.tokens.id_token,
        "refresh_token": result.tokens.refresh_token,
        "expires_in": result.tokens.expires_in,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")


def _run(body: Callable[[], int], args: argparse.Namespace, err: TextIO) -> int:
    """The CLI's exit codes: 0 done; 1 refused or failed (the service said no, a server proof
    failed, a malformed answer, the store is unusable); 2 bad usage or settings; 130
    interrupted. One line on stderr, ``devicesrp client <action>: <ErrorType>: <message>``."""
    words = [args.command, args.client_command, getattr(args, "devices_command", None)]
    name = " ".join(w for w in words if w)
    try:
        return body()
    except RemoteProtocolError as exc:  # the server's fault, though a ValueError by type
        print(f"devicesrp {name}: {type(exc).__name__}: {exc}", file=err)
        return 1
    except InvalidParameterError as exc:
        print(f"devicesrp {name}: {type(exc).__name__}: {exc}", file=err)
        return 2
    except DeviceSrpError as exc:
        print(f"devicesrp {name}: {type(exc).__name__}: {exc}", file=err)
        return 1
    except (KeyboardInterrupt, EOFError):
        print(f"devicesrp {name}: interrupted", file=err)
        return 130


def login(args: argparse.Namespace) -> int:
    """Sign in (device step with the stored device), confirm and remember a new device."""

    def body() -> int:
        client = _client(args, prompt=_read_line)
        result = _sign_in(args, client)
        summary = {
            "username": result.username,
            "device_key": result.device_key,
            "device_authenticated": result.device_authenticated,
            "new_device": result.new_device,
            "remembered": result.remembered,
            "server_proofs": result.server_proofs,
            "device_error": str(result.device_error) if result.device_error else None,
            "expires_in": result.tokens.expires_in,
        }
        if args.print_tokens:
            summary["access_token"] = result.tokens.access_token
            summary["id_token"] = result.tokens.id_token
            summary["refresh_token"] = result.tokens.refresh_token
        if args.tokens_file:
            _write_tokens(args.tokens_file, result)
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            how = "with this device" if result.device_authenticated else "with password"
            print(f"signed in as {result.username} {how}")
            if result.new_device:
                state = "remembered" if result.remembered else "not remembered"
                print(f"new device {result.device_key} confirmed ({state})")
            if result.device_error is not None:
                print(f"device not confirmed: {result.device_error}", file=sys.stderr)
            for name in ("access_token", "id_token", "refresh_token"):
                if name in summary:
                    print(f"{name}: {summary[name]}")
        return 0

    return _run(body, args, sys.stderr)


def devices_list(args: argparse.Namespace) -> int:
    """The devices this machine holds (the store); with --remote, the service's list too."""

    def body() -> int:
        store = FileDeviceStore(args.store) if args.store else FileDeviceStore()
        pool = args.pool_id or os.environ.get(POOL_ENV)
        client_id = args.client_id or os.environ.get(CLIENT_ENV)
        local = [
            {
                "user_pool_id": key.user_pool_id,
                "client_id": key.client_id,
                "username": key.username,
                "device_key": secrets.device_key,
            }
            for key, secrets in store.entries()
            if (pool is None or key.user_pool_id == pool)
            and (client_id is None or key.client_id == client_id)
            and (args.username is None or key.username == args.username)
        ]
        output: dict[str, Any] = {"stored": local}
        if args.remote:
            if not args.username:
                raise InvalidParameterError("username", "--remote needs --username")
            client = _client(args, prompt=_read_line)
            result = _sign_in(args, client)
            output["service"] = [
                {
                    "device_key": d.device_key,
                    "name": d.name,
                    "remembered": d.remembered,
                    "last_ip": d.last_ip,
                    "last_authenticated": d.last_authenticated.isoformat()
                    if d.last_authenticated
                    else None,
                    "this_device": d.device_key == result.device_key,
                }
                for d in client.list_devices(result.tokens)
            ]
        if args.json:
            print(json.dumps(output, indent=2))
            return 0
        for row in local:
            print(
                f"{row['user_pool_id']}  {row['client_id']}  {row['username']}  {row['device_key']}"
            )
        if not local:
            print("no stored devices")
        for row in output.get("service", []):
            mark = "*" if row["this_device"] else " "
            status = "remembered" if row["remembered"] else "not remembered"
            print(f"{mark} {row['device_key']}  {row['name'] or '-'}  {status}")
        return 0

    return _run(body, args, sys.stderr)


def devices_forget(args: argparse.Namespace) -> int:
    """Forget a device at the service (default: this machine's) and drop it from the store;
    ``--local-only`` only drops the stored device."""

    def body() -> int:
        if args.local_only:
            store = FileDeviceStore(args.store) if args.store else FileDeviceStore()
            key = StoreKey(
                _setting(args.pool_id, POOL_ENV, "pool_id"),
                _setting(args.client_id, CLIENT_ENV, "client_id"),
                args.username,
            )
            dropped = store.delete(key, device_key=args.device_key)
            print("dropped the stored device" if dropped else "no matching stored device")
            return 0 if dropped else 1
        client = _client(args, prompt=_read_line)
        stored = client.stored_device(args.username)
        target = args.device_key or (stored.device_key if stored else None)
        if target is None:
            raise InvalidParameterError("device_key", "no stored device; give --device-key")
        result = _sign_in(args, client)
        client.forget_device(result.tokens, target)
        print(f"forgot device {target}")
        return 0

    return _run(body, args, sys.stderr)

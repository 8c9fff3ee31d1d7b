"""``devicesrp admin pool|user|device|outbox`` and ``devicesrp keys list|rotate|retire``.

Operator commands work on the service's database directly, through the domain
(``devicesrp.server.IdentityProvider``): the same settings as ``devicesrp serve`` (``--db``,
``--config``, the environment; the KEK from ``DEVICESRP_KEK`` / ``DEVICESRP_KEK_FILE`` or, on
SQLite, the file beside the database), so they run where the database is and work while the
service runs (SQLite's write lock and PostgreSQL's row locks order them with the service's own
writes). Nothing here goes over HTTP; remote administration is the SigV4 admin API.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import json
import os
import secrets
import string
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import InvalidParameterError
from ..server.config import AUTH_FLOWS

__all__ = ["add_admin", "add_keys"]

if TYPE_CHECKING:
    Sub = argparse._SubParsersAction[argparse.ArgumentParser]

_ALNUM = string.ascii_letters + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_DEVICES = {
    "off": None,
    "always": (True, False),  # remembered at ConfirmDevice; device SRP replaces MFA
    "opt-in": (True, True),  # remembered only when the user says so (UpdateDeviceStatus)
}


@contextlib.contextmanager
def domain(args: argparse.Namespace) -> Iterator[Any]:
    """The IdentityProvider over the database the settings name; closed on the way out."""
    from ..http.config import load_config
    from ..http.wiring import prepare_database, resolve_kek
    from ..server.provider import IdentityProvider
    from ..server.runtime import live_runtime
    from ..store import open_store

    config = load_config(args.config, os.environ, {"db": args.db})
    prepare_database(config)
    kek, _ = resolve_kek(config, os.environ)
    store = open_store(config.db_url)
    try:
        yield IdentityProvider(live_runtime(store, kek, issuer_base=config.issuer_base)), config
    finally:
        store.close()


def _when(epoch: float | None) -> str | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat()


def _emit(args: argparse.Namespace, data: Any, lines: list[str]) -> int:
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        print("\n".join(lines) if lines else "(none)")
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise InvalidParameterError("password", "nothing on standard input")
        return line.rstrip("\r\n")
    return getpass.getpass(f"Password for {args.username}: ")


# -- pools ----------------------------------------------------------------------------------------
def pool_create(args: argparse.Namespace) -> int:
    from ..server.config import DeviceConfiguration, MfaConfiguration, MfaMode, PoolSettings

    devices = _DEVICES[args.devices]
    factors = set(args.factor or [])
    mfa = MfaConfiguration(
        MfaMode(args.mfa.upper()),
        sms_enabled="sms" in factors,
        software_token_enabled="totp" in factors,
    )
    with domain(args) as (idp, config):
        pool_id = f"{config.region}_" + "".join(secrets.choice(_ALNUM) for _ in range(9))
        settings = PoolSettings(
            pool_id,
            devices=None if devices is None else DeviceConfiguration(*devices),
            mfa=mfa,
        )
        idp.create_pool(settings, args.name)
        client_id = "".join(secrets.choice(_LOWER_ALNUM) for _ in range(26))
        client = idp.create_client(
            pool_id, client_id, name=args.client_name, auth_flows=args.auth_flow
        )
    flows = sorted(client.allowed_flows)
    data = {"pool_id": pool_id, "client_id": client.client_id, "name": args.name}
    data["auth_flows"] = flows
    return _emit(args, data, [f"pool {pool_id} ({args.name}); app client {client.client_id}"])


def pool_list(args: argparse.Namespace) -> int:
    with domain(args) as (idp, _):
        pools = idp.rt.store.list_pools()
        rows = [
            {"pool_id": p.pool_id, "name": p.name, "created": _when(p.created_at)} for p in pools
        ]
        clients = {
            p.pool_id: [c.client_id for c in idp.rt.store.list_clients(p.pool_id)] for p in pools
        }
    for row in rows:
        row["clients"] = clients[row["pool_id"]]
    lines = [
        f"{r['pool_id']}  {r['name'] or '-'}  clients: {', '.join(r['clients'])}" for r in rows
    ]
    return _emit(args, rows, lines)


def pool_show(args: argparse.Namespace) -> int:
    from ..server.runtime import settings_to_json

    with domain(args) as (idp, _):
        settings = settings_to_json(idp.pool_settings(args.pool_id))
    lines = [f"{k}: {json.dumps(v)}" for k, v in settings.items()]
    return _emit(args, settings, lines)


def _count_or_none(text: str) -> int | None:
    """``--max-remembered-devices``: a number, or ``none`` for no cap."""
    if text.strip().lower() == "none":
        return None
    return _count("max_remembered_devices", text)


def _count(name: str, text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise InvalidParameterError(name, f"must be a whole number, not {text[:20]!r}") from None


# (option dest, PoolSettings field, kind): the settings no Cognito operation carries
_POOL_SETTINGS = (
    ("challenge_seconds", "challenge_seconds", "int"),
    ("signin_starts_per_minute", "signin_starts_per_minute", "int"),
    ("max_remembered_devices", "max_remembered_devices", "cap"),
    ("device_cap_mode", "device_cap_mode", "mode"),
    ("device_ticket", "device_ticket_enabled", "switch"),
    ("device_ticket_seconds", "device_ticket_seconds", "int"),
    ("refresh_rotation", "refresh_rotation", "switch"),
    ("refresh_grace_seconds", "refresh_grace_seconds", "int"),
)
_TOKEN_SETTINGS = (
    ("access_token_seconds", "access"),
    ("id_token_seconds", "id"),
    ("refresh_token_seconds", "refresh"),
)


def pool_set(args: argparse.Namespace) -> int:
    """Change only the given settings; PoolSettings validates the result, nothing is written
    unless all of it is valid."""
    import dataclasses

    from ..server.config import DeviceCapMode
    from ..server.runtime import settings_to_json

    changes: dict[str, Any] = {}
    for dest, name, kind in _POOL_SETTINGS:
        value = getattr(args, dest)
        if value is None:
            continue
        if kind == "int":
            changes[name] = _count(name, value)
        elif kind == "cap":
            changes[name] = _count_or_none(value)
        elif kind == "mode":
            changes[name] = DeviceCapMode(value)
        else:
            changes[name] = value == "on"
    tokens = {
        name: _count(dest, getattr(args, dest))
        for dest, name in _TOKEN_SETTINGS
        if getattr(args, dest) is not None
    }
    if not changes and not tokens:
        raise InvalidParameterError("pool set", "give at least one setting to change")
    with domain(args) as (idp, _):
        with idp.rt.store.transaction():  # read, change and write as one unit
            current = idp.pool_settings(args.pool_id)
            if tokens:
                changes["tokens"] = dataclasses.replace(current.tokens, **tokens)
            settings = dataclasses.replace(current, **changes)
            record = idp.rt.store.get_pool(args.pool_id)
            idp.update_pool(settings, record.name if record is not None else "")
        shown = settings_to_json(idp.pool_settings(args.pool_id))
    changed = sorted({*(k for k in changes if k != "tokens"), *(["tokens"] if tokens else [])})
    return _emit(args, shown, [f"{k}: {json.dumps(shown[k])}" for k in changed])


# -- users ----------------------------------------------------------------------------------------
def _attributes(pairs: list[str] | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InvalidParameterError("attr", "give name=value, e.g. --attr email=a@example.com")
        found[name] = value
    return found


def user_create(args: argparse.Namespace) -> int:
    attributes = _attributes(args.attr)
    password = _password(args)
    with domain(args) as (idp, _):
        view = idp.admin_create_user(
            args.pool_id, args.username, password, attributes, temporary=args.temporary
        )
        if args.sms_mfa:
            idp.admin_set_user_mfa_preference(args.pool_id, args.username, sms=(True, True))
    data = {"username": view.username, "sub": view.sub, "status": view.status}
    return _emit(args, data, [f"user {view.username} ({view.status}), sub {view.sub}"])


def user_list(args: argparse.Namespace) -> int:
    with domain(args) as (idp, _):
        idp.pool_settings(args.pool_id)  # an unknown pool is an error, not an empty list
        page = idp.rt.store.list_users(args.pool_id, username_prefix=args.prefix, limit=60)
    rows = [{"username": u.username, "status": u.status, "enabled": u.enabled} for u in page.items]
    more = ["(more: narrow with --prefix)"] if page.next_token else []
    lines = [f"{r['username']}  {r['status']}{'' if r['enabled'] else '  DISABLED'}" for r in rows]
    return _emit(args, rows, lines + more)


def user_show(args: argparse.Namespace) -> int:
    with domain(args) as (idp, _):
        view = idp.admin_get_user(args.pool_id, args.username)
    data = {
        "username": view.username,
        "status": view.status,
        "enabled": view.enabled,
        "attributes": dict(view.attributes),
        "mfa": list(view.mfa_options),
        "preferred_mfa": view.preferred_mfa,
        "created": _when(view.created),
    }
    return _emit(args, data, [f"{k}: {v}" for k, v in data.items()])


def user_set_password(args: argparse.Namespace) -> int:
    password = _password(args)
    with domain(args) as (idp, _):
        idp.admin_set_user_password(
            args.pool_id, args.username, password, permanent=not args.temporary
        )
    kind = "temporary" if args.temporary else "permanent"
    return _emit(args, {"username": args.username, "password": kind}, [f"{kind} password set"])


def user_enable(args: argparse.Namespace) -> int:
    enabled = args.admin_action == "enable"
    with domain(args) as (idp, _):
        idp.admin_set_user_enabled(args.pool_id, args.username, enabled)
    state = "enabled" if enabled else "disabled"
    return _emit(
        args, {"username": args.username, "enabled": enabled}, [f"{args.username} {state}"]
    )


def user_delete(args: argparse.Namespace) -> int:
    with domain(args) as (idp, _):
        idp.admin_delete_user(args.pool_id, args.username)
    return _emit(args, {"deleted": args.username}, [f"deleted user {args.username}"])


# -- devices and the outbox -----------------------------------------------------------------------
def device_list(args: argparse.Namespace) -> int:
    with domain(args) as (idp, _):
        page = idp.admin_list_devices(args.pool_id, args.username)
    rows = [
        {
            "device_key": d.device_key,
            "remembered": d.remembered,
            "attributes": {a.name: a.value for a in d.attributes},
            "created": _when(d.create_date),
            "last_authenticated": _when(d.last_authenticated_date),
        }
        for d in page.devices
    ]
    lines = [
        f"{r['device_key']}  {r['attributes'].get('device_name', '-')}  "
        f"{'remembered' if r['remembered'] else 'not remembered'}  "
        f"last sign-in {r['last_authenticated'] or '-'}"
        for r in rows
    ]
    return _emit(args, rows, lines)


def device_forget(args: argparse.Namespace) -> int:
    with domain(args) as (idp, _):
        idp.admin_forget_device(args.pool_id, args.username, args.device_key)
    return _emit(args, {"forgotten": args.device_key}, [f"forgot device {args.device_key}"])


def outbox(args: argparse.Namespace) -> int:
    """The simulator's outbox: the SMS and e-mail messages the service would have sent."""
    with domain(args) as (idp, _):
        idp.pool_settings(args.pool_id)
        messages = idp.rt.store.read_outbox(args.pool_id, limit=args.last if args.last else 100)
    rows = [
        {
            "id": m.message_id,
            "channel": m.channel,
            "to": m.destination,
            "body": m.body,
            "sent": _when(m.created_at),
        }
        for m in messages
    ]
    lines = [f"#{r['id']} {r['sent']} {r['channel']} to {r['to']}: {r['body']}" for r in rows]
    return _emit(args, rows, lines)


# -- keys -----------------------------------------------------------------------------------------
def keys_list(args: argparse.Namespace) -> int:
    from ..server.vault import KINDS

    rows = []
    with domain(args) as (idp, _):
        for kind in KINDS:
            for record in idp.rt.store.list_keys(kind, include_retired=args.all):
                rows.append(
                    {
                        "kind": kind,
                        "key_id": record.key_id,
                        "created": _when(record.created_at),
                        "retired": _when(record.retired_at),
                        "under_current_kek": not idp.rt.kek.needs_rewrap(record.wrapped),
                    }
                )
    lines = [
        f"{r['kind']:<10} {r['key_id']}  created {r['created']}"
        + (f"  retired {r['retired']}" if r["retired"] else "")
        + ("" if r["under_current_kek"] else "  (wrapped under a previous KEK)")
        for r in rows
    ]
    return _emit(args, rows, lines)


def keys_rotate(args: argparse.Namespace) -> int:
    from ..server.vault import KINDS

    kinds = KINDS if args.kind == "all" else (args.kind,)
    with domain(args) as (idp, _):
        created = {kind: idp.rt.vault.rotate(kind) for kind in kinds}
    lines = [f"{kind:<10} new current key {key_id}" for kind, key_id in created.items()]
    lines.append("older seal/jwt keys still open and verify; retire them later with keys retire")
    return _emit(args, created, lines)


def keys_retire(args: argparse.Namespace) -> int:
    with domain(args) as (idp, _):
        retired = idp.retire_keys(args.kind, keep=args.keep)
    lines = [f"retired {args.kind} key {k}" for k in retired] or ["nothing to retire"]
    return _emit(args, {"kind": args.kind, "retired": retired}, lines)


# -- argument parsing -----------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=None, help="sqlite:///path or postgresql://... (as serve)")
    p.add_argument("--config", default=None, help="TOML settings file (as serve)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _leaf(sub: Sub, name: str, func: Any, help_text: str, *positionals: str) -> Any:
    p = sub.add_parser(name, help=help_text, description=help_text)
    for positional in positionals:
        p.add_argument(positional)
    _common(p)
    p.set_defaults(func=func)
    return p


def add_admin(sub: Sub) -> None:
    admin = sub.add_parser(
        "admin",
        help="operator commands on a service's database (pools, users, devices, outbox)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    groups = admin.add_subparsers(dest="admin_command", required=True)

    pool = groups.add_parser("pool", help="user pools").add_subparsers(
        dest="pool_command", required=True
    )
    p = _leaf(pool, "create", pool_create, "create a pool and an app client", "name")
    p.add_argument("--mfa", choices=["off", "optional", "on"], default="off")
    p.add_argument("--factor", choices=["sms", "totp"], action="append", help="MFA factor")
    p.add_argument("--devices", choices=list(_DEVICES), default="always", help="remembering")
    p.add_argument("--client-name", default="app", help="name of the app client")
    p.add_argument(
        "--auth-flow",
        choices=list(AUTH_FLOWS),
        action="append",
        help="the app client's ExplicitAuthFlows (repeat; default SRP, refresh and custom)",
    )
    _leaf(pool, "list", pool_list, "pools and their app clients")
    _leaf(pool, "show", pool_show, "a pool's settings", "pool_id")
    p = _leaf(
        pool,
        "set",
        pool_set,
        "change a pool's settings that no Cognito operation carries (only those given)",
        "pool_id",
    )
    p.add_argument("--challenge-seconds", help="Session / SECRET_BLOCK lifetime, 180..900")
    p.add_argument(
        "--signin-starts-per-minute", help="sign-in starts per user name per minute (0 = off)"
    )
    p.add_argument("--max-remembered-devices", help="cap per user, 1..1000, or none")
    p.add_argument("--device-cap-mode", choices=["refuse", "evict"], help="at the cap")
    p.add_argument("--device-ticket", choices=["on", "off"], help="pycognito's Session-less step")
    p.add_argument("--device-ticket-seconds", help="lifetime of that ticket, 1..300")
    p.add_argument("--refresh-rotation", choices=["on", "off"], help="a refresh rotates the token")
    p.add_argument("--refresh-grace-seconds", help="the old token's grace after rotation, 0..3600")
    p.add_argument("--access-token-seconds", help="pool default, 300..86400")
    p.add_argument("--id-token-seconds", help="pool default, 300..86400")
    p.add_argument("--refresh-token-seconds", help="pool default, 3600..315360000")

    user = groups.add_parser("user", help="users").add_subparsers(
        dest="user_command", required=True
    )
    p = _leaf(user, "create", user_create, "create a user", "pool_id", "username")
    p.add_argument("--attr", action="append", help="attribute name=value (repeatable)")
    p.add_argument("--temporary", action="store_true", help="new password at first sign-in")
    p.add_argument("--sms-mfa", action="store_true", help="enable and prefer SMS MFA")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p = _leaf(user, "list", user_list, "users of a pool (first 60)", "pool_id")
    p.add_argument("--prefix", default=None, help="user names starting with this")
    _leaf(user, "show", user_show, "one user", "pool_id", "username")
    p = _leaf(user, "set-password", user_set_password, "set a password", "pool_id", "username")
    p.add_argument("--temporary", action="store_true", help="new password at next sign-in")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _leaf(user, "delete", user_delete, "delete a user and their devices", "pool_id", "username")
    for action, text in (("enable", "let a user sign in again"), ("disable", "refuse sign-ins")):
        p = _leaf(user, action, user_enable, text, "pool_id", "username")
        p.set_defaults(admin_action=action)

    device = groups.add_parser("device", help="a user's devices")
    dsub = device.add_subparsers(dest="device_command", required=True)
    _leaf(dsub, "list", device_list, "a user's devices", "pool_id", "username")
    _leaf(dsub, "forget", device_forget, "forget a device", "pool_id", "username", "device_key")

    p = _leaf(groups, "outbox", outbox, "SMS and e-mail the service would have sent", "pool_id")
    p.add_argument("--last", type=int, default=0, help="at most this many (default 100)")


def add_keys(sub: Sub) -> None:
    from ..server.vault import KINDS

    keys = sub.add_parser(
        "keys",
        help="sealing, JWT, TOTP and fake-salt keys (wrapped under the KEK)",
        description="Keys at rest in the service's database. `rotate` adds a new current key "
        "(seal, jwt) or re-wraps the secret under the current KEK (totp, fake-salt); sign-ins "
        "in flight and issued tokens keep working until `retire`. To change the KEK: set the "
        "new one in DEVICESRP_KEK and the old one in DEVICESRP_KEK_PREVIOUS, `keys rotate`, "
        "wait for the longest token lifetime, `keys retire --kind seal` and `--kind jwt`, then "
        "drop DEVICESRP_KEK_PREVIOUS.",
    )
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    p = _leaf(ksub, "list", keys_list, "keys by kind, newest first")
    p.add_argument("--all", action="store_true", help="include retired keys")
    p = _leaf(ksub, "rotate", keys_rotate, "add a new current key of each kind (or --kind)")
    p.add_argument("--kind", choices=["all", *KINDS], default="all")
    p = _leaf(ksub, "retire", keys_retire, "retire all but the newest keys of a kind")
    p.add_argument("--kind", choices=["seal", "jwt"], required=True)
    p.add_argument("--keep", type=int, default=1, help="how many newest keys stay (default 1)")

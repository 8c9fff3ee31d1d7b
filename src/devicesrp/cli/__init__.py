"""Command line: ``devicesrp <command>``: parses arguments and calls the layers below.

Exit codes, for every command: 0 success; 1 the operation failed or was refused (a service or
domain error, a failed check, a demo step that did not happen); 2 bad usage or settings (argparse,
InvalidParameterError, an unreadable config or KEK); 130 interrupted. Errors print one line on
stderr, ``devicesrp <command>: <ErrorType>: <message>``, never a traceback or a secret.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from ..errors import DeviceSrpError, InvalidParameterError
from ..server.kek import KekError
from .admin import add_admin, add_keys

# (distribution, the extra that installs it, what needs it)
_OPTIONAL = (
    ("uvicorn", "server", "devicesrp serve, demo"),
    ("starlette", "server", "devicesrp serve, demo"),
    ("boto3", "client", "devicesrp client, demo"),
    ("psycopg", "postgres", "postgresql:// databases"),
    ("gmpy2", "gmp", "the gmpy2 modexp backend"),
    ("matplotlib", "bench", "devicesrp bench charts"),
)


def _packages() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for name, _, _ in _OPTIONAL:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def _cmd_doctor(args: argparse.Namespace) -> int:
    import platform
    import ssl

    from .. import __version__, modexp

    info = modexp.backend_info()
    packages = _packages()
    if args.json:
        report = {
            "version": __version__,
            "python": platform.python_version(),
            "openssl": ssl.OPENSSL_VERSION,
            "modexp": info,
            "packages": packages,
        }
        print(json.dumps(report, indent=2))
        return 0
    print(f"devicesrp {__version__} (Python {platform.python_version()}, {ssl.OPENSSL_VERSION})")
    print(f"  modexp backend : {info['backend']}")
    print(f"  cpu path       : {info['cpu_path']}")
    print(f"  constant time  : {'yes' if info['constant_time'] else 'NO'}")
    if info["detail"]:
        print(f"  detail         : {info['detail']}")
    for note in info["fallback_notes"]:
        print(f"  note           : {note}")
    if not info["constant_time"]:
        print(
            "  warning        : secret operations are refused"
            " unless DEVICESRP_ALLOW_VARIABLE_TIME=1"
        )
    for name, extra, needed_by in _OPTIONAL:
        shown = packages[name] or f"missing: pip install 'devicesrp[{extra}]'"
        print(f"  {name:<15}: {shown} ({needed_by})")
    return 0


def _cmd_bench_modexp(args: argparse.Namespace) -> int:
    from ..bench.modexp import main as bench_main

    return bench_main(rounds=args.rounds, json_path=args.json, exp_bits=args.exp_bits)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo()


def _cmd_vectors_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .vectors import check_dir, default_dir

    return check_dir(Path(args.dir) if args.dir else default_dir(), sys.stdout)


def _cmd_serve(args: argparse.Namespace) -> int:
    from ..http.serve import serve

    overrides = {
        "host": args.host,
        "port": args.port,
        "db": args.db,
        "region": args.region,
        "workers": args.workers,
        "tls_cert": args.tls_cert,
        "tls_key": args.tls_key,
    }
    return serve(args.config, overrides)


def _cmd_client(args: argparse.Namespace) -> int:
    from ..client import cli as client_cli

    handler: int = getattr(client_cli, args.client_action)(args)
    return handler


def _add_client(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    client = sub.add_parser("client", help="sign in and manage remembered devices (boto3)")
    actions = client.add_subparsers(dest="client_command", required=True)

    def common(p: argparse.ArgumentParser, *, user: bool = True) -> None:
        p.add_argument("--pool-id", help="user pool id (or DEVICESRP_POOL_ID)")
        p.add_argument("--client-id", help="app client id (or DEVICESRP_CLIENT_ID)")
        p.add_argument("--endpoint-url", help="service URL (or boto3's environment)")
        p.add_argument("--region", help="region (default: boto3's, else the pool id's)")
        p.add_argument("--store", help="device store file (default ~/.config/devicesrp)")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.add_argument("--username", required=user, help="user name")
        p.add_argument("--password-stdin", action="store_true", help="read the password")

    login = actions.add_parser("login", help="sign in; confirm and remember a new device")
    common(login)
    login.add_argument(
        "--remember", choices=["always", "ask", "never"], help="default: ask at a terminal"
    )
    login.add_argument("--device-name", help="name for a new device (default: host name)")
    login.add_argument("--require-server-proof", action="store_true")
    login.add_argument("--tokens-file", help="write the tokens here (mode 0600)")
    login.add_argument("--print-tokens", action="store_true", help="print the tokens")
    login.set_defaults(func=_cmd_client, client_action="login")
    devices = actions.add_parser("devices", help="remembered devices")
    dev_actions = devices.add_subparsers(dest="devices_command", required=True)
    dl = dev_actions.add_parser("list", help="stored devices; --remote: the service's list")
    common(dl, user=False)
    dl.add_argument("--remote", action="store_true", help="sign in and list at the service")
    dl.set_defaults(func=_cmd_client, client_action="devices_list")
    df = dev_actions.add_parser("forget", help="forget a device and drop it from the store")
    common(df)
    df.add_argument("--device-key", help="device to forget (default: the stored one)")
    df.add_argument("--local-only", action="store_true", help="only drop the stored device")
    df.set_defaults(func=_cmd_client, client_action="devices_forget")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devicesrp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    doctor = sub.add_parser("doctor", help="show the arithmetic backend and its properties")
    doctor.add_argument("--json", action="store_true", help="print JSON")
    doctor.set_defaults(func=_cmd_doctor)

    bench = sub.add_parser(
        "bench",
        help="benchmarks: with no subcommand, modexp + handshake + service, then the report",
    )
    bench_sub = bench.add_subparsers(dest="bench_command")
    bm = bench_sub.add_parser("modexp", help="modexp against GMP, OpenSSL and built-in pow")
    bm.add_argument("--rounds", type=int, default=200, help="round-robin rounds (default 200)")
    bm.add_argument(
        "--exp-bits", type=int, nargs="+", default=[256, 512, 1024, 3072], help="exponent sizes"
    )
    bm.add_argument("--json", default=None, help="also write the results as JSON to this file")
    bm.set_defaults(func=_cmd_bench_modexp)
    from .bench import add_bench_commands

    add_bench_commands(bench, bench_sub)

    demo = sub.add_parser(
        "demo",
        help="see remembered-device sign-in work: a local service, MFA, device SRP, forget",
        description="Starts devicesrp serve on a temporary SQLite database on a free loopback "
        "port, creates a pool (SMS MFA, devices remembered on user opt-in) and a user, and "
        "narrates three sign-ins. Exits 0 when everything happened as narrated; leaves nothing "
        "running and removes its temporary directory.",
    )
    demo.set_defaults(func=_cmd_demo)

    vectors = sub.add_parser("vectors", help="known-answer vectors")
    vsub = vectors.add_subparsers(dest="vectors_command", required=True)
    vc = vsub.add_parser("check", help="recompute vectors/*.json through the engine")
    vc.add_argument("--dir", default=None, help="vectors directory (default ./vectors)")
    vc.set_defaults(func=_cmd_vectors_check)

    serve = sub.add_parser("serve", help="run the Cognito-compatible HTTP service")
    serve.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 9229)")
    serve.add_argument("--db", default=None, help="sqlite:///path or postgresql://...")
    serve.add_argument("--config", default=None, help="TOML settings file")
    serve.add_argument("--region", default=None, help="region of the pools (default us-east-1)")
    serve.add_argument("--workers", type=int, default=None, help="worker processes (default 1)")
    serve.add_argument("--tls-cert", default=None, help="PEM certificate (with --tls-key)")
    serve.add_argument("--tls-key", default=None, help="PEM private key")
    serve.set_defaults(func=_cmd_serve)
    _add_client(sub)
    add_admin(sub)
    add_keys(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    name = " ".join(
        str(v) for k, v in vars(args).items() if k == "command" or (k.endswith("_command") and v)
    )
    try:
        result: int = args.func(args)
    except (InvalidParameterError, KekError) as exc:
        print(f"devicesrp {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except DeviceSrpError as exc:
        print(f"devicesrp {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"devicesrp {name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `devicesrp ... | head`: the reader left; no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())

"""The service under load: complete remembered-device sign-ins (InitiateAuth, PASSWORD_VERIFIER,
DEVICE_SRP_AUTH, DEVICE_PASSWORD_VERIFIER) from a load generator in a separate process on
loopback, at concurrency 1, 8 and 32, with 1 and 2 workers, on SQLite and PostgreSQL.

Reported: sign-ins per second, p50/p99 latency, server CPU per sign-in (the run time of the
worker processes' threads, /proc schedstat, ns) split into engine, JWT, SQL (statements, BEGIN and
COMMIT through the driver), storage (the store's own Python), the rest of the operations and HTTP
(the remainder: uvicorn, Starlette, JSON, logging), from the workers' own CPU ledger
(``DEVICESRP_PROFILE_DIR``); the generator's own CPU; and the floor measured in the
same run: a bare ASGI app answering the same 4 requests with canned bodies plus the 2 RS256
signatures. The floor's generator does the same client-side SRP work per sign-in as devicesrp's
(against a fixed real challenge), so both servers see the same pacing between requests and the
same cache pressure from the generator on the shared cores.
Target: the non-engine part of a devicesrp sign-in <= 1.5x the floor. Only same-run ratios mean
anything on this machine.

Run: ``make bench`` (or ``python -m pytest benchmarks/test_bench_service.py --benchmark-only``).
This file is also the generator (``python test_bench_service.py loadgen <json>``) and holds the
floor app (``floor_app``).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET = "AWSCognitoIdentityProviderService."
CONCURRENCY = (1, 8, 32)
SIGN_INS = {1: 40, 8: 160, 32: 320}  # per concurrency, split over two A B rounds


# -- the load generator (runs in its own process) ---------------------------------------------


class Wire:
    """AWS JSON 1.1 over one keep-alive connection."""

    def __init__(self, url: str) -> None:
        host, port = url.split("//")[1].split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)

    def post(self, op: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + op}
        self.conn.request("POST", "/", body=data, headers=headers)
        resp = self.conn.getresponse()
        doc: dict[str, Any] = json.loads(resp.read())
        if resp.status != 200:
            raise RuntimeError(f"{op}: {resp.status} {doc}")
        return doc


def devicesrp_sign_in(wire: Wire, cfg: dict[str, Any], user: dict[str, Any]) -> None:
    from devicesrp import live
    from devicesrp.protocol.client import ClientHandshake
    from devicesrp.protocol.values import Challenge, DeviceCredentials, UserCredentials

    def challenge(cp: dict[str, str], identity: str) -> Challenge:
        salt = cp["SALT"]
        salt = salt if len(salt) % 2 == 0 else "0" + salt
        return Challenge(identity, bytes.fromhex(salt), int(cp["SRP_B"], 16), cp["SECRET_BLOCK"])

    dev = user["device"]
    hs = ClientHandshake(UserCredentials(cfg["pool"], user["password"]))
    params = {"USERNAME": user["username"], "SRP_A": format(live.start(hs), "x")}
    params["DEVICE_KEY"] = dev["key"]
    cp = wire.post(
        "InitiateAuth",
        {"ClientId": cfg["client"], "AuthFlow": "USER_SRP_AUTH", "AuthParameters": params},
    )["ChallengeParameters"]
    claim = live.respond(hs, challenge(cp, cp["USER_ID_FOR_SRP"]))
    resp = wire.post(
        "RespondToAuthChallenge",
        {
            "ClientId": cfg["client"],
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeResponses": {
                "USERNAME": cp["USERNAME"],
                "PASSWORD_CLAIM_SECRET_BLOCK": claim.secret_block,
                "TIMESTAMP": claim.timestamp,
                "PASSWORD_CLAIM_SIGNATURE": claim.signature,
                "DEVICE_KEY": dev["key"],
            },
        },
    )
    assert resp["ChallengeName"] == "DEVICE_SRP_AUTH", resp
    dhs = ClientHandshake(DeviceCredentials(dev["group"], dev["key"], dev["password"]))
    resp = wire.post(
        "RespondToAuthChallenge",
        {
            "ClientId": cfg["client"],
            "ChallengeName": "DEVICE_SRP_AUTH",
            "Session": resp["Session"],
            "ChallengeResponses": {
                "USERNAME": cp["USERNAME"],
                "DEVICE_KEY": dev["key"],
                "SRP_A": format(live.start(dhs), "x"),
            },
        },
    )
    dcp = resp["ChallengeParameters"]
    claim = live.respond(dhs, challenge(dcp, dev["key"]))
    resp = wire.post(
        "RespondToAuthChallenge",
        {
            "ClientId": cfg["client"],
            "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
            "Session": resp["Session"],
            "ChallengeResponses": {
                "USERNAME": dcp["USERNAME"],
                "DEVICE_KEY": dev["key"],
                "PASSWORD_CLAIM_SECRET_BLOCK": claim.secret_block,
                "TIMESTAMP": claim.timestamp,
                "PASSWORD_CLAIM_SIGNATURE": claim.signature,
            },
        },
    )
    assert "AuthenticationResult" in resp, resp


def client_work(user: dict[str, Any], cfg: dict[str, Any]) -> None:
    """The client's side of a sign-in (2 x start + respond) against a fixed valid challenge: the
    floor's generator does the same CPU work between requests as devicesrp's, so both servers
    see the same request pacing and the same cache pressure from the generator."""
    from devicesrp import live
    from devicesrp.protocol.client import ClientHandshake
    from devicesrp.protocol.values import Challenge, DeviceCredentials, UserCredentials

    fixed = cfg["floor_challenge"]
    dev = user["device"]
    for creds, identity in (
        (UserCredentials(cfg["pool"], user["password"]), user["username"]),
        (DeviceCredentials(dev["group"], dev["key"], dev["password"]), dev["key"]),
    ):
        hs = ClientHandshake(creds)
        live.start(hs)
        salt, b_pub = bytes.fromhex(fixed["salt"]), int(fixed["B"], 16)
        live.respond(hs, Challenge(identity, salt, b_pub, fixed["block"]))


def floor_sign_in(wire: Wire, cfg: dict[str, Any], user: dict[str, Any]) -> None:
    """The same 4 requests with bodies of the same shape and size, canned answers, and the
    same client-side work as a real sign-in."""
    client_work(user, cfg)
    big, block = "a" * 768, "B" * 600
    wire.post(
        "InitiateAuth",
        {
            "ClientId": cfg["client"],
            "AuthFlow": "USER_SRP_AUTH",
            "AuthParameters": {"USERNAME": user["username"], "SRP_A": big, "DEVICE_KEY": "k" * 46},
        },
    )
    for name in ("PASSWORD_VERIFIER", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"):
        responses = {
            "USERNAME": user["username"],
            "PASSWORD_CLAIM_SECRET_BLOCK": block,
            "TIMESTAMP": "Tue Jan 1 06:06:09 UTC 2019",
            "PASSWORD_CLAIM_SIGNATURE": "s" * 44,
        }
        wire.post(
            "RespondToAuthChallenge",
            {
                "ClientId": cfg["client"],
                "ChallengeName": name,
                "Session": "S" * 400,
                "ChallengeResponses": responses,
            },
        )


def loadgen(cfg: dict[str, Any]) -> dict[str, Any]:
    sign_in = floor_sign_in if cfg["mode"] == "floor" else devicesrp_sign_in
    users = cfg["users"]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    next_index = [0]

    def worker(slot: int) -> None:
        wire = Wire(cfg["url"])
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= cfg["total"]:
                return
            start = time.perf_counter()
            try:
                sign_in(wire, cfg, users[slot % len(users)])
            except Exception as exc:  # reported, not hidden
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
                wire = Wire(cfg["url"])
                continue
            with lock:
                latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(cfg["concurrency"])]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "latencies": latencies,
        "errors": errors,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
    }


# -- the floor: a bare ASGI app, same 4 answers, 2 RS256 signatures ----------------------------


def _floor() -> Any:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    challenge = {
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "SALT": "f" * 32,
            "SRP_B": "b" * 768,
            "SECRET_BLOCK": "B" * 600,
            "USER_ID_FOR_SRP": "u",
            "USERNAME": "u",
        },
    }
    nxt = {"PASSWORD_VERIFIER": "DEVICE_SRP_AUTH", "DEVICE_SRP_AUTH": "DEVICE_PASSWORD_VERIFIER"}

    async def post(request: Request) -> Response:
        body = json.loads(await request.body())
        name = body.get("ChallengeName")
        if name in nxt:
            doc: dict[str, Any] = dict(challenge, ChallengeName=nxt[name], Session="S" * 400)
        elif name == "DEVICE_PASSWORD_VERIFIER":
            now = int(time.time())
            claims = {"sub": "u", "iat": now, "exp": now + 3600, "token_use": "access"}
            doc = {
                "AuthenticationResult": {
                    "AccessToken": jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k"}),
                    "IdToken": jwt.encode(dict(claims, token_use="id"), key, algorithm="RS256"),
                    "RefreshToken": "r" * 60,
                    "ExpiresIn": 3600,
                    "TokenType": "Bearer",
                }
            }
        else:
            doc = challenge
        return Response(json.dumps(doc), media_type="application/x-amz-json-1.1")

    return Starlette(routes=[Route("/", post, methods=["POST"])])


def floor_app() -> Any:
    """uvicorn factory for the floor."""
    return _floor()


# -- the benchmark itself -----------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """CPU seconds of a process's threads, in ns resolution (schedstat's run time): utime+stime
    of /proc/<pid>/stat come in 10 ms ticks, coarser than a few sign-ins of the floor."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def ready_workers(profile_dir: Path, expected: int) -> list[int]:
    """The worker pids, once each has installed its ledger (it announces ``<pid>.ready``)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = [int(p.stem) for p in profile_dir.glob("*.ready")]
        alive = [p for p in pids if Path(f"/proc/{p}").exists()]
        if len(alive) >= expected:
            return sorted(alive)
        time.sleep(0.1)
    raise RuntimeError("workers did not start")


def workers_of(pid: int, expected: int) -> list[int]:
    """The floor's worker processes: uvicorn's spawned children, or uvicorn itself."""
    if expected == 1:
        return [pid]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            # uvicorn's workers are spawn children; skip multiprocessing's resource tracker
            if (
                int(stat[1]) == pid
                and b"spawn_main" in cmdline
                and b"resource_tracker" not in cmdline
            ):
                kids.append(int(entry.name))
        if len(kids) >= expected:
            return kids
        time.sleep(0.2)
    raise RuntimeError("workers did not start")


def ledger(profile_dir: Path, pids: list[int]) -> dict[str, float]:
    for pid in pids:
        (profile_dir / f"{pid}.json").unlink(missing_ok=True)
        os.kill(pid, signal.SIGUSR1)
    totals: dict[str, float] = {}
    deadline = time.monotonic() + 10
    for pid in pids:
        path = profile_dir / f"{pid}.json"
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        if path.exists():
            for k, v in json.loads(path.read_text())["cpu"].items():
                totals[k] = totals.get(k, 0.0) + v
    return totals


def run_generator(cfg: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__)), "loadgen", json.dumps(cfg)],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=HERE,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def measure(
    url: str, pids: list[int], profile_dir: Path | None, cfg: dict[str, Any]
) -> dict[str, Any]:
    before_cpu = sum(proc_cpu(p) for p in pids)
    before = ledger(profile_dir, pids) if profile_dir else {}
    gen = run_generator(dict(cfg, url=url))
    after = ledger(profile_dir, pids) if profile_dir else {}
    total = sum(proc_cpu(p) for p in pids) - before_cpu
    done = max(1, len(gen["latencies"]))
    lat = sorted(gen["latencies"]) or [0.0]
    parts = {k: (after.get(k, 0.0) - before.get(k, 0.0)) / done for k in after}
    parts["http"] = total / done - sum(parts.values())
    return {
        "sign_ins": len(gen["latencies"]),
        "errors": gen["errors"][:5],
        "per_second": len(gen["latencies"]) / gen["wall"],
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "server_cpu_ms": 1000 * total / done,
        "parts_ms": {k: round(1000 * v, 3) for k, v in parts.items()},
        "generator_cpu_ms": 1000 * gen["cpu"] / done,
    }


def setup_users(url: str, count: int) -> dict[str, Any]:
    """A pool whose remembered devices replace MFA, and ``count`` users each with one device."""
    from clients.harness import Service
    from clients.raw import confirm_new_device, sign_in

    svc = Service(url, "", Path("/dev/null"))
    admin = svc.admin()
    pool = admin.create_user_pool(
        PoolName="bench",
        DeviceConfiguration={
            "ChallengeRequiredOnNewDevice": True,
            "DeviceOnlyRememberedOnUserPrompt": False,
        },
    )["UserPool"]["Id"]
    client = admin.create_user_pool_client(UserPoolId=pool, ClientName="bench")["UserPoolClient"][
        "ClientId"
    ]
    users = []
    for i in range(count):
        name, password = f"bench{i}", f"Bench-Passw0rd-{i}!"
        admin.admin_create_user(UserPoolId=pool, Username=name, TemporaryPassword=password)
        admin.admin_set_user_password(
            UserPoolId=pool, Username=name, Password=password, Permanent=True
        )
        first = sign_in(svc.public(), pool, client, name, password)
        device, _ = confirm_new_device(svc.public(), first.tokens)
        users.append(
            {
                "username": name,
                "password": password,
                "device": {"key": device.key, "group": device.group, "password": device.password},
            }
        )
    # a real challenge for the floor's client work (its server only sends canned values)
    from devicesrp import live
    from devicesrp.protocol.client import ClientHandshake
    from devicesrp.protocol.values import UserCredentials

    hs = ClientHandshake(UserCredentials(pool, users[0]["password"]))
    params = {"USERNAME": users[0]["username"], "SRP_A": format(live.start(hs), "x")}
    cp = Wire(url).post(
        "InitiateAuth", {"ClientId": client, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": params}
    )["ChallengeParameters"]
    fixed = {"salt": cp["SALT"].rjust(len(cp["SALT"]) + len(cp["SALT"]) % 2, "0"), "B": cp["SRP_B"]}
    fixed["block"] = cp["SECRET_BLOCK"]
    return {"pool": pool, "client": client, "users": users, "floor_challenge": fixed}


def floor_server(workers: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    from clients.harness import free_port

    port = free_port()
    # the same uvicorn transport as `devicesrp serve` (h11, TCP_NODELAY on every connection),
    # which uvicorn's command line cannot select
    launch = (
        "import sys, uvicorn; sys.path.insert(0, sys.argv[1]); uvicorn.run("
        "'test_bench_service:floor_app', factory=True, host='127.0.0.1', port=int(sys.argv[2]),"
        " workers=int(sys.argv[3]), log_level='warning', access_log=False,"
        " http='devicesrp.http.nodelay:NoDelayH11Protocol')"
    )
    cmd = [sys.executable, "-c", launch, str(HERE), str(port), str(workers)]
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            Wire(url).post("InitiateAuth", {})
            break
        except OSError:
            time.sleep(0.1)
    return proc, url


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(runs[0])
    for key in ("per_second", "p50_ms", "p99_ms", "server_cpu_ms", "generator_cpu_ms"):
        out[key] = round(statistics.median(r[key] for r in runs), 3)
    out["parts_ms"] = {
        k: round(statistics.median(r["parts_ms"].get(k, 0.0) for r in runs), 3)
        for k in runs[0]["parts_ms"]
    }
    out["sign_ins"] = sum(r["sign_ins"] for r in runs)
    out["errors"] = [e for r in runs for e in r["errors"]][:5]
    return out


def test_service_sign_in_load(benchmark: Any, tmp_path: Path) -> None:
    from clients.harness import (
        ADMIN_KEY_ID,
        ADMIN_SECRET,
        _fresh_postgres_db,
        postgres_reachable,
        serve_process,
    )
    from conftest import save

    backends = ["sqlite"] + (["postgres"] if postgres_reachable() is None else [])
    # knobs for a quicker or different run: which backends, and operations on the event loop
    wanted = os.environ.get("DEVICESRP_BENCH_BACKENDS")
    backends = [b for b in backends if not wanted or b in wanted.split(",")]
    # unset: the service's default (threads over PostgreSQL, the event loop over SQLite);
    # "1" / "0": threads / the event loop on both
    choice = os.environ.get("DEVICESRP_BENCH_THREADED", "")
    threaded = {"1": True, "0": False}.get(choice)
    handlers = "" if threaded is None else f"threaded_handlers = {str(threaded).lower()}\n"
    name = {None: "service", True: "service-threads", False: "service-loop"}[threaded]
    config = tmp_path / "bench.toml"
    config.write_text(
        f"[server]\naccess_log = true\n{handlers}"
        "[throttle]\naddress_per_second = 0\n"
        f'client_per_second = 0\n[[admin_keys]]\nkey_id = "{ADMIN_KEY_ID}"\n'
        f'secret = "{ADMIN_SECRET}"\n'
    )
    results: dict[str, Any] = {"rounds": 2, "sign_ins": SIGN_INS, "threaded_handlers": threaded}
    for backend in backends:
        db = (
            f"sqlite:///{tmp_path / 'bench.sqlite3'}"
            if backend == "sqlite"
            else (_fresh_postgres_db())
        )
        env = {"DEVICESRP_KEK": base64.b64encode(os.urandom(32)).decode()}
        setup: dict[str, Any] | None = None
        for workers in (1, 2):
            profile = tmp_path / f"profile-{backend}-{workers}"
            env["DEVICESRP_PROFILE_DIR"] = str(profile)
            args = ["--db", db, "--config", str(config), "--workers", str(workers)]
            floor, floor_url = floor_server(workers, tmp_path / f"floor-{workers}.log")
            try:
                with serve_process(args, env, tmp_path / f"serve-{backend}-{workers}.log") as (
                    url,
                    _,
                ):
                    pids = ready_workers(profile, workers)
                    floor_pids = workers_of(floor.pid, workers)
                    setup = setup or setup_users(url, max(CONCURRENCY))
                    warm = dict(setup, mode="devicesrp", concurrency=2, total=4)
                    measure(url, pids, profile, warm)
                    for c in CONCURRENCY:
                        cfg = dict(setup, concurrency=c, total=SIGN_INS[c] // 2)
                        ours, base = [], []
                        for _ in range(2):  # A B A B: the machine's speed drifts
                            ours.append(measure(url, pids, profile, dict(cfg, mode="devicesrp")))
                            base.append(
                                measure(floor_url, floor_pids, None, dict(cfg, mode="floor"))
                            )
                        mine, bare = median_of(ours), median_of(base)
                        parts = mine["parts_ms"]
                        non_engine = mine["server_cpu_ms"] - parts.get("engine", 0.0)
                        # what stays if the store's and the operations' Python cost nothing:
                        # HTTP, JWT and the SQL itself
                        bound = non_engine - parts.get("storage", 0.0) - parts.get("handler", 0.0)
                        key = f"{backend}/workers={workers}/concurrency={c}"
                        results[key] = {
                            "devicesrp": mine,
                            "floor": bare,
                            "non_engine_ms": round(non_engine, 3),
                            "non_engine_over_floor": round(non_engine / bare["server_cpu_ms"], 3),
                            "http_jwt_sql_over_floor": round(bound / bare["server_cpu_ms"], 3),
                        }
                        # a late failure keeps what was measured
                        save(name, results)
            finally:
                floor.terminate()
                floor.wait(timeout=15)
    path = save(name, results)
    lines = [f"service load (same-run ratios; details in {path})"]
    for key, r in results.items():
        if isinstance(r, dict) and "devicesrp" in r:
            d, f = r["devicesrp"], r["floor"]
            lines.append(
                f"{key}: {d['per_second']:.1f}/s p50 {d['p50_ms']:.0f} ms p99 {d['p99_ms']:.0f} ms"
                f" | server CPU/sign-in {d['server_cpu_ms']:.1f} ms {d['parts_ms']}"
                f" | floor {f['server_cpu_ms']:.1f} ms | non-engine/floor"
                f" {r['non_engine_over_floor']:.2f} (HTTP+JWT+SQL alone"
                f" {r['http_jwt_sql_over_floor']:.2f})"
                f" | generator CPU {d['generator_cpu_ms']:.1f} ms"
                f" | errors {d['errors'] or 0}"
            )
    print("\n".join(lines))
    benchmark.extra_info["service"] = results
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    for key, r in results.items():
        if isinstance(r, dict) and "devicesrp" in r:
            assert not r["devicesrp"]["errors"], (key, r["devicesrp"]["errors"])


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "loadgen":
    sys.path.insert(0, str(HERE.parent / "src"))
    print(json.dumps(loadgen(json.loads(sys.argv[2]))))

"""The full Cognito device handshake (client + server math, 3072-bit group, 256-bit secrets) against
its references, as same-run ratios (performance.md's method: round-robin, thread_time, medians).

Comparisons, each one round-robin loop:

1. full handshake: OpenSSL ``BN_mod_exp_mont_consttime`` for every secret exponent (the reference,
   the same hashes as devicesrp), devicesrp through its engines (``ClientHandshake`` +
   ``ServerEngine``: sealing, server proof included), devicesrp's math alone on every modexp
   backend that loads, srptools 2.0 as shipped (1024-bit secrets), and pysrp's OpenSSL (ctypes)
   backend where it loads (256-bit secrets; which backend loaded is reported).
2. client half: devicesrp (start + respond) against pycognito's client math run offline
   (``AWSSRP(..., client=object())`` + ``get_device_authentication_key`` + the signature).
3. server half alone: devicesrp (begin + finish of a real, verifying response) against OpenSSL
   consttime; the median gives device proofs verified per second on one core.

Targets once the IFMA path exists (issue 5): <= 0.65x the OpenSSL reference; >= 30x faster than
srptools; client half >= 20x faster than pycognito's; >= 1.8x faster than pysrp's OpenSSL
backend. This file reports the ratios; it asserts only that every candidate really authenticated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conftest import save
from devicesrp import live, modexp
from devicesrp.bench import openssl
from devicesrp.bench.roundrobin import Candidate, Comparison, compare, thread_scaling
from devicesrp.modexp._backend import Backend
from devicesrp.protocol import (
    Challenge,
    ChallengeContext,
    ClientHandshake,
    ClientResponse,
    DeviceCredentials,
    Flow,
    KeyRing,
    ServerEngine,
    VerifierRecord,
)
from devicesrp.srp import cognito
from devicesrp.srp.groups import COGNITO_GROUP
from devicesrp.srp.timestamp import format_timestamp

ROUNDS = 40
BASELINE = "openssl consttime"
N = COGNITO_GROUP.N
G = COGNITO_GROUP.g
K = cognito.COGNITO_K
SECRET_BYTES = 32
POOL_ID = "us-east-1_BenchPool"
GROUP_KEY = "-BenchGroup"
DEVICE_KEY = "us-east-1_0f1e2d3c-4b5a-4697-8877-665544332211"
NOW = 1_764_170_000

PASSWORD, CONFIG = live.new_device_secret(GROUP_KEY, DEVICE_KEY)
RECORD = VerifierRecord.for_device(GROUP_KEY, DEVICE_KEY, CONFIG)
V_INT = int.from_bytes(RECORD.verifier, "big")
SALT_HEX = RECORD.salt.hex()
CONTEXT = ChallengeContext(Flow.DEVICE_PASSWORD, POOL_ID, "bench-client", "bench-user", DEVICE_KEY)
ENGINE = ServerEngine(KeyRing([live.new_sealing_key(1)]))
CREDS = DeviceCredentials(GROUP_KEY, DEVICE_KEY, PASSWORD)


# --- devicesrp -------------------------------------------------------------------------------


def devicesrp_engines() -> bool:
    """One handshake through the sans-IO engines, fresh a, b, id and nonce (live wrappers)."""
    client = ClientHandshake(CREDS, require_server_proof=True)
    challenge = live.begin(ENGINE, RECORD, CONTEXT, live.start(client))
    result = live.finish(ENGINE, RECORD, CONTEXT, live.respond(client, challenge))
    client.finish(result.server_proof)
    return True


def devicesrp_math_on(backend: Backend | None) -> Callable[[], bool]:
    """The handshake's math alone (no sealing) on ``backend`` (None: the selected one)."""
    if backend is None:
        client_public = cognito.client_public
        server_public = cognito.server_public
        client_premaster = cognito.client_premaster
        server_premaster = cognito.server_premaster
    else:
        bits = 8 * SECRET_BYTES
        table = backend.fixed_base(G, N, bits)

        def client_public(a: bytes) -> int:
            return table.pow(int.from_bytes(a, "big"))

        def server_public(v: bytes, b: bytes) -> int:
            return backend.srp_server_public(G, K, v, b, N)

        def client_premaster(x: bytes, a: bytes, u: int, b_pub: int) -> bytes:
            return backend.srp_client_premaster(G, K, x, a, u, b_pub, N)

        def server_premaster(a_pub: int, v: bytes, u: int, b: bytes) -> bytes:
            return backend.srp_server_premaster(a_pub, v, u, b, N)

    block = secrets.token_bytes(500)
    ts = format_timestamp(NOW)

    def handshake() -> bool:
        a, b = secrets.token_bytes(SECRET_BYTES), secrets.token_bytes(SECRET_BYTES)
        a_pub = client_public(a)
        b_pub = server_public(RECORD.verifier, b)
        u = cognito.compute_u(a_pub, b_pub)
        x = cognito.compute_x(SALT_HEX, GROUP_KEY, DEVICE_KEY, PASSWORD)
        key_c = cognito.derive_key(client_premaster(x, a, u, b_pub), u)
        sig = cognito.claim_signature(key_c, GROUP_KEY, DEVICE_KEY, block, ts)
        key_s = cognito.derive_key(server_premaster(a_pub, RECORD.verifier, u, b), u)
        return cognito.verify_claim_signature(key_s, GROUP_KEY, DEVICE_KEY, block, ts, sig)

    return handshake


def math_backends() -> dict[str, Backend]:
    """Every modexp backend worth comparing, by label: each native CPU path (IFMA and the
    portable one), then gmpy2 (not constant time). Built-in pow is left out: 40x slower."""
    found: dict[str, Backend] = {}
    try:
        from devicesrp.modexp import _native_backend as native
    except ImportError:
        native = None  # type: ignore[assignment]
    if native is not None:
        for path in native.cpu_paths():
            backend = native.load_path(path)
            if backend is not None:
                found[f"native/{path}"] = backend
    gmp = modexp.available_backends().get("gmpy2")
    if gmp is not None:
        found[f"gmpy2/{gmp.cpu_path}"] = gmp
    return found


def selected_label() -> str:
    info = modexp.backend_info()
    return f"{info['backend']}/{info['cpu_path']}"


# --- OpenSSL consttime reference ---------------------------------------------------------------


def openssl_reference() -> tuple[Callable[[], bool], Callable[[], Any], Any]:
    """Full handshake, client half and server half with BN_mod_exp_mont_consttime everywhere."""
    ossl = openssl.OpenSSLModexp(N)
    ct = ossl.consttime
    block = secrets.token_bytes(500)
    ts = format_timestamp(NOW)

    def rand() -> int:
        return int.from_bytes(secrets.token_bytes(SECRET_BYTES), "big") | 1

    def client(a: int, a_pub: int, b_pub: int) -> str:
        u = cognito.compute_u(a_pub, b_pub)
        x = int.from_bytes(cognito.compute_x(SALT_HEX, GROUP_KEY, DEVICE_KEY, PASSWORD), "big")
        s = ct((b_pub - K * ct(G, x)) % N, a + u * x)
        key = cognito.derive_key(s.to_bytes(384, "big"), u)
        return cognito.claim_signature(key, GROUP_KEY, DEVICE_KEY, block, ts)

    def server_begin(b: int) -> int:
        return (K * V_INT + ct(G, b)) % N

    def server_finish(a_pub: int, b: int, b_pub: int, sig: str) -> bool:
        u = cognito.compute_u(a_pub, b_pub)
        s = ct(ct(V_INT, u) * a_pub % N, b)  # v is secret: consttime even for the public u
        key = cognito.derive_key(s.to_bytes(384, "big"), u)
        return cognito.verify_claim_signature(key, GROUP_KEY, DEVICE_KEY, block, ts, sig)

    def full() -> bool:
        a, b = rand(), rand()
        a_pub = ct(G, a)
        b_pub = server_begin(b)
        return server_finish(a_pub, b, b_pub, client(a, a_pub, b_pub))

    b_fixed = rand()
    b_pub_fixed = server_begin(b_fixed)

    def client_half() -> str:
        a = rand()
        return client(a, ct(G, a), b_pub_fixed)

    # Server half: pre-made client answers, so only the server's work is timed.
    def server_cases() -> Iterator[tuple[int, int, str]]:
        while True:
            a, b = rand(), rand()
            a_pub = ct(G, a)
            yield a_pub, b, client(a, a_pub, server_begin(b))

    return full, client_half, (server_begin, server_finish, server_cases)


# --- peers -------------------------------------------------------------------------------------


def srptools_handshake() -> Callable[[], bool]:
    """srptools 2.0 as shipped (1024-bit secrets), on the 3072-bit prime, g = 2, SHA-256."""
    from srptools import SRPClientSession, SRPContext, SRPServerSession

    args: dict[str, Any] = {"prime": format(N, "X"), "generator": "2", "hash_func": hashlib.sha256}
    _, verifier, salt = SRPContext("bench", "pw", **args).get_user_data_triplet()

    def handshake() -> bool:
        server = SRPServerSession(SRPContext("bench", **args), password_verifier=verifier)
        client = SRPClientSession(SRPContext("bench", "pw", **args))
        client.process(server.public, salt)
        server.process(client.public, salt)
        return bool(
            server.verify_proof(client.key_proof) and client.verify_proof(server.key_proof_hash)
        )

    return handshake


def pysrp_handshake() -> tuple[str, Callable[[], bool]] | None:
    """pysrp on the 3072-bit prime, g = 2, SHA-256, with whichever backend it loaded."""
    try:
        import srp  # type: ignore[import-untyped]
    except ImportError:
        return None
    backend = srp._mod.__name__.rsplit(".", 1)[-1]  # _ctsrp (OpenSSL) or _pysrp (pure Python)
    ctypes_backend = backend == "_ctsrp"
    n_hex: str | bytes = format(N, "X")
    g_hex: str | bytes = "2"
    if ctypes_backend:
        n_hex, g_hex = str(n_hex).encode(), b"2"
    kw = {"hash_alg": srp.SHA256, "ng_type": srp.NG_CUSTOM, "n_hex": n_hex, "g_hex": g_hex}
    salt, vkey = srp.create_salted_verification_key("bench", "pw", **kw)

    def handshake() -> bool:
        user = srp.User("bench", "pw", **kw)
        name, a_pub = user.start_authentication()
        verifier = srp.Verifier(name, salt, vkey, a_pub, **kw)
        s, b_pub = verifier.get_challenge()
        m = user.process_challenge(s, b_pub)
        user.verify_session(verifier.verify_session(m))
        return bool(user.authenticated() and verifier.authenticated())

    label = "ctypes/OpenSSL" if ctypes_backend else "pure Python (OpenSSL backend did not load)"
    return label, handshake


def pycognito_client_half(b_pub: int) -> Callable[[], str]:
    """pycognito's device client math offline: its 128-byte a, A, S, HKDF and the signature."""
    from pycognito.aws_srp import AWSSRP

    block = secrets.token_bytes(500)
    ts = format_timestamp(NOW)

    def client() -> str:
        aws = AWSSRP(
            username="bench",
            password="unused",
            pool_id=POOL_ID,
            client_id="bench-client",
            client=object(),
            device_key=DEVICE_KEY,
            device_group_key=GROUP_KEY,
            device_password=PASSWORD,
        )
        key = aws.get_device_authentication_key(GROUP_KEY, DEVICE_KEY, PASSWORD, b_pub, SALT_HEX)
        msg = GROUP_KEY.encode() + DEVICE_KEY.encode() + block + ts.encode()
        return base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()

    return client


# --- the three comparisons ---------------------------------------------------------------------


def table(comparison: Comparison, baseline: str) -> str:
    rows = comparison.as_dict(baseline)
    width = max(len(name) for name in rows)
    lines = [f"{'candidate':<{width}}  {'median us':>11}  {'x ' + baseline:>22}"]
    for name, row in sorted(rows.items(), key=lambda kv: kv[1]["median_us"]):
        ratio = row.get("ratio_to_baseline", float("nan"))
        lines.append(f"{name:<{width}}  {row['median_us']:>11.0f}  {ratio:>22.3f}")
    return "\n".join(lines)


def checked(name: str, call: Callable[[], Any]) -> Candidate:
    """A candidate whose every run must authenticate (a benchmark of a failing login is void)."""

    def run() -> None:
        if not call():
            raise AssertionError(f"{name}: the handshake did not authenticate")

    return Candidate(name, run)


def test_full_handshake(benchmark: Any) -> None:
    full, _, _ = openssl_reference()
    candidates = [
        checked(BASELINE, full),
        checked(f"devicesrp engines [{selected_label()}]", devicesrp_engines),
    ]
    for label, backend in math_backends().items():
        candidates.append(checked(f"devicesrp math [{label}]", devicesrp_math_on(backend)))
    candidates.append(checked("srptools 2.0 (1024-bit secrets)", srptools_handshake()))
    pysrp = pysrp_handshake()
    pysrp_name = None
    if pysrp is not None:
        pysrp_name = f"pysrp [{pysrp[0]}]"
        candidates.append(checked(pysrp_name, pysrp[1]))
    results: dict[str, Comparison] = {}
    benchmark.pedantic(lambda: results.update(full=compare(candidates, ROUNDS)), rounds=1)
    comparison = results["full"]
    ours = comparison.median(f"devicesrp engines [{selected_label()}]")
    summary: dict[str, Any] = {
        "rounds": ROUNDS,
        "baseline": BASELINE,
        "backend": modexp.backend_info(),
        "openssl": openssl.version(),
        "rows": comparison.as_dict(BASELINE),
        "math_vs_openssl_reference": {
            name: comparison.ratio(name, BASELINE)
            for name in comparison.samples
            if name.startswith("devicesrp math")
        },
        "devicesrp_engines_vs_openssl_reference": ours / comparison.median(BASELINE),
        "srptools_over_devicesrp": comparison.median("srptools 2.0 (1024-bit secrets)") / ours,
    }
    if pysrp_name is not None:
        summary["pysrp_backend"] = pysrp_name
        summary["pysrp_over_devicesrp"] = comparison.median(pysrp_name) / ours
    benchmark.extra_info.update(summary)
    save("handshake_full", summary)
    print("\n" + table(comparison, BASELINE))
    print({k: v for k, v in summary.items() if k.endswith("devicesrp") or k.endswith("reference")})


def test_client_half(benchmark: Any) -> None:
    _, openssl_client, _ = openssl_reference()
    server_b = ENGINE.begin(
        RECORD,
        CONTEXT,
        cognito.client_public(secrets.token_bytes(SECRET_BYTES)),
        b=live.new_secret(),
        now=NOW,
        challenge_id=secrets.token_bytes(16),
        nonce=secrets.token_bytes(12),
    )

    def ours() -> ClientResponse:
        client = ClientHandshake(CREDS)
        live.start(client)
        return client.respond(server_b, now=NOW)

    pycognito = pycognito_client_half(server_b.B)
    candidates = [
        checked(BASELINE + " client", openssl_client),
        checked("devicesrp client", ours),
        checked("pycognito client (offline)", pycognito),
    ]
    results: dict[str, Comparison] = {}
    benchmark.pedantic(lambda: results.update(c=compare(candidates, ROUNDS)), rounds=1)
    comparison = results["c"]
    summary = {
        "rounds": ROUNDS,
        "rows": comparison.as_dict(BASELINE + " client"),
        "pycognito_over_devicesrp": comparison.ratio(
            "pycognito client (offline)", "devicesrp client"
        ),
    }
    benchmark.extra_info.update(summary)
    save("handshake_client_half", summary)
    print("\n" + table(comparison, BASELINE + " client"))
    print(summary["pycognito_over_devicesrp"])


def test_server_half(benchmark: Any) -> None:
    """begin + finish of real answers: device proofs verified per second on one core."""
    _, _, (ossl_begin, ossl_finish, ossl_cases) = openssl_reference()
    total = ROUNDS + 4  # compare() warms up twice per candidate

    def make_case() -> tuple[int, bytes, bytes, bytes, ClientResponse]:
        b, cid, nonce = live.new_secret(), secrets.token_bytes(16), secrets.token_bytes(12)
        client = ClientHandshake(CREDS)
        a_pub = live.start(client)
        challenge: Challenge = ENGINE.begin(
            RECORD, CONTEXT, a_pub, b=b, now=NOW, challenge_id=cid, nonce=nonce
        )
        return a_pub, b, cid, nonce, client.respond(challenge, now=NOW)

    ours_cases = iter([make_case() for _ in range(total)])
    ossl_iter = ossl_cases()
    ossl_prepared = iter([next(ossl_iter) for _ in range(total)])

    def ours() -> bool:
        a_pub, b, cid, nonce, response = next(ours_cases)
        ENGINE.begin(RECORD, CONTEXT, a_pub, b=b, now=NOW, challenge_id=cid, nonce=nonce)
        return ENGINE.finish(RECORD, CONTEXT, response, now=NOW).challenge_id == cid

    def reference() -> bool:
        a_pub, b_int, sig = next(ossl_prepared)
        return ossl_finish(a_pub, b_int, ossl_begin(b_int), sig)

    candidates = [
        checked(BASELINE + " server", reference),
        checked("devicesrp server", ours),
    ]
    block = secrets.token_bytes(500)
    ts = format_timestamp(NOW)
    math_cases = []
    for _ in range(total * (1 + len(math_backends()))):
        a, b = live.new_secret(), live.new_secret()
        a_pub = cognito.client_public(a)
        b_pub = cognito.server_public(RECORD.verifier, b)
        u = cognito.compute_u(a_pub, b_pub)
        x = cognito.compute_x(SALT_HEX, GROUP_KEY, DEVICE_KEY, PASSWORD)
        key = cognito.derive_key(cognito.client_premaster(x, a, u, b_pub), u)
        sig = cognito.claim_signature(key, GROUP_KEY, DEVICE_KEY, block, ts)
        math_cases.append((a_pub, b, sig))
    shared = iter(math_cases)

    def server_math(backend: Backend) -> Callable[[], bool]:
        def run() -> bool:
            a_pub, b, sig = next(shared)
            b_pub = backend.srp_server_public(G, K, RECORD.verifier, b, N)
            u = cognito.compute_u(a_pub, b_pub)
            premaster = backend.srp_server_premaster(a_pub, RECORD.verifier, u, b, N)
            key = cognito.derive_key(premaster, u)
            return cognito.verify_claim_signature(key, GROUP_KEY, DEVICE_KEY, block, ts, sig)

        return run

    for label, backend in math_backends().items():
        candidates.append(checked(f"devicesrp server math [{label}]", server_math(backend)))
    results: dict[str, Comparison] = {}
    benchmark.pedantic(lambda: results.update(s=compare(candidates, ROUNDS)), rounds=1)
    comparison = results["s"]
    ours_s = comparison.median("devicesrp server")
    summary = {
        "rounds": ROUNDS,
        "rows": comparison.as_dict(BASELINE + " server"),
        "devicesrp_server_vs_openssl": ours_s / comparison.median(BASELINE + " server"),
        "device_proofs_per_core_second": 1.0 / ours_s,
        "device_proofs_per_core_second_by_math_backend": {
            name: 1.0 / comparison.median(name)
            for name in comparison.samples
            if name.startswith("devicesrp server math")
        },
        "backend": selected_label(),
    }
    benchmark.extra_info.update(summary)
    save("handshake_server_half", summary)
    print("\n" + table(comparison, BASELINE + " server"))
    print(f"device proofs verified per core-second [{selected_label()}]: {1.0 / ours_s:.0f}")


if __name__ == "__main__":  # pragma: no cover - quick manual run
    pytest.main([__file__, "-q", "-s", "--benchmark-only"])


def test_server_half_thread_scaling(benchmark: Any) -> None:
    """Server half on 1 and 2 threads (wall-clock throughput): the native core releases the GIL.

    One real answer is verified over and over (the engine is stateless; single use is the
    store's job), so only server work is counted.
    """
    client = ClientHandshake(CREDS)
    a_pub = live.start(client)
    b, cid, nonce = live.new_secret(), secrets.token_bytes(16), secrets.token_bytes(12)
    challenge = ENGINE.begin(RECORD, CONTEXT, a_pub, b=b, now=NOW, challenge_id=cid, nonce=nonce)
    response = client.respond(challenge, now=NOW)

    def server_half() -> None:
        ENGINE.begin(RECORD, CONTEXT, a_pub, b=b, now=NOW, challenge_id=cid, nonce=nonce)
        if ENGINE.finish(RECORD, CONTEXT, response, now=NOW).challenge_id != cid:
            raise AssertionError("the server half did not verify")

    results: dict[str, Any] = {}
    benchmark.pedantic(lambda: results.update(s=thread_scaling(server_half, seconds=3.0)), rounds=1)
    scaling = results["s"]
    summary = {
        "backend": selected_label(),
        "one_thread_proofs_per_s": scaling.one_thread_ops_per_s,
        "two_thread_proofs_per_s": scaling.two_thread_ops_per_s,
        "two_over_one": scaling.ratio,
    }
    benchmark.extra_info.update(summary)
    save("handshake_server_thread_scaling", summary)
    print(f"\nserver half, proofs/s: {summary}")

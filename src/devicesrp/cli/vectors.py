"""``devicesrp vectors check``: recompute the known answers in vectors/ through the engine.

One checker per file (provenance of each file: vectors/README.md); each returns how many values
it compared and raises ``Mismatch`` at the first difference. Files without a checker are listed
as SKIP, never as passed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ..errors import DeviceSrpError, InvalidParameterError

__all__ = ["CHECKERS", "Mismatch", "check_dir", "default_dir"]

MAX_FILE_BYTES = 8 * 1024 * 1024


class Mismatch(DeviceSrpError):
    """A recomputed value differs from the file's known answer."""


class _Tally:
    def __init__(self) -> None:
        self.count = 0

    def eq(self, what: str, got: object, want: object) -> None:
        if got != want:
            raise Mismatch(f"{what}: recomputed value differs from the known answer")
        self.count += 1


def _rfc5054_run(
    t: _Tally, where: str, profile: Any, v: dict[str, Any], ident: Any, pw: Any
) -> Any:
    salt, a, b = bytes.fromhex(v["s"]), bytes.fromhex(v["a"]), bytes.fromhex(v["b"])
    x = profile.compute_x(salt, ident, pw)
    verifier = profile.compute_verifier(x)
    A = profile.client_public(a)
    B = profile.server_public(verifier, b)
    u = profile.compute_u(A, B)
    S = profile.client_premaster(x, a, u, B)
    for name, got in (
        ("k", profile.k),
        ("x", int.from_bytes(x, "big")),
        ("v", int.from_bytes(verifier, "big")),
        ("A", A),
        ("B", B),
        ("u", u),
        ("S", int.from_bytes(S, "big")),
    ):
        if name in v:
            t.eq(f"{where} {name}", got, int(v[name], 16))
    t.eq(f"{where} S (server)", profile.server_premaster(A, verifier, u, b), S)
    return salt, A, B, S


def _appendix_b(t: _Tally, d: dict[str, Any]) -> None:
    from ..srp import groups
    from ..srp.rfc5054 import Rfc5054

    profile = Rfc5054(groups.get_group("rfc5054-1024"), d["hash"])
    t.eq("N", profile.group.N, int(d["N"], 16))
    _rfc5054_run(t, "appendix B", profile, d, d["I"].encode(), d["P"].encode())


def _srptools(t: _Tally, d: dict[str, Any]) -> None:
    from ..srp import groups, srptools_profile
    from ..srp.rfc5054 import Rfc5054

    for i, v in enumerate(d["vectors"]):
        profile = Rfc5054(groups.get_group(f"rfc5054-{v['size']}"), v["H"])
        where = f"vector {i} ({v['H']}, {v['size']} bits)"
        salt, A, B, S = _rfc5054_run(t, where, profile, v, v["I"].encode(), v["P"].encode())
        K = srptools_profile.session_key(profile, S)
        M1 = srptools_profile.client_proof(profile, v["I"], salt, A, B, K)
        t.eq(f"{where} K", K.hex(), v["K"])
        t.eq(f"{where} M1", M1.hex(), v["M1"])
        t.eq(f"{where} M2", srptools_profile.server_proof(profile, A, M1, K).hex(), v["M2"])


def _mozilla(t: _Tally, d: dict[str, Any]) -> None:
    from ..srp import groups
    from ..srp.rfc5054 import Rfc5054

    profile = Rfc5054(groups.get_group("rfc5054-2048"), d["hash"])
    for i, v in enumerate(d["vectors"]):
        ident, pw = bytes.fromhex(v["I_hex"]), bytes.fromhex(v["P_hex"])
        S = _rfc5054_run(t, f"vector {i}", profile, {**v, "S": v["S"]}, ident, pw)[3]
        t.eq(f"vector {i} S bytes (leading zeros kept)", S.hex(), v["S"])


def _kong(t: _Tally, d: dict[str, Any]) -> None:
    from ..srp import groups
    from ..srp.rfc5054 import Rfc5054

    profile = Rfc5054(groups.get_group("rfc5054-4096"), d["hash"])
    t.eq("k", profile.k, int(d["k_sha256_computed_here"], 16))
    x = profile.compute_x(bytes.fromhex(d["s"]), d["I"], d["P"])
    t.eq("x", x.hex(), d["x_computed_here"])
    t.eq("v", profile.compute_verifier(x).hex(), d["v"].zfill(1024))


def _groups(t: _Tally, d: dict[str, Any]) -> None:
    from ..srp import groups

    for g in d["groups"]:
        group = groups.get_group(f"rfc5054-{g['bits']}")
        t.eq(f"{g['bits']}-bit N", group.N, int(g["N"], 16))
        t.eq(f"{g['bits']}-bit g", group.g, int(g["g"]))


def _alexrudd(t: _Tally, d: dict[str, Any]) -> None:
    from ..srp import cognito

    i, e = d["inputs"], d["expected"]
    t.eq("k", cognito.COGNITO_K, int(d["params"]["k_hex"], 16))
    a = int(i["a_decimal"]).to_bytes(4, "big")
    A = cognito.client_public(a)
    t.eq("A", A, int(e["A_decimal"]))
    x = cognito.compute_x(
        i["SALT_hex_as_sent"], i["pool_name"], i["USER_ID_FOR_SRP"], i["password"]
    )
    key = cognito.client_session_key(x, a, A, cognito.parse_server_public(i["SRP_B_hex_as_sent"]))
    t.eq("HKDF key", key.hex(), e["hkdf_key_hex"])
    block = base64.b64decode(i["SECRET_BLOCK_base64"])
    sig = cognito.claim_signature(key, i["pool_name"], i["USER_ID_FOR_SRP"], block, i["TIMESTAMP"])
    t.eq("signature", sig, e["PASSWORD_CLAIM_SIGNATURE"])
    got = cognito.secret_hash(i["client_secret"], i["username"], i["client_id"])
    t.eq("SECRET_HASH", got, e["SECRET_HASH(username='test')"])


def _ryanmab(t: _Tally, d: dict[str, Any]) -> None:
    from ..srp import cognito

    a = bytes.fromhex(d["common_inputs"]["a_hex"])
    block = base64.b64decode(d["common_inputs"]["SECRET_BLOCK_base64"])
    A = cognito.client_public(a)
    t.eq("A", A, int(d["expected_A_hex"], 16))
    cases = [("user", c, "pool_name", "USER_ID_FOR_SRP", "password") for c in d["user_srp"]]
    cases += [
        ("device", c, "DeviceGroupKey", "DeviceKey", "device_password") for c in d["device_srp"]
    ]
    for kind, case, pool, ident, secret in cases:
        i = case["inputs"]
        x = cognito.compute_x(i["SALT_hex"], i[pool], i[ident], i[secret])
        key = cognito.client_session_key(x, a, A, cognito.parse_server_public(i["SRP_B_hex"]))
        ts = d["common_inputs"]["TIMESTAMP"]
        sig = cognito.claim_signature(key, i[pool], i[ident], block, ts)
        t.eq(f"{kind} signature", sig, case["expected"]["PASSWORD_CLAIM_SIGNATURE"])
    i, e = d["device_verifier"]["inputs"], d["device_verifier"]["expected"]
    salt = bytes.fromhex(i["salt_bytes_hex"])
    dv = cognito.device_verifier(i["DeviceGroupKey"], i["DeviceKey"], i["random_password"], salt)
    t.eq("device Salt", base64.b64encode(dv.salt).decode(), e["Salt_base64"])
    verifier = base64.b64encode(dv.password_verifier).decode()
    t.eq("device PasswordVerifier", verifier, e["PasswordVerifier_base64"])


def _simon(t: _Tally, d: dict[str, Any]) -> None:
    from ..srp import cognito

    user = d["user_srp"]
    i, e = user["inputs"], user["expected"]
    a = bytes.fromhex(i["smallA_hex"])
    A = cognito.client_public(a)
    t.eq("A", A, int(e["largeA_hex"], 16))
    B = cognito.parse_server_public(i["SRP_B_hex"])
    x = cognito.compute_x(i["SALT_hex"], i["poolIdAbbr"], i["USER_ID_FOR_SRP"], i["password"])
    key = cognito.client_session_key(x, a, A, B)
    block = base64.b64decode(i["SECRET_BLOCK_base64"])
    sig = cognito.claim_signature(key, i["poolIdAbbr"], i["USER_ID_FOR_SRP"], block, i["TIMESTAMP"])
    t.eq("user signature", sig, e["PASSWORD_CLAIM_SIGNATURE"])
    got = cognito.secret_hash(i["client_secret"], i["USER_ID_FOR_SRP"], i["clientId"])
    t.eq("SECRET_HASH", got, e["SECRET_HASH(USER_ID_FOR_SRP=sub)"])
    dev = d["device_verifier (ConfirmDevice)"]
    di, de = dev["inputs"], dev["expected"]
    password = base64.b64encode(bytes.fromhex(di["effective_random_password_bytes_hex"])).decode()
    salt = bytes.fromhex(di["effective_salt_bytes_hex_before_padHex"])
    dv = cognito.device_verifier(di["DeviceGroupKey"], di["DeviceKey"], password, salt)
    t.eq("device Salt", base64.b64encode(dv.salt).decode(), de["Salt_base64"])
    verifier = base64.b64encode(dv.password_verifier).decode()
    t.eq("device PasswordVerifier", verifier, de["PasswordVerifier_base64"])
    ds = d["device_srp (DEVICE_PASSWORD_VERIFIER)"]
    si = ds["inputs"]
    a = bytes.fromhex(si["smallA_hex"])
    group, device = si["DeviceGroupKey"], si["DeviceKey"]
    x = cognito.compute_x(si["salt_int_effective_hex"], group, device, si["DeviceRandomPassword"])
    key = cognito.client_session_key(x, a, cognito.client_public(a), B)
    sig = cognito.claim_signature(key, group, device, block, si["TIMESTAMP"])
    t.eq("device signature", sig, ds["expected"]["PASSWORD_CLAIM_SIGNATURE"])


def _amplify(t: _Tally, d: dict[str, Any]) -> None:
    from ..srp.encoding import pad_hex
    from ..srp.timestamp import format_timestamp

    for key, want in d["padHex"].items():
        if int(key) >= 0:
            t.eq(f"padHex({key})", pad_hex(int(key)).lower(), want.lower())
    for case in d["timestamp"]:
        t.eq(
            f"TIMESTAMP {case['epoch_ms']}",
            format_timestamp(case["epoch_ms"] // 1000),
            case["expected"],
        )


def _edge(t: _Tally, d: dict[str, Any]) -> None:
    from ..srp import cognito
    from ..srp.encoding import to_hex
    from ..srp.timestamp import format_timestamp

    for case in d["cases"]:
        i, e, name = case["inputs"], case["expected"], case["name"]
        a, b = bytes.fromhex(i["a_hex"]), bytes.fromhex(i["b_hex"])
        x = cognito.compute_x(i["salt_hex"], i["pool"], i["identity"], i["secret"])
        v = cognito.compute_verifier(x)
        A, B = cognito.client_public(a), cognito.server_public(v, b)
        u = cognito.compute_u(A, B)
        S = cognito.client_premaster(x, a, u, B)
        K = cognito.derive_key(S, u)
        ts = format_timestamp(i["epoch_ms"] // 1000)
        block = base64.b64decode(i["secret_block_b64"])
        sig = cognito.claim_signature(K, i["pool"], i["identity"], block, ts)
        for step, got in (
            ("x", x.hex()),
            ("v", v.hex()),
            ("A", to_hex(A)),
            ("B", to_hex(B)),
            ("u", to_hex(u)),
            ("S", S.hex()),
            ("K", K.hex()),
            ("PASSWORD_CLAIM_SIGNATURE", sig),
        ):
            t.eq(f"{name} {step}", got, e[step])
        t.eq(f"{name} S (server)", cognito.server_premaster(A, v, u, b), S)
    for case in d["device_verifier_cases"]:
        i, e = case["inputs"], case["expected"]
        raw = bytes.fromhex(i["random_hex"])
        password = base64.b64encode(raw[:40]).decode()
        dv = cognito.device_verifier(i["group_key"], i["device_key"], password, raw[40:])
        t.eq(f"{case['name']} Salt", dv.salt.hex(), e["Salt_hex"])
        t.eq(
            f"{case['name']} PasswordVerifier",
            dv.password_verifier.hex(),
            e["PasswordVerifier_hex"],
        )


def _totp(t: _Tally, d: dict[str, Any]) -> None:
    from ..server import totp

    seed = d["seed_ascii"].encode("ascii")
    for case in d["cases"]:
        t.eq(f"TOTP at {case['time']}", totp.totp(seed, int(case["time"])), case["totp8"][-6:])


CHECKERS: dict[str, Callable[[_Tally, dict[str, Any]], None]] = {
    "rfc5054_groups.json": _groups,
    "rfc5054_appendix_b.json": _appendix_b,
    "srptools_kat.json": _srptools,
    "mozilla_picl_fast_srp_kat.json": _mozilla,
    "kong_go_srp_kat.json": _kong,
    "cognito_kat_alexrudd_cognito-srp.json": _alexrudd,
    "cognito_kat_ryanmab_aws-cognito-srp.json": _ryanmab,
    "cognito_kat_simonmcallister0210_cognito-srp-helper.json": _simon,
    "cognito_kat_amplify-js_padhex_timestamp.json": _amplify,
    "cognito_edge_vectors.json": _edge,
    "rfc6238_totp.json": _totp,
}


def default_dir() -> Path:
    """./vectors when it exists, else the source tree's (an editable install)."""
    here = Path("vectors")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "vectors"


def check_file(path: Path) -> tuple[str, int, str]:
    """(status, values compared, note): status is PASS, FAIL or SKIP."""
    checker = CHECKERS.get(path.name)
    if checker is None:
        return "SKIP", 0, "no checker for this file"
    tally = _Tally()
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise Mismatch(f"larger than {MAX_FILE_BYTES} bytes")
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise Mismatch("not a JSON object")
        checker(tally, data)
    except Mismatch as exc:
        return "FAIL", tally.count, str(exc)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        return "FAIL", tally.count, f"unreadable: {type(exc).__name__} {str(exc)[:100]}"
    return "PASS", tally.count, ""


def check_dir(directory: Path, out: TextIO) -> int:
    """Print one line per *.json file; 0 when every checked file passes, else 1."""
    if not directory.is_dir():
        raise InvalidParameterError("dir", f"{directory} is not a directory")
    files = sorted(directory.glob("*.json"))
    if not files:
        raise InvalidParameterError("dir", f"no *.json files in {directory}")
    failed = 0
    for path in files:
        status, count, note = check_file(path)
        failed += status == "FAIL"
        detail = f"{count} values" + (f" - {note}" if note else "")
        print(f"{status}  {path.name:<58} {detail}", file=out, flush=True)
    passed = sum(1 for p in files if p.name in CHECKERS)
    print(f"{passed - failed} of {len(files)} files pass, {failed} fail", file=out)
    return 1 if failed else 0

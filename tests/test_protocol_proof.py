"""The server proof: its key is RFC 5869 HKDF (checked against pyca/cryptography's HKDF, an
independent implementation) and independent of Cognito's K; every transcript field matters."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from devicesrp.protocol import server_proof, verify_server_proof
from devicesrp.protocol.proof import SERVER_PROOF_INFO, _proof_key
from devicesrp.srp import cognito
from devicesrp.srp.encoding import pad_bytes
from test_protocol_support import det

FIELDS: dict[str, object] = {
    "realm": "-Group",
    "identity": "us-east-1_device",
    "a_pub": int.from_bytes(det("A", 384), "big"),
    "u": int.from_bytes(det("u", 32), "big"),
    "secret_block": det("block", 510),
    "timestamp": "Wed Nov 26 15:13:21 UTC 2025",
    "signature": "c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmUtc2ln",
}
PREMASTER = int.from_bytes(det("S", 384), "big")


@pytest.mark.parametrize("counter", range(8))
def test_proof_key_is_rfc5869_hkdf(counter: int) -> None:
    # Leading zero bytes and top bits set in S and u exercise PAD's sign byte.
    s = int.from_bytes(b"\x00" * (counter % 3) + det("S", 384 - counter % 3, counter), "big")
    u = int.from_bytes(det("u", 32, counter), "big") >> (counter % 9)
    expected = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=pad_bytes(u), info=SERVER_PROOF_INFO
    ).derive(pad_bytes(s))
    assert _proof_key(s, u) == expected


def test_proof_key_is_not_cognitos_key() -> None:
    u = int(FIELDS["u"])  # type: ignore[call-overload]
    k = cognito.derive_key(PREMASTER.to_bytes(384, "big"), u)
    assert k not in _proof_key(PREMASTER, u)


def test_every_field_changes_the_proof() -> None:
    good = server_proof(PREMASTER, **FIELDS)  # type: ignore[arg-type]
    assert verify_server_proof(good, PREMASTER, **FIELDS)  # type: ignore[arg-type]
    changed: dict[str, object] = {
        "realm": "-Grouq",
        "identity": "us-east-1_devicf",
        "a_pub": int(FIELDS["a_pub"]) ^ 1,  # type: ignore[call-overload]
        "u": int(FIELDS["u"]) ^ (1 << 255),  # type: ignore[call-overload]
        "secret_block": bytes(FIELDS["secret_block"])[:-1],  # type: ignore[call-overload]
        "timestamp": "Wed Nov 26 15:13:22 UTC 2025",
        "signature": str(FIELDS["signature"])[::-1],
    }
    for name, value in changed.items():
        other = server_proof(PREMASTER, **{**FIELDS, name: value})  # type: ignore[arg-type]
        assert other != good, name
        assert not verify_server_proof(good, PREMASTER, **{**FIELDS, name: value})  # type: ignore[arg-type]
    assert server_proof(PREMASTER + 1, **FIELDS) != good  # type: ignore[arg-type]


def test_fields_do_not_run_together() -> None:
    """Length prefixes: moving a character from one field to the next changes the proof."""
    one = server_proof(PREMASTER, **{**FIELDS, "realm": "ab", "identity": "c"})  # type: ignore[arg-type]
    two = server_proof(PREMASTER, **{**FIELDS, "realm": "a", "identity": "bc"})  # type: ignore[arg-type]
    assert one != two

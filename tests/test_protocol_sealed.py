"""SECRET_BLOCK sealing and the key ring: every bit flip, truncation, extension, base64 variants
(security-matrix row 15), context binding, rotation and retirement (row 16)."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from devicesrp import modexp
from devicesrp.errors import AuthenticationError, InvalidParameterError, InvalidTypeError
from devicesrp.protocol import (
    MAX_SECRET_BLOCK_CHARS,
    ChallengeState,
    ClientResponse,
    KeyRing,
    SealingKey,
    open_challenge,
    seal_challenge,
)
from devicesrp.protocol.sealed import mask_b
from devicesrp.srp import cognito
from devicesrp.srp.groups import COGNITO_GROUP
from devicesrp.srp.timestamp import format_timestamp
from test_protocol_support import NOW, det, device_context, device_record, device_run, ring

N = COGNITO_GROUP.N


def state(counter: int = 0, *, b_len: int = 32) -> ChallengeState:
    return ChallengeState(
        challenge_id=det("id", 16, counter),
        issued_at=NOW,
        u=int.from_bytes(det("u", 32, counter), "big"),
        masked_b=det("b", b_len, counter),
        A=int.from_bytes(det("A", 384, counter), "big") % N,
    )


def test_round_trip() -> None:
    keys = ring(1)
    block = seal_challenge(state(), device_context(), keys, det("nonce", 12))
    assert open_challenge(block, device_context(), keys) == state()
    assert len(block) <= 700 < MAX_SECRET_BLOCK_CHARS


def test_nonce_changes_the_block() -> None:
    keys = ring(1)
    one = seal_challenge(state(), device_context(), keys, det("nonce", 12, 1))
    two = seal_challenge(state(), device_context(), keys, det("nonce", 12, 2))
    assert one != two
    assert open_challenge(one, device_context(), keys) == open_challenge(
        two, device_context(), keys
    )


def test_state_repr_hides_b() -> None:
    s = state()
    assert s.masked_b.hex() not in repr(s) and repr(s.masked_b)[2:30] not in repr(s)


def test_every_single_bit_flip_is_rejected() -> None:
    keys = ring(1)
    sealed = base64.b64decode(seal_challenge(state(), device_context(), keys, det("nonce", 12)))
    rejected = 0
    for bit in range(8 * len(sealed)):
        flipped = bytearray(sealed)
        flipped[bit // 8] ^= 1 << (bit % 8)
        text = base64.b64encode(bytes(flipped)).decode()
        with pytest.raises(AuthenticationError):
            open_challenge(text, device_context(), keys)
        rejected += 1
    assert rejected == 8 * len(sealed)


def test_truncation_and_extension_are_rejected() -> None:
    keys = ring(1)
    sealed = base64.b64decode(seal_challenge(state(), device_context(), keys, det("nonce", 12)))
    variants = [sealed[:n] for n in range(len(sealed))]
    variants += [sealed + b"\x00", sealed + det("x", 17), b"\x00" + sealed, sealed * 2]
    for variant in variants:
        with pytest.raises(AuthenticationError):
            open_challenge(base64.b64encode(variant).decode(), device_context(), keys)


def test_base64_variants_are_rejected() -> None:
    keys = ring(1)
    text = seal_challenge(state(), device_context(), keys, det("nonce", 12))
    assert open_challenge(text, device_context(), keys)
    stripped = text.rstrip("=")
    variants = [
        text + "\n",
        " " + text,
        text[:40] + "\n" + text[40:],
        base64.urlsafe_b64encode(base64.b64decode(text)).decode(),
        stripped if stripped != text else text + "=",
        text + "==",
        text.encode().hex(),
        "",
        "A" * (MAX_SECRET_BLOCK_CHARS + 4),
        text.replace("A", "\u0410", 1),  # Cyrillic A
    ]
    # Non-zero spare bits in the last character spell the same bytes: still refused.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    if text.endswith("="):
        last = text.rstrip("=")[-1]
        spare = alphabet[alphabet.index(last) | 1]
        variants.append(text.rstrip("=")[:-1] + spare + "=" * (len(text) - len(text.rstrip("="))))
    for variant in variants:
        if variant == text:
            continue
        with pytest.raises(AuthenticationError):
            open_challenge(variant, device_context(), keys)
    for wrong_type in (None, 5, text.encode()):
        with pytest.raises(AuthenticationError):
            open_challenge(wrong_type, device_context(), keys)


@pytest.mark.parametrize(
    "change",
    [
        {"pool_id": "us-east-1_TestPool2"},
        {"client_id": "x"},
        {"user": "someone"},
        {"device": None},
        {"device": "us-east-1_other"},
    ],
)
def test_context_binding(change: dict[str, object]) -> None:
    keys = ring(1)
    text = seal_challenge(state(), device_context(), keys, det("nonce", 12))
    with pytest.raises(AuthenticationError):
        open_challenge(text, device_context(**change), keys)


def test_context_encoding_is_unambiguous() -> None:
    # Moving characters between adjacent fields must change the binding.
    a = device_context(pool_id="us-east-1_ab", client_id="c")
    b = device_context(pool_id="us-east-1_a", client_id="bc")
    assert a.encode() != b.encode()
    assert device_context(device=None).encode() != device_context(device="x").encode()


def test_rotation_and_retirement() -> None:
    k1 = ring(1)
    old = seal_challenge(state(1), device_context(), k1, det("nonce", 12, 1))
    k21 = k1.rotated(ring(2).current)
    assert [k.key_id for k in k21] == [2, 1]
    assert open_challenge(old, device_context(), k21) == state(1)  # in flight survives
    new = seal_challenge(state(2), device_context(), k21, det("nonce", 12, 2))
    with pytest.raises(AuthenticationError):
        open_challenge(new, device_context(), k1)  # sealed with K2
    k2 = k21.retired(1)
    assert open_challenge(new, device_context(), k2) == state(2)
    with pytest.raises(AuthenticationError):
        open_challenge(old, device_context(), k2)


def test_a_key_with_the_same_id_but_other_bytes_does_not_open() -> None:
    text = seal_challenge(state(), device_context(), ring(1), det("nonce", 12))
    impostor = KeyRing([SealingKey(1, det("other-key", 32))])
    with pytest.raises(AuthenticationError):
        open_challenge(text, device_context(), impostor)


def test_key_ring_validation() -> None:
    with pytest.raises(InvalidParameterError):
        KeyRing([])
    with pytest.raises(InvalidParameterError):
        KeyRing([SealingKey(1, det("k", 32)), SealingKey(1, det("j", 32))])
    with pytest.raises(InvalidTypeError):
        KeyRing([b"\x00" * 32])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError):
        KeyRing(SealingKey(1, det("k", 32)))  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        SealingKey(1, det("k", 16))
    with pytest.raises(InvalidParameterError):
        SealingKey(-1, det("k", 32))
    with pytest.raises(InvalidParameterError):
        SealingKey(2**32, det("k", 32))
    with pytest.raises(InvalidTypeError):
        SealingKey(True, det("k", 32))
    with pytest.raises(InvalidParameterError):
        ring(1, 2).retired(1)  # the current key
    with pytest.raises(InvalidParameterError):
        ring(1, 2).retired(3)
    assert det("key", 32, 1).hex() not in repr(ring(1))
    assert "secret" not in repr(ring(1).current)


def test_seal_argument_errors() -> None:
    with pytest.raises(InvalidParameterError):
        seal_challenge(state(), device_context(), ring(1), det("nonce", 11))
    with pytest.raises(InvalidTypeError):
        seal_challenge(state(), device_context(), ring(1), "nonce-nonce!")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        state(b_len=0)
    with pytest.raises(InvalidParameterError):
        ChallengeState(challenge_id=b"short", issued_at=NOW, u=1, masked_b=det("b", 32), A=5)


def test_engine_block_flips_fail_finish_too() -> None:
    """The same property end to end: a flipped SECRET_BLOCK in a real response never verifies."""
    run = device_run()
    sealed = bytearray(base64.b64decode(run.response.secret_block))
    for position in range(0, len(sealed), 37):  # a spread of positions; the full sweep is above
        flipped = bytearray(sealed)
        flipped[position] ^= 0x80
        text = base64.b64encode(bytes(flipped)).decode()
        with pytest.raises(AuthenticationError):
            run.finish(response=dataclasses.replace(run.response, secret_block=text))


def test_a_leaked_sealing_key_does_not_reveal_b_or_v() -> None:
    """Opening a real block with the key gives masked b: g^masked + k*v is not the public B."""
    run = device_run()
    opened = open_challenge(run.challenge.secret_block, device_context(), run.engine.ring)
    b = det("b", 32, 0)  # what device_run passed to begin
    assert opened.masked_b != b
    assert mask_b(run.record.verifier, opened.challenge_id, opened.masked_b) == b
    v = int.from_bytes(run.record.verifier, "big")
    g_masked = modexp.powmod_public(2, int.from_bytes(opened.masked_b, "big"), N)
    assert (cognito.COGNITO_K * v + g_masked) % N != run.challenge.B


def test_a_forged_block_with_a_leaked_key_does_not_log_in() -> None:
    """The forger picks b' and A = g^a' and seals them; the server unmasks b' with v into
    another b, so the forger's S (computed as if b = b') is wrong."""
    run = device_run()
    a, b_forged = det("evil-a", 32), det("evil-b", 32)
    a_pub = cognito.client_public(a)
    g_b = cognito.client_public(b_forged)  # the forger's "B" would be g^b' (it has no v)
    u = cognito.compute_u(a_pub, g_b)
    state = ChallengeState(
        challenge_id=det("id", 16, 9), issued_at=NOW, u=u, masked_b=b_forged, A=a_pub
    )
    block = seal_challenge(state, device_context(), run.engine.ring, det("nonce", 12, 9))
    # S = (A * v^u)^b' is out of reach without v; the forger's best guess is A^b' = g^(a b').
    s_guess = modexp.powmod_public(g_b, int.from_bytes(a, "big"), N).to_bytes(384, "big")
    key = cognito.derive_key(s_guess, u)
    ts = format_timestamp(NOW)
    sig = cognito.claim_signature(
        key, run.record.realm, run.record.identity, base64.b64decode(block), ts
    )
    with pytest.raises(AuthenticationError):
        run.finish(response=ClientResponse(block, ts, sig), now=NOW)


def test_a_verifier_changed_between_begin_and_finish_fails() -> None:
    run = device_run()
    renewed = device_record(salt=det("other-salt", 16))  # the same device confirmed again
    assert renewed.verifier != run.record.verifier
    with pytest.raises(AuthenticationError):
        run.finish(record=renewed)


def test_mask_is_an_involution_bound_to_verifier_and_id() -> None:
    v1, v2 = det("v1", 384), det("v2", 384)
    for length in (1, 31, 32, 33, 64, 255):
        b = det("b", length)
        masked = mask_b(v1, det("id", 16), b)
        assert len(masked) == length
        assert mask_b(v1, det("id", 16), masked) == b
        if length >= 16:
            assert masked != b
            assert mask_b(v2, det("id", 16), b) != masked
            assert mask_b(v1, det("id", 16, 1), b) != masked

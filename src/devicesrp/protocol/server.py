"""The server side of a Cognito SRP step, sans IO, as two calls with the state sealed in between.

    begin(record, context, A, b, now, challenge_id, nonce) -> Challenge (salt, B, SECRET_BLOCK)
    finish(record, context, response, now)                -> FinishResult, or AuthenticationError

``begin`` checks 1 < A < N - 1 before any work with b (RFC 5054 §2.5.4; security-matrix rows 1-2),
computes B = k*v + g^b and u = H(PAD(A) | PAD(B)), and seals (challenge id, now, u, b masked
under v, A) bound to ``context`` (``devicesrp.protocol.sealed``). ``finish`` opens the block for
the same context,
checks its age and the TIMESTAMP skew, recomputes S = (A * v^u)^b from the record's verifier and
K = HKDF(PAD(S), PAD(u), "Caldera Derived Key"), and compares the claim signature over the
canonical TIMESTAMP in constant time. It returns the challenge id, which the caller's store must
consume exactly once (replays are a store-level check), and the server proof
(``devicesrp.protocol.proof``). The same engine serves the user step (PASSWORD_VERIFIER)
and the device step (DEVICE_PASSWORD_VERIFIER); the context's ``flow`` tells them apart.

Failures: an unparsable TIMESTAMP is an ``InvalidTimestampError`` (Cognito answers
InvalidParameterException); everything else a peer can cause — an unsafe A, u = 0, a forged,
tampered, expired, foreign or retired-key block, a skewed TIMESTAMP, a wrong signature — is the
single ``AuthenticationError``. Misuse by the caller (wrong types, a short b, a device record that
does not match the context) is an ``InvalidParameterError`` / ``InvalidTypeError``.

Defaults (project decisions; Cognito publishes neither):

- challenge lifetime 180 s, valid iff ``now - issued_at <= lifetime``: Cognito's own session
  default is 3 minutes, ample for a client that answers in milliseconds. A block stamped more than
  the skew window in the future (a server with a clock far ahead) is refused.
- TIMESTAMP skew window W = 300 s, accept iff ``|now - timestamp| <= W``: the customary 5-minute
  tolerance of Kerberos (RFC 4120) and AWS SigV4, wide enough for unsynchronised phones,
  while the block's lifetime, not W, bounds how long a proof can be used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import (
    AuthenticationError,
    InvalidParameterError,
    InvalidTypeError,
    UnsafePublicValueError,
)
from ..srp import cognito
from ..srp.timestamp import format_timestamp, parse_timestamp
from .context import ChallengeContext, Flow
from .keyring import KeyRing
from .proof import server_proof
from .sealed import ChallengeState, decode_secret_block, mask_b, open_challenge, seal_challenge
from .values import Challenge, ClientResponse, FinishResult, VerifierRecord

__all__ = [
    "DEFAULT_CHALLENGE_LIFETIME",
    "DEFAULT_TIMESTAMP_SKEW",
    "MIN_SERVER_SECRET_BYTES",
    "ServerEngine",
]

DEFAULT_CHALLENGE_LIFETIME = 180
DEFAULT_TIMESTAMP_SKEW = 300
#: b of at least 256 bits (RFC 5054 §3.1); 32 bytes is the project's default.
MIN_SERVER_SECRET_BYTES = 32
_MAX_WINDOW = 86_400
#: The only spelling of a claim signature: base64 of a 32-byte HMAC-SHA256 tag.
_SIGNATURE_FORM = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")


def _int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(name, "int", value)
    return value


def _check_binding(record: VerifierRecord, context: ChallengeContext) -> None:
    """Caller misuse guard: the device step's record must be the device the context names."""
    if not isinstance(record, VerifierRecord):
        raise InvalidTypeError("record", "VerifierRecord", record)
    if not isinstance(context, ChallengeContext):
        raise InvalidTypeError("context", "ChallengeContext", context)
    if context.flow is Flow.DEVICE_PASSWORD and context.device != record.identity:
        raise InvalidParameterError("context", "the device step must name the record's device")


@dataclass(frozen=True)
class ServerEngine:
    """Stateless server engine: a key ring and the two time windows (seconds)."""

    ring: KeyRing
    challenge_lifetime: int = DEFAULT_CHALLENGE_LIFETIME
    timestamp_skew: int = DEFAULT_TIMESTAMP_SKEW

    def __post_init__(self) -> None:
        if not isinstance(self.ring, KeyRing):
            raise InvalidTypeError("ring", "KeyRing", self.ring)
        for name in ("challenge_lifetime", "timestamp_skew"):
            value = _int(name, getattr(self, name))
            if not 0 <= value <= _MAX_WINDOW:
                raise InvalidParameterError(name, f"must be 0..{_MAX_WINDOW} seconds")

    def begin(
        self,
        record: VerifierRecord,
        context: ChallengeContext,
        A: int,
        *,
        b: bytes,
        now: int,
        challenge_id: bytes,
        nonce: bytes,
    ) -> Challenge:
        """Challenge for the client's A: B = k*v + g^b, SECRET_BLOCK = seal(id, now, u, b, A).

        An unsafe A (not 1 < A < N - 1) or u = 0 is the uniform AuthenticationError, raised
        before b is used. ``b``, ``challenge_id`` (16 bytes) and ``nonce`` (12 bytes) must be
        fresh random values; ``devicesrp.live.begin`` draws them.
        """
        _check_binding(record, context)
        _int("A", A)
        now = _int("now", now)
        if not isinstance(b, bytes):
            raise InvalidTypeError("b", "bytes", b)
        if len(b) < MIN_SERVER_SECRET_BYTES or not any(b):
            raise InvalidParameterError("b", f"must be >= {MIN_SERVER_SECRET_BYTES} nonzero bytes")
        try:
            cognito.check_client_public(A)
        except UnsafePublicValueError:
            raise AuthenticationError() from None
        b_pub = cognito.server_public(record.verifier, b)
        try:
            u = cognito.compute_u(A, b_pub)
        except UnsafePublicValueError:
            raise AuthenticationError() from None
        if not isinstance(challenge_id, bytes):
            raise InvalidTypeError("challenge_id", "bytes", challenge_id)
        masked = mask_b(record.verifier, challenge_id, b)
        state = ChallengeState(challenge_id=challenge_id, issued_at=now, u=u, masked_b=masked, A=A)
        block = seal_challenge(state, context, self.ring, nonce)
        return Challenge(identity=record.identity, salt=record.salt, B=b_pub, secret_block=block)

    def finish(
        self,
        record: VerifierRecord,
        context: ChallengeContext,
        response: ClientResponse,
        *,
        now: int,
    ) -> FinishResult:
        """Verify the client's claim; success returns the challenge id to consume once.

        An unparsable TIMESTAMP raises ``InvalidTimestampError``; every other failure is the
        one ``AuthenticationError``.
        """
        _check_binding(record, context)
        if not isinstance(response, ClientResponse):
            raise InvalidTypeError("response", "ClientResponse", response)
        now = _int("now", now)
        # Parse first: an unparsable TIMESTAMP is a parameter error, as in Cognito.
        stamped = parse_timestamp(response.timestamp)
        signature = response.signature
        if len(signature) != 44 or _SIGNATURE_FORM.fullmatch(signature) is None:
            raise AuthenticationError()  # cannot be base64 of an HMAC-SHA256: no work spent
        state = open_challenge(response.secret_block, context, self.ring)
        age = now - state.issued_at
        if age > self.challenge_lifetime or -age > self.timestamp_skew:
            raise AuthenticationError()
        if abs(now - stamped) > self.timestamp_skew:
            raise AuthenticationError()
        b = mask_b(record.verifier, state.challenge_id, state.masked_b)
        try:
            premaster = cognito.server_premaster(state.A, record.verifier, state.u, b)
        except UnsafePublicValueError:  # only our own seal makes A and u; kept uniform anyway
            raise AuthenticationError() from None
        key = cognito.derive_key(premaster, state.u)
        sealed = decode_secret_block(response.secret_block)
        canonical = format_timestamp(stamped)
        if not cognito.verify_claim_signature(
            key, record.realm, record.identity, sealed, canonical, signature
        ):
            raise AuthenticationError()
        proof = server_proof(
            int.from_bytes(premaster, "big"),
            realm=record.realm,
            identity=record.identity,
            a_pub=state.A,
            u=state.u,
            secret_block=sealed,
            timestamp=canonical,
            signature=signature,
        )
        return FinishResult(
            challenge_id=state.challenge_id, issued_at=state.issued_at, server_proof=proof
        )

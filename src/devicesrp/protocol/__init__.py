"""Sans-IO handshake engines for Cognito's user and device SRP steps, and the sealed challenge.

No I/O, no clock, no randomness: ``a``, ``b``, challenge ids, sealing nonces and ``now`` (epoch
seconds) are arguments; ``devicesrp.live`` fills them from ``secrets`` and the system clock.
Wire spellings (SRP_A, SECRET_BLOCK ...) belong to the HTTP codec; here values are typed.

- ``ClientHandshake`` (``client``): IDLE -> start(a) -> respond(challenge, now) ->
  finish(server_proof) -> DONE, one transition table, any error terminal (ERROR).
- ``ServerEngine`` (``server``): ``begin(record, context, A, ...)`` -> ``Challenge``;
  ``finish(record, context, response, now)`` -> ``FinishResult`` (challenge id for single use,
  server proof) or the one ``AuthenticationError``. Defaults: challenge lifetime 180 s, TIMESTAMP
  skew window 300 s (reasons in ``server``'s docstring).
- ``ChallengeContext`` / ``Flow`` (``context``): what a sealed challenge is bound to.
- ``KeyRing`` / ``SealingKey`` (``keyring``), ``seal_challenge`` / ``open_challenge``
  (``sealed``): the SECRET_BLOCK, AES-256-GCM under rotating keys.
- ``server_proof`` / ``verify_server_proof`` (``proof``): devicesrp's proof that the
  server, too, knows the verifier.
- Values (``values``): ``VerifierRecord``, ``Challenge``, ``ClientResponse``, ``FinishResult``,
  ``UserCredentials``, ``DeviceCredentials``.

Errors: ``LocalProtocolError`` (calls out of order), ``RemoteProtocolError`` (the server sent a
forbidden value), ``AuthenticationError`` (any failed proof, uniform), ``InvalidParameterError``
/ ``InvalidTypeError`` (bad arguments), ``InvalidTimestampError`` (unparsable TIMESTAMP).
"""

from __future__ import annotations

from .client import TRANSITIONS, ClientEvent, ClientHandshake, ClientState
from .context import ChallengeContext, Flow
from .keyring import KeyRing, SealingKey
from .proof import SERVER_PROOF_BYTES, server_proof, verify_server_proof
from .sealed import (
    CHALLENGE_ID_BYTES,
    MAX_SECRET_BLOCK_CHARS,
    NONCE_BYTES,
    ChallengeState,
    open_challenge,
    seal_challenge,
)
from .server import DEFAULT_CHALLENGE_LIFETIME, DEFAULT_TIMESTAMP_SKEW, ServerEngine
from .values import (
    Challenge,
    ClientResponse,
    DeviceCredentials,
    FinishResult,
    UserCredentials,
    VerifierRecord,
)

__all__ = [
    "CHALLENGE_ID_BYTES",
    "DEFAULT_CHALLENGE_LIFETIME",
    "DEFAULT_TIMESTAMP_SKEW",
    "MAX_SECRET_BLOCK_CHARS",
    "NONCE_BYTES",
    "SERVER_PROOF_BYTES",
    "TRANSITIONS",
    "Challenge",
    "ChallengeContext",
    "ChallengeState",
    "ClientEvent",
    "ClientHandshake",
    "ClientResponse",
    "ClientState",
    "DeviceCredentials",
    "FinishResult",
    "Flow",
    "KeyRing",
    "SealingKey",
    "ServerEngine",
    "UserCredentials",
    "VerifierRecord",
    "open_challenge",
    "seal_challenge",
    "server_proof",
    "verify_server_proof",
]

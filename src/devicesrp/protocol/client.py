"""The client side of a Cognito SRP step (user or device), sans IO, as an explicit state machine.

    IDLE --start(a)--> AWAITING_CHALLENGE --respond(challenge, now)--> AWAITING_RESULT
         --finish(server_proof)--> DONE;        any error, anywhere --> ERROR (terminal)

``start`` gives A = g^a. ``respond`` requires 1 < B < N - 1 and u != 0 before any secret work
(RFC 5054 §2.5.4; security-matrix rows 3-4), then computes
x = H(PAD(salt) | H(P | I | ":" | secret)), S = (B - k*g^x)^(a + u*x), K = HKDF(PAD(S), PAD(u),
"Caldera Derived Key") and the claim signature over the SECRET_BLOCK bytes and the canonical
TIMESTAMP of ``now``. ``finish`` checks the server proof (devicesrp's extension; Cognito sends
none): a proof that is present must verify; a missing one is accepted only when the client was
not built with ``require_server_proof=True``. Tokens should be kept only after ``finish``.

Errors: calling out of order is a ``LocalProtocolError``; a bad argument an
``InvalidParameterError`` / ``InvalidTypeError``; an unsafe B, u = 0, a malformed SECRET_BLOCK or
a challenge for another device a ``RemoteProtocolError``; a wrong or missing-but-required server
proof an ``AuthenticationError``. Every one of them leaves the machine in ERROR with its secrets
dropped. The transition table below is the only place the order is defined.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from ..errors import (
    AuthenticationError,
    InvalidParameterError,
    InvalidTypeError,
    LocalProtocolError,
    RemoteProtocolError,
)
from ..srp import cognito
from ..srp.encoding import parse_base64
from ..srp.timestamp import format_timestamp
from .proof import verify_server_proof
from .values import Challenge, ClientResponse, DeviceCredentials, UserCredentials

__all__ = ["MAX_CLIENT_SECRET_BLOCK_BYTES", "ClientEvent", "ClientHandshake", "ClientState"]

#: Cognito's own SECRET_BLOCK is opaque and larger than devicesrp's; accept up to 16 KiB of it.
MAX_CLIENT_SECRET_BLOCK_BYTES = 16 * 1024


class ClientState(enum.Enum):
    IDLE = "idle"
    AWAITING_CHALLENGE = "awaiting-challenge"
    AWAITING_RESULT = "awaiting-result"
    DONE = "done"
    ERROR = "error"


class ClientEvent(enum.Enum):
    START = "start"
    CHALLENGE = "challenge"
    RESULT = "result"


#: (state, event) -> next state. Anything not listed is a LocalProtocolError.
TRANSITIONS: Mapping[tuple[ClientState, ClientEvent], ClientState] = MappingProxyType(
    {
        (ClientState.IDLE, ClientEvent.START): ClientState.AWAITING_CHALLENGE,
        (ClientState.AWAITING_CHALLENGE, ClientEvent.CHALLENGE): ClientState.AWAITING_RESULT,
        (ClientState.AWAITING_RESULT, ClientEvent.RESULT): ClientState.DONE,
    }
)


class ClientHandshake:
    """One SRP step from the client's side; build one per sign-in step, never reuse it."""

    def __init__(
        self,
        credentials: UserCredentials | DeviceCredentials,
        *,
        require_server_proof: bool = False,
    ) -> None:
        if not isinstance(credentials, UserCredentials | DeviceCredentials):
            raise InvalidTypeError(
                "credentials", "UserCredentials or DeviceCredentials", credentials
            )
        if not isinstance(require_server_proof, bool):
            raise InvalidTypeError("require_server_proof", "bool", require_server_proof)
        self._credentials = credentials
        self._require_server_proof = require_server_proof
        self._state = ClientState.IDLE
        self._a: bytes | None = None
        self._a_pub = 0
        # What finish() needs to check the server proof; dropped on DONE and ERROR.
        self._premaster: int | None = None
        self._transcript: tuple[str, str, int, bytes, str, str] | None = None

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def is_device(self) -> bool:
        return isinstance(self._credentials, DeviceCredentials)

    def __repr__(self) -> str:
        kind = "device" if self.is_device else "user"
        return f"ClientHandshake({kind}, state={self._state.name})"

    def _next(self, event: ClientEvent) -> ClientState:
        target = TRANSITIONS.get((self._state, event))
        if target is None:
            current = self._state
            self._fail()
            raise LocalProtocolError(f"{event.value} is not allowed in state {current.name}")
        return target

    def _fail(self) -> None:
        self._state = ClientState.ERROR
        self._a = None
        self._premaster = None
        self._transcript = None

    def start(self, a: bytes) -> int:
        """A = g^a mod N for the secret ``a`` (32 random bytes from ``devicesrp.live.start``).

        Any nonzero ``a`` is accepted so that published known-answer vectors (some with 4- or
        8-byte a) can drive this twin; the live wrapper always draws 32 bytes.
        """
        target = self._next(ClientEvent.START)
        try:
            if not isinstance(a, bytes):
                raise InvalidTypeError("a", "bytes", a)
            a_pub = cognito.client_public(a)
        except BaseException:
            self._fail()
            raise
        self._a, self._a_pub, self._state = a, a_pub, target
        return a_pub

    def respond(self, challenge: Challenge, *, now: int) -> ClientResponse:
        """The claim for ``challenge``, signed over the canonical TIMESTAMP of ``now`` (epoch s)."""
        target = self._next(ClientEvent.CHALLENGE)
        try:
            response = self._respond(challenge, now)
        except BaseException:
            self._fail()
            raise
        self._a = None  # a is spent; S stays only for the server proof
        self._state = target
        return response

    def _respond(self, challenge: Challenge, now: int) -> ClientResponse:
        if not isinstance(challenge, Challenge):
            raise InvalidTypeError("challenge", "Challenge", challenge)
        if isinstance(now, bool) or not isinstance(now, int):
            raise InvalidTypeError("now", "int", now)
        creds = self._credentials
        if isinstance(creds, DeviceCredentials):
            if challenge.identity != creds.device_key:
                raise RemoteProtocolError("identity", "the challenge names another device")
            secret = creds.device_password
        else:
            secret = creds.password
        # Peer values first, before anything touches a or x.
        try:
            b_pub = cognito.check_server_public(challenge.B)
            u = cognito.compute_u(self._a_pub, b_pub)
        except InvalidParameterError as exc:
            raise RemoteProtocolError(exc.field, exc.reason) from None
        try:
            block = parse_base64(
                "secret_block", challenge.secret_block, MAX_CLIENT_SECRET_BLOCK_BYTES
            )
        except InvalidParameterError as exc:
            raise RemoteProtocolError(exc.field, exc.reason) from None
        timestamp = format_timestamp(now)
        assert self._a is not None  # guaranteed by the transition table
        x = cognito.compute_x(challenge.salt.hex(), creds.realm, challenge.identity, secret)
        premaster = cognito.client_premaster(x, self._a, u, b_pub)
        key = cognito.derive_key(premaster, u)
        signature = cognito.claim_signature(key, creds.realm, challenge.identity, block, timestamp)
        self._premaster = int.from_bytes(premaster, "big")
        self._transcript = (creds.realm, challenge.identity, u, block, timestamp, signature)
        return ClientResponse(
            secret_block=challenge.secret_block, timestamp=timestamp, signature=signature
        )

    def finish(self, server_proof: bytes | None) -> None:
        """Accept the server's result: check its proof (required if so configured)."""
        target = self._next(ClientEvent.RESULT)
        try:
            self._check_proof(server_proof)
        except BaseException:
            self._fail()
            raise
        self._premaster = None
        self._transcript = None
        self._state = target

    def _check_proof(self, proof: bytes | None) -> None:
        if proof is None:
            if self._require_server_proof:
                raise AuthenticationError()
            return
        if not isinstance(proof, bytes):
            raise InvalidTypeError("server_proof", "bytes", proof)
        assert self._premaster is not None and self._transcript is not None
        realm, identity, u, block, timestamp, signature = self._transcript
        if not verify_server_proof(
            proof,
            self._premaster,
            realm=realm,
            identity=identity,
            a_pub=self._a_pub,
            u=u,
            secret_block=block,
            timestamp=timestamp,
            signature=signature,
        ):
            raise AuthenticationError()

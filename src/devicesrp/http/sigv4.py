"""Verify AWS Signature Version 4 on admin operations (``Authorization: AWS4-HMAC-SHA256 ...``).

signature = HMAC(kSigning, "AWS4-HMAC-SHA256\\n" + X-Amz-Date + "\\n" + scope + "\\n" +
SHA256(canonical request)), kSigning = HMAC chain over "AWS4"+secret, date, region, service,
"aws4_request" (AWS General Reference, "Signature Version 4 signing process").

The server recomputes the signature over the headers the client says it signed, which must
include ``host``, ``x-amz-date`` and ``x-amz-target`` (so an operation cannot be swapped under a
signature). The request date must be within ``max_skew`` seconds of now. Mutating operations also
pass a replay cache (a deviation from AWS, which has none): the same signature is accepted once.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote

from .awserror import AwsServiceError

SERVICE = "cognito-idp"
ALGORITHM = "AWS4-HMAC-SHA256"
_AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([a-z0-9;\-]+),\s*"
    r"Signature=([0-9a-f]{64})"
)
_DATE_RE = re.compile(r"(\d{8})T(\d{6})Z")
REQUIRED_SIGNED = ("host", "x-amz-date", "x-amz-target")


@dataclass(frozen=True)
class AdminKey:
    """One configured admin credential; the secret never appears in ``repr``."""

    key_id: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class SignedRequest:
    """What the verifier needs from an HTTP request (header names lowercase)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


def _missing() -> AwsServiceError:
    return AwsServiceError("MissingAuthenticationTokenException", "Missing Authentication Token")


def _incomplete(why: str) -> AwsServiceError:
    return AwsServiceError("IncompleteSignatureException", why)


def _mismatch() -> AwsServiceError:
    return AwsServiceError(
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided.",
    )


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_request(req: SignedRequest, signed: list[str]) -> str:
    """The SigV4 canonical request over the ``signed`` header names."""
    lines = []
    for name in signed:
        value = req.headers.get(name)
        if value is None:
            raise _incomplete(f"signed header {name} is missing")
        lines.append(f"{name}:{' '.join(value.split())}\n")
    payload = req.headers.get("x-amz-content-sha256") or hashlib.sha256(req.body).hexdigest()
    return "\n".join(
        [
            req.method.upper(),
            quote(req.path or "/", safe="/~"),
            _canonical_query(req.query),
            "".join(lines),
            ";".join(signed),
            payload,
        ]
    )


def signature_for(secret: str, amz_date: str, scope: str, creq: str) -> str:
    date, region, service, terminal = scope.split("/")
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    for part in (region, service, terminal):
        key = _hmac(key, part)
    to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(creq.encode("utf-8")).hexdigest()]
    )
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class SigV4Verifier:
    """Checks signatures against configured keys; one replay cache per process."""

    def __init__(
        self,
        keys: tuple[AdminKey, ...],
        region: str,
        *,
        max_skew: float = 300.0,
        replay_capacity: int = 100_000,
        consume_once: Callable[[bytes, float], bool] | None = None,
    ) -> None:
        """``consume_once(key, expires_at)``: a shared single-use table (the store's), so that
        every worker process refuses a replay; without it the cache is this process's own."""
        self._keys = {k.key_id: k for k in keys}
        self._region = region
        self._max_skew = max_skew
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._capacity = replay_capacity
        self._lock = threading.Lock()
        self._consume_once = consume_once

    def verify(self, req: SignedRequest, now: float) -> tuple[str, str]:
        """Return ``(key_id, signature)`` of a valid request, else raise the AWS refusal."""
        header = req.headers.get("authorization")
        if not header:
            raise _missing()
        match = _AUTH_RE.fullmatch(header.strip())
        if match is None:
            raise _incomplete("Authorization header is not a valid AWS4-HMAC-SHA256 signature")
        credential, signed_text, signature = match.groups()
        parts = credential.split("/")
        if len(parts) != 5:
            raise _incomplete("Credential must have 5 parts")
        key_id, date, region, service, terminal = parts
        signed = signed_text.split(";")
        if signed != sorted(set(signed)) or not all(h in signed for h in REQUIRED_SIGNED):
            raise _incomplete("SignedHeaders must be sorted, cover " + ",".join(REQUIRED_SIGNED))
        amz_date = req.headers.get("x-amz-date", "")
        stamp = _DATE_RE.fullmatch(amz_date)
        if stamp is None or stamp.group(1) != date:
            raise _incomplete("X-Amz-Date is missing or does not match the credential scope")
        if region != self._region or service != SERVICE or terminal != "aws4_request":
            raise _mismatch()
        key = self._keys.get(key_id)
        if key is None:
            raise AwsServiceError(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        if abs(now - signed_at) > self._max_skew:
            raise AwsServiceError(
                "InvalidSignatureException", "Signature expired or not yet valid: check the clock."
            )
        scope = "/".join(parts[1:])
        expected = signature_for(key.secret, amz_date, scope, canonical_request(req, signed))
        if not hmac.compare_digest(expected, signature):
            raise _mismatch()
        return key_id, signature

    def consume(self, signature: str, now: float) -> None:
        """Accept ``signature`` once within the skew window (mutating operations only)."""
        if self._consume_once is not None:
            if not self._consume_once(bytes.fromhex(signature), now + 2 * self._max_skew):
                raise AwsServiceError(
                    "InvalidSignatureException", "Signature has already been used."
                )
            return
        with self._lock:
            while self._seen:
                oldest, expiry = next(iter(self._seen.items()))
                if expiry > now and len(self._seen) < self._capacity:
                    break
                del self._seen[oldest]
            if signature in self._seen:
                raise AwsServiceError(
                    "InvalidSignatureException", "Signature has already been used."
                )
            self._seen[signature] = now + 2 * self._max_skew

"""Pure SRP-6a math: groups, encodings, RFC 5054, the srptools conventions, the Cognito profile.

No I/O, no clock, no randomness: secrets (a, b, salts) and times are arguments. Every secret
exponentiation goes through ``devicesrp.modexp``. Secrets are ``bytes`` whose length declares
their size; public values are ``int``. Errors are ``devicesrp.errors`` types naming the field.

Public API (stable names):

``devicesrp.srp.groups``
    ``Group(name, N, g)`` (frozen; only approved pairs construct) with ``bits``, ``n_len``,
    ``max_hex_len``; ``COGNITO_GROUP`` (3072-bit prime, g = 2); ``APPROVED_GROUPS``;
    ``get_group(name)`` (``rfc5054-1024`` .. ``rfc5054-8192``, ``cognito-3072``).
``devicesrp.srp.encoding``
    ``pad_hex(i)``, ``pad_bytes(i)`` (Java toByteArray form), ``to_hex(i)`` (wire SRP_A/SRP_B),
    ``fixed_bytes(field, i, length)``, ``hex_hash(hex_text, hash_name="sha256")``,
    ``parse_hex(field, text, max_len)``,
    ``parse_base64(field, text, max_bytes, allow_empty=False)``.
``devicesrp.srp.timestamp``
    ``format_timestamp(epoch_seconds)``, ``parse_timestamp(text)`` (lenient, like Java),
    ``canonical_timestamp(text)``, ``MAX_TIMESTAMP_LEN``.
``devicesrp.srp.cognito`` (the Cognito profile; the group is pinned, nothing takes N or g)
    ``COGNITO_K``, ``DEFAULT_SECRET_BYTES`` (32), ``MAX_SALT_BYTES`` (64), ``HKDF_INFO``,
    ``require_cognito_parameters(group, k)``, ``pool_name(user_pool_id)``,
    ``check_client_public(A)``, ``check_server_public(B)``, ``parse_client_public(text)``,
    ``parse_server_public(text)``, ``parse_salt(text)``, ``compute_u(A, B)``,
    ``compute_x(salt_hex, pool_or_group, identity, secret) -> bytes``, ``compute_verifier(x)``,
    ``client_public(a) -> int``, ``client_premaster(x, a, u, B) -> bytes``,
    ``server_public(v, b) -> int``, ``server_premaster(A, v, u, b) -> bytes``,
    ``derive_key(S, u) -> bytes`` (16), ``client_session_key(x, a, A, B)``,
    ``server_session_key(A, B, v, b)``,
    ``claim_signature(key, pool_or_group, identity, secret_block, timestamp) -> str``,
    ``verify_claim_signature(key, pool_or_group, identity, secret_block, timestamp, signature)``,
    ``DeviceVerifier(salt, password_verifier)``,
    ``device_verifier(device_group_key, device_key, password, salt) -> DeviceVerifier``,
    ``check_password_verifier(password_verifier) -> bytes`` (384), ``secret_hash(...)``.
``devicesrp.srp.rfc5054``
    ``Rfc5054(group, hash_name)`` with ``k``, ``compute_x``, ``compute_verifier``,
    ``client_public``, ``server_public``, ``compute_u``, ``client_premaster``,
    ``server_premaster``; ``new_hash(name)`` for any hashlib hash (``blake2b-256`` style too).
``devicesrp.srp.srptools_profile``
    ``session_key(profile, S)``, ``client_proof(profile, I, s, A, B, K)``,
    ``server_proof(profile, A, M1, K)`` (srptools' unpadded K / M1 / M2).
"""

from __future__ import annotations

from . import cognito, encoding, groups, timestamp
from .groups import COGNITO_GROUP, Group, get_group

__all__ = [
    "COGNITO_GROUP",
    "Group",
    "cognito",
    "encoding",
    "get_group",
    "groups",
    "timestamp",
]

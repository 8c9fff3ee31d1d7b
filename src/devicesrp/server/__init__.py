"""The identity-provider domain: pools, app clients, users, devices, policy, MFA, lockout, tokens.

Everything Cognito does around remembered devices, as plain Python operations (no HTTP here).
Entry point: ``IdentityProvider(Runtime(store, kek, issuer_base=..., clock=..., random_bytes=...))``
(``provider``), one method per Cognito operation; refusals are ``DomainError`` subclasses
(``errors``) whose ``cognito_type`` is the Cognito error name and whose message is safe to show.

Modules:

- ``config``: ``PoolSettings`` (device tracking, MFA, username mode, lifetimes, the
  remembered-device cap, the pycognito ticket switch, refresh rotation, password policy),
  ``AppClient``.
- ``decision``: the decision table of docs/cognito-device-srp.md §6.1 and the MFA factor rules,
  pure functions. ``lockout``: the backoff policy, pure. ``totp``: RFC 6238, pure.
- ``session``: the sealed ``Session`` value. ``kek`` / ``vault``: keys at rest, wrapped under the
  KEK, with rotation. ``tokens`` / ``grants``: RS256 JWTs, JWKS, refresh tokens, revocation.
- ``signin`` / ``steps`` / ``flow`` / ``identity``: the sign-in state machine over the protocol
  engine, fake challenges for unknown names. ``devices``, ``users``, ``mfa``: the other APIs.
- ``sender``: where SMS and e-mail codes go (the store's outbox by default).
"""

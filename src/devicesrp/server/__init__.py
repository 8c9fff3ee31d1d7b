"""The identity-provider domain: pools, app clients, users, devices, policy, MFA, lockout, tokens.

Everything Cognito does around remembered devices, as plain Python operations (no HTTP here). The
HTTP service and server plugins call these operations; refusals are :class:`DomainError` subclasses
whose ``cognito_type`` is the Cognito error name.
"""

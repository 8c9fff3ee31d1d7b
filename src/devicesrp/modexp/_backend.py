"""What a modexp backend provides. Arguments reach a backend already checked by the contract."""

from __future__ import annotations

from typing import Protocol


class FixedBaseTable(Protocol):
    def pow(self, exp: int) -> int: ...


class Backend(Protocol):
    name: str
    cpu_path: str
    constant_time: bool
    detail: str

    def powmod_secret(self, base: int, exp: int, modulus: int, exp_bits: int) -> int: ...

    def powmod_public(self, base: int, exp: int, modulus: int) -> int: ...

    def fixed_base(self, base: int, modulus: int, exp_bits: int) -> FixedBaseTable: ...

    def srp_verifier(self, g: int, x: bytes, modulus: int) -> bytes: ...

    def srp_server_public(self, g: int, k: int, v: bytes, b: bytes, modulus: int) -> int: ...

    def srp_client_premaster(
        self, g: int, k: int, x: bytes, a: bytes, u: int, b_pub: int, modulus: int
    ) -> bytes: ...

    def srp_server_premaster(
        self, a_pub: int, v: bytes, u: int, b: bytes, modulus: int
    ) -> bytes: ...

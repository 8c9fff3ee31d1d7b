"""The approved SRP groups: RFC 5054 Appendix A (1024..8192 bits) and Cognito's 3072-bit g = 2.

Groups are pinned: a ``Group`` can only be built from an approved (N, g) pair, so no code path can
use an N or g that a peer sent (security-matrix row 25). Cognito uses the RFC 3526 / RFC 5054
3072-bit prime with g = 2, not the RFC 5054 pairing with g = 5.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import GroupNotApprovedError, InvalidTypeError
from ._group_data import RFC5054_PRIMES

__all__ = [
    "APPROVED_GROUPS",
    "COGNITO_GROUP",
    "Group",
    "get_group",
]

# (bits, g) pairs that may be used with the RFC 5054 primes: the RFC's own generator for every
# size, and g = 2 on the 3072-bit prime for Cognito.
_COGNITO_G = 2
_APPROVED_PAIRS: frozenset[tuple[int, int]] = frozenset(
    {(int(n_hex, 16), g) for n_hex, g in RFC5054_PRIMES.values()}
    | {(int(RFC5054_PRIMES[3072][0], 16), _COGNITO_G)}
)


@dataclass(frozen=True)
class Group:
    """An approved SRP group: safe prime ``N`` and generator ``g``; construction checks the pair."""

    name: str
    N: int
    g: int

    def __post_init__(self) -> None:
        for field, value in (("N", self.N), ("g", self.g)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidTypeError(field, "int", value)
        if not isinstance(self.name, str):
            raise InvalidTypeError("name", "str", self.name)
        if (self.N, self.g) not in _APPROVED_PAIRS:
            raise GroupNotApprovedError("group", "N and g are not an approved RFC 5054 pair")

    @property
    def bits(self) -> int:
        """Size of N in bits."""
        return self.N.bit_length()

    @property
    def n_len(self) -> int:
        """Size of N in bytes: the fixed width of v, S and fixed-width PAD."""
        return (self.N.bit_length() + 7) // 8

    @property
    def max_hex_len(self) -> int:
        """Longest hex accepted for a value mod N: PAD form, 2*n_len + 2 (770 for 3072 bits)."""
        return 2 * self.n_len + 2

    def __repr__(self) -> str:
        return f"Group(name={self.name!r}, bits={self.bits}, g={self.g})"


def _rfc_group(bits: int) -> Group:
    n_hex, g = RFC5054_PRIMES[bits]
    return Group(f"rfc5054-{bits}", int(n_hex, 16), g)


#: Cognito's group: the 3072-bit RFC 5054 / RFC 3526 prime with g = 2.
COGNITO_GROUP = Group("cognito-3072", int(RFC5054_PRIMES[3072][0], 16), _COGNITO_G)

#: Every approved group by name: ``rfc5054-1024`` .. ``rfc5054-8192`` and ``cognito-3072``.
APPROVED_GROUPS: dict[str, Group] = {
    **{f"rfc5054-{bits}": _rfc_group(bits) for bits in sorted(RFC5054_PRIMES)},
    COGNITO_GROUP.name: COGNITO_GROUP,
}


def get_group(name: str) -> Group:
    """The approved group called ``name``; any other name is a ``GroupNotApprovedError``."""
    if not isinstance(name, str):
        raise InvalidTypeError("group", "str", name)
    try:
        return APPROVED_GROUPS[name]
    except KeyError:
        raise GroupNotApprovedError("group", "not an approved group name") from None

"""Group pinning (security-matrix row 25) and the embedded RFC 5054 group table."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from devicesrp.errors import GroupNotApprovedError, InvalidParameterError, InvalidTypeError
from devicesrp.srp import cognito, groups
from devicesrp.srp.rfc5054 import Rfc5054
from vectors import load

GROUPS = load("rfc5054_groups.json")["groups"]


@pytest.mark.parametrize("entry", GROUPS, ids=lambda e: str(e["bits"]))
def test_embedded_groups_match_the_vectors(entry: dict) -> None:
    group = groups.get_group(f"rfc5054-{entry['bits']}")
    assert group.N == int(entry["N"], 16)
    assert group.g == entry["g"]
    assert group.bits == entry["bits"]
    assert group.n_len == entry["N_bytes"]
    for hash_name in ("sha1", "sha256", "sha512"):
        assert Rfc5054(group, hash_name).k == int(entry[f"k_{hash_name}"], 16)


def test_cognito_group_and_k() -> None:
    group = groups.COGNITO_GROUP
    assert group.N == int(next(e["N"] for e in GROUPS if e["bits"] == 3072), 16)
    assert group.g == 2 and group.n_len == 384 and group.max_hex_len == 770
    assert cognito.COGNITO_K == 0x538282C4354742D7CBBDE2359FCF67F9F5B3A6B08791E5011B43B8A5B66D9EE6
    cognito.require_cognito_parameters(group, cognito.COGNITO_K)


def test_cognito_k_differs_from_rfc_k_on_the_same_prime() -> None:
    """The RFC's k for the 3072-bit group (g = 5, fixed-width PAD) is not Cognito's."""
    assert Rfc5054(groups.get_group("rfc5054-3072"), "sha256").k != cognito.COGNITO_K


@pytest.mark.parametrize(
    ("N", "g"),
    [
        (groups.COGNITO_GROUP.N, 3),  # approved prime, unapproved generator
        (groups.COGNITO_GROUP.N, 1),
        (groups.get_group("rfc5054-1024").N, 5),
        (groups.COGNITO_GROUP.N - 2, 2),  # another odd number
        (23, 5),  # a tiny safe prime
        ((1 << 127) - 1, 2),
    ],
)
def test_unapproved_groups_cannot_be_built(N: int, g: int) -> None:
    with pytest.raises(GroupNotApprovedError):
        groups.Group("custom", N, g)


def test_group_is_frozen_and_checks_types() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        groups.COGNITO_GROUP.g = 5  # type: ignore[misc]
    with pytest.raises(InvalidTypeError):
        groups.Group("x", str(groups.COGNITO_GROUP.N), 2)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        groups.Group("x", groups.COGNITO_GROUP.N, True)


@pytest.mark.parametrize("name", ["", "rfc5054-3071", "cognito", "custom", "RFC5054-1024"])
def test_unknown_group_names(name: str) -> None:
    with pytest.raises(GroupNotApprovedError):
        groups.get_group(name)


@pytest.mark.parametrize("k", [3, 0, cognito.COGNITO_K + 1])
def test_k_other_than_cognitos_fails(k: int) -> None:
    with pytest.raises(GroupNotApprovedError) as info:
        cognito.require_cognito_parameters(groups.COGNITO_GROUP, k)
    assert isinstance(info.value, InvalidParameterError) and info.value.field == "k"


@pytest.mark.parametrize("name", [n for n in groups.APPROVED_GROUPS if n != "cognito-3072"])
def test_other_approved_groups_are_not_the_cognito_profile(name: str) -> None:
    with pytest.raises(GroupNotApprovedError):
        cognito.require_cognito_parameters(groups.get_group(name), cognito.COGNITO_K)


def test_no_cognito_function_accepts_a_modulus_or_generator() -> None:
    """Nothing in the Cognito profile takes an N, g or group, except the start-up check."""
    for name in cognito.__all__:
        obj = getattr(cognito, name)
        if not inspect.isfunction(obj) or name == "require_cognito_parameters":
            continue
        params = {p.lower() for p in inspect.signature(obj).parameters}
        assert not params & {"n", "g", "group", "modulus", "generator", "prime", "k"}, name


def test_rfc5054_profile_needs_an_approved_group_and_a_fixed_length_hash() -> None:
    with pytest.raises(InvalidTypeError):
        Rfc5054("rfc5054-1024", "sha1")  # type: ignore[arg-type]
    for bad in ("shake_128", "md7", "blake2b-0", "blake2b-1000", "blake2b-x"):
        with pytest.raises(InvalidParameterError):
            Rfc5054(groups.get_group("rfc5054-1024"), bad)

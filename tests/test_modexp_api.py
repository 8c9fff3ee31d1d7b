"""The modexp API contract: argument checks, typed errors, backend choice and the secret guard."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devicesrp import modexp
from devicesrp.errors import (
    BackendError,
    DeviceSrpError,
    InvalidParameterError,
    InvalidTypeError,
    VariableTimeBackendError,
)

N = (1 << 127) - 1  # a Mersenne prime: odd, 127 bits


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: modexp.powmod_secret(2, 3, 10, 8), "modulus"),
        (lambda: modexp.powmod_secret(2, 3, 1, 8), "modulus"),
        (lambda: modexp.powmod_secret(2, 3, -7, 8), "modulus"),
        (lambda: modexp.powmod_secret(2, 3, (1 << 8193) + 1, 8), "modulus"),
        (lambda: modexp.powmod_secret(2, 256, N, 8), "exp"),
        (lambda: modexp.powmod_secret(2, -1, N, 8), "exp"),
        (lambda: modexp.powmod_secret(2, 1, N, 0), "exp_bits"),
        (lambda: modexp.powmod_secret(2, 1, N, 16385), "exp_bits"),
        (lambda: modexp.powmod_public(2, -5, N), "exp"),
        (lambda: modexp.FixedBase(2, N, 8).pow(256), "exp"),
        (lambda: modexp.srp_verifier(2, b"", N), "x"),
        (lambda: modexp.srp_verifier(N, b"\x01", N), "g"),
        (lambda: modexp.srp_server_public(2, 3, b"\x01" * 15, b"\x01", N), "v"),
        (lambda: modexp.srp_client_premaster(2, 3, b"\x01", b"\x01", 5, N, N), "B"),
        (lambda: modexp.srp_server_premaster(-1, b"\x01" * 16, 5, b"\x01", N), "A"),
    ],
)
def test_bad_values_raise_invalid_parameter(call: object, field: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        call()  # type: ignore[operator]
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, DeviceSrpError)


@pytest.mark.parametrize(
    "call",
    [
        lambda: modexp.powmod_secret(2.0, 3, N, 8),
        lambda: modexp.powmod_secret(2, True, N, 8),
        lambda: modexp.powmod_secret(2, 3, str(N), 8),
        lambda: modexp.powmod_public(2, 3, None),
        lambda: modexp.srp_verifier(2, "01", N),
        lambda: modexp.FixedBase(b"\x02", N, 8),
    ],
)
def test_wrong_types_raise_invalid_type(call: object) -> None:
    with pytest.raises(InvalidTypeError) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, TypeError)


def test_error_messages_never_show_the_secret_exponent() -> None:
    secret = 0xDEADBEEFCAFEBABE1234567
    with pytest.raises(InvalidParameterError) as info:
        modexp.powmod_secret(2, secret, N, 32)
    for form in (str(secret), hex(secret), format(secret, "x")):
        assert form not in str(info.value)


def test_negative_and_oversized_bases_are_reduced() -> None:
    assert modexp.powmod_secret(-3, 5, N, 8) == pow(-3, 5, N)
    assert modexp.powmod_secret(N + 3, 5, N, 8) == pow(3, 5, N)
    assert modexp.powmod_public(-(N * 5) - 2, 7, N) == pow(-2, 7, N)
    assert modexp.powmod_secret(7, 0, N, 8) == 1


def test_backend_info_shape() -> None:
    info = modexp.backend_info()
    assert {"backend", "cpu_path", "constant_time"} <= set(info)
    assert info["backend"] in {"native", "gmpy2", "python"}
    assert isinstance(info["constant_time"], bool)
    assert info["backend"] in {n.split("/")[0] for n in modexp.available_backends()}


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DEVICESRP_")}
    return subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True
    )


def test_variable_time_backend_refuses_secret_work_without_opt_in() -> None:
    code = (
        "from devicesrp import modexp\n"
        "from devicesrp.errors import VariableTimeBackendError\n"
        "assert modexp.powmod_public(2, 5, 7) == 4\n"
        "for call in (lambda: modexp.powmod_secret(2, 5, 7, 8),\n"
        "             lambda: modexp.FixedBase(2, 7, 8),\n"
        "             lambda: modexp.srp_verifier(2, b'\\x01', 7)):\n"
        "    try:\n"
        "        call()\n"
        "    except VariableTimeBackendError as exc:\n"
        "        assert 'DEVICESRP_ALLOW_VARIABLE_TIME' in str(exc)\n"
        "    else:\n"
        "        raise SystemExit('secret work was allowed')\n"
        "print('refused')\n"
    )
    result = run_python(code, DEVICESRP_MODEXP_BACKEND="python")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "refused"
    allowed = run_python(
        "from devicesrp import modexp; print(modexp.powmod_secret(2, 5, 7, 8))",
        DEVICESRP_MODEXP_BACKEND="python",
        DEVICESRP_ALLOW_VARIABLE_TIME="1",
    )
    assert allowed.stdout.strip() == "4", allowed.stderr


@pytest.mark.parametrize("name", sorted({n.split("/")[0] for n in modexp.available_backends()}))
def test_forced_backend_is_used(name: str) -> None:
    result = run_python(
        "import json; from devicesrp import modexp; print(json.dumps(modexp.backend_info()))",
        DEVICESRP_MODEXP_BACKEND=name,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["backend"] == name


def test_unknown_forced_backend_is_an_error() -> None:
    result = run_python("import devicesrp.modexp", DEVICESRP_MODEXP_BACKEND="quantum")
    assert result.returncode != 0
    assert "DEVICESRP_MODEXP_BACKEND" in result.stderr
    assert BackendError.__name__ in result.stderr


def test_variable_time_error_is_a_backend_error() -> None:
    assert issubclass(VariableTimeBackendError, BackendError)
    assert issubclass(BackendError, DeviceSrpError)


def test_doctor_prints_backend() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devicesrp", "doctor", "--json"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)["modexp"]
    assert info["backend"] == modexp.backend_info()["backend"]

"""A third independent client: pycognito's AWSSRP computes the same keys as our math.

pycognito is driven with injected a (its ``small_a_value`` field) and no network client. Its keys
must equal our client's and our server's for random user and device cases.
"""

from __future__ import annotations

import datetime as dt
import random

from pycognito.aws_srp import AWSSRP

from counts import count
from devicesrp.srp import cognito
from devicesrp.srp.encoding import pad_hex
from devicesrp.srp.timestamp import format_timestamp

CASES = count(ci=50, soak=2000)
CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.+@é中"


def _text(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(CHARS, k=rng.randint(1, n)))


def _pycognito(pool_id: str, a: bytes, a_pub: int) -> AWSSRP:
    srp = AWSSRP("user", "unused", pool_id, "client-id", client=object())
    srp.small_a_value = int.from_bytes(a, "big")
    srp.large_a_value = a_pub
    return srp


def test_user_and_device_keys_agree_with_pycognito() -> None:
    rng = random.Random(2945)
    for n in range(CASES):
        pool_id = f"us-east-1_{_text(rng, 10).replace('_', 'x')}"
        identity, secret = _text(rng, 30), _text(rng, 30)
        salt = rng.randbytes(16)
        salt_hex = rng.choice([salt.hex(), pad_hex(int.from_bytes(salt, "big"))])
        a, b = rng.randbytes(rng.choice([32, 128])), rng.randbytes(32)
        device = n % 2 == 1
        realm = "-" + _text(rng, 9) if device else cognito.pool_name(pool_id)
        x = cognito.compute_x(salt_hex, realm, identity, secret)
        v = cognito.compute_verifier(x)
        a_pub, b_pub = cognito.client_public(a), cognito.server_public(v, b)
        ours = cognito.client_session_key(x, a, a_pub, b_pub)
        assert ours == cognito.server_session_key(a_pub, b_pub, v, b)
        srp = _pycognito(pool_id, a, a_pub)
        if device:
            theirs = srp.get_device_authentication_key(realm, identity, secret, b_pub, salt_hex)
        else:
            theirs = srp.get_password_authentication_key(identity, secret, b_pub, salt_hex)
        assert bytes(theirs) == ours, f"case {n}"


def test_a_wrong_password_gives_pycognito_another_key() -> None:
    rng = random.Random(5)
    a, b = rng.randbytes(32), rng.randbytes(32)
    x = cognito.compute_x("abcd", "Pool", "user", "right")
    v = cognito.compute_verifier(x)
    a_pub, b_pub = cognito.client_public(a), cognito.server_public(v, b)
    srp = _pycognito("us-east-1_Pool", a, a_pub)
    theirs = srp.get_password_authentication_key("user", "wrong", b_pub, "abcd")
    assert bytes(theirs) != cognito.server_session_key(a_pub, b_pub, v, b)


def test_timestamp_agrees_with_pycognito() -> None:
    rng = random.Random(11)
    for _ in range(500):
        epoch = rng.randint(0, 4102444799)
        when = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=epoch)
        assert AWSSRP.get_cognito_formatted_timestamp(when) == format_timestamp(epoch)

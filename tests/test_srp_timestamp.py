"""TIMESTAMP: canonical rendering, Java-like lenient parsing, security-matrix row 12 cases."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devicesrp.errors import InvalidParameterError, InvalidTimestampError, InvalidTypeError
from devicesrp.srp import cognito
from devicesrp.srp.timestamp import (
    MAX_TIMESTAMP_LEN,
    canonical_timestamp,
    format_timestamp,
    parse_timestamp,
)
from srp_node import run_cases

EPOCHS = st.integers(min_value=0, max_value=253402300799)
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def reference(epoch: int) -> str:
    """An independent rendering through datetime (no locale: names from fixed tables)."""
    t = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=epoch)
    return (
        f"{DAYS[t.weekday()]} {MONTHS[t.month - 1]} {t.day} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} UTC {t.year:04d}"
    )


@given(EPOCHS)
def test_format_matches_reference_and_parse_inverts_it(epoch: int) -> None:
    text = format_timestamp(epoch)
    assert text == reference(epoch)
    assert parse_timestamp(text) == epoch
    assert canonical_timestamp(text) == text


def test_known_renderings() -> None:
    assert format_timestamp(0) == "Thu Jan 1 00:00:00 UTC 1970"
    assert format_timestamp(1546322769) == "Tue Jan 1 06:06:09 UTC 2019"
    assert format_timestamp(951782400) == "Tue Feb 29 00:00:00 UTC 2000"  # leap day
    assert format_timestamp(253402300799) == "Fri Dec 31 23:59:59 UTC 9999"
    assert format_timestamp(1700000000 + 13 * 3600) == "Wed Nov 15 11:13:20 UTC 2023"


@pytest.mark.parametrize("value", [-1, 253402300800])
def test_format_range(value: int) -> None:
    with pytest.raises(InvalidTimestampError):
        format_timestamp(value)


@pytest.mark.parametrize("value", [1.5, "1", True, None])
def test_format_type(value: object) -> None:
    with pytest.raises(InvalidTypeError):
        format_timestamp(value)  # type: ignore[arg-type]


CANONICAL = "Tue Feb 1 03:04:05 UTC 2000"
EPOCH = 949374245

# Parsable like Java's lenient SimpleDateFormat, but not the canonical string: the signature over
# the re-rendering differs, so these fail as a wrong signature (security-matrix row 12).
PARSABLE_NON_CANONICAL = {
    "zero-padded day": ("Tue Feb 01 03:04:05 UTC 2000", EPOCH),
    "wrong weekday": ("Sun Feb 1 03:04:05 UTC 2000", EPOCH),
    "long weekday": ("Tuesday Feb 1 03:04:05 UTC 2000", EPOCH),
    "long month": ("Tue February 1 03:04:05 UTC 2000", EPOCH),
    "lower case": ("tue feb 1 03:04:05 utc 2000", EPOCH),
    "GMT": ("Tue Feb 1 03:04:05 GMT 2000", EPOCH),
    "+0000": ("Tue Feb 1 03:04:05 +0000 2000", EPOCH),
    "GMT+01:00": ("Tue Feb 1 04:04:05 GMT+01:00 2000", EPOCH),
    "-0130": ("Tue Feb 1 01:34:05 -0130 2000", EPOCH),
    "unpadded hour": ("Tue Feb 1 3:04:05 UTC 2000", EPOCH),
    "Feb 29 of a non-leap year": ("Wed Feb 29 00:00:00 UTC 2023", 1677628800),  # = Mar 1
    "24:00:00": ("Tue Feb 1 24:00:00 UTC 2000", 949449600),  # = Feb 2 00:00:00
    "second 60": ("Tue Feb 1 03:04:60 UTC 2000", EPOCH + 55),
    "day 0": ("Tue Feb 0 03:04:05 UTC 2000", EPOCH - 86400),  # = Jan 31
}

UNPARSABLE = {
    "other-language month": "Di Mär 1 03:04:05 UTC 2000",
    "French month": "Tue Fév 1 03:04:05 UTC 2000",
    "German month (ASCII)": "Tue Okt 1 03:04:05 UTC 2000",
    "unknown weekday": "Xyz Feb 1 03:04:05 UTC 2000",
    "10^5 chars": "Tue Feb 1 03:04:05 UTC 2000" + " " * 100_000,
    "NUL": "Tue Feb 1 03:04:05 UTC 2000\x00",
    "NUL inside": "Tue Feb\x00 1 03:04:05 UTC 2000",
    "empty": "",
    "epoch digits": "949374245",
    "ISO 8601": "2000-02-01T03:04:05Z",
    "named zone": "Tue Feb 1 03:04:05 PST 2000",
    "offset hours 24": "Tue Feb 1 03:04:05 +2400 2000",
    "two spaces": "Tue  Feb 1 03:04:05 UTC 2000",
    "trailing space": "Tue Feb 1 03:04:05 UTC 2000 ",
    "two-digit year": "Tue Feb 1 03:04:05 UTC 00",
    "five-digit year": "Tue Feb 1 03:04:05 UTC 20000",
    "before 1970": "Wed Dec 31 23:59:59 UTC 1969",
    "12-hour clock": "Tue Feb 1 03:04:05 PM UTC 2000",
    "fullwidth digits": "Tue Feb １ 03:04:05 UTC 2000",
    "three-digit day": "Tue Feb 001 03:04:05 UTC 2000",
}


@pytest.mark.parametrize(
    ("text", "epoch"), PARSABLE_NON_CANONICAL.values(), ids=PARSABLE_NON_CANONICAL.keys()
)
def test_lenient_parse(text: str, epoch: int) -> None:
    assert parse_timestamp(text) == epoch
    assert canonical_timestamp(text) != text


@pytest.mark.parametrize("text", UNPARSABLE.values(), ids=UNPARSABLE.keys())
def test_unparsable(text: str) -> None:
    with pytest.raises(InvalidTimestampError) as info:
        parse_timestamp(text)
    assert isinstance(info.value, InvalidParameterError)  # maps to InvalidParameterException
    assert info.value.field == "TIMESTAMP"
    assert len(str(info.value)) < 100 and (len(text) < 8 or text not in str(info.value))


def test_length_cap() -> None:
    assert MAX_TIMESTAMP_LEN == 64
    with pytest.raises(InvalidTimestampError, match="longer than 64"):
        parse_timestamp("x" * 65)


def test_parse_type() -> None:
    with pytest.raises(InvalidTypeError):
        parse_timestamp(b"Tue Feb 1 03:04:05 UTC 2000")  # type: ignore[arg-type]


KEY = bytes(range(16))
BLOCK = b"secret-block"


def _sign(ts: str) -> str:
    return cognito.claim_signature(KEY, "pool", "user", BLOCK, ts)


def test_signature_over_canonical_timestamp_verifies() -> None:
    assert cognito.verify_claim_signature(KEY, "pool", "user", BLOCK, CANONICAL, _sign(CANONICAL))


@pytest.mark.parametrize(
    ("text", "epoch"), PARSABLE_NON_CANONICAL.values(), ids=PARSABLE_NON_CANONICAL.keys()
)
def test_non_canonical_timestamp_fails_as_a_wrong_signature(text: str, epoch: int) -> None:
    """The client signed the string it sent; the server checks the canonical re-rendering."""
    assert not cognito.verify_claim_signature(KEY, "pool", "user", BLOCK, text, _sign(text))
    # ... and a signature over the canonical form, sent with the non-canonical text, verifies:
    # the check really is over format(parse(text)).
    canonical = format_timestamp(epoch)
    assert cognito.verify_claim_signature(KEY, "pool", "user", BLOCK, text, _sign(canonical))


@pytest.mark.parametrize("text", UNPARSABLE.values(), ids=UNPARSABLE.keys())
def test_unparsable_timestamp_is_an_error_not_a_failed_signature(text: str) -> None:
    with pytest.raises(InvalidTimestampError):
        cognito.verify_claim_signature(KEY, "pool", "user", BLOCK, text, _sign(CANONICAL))


def test_rendering_matches_amazon_cognito_identity_js_date_helper() -> None:
    """DateHelper.getNowString() with a pinned clock, for random instants and edge instants."""
    rng = random.Random(5054)
    epochs = [0, 1546322769, 951782400, 4102444799, 1700000000 + 13 * 3600]
    epochs += [rng.randint(0, 4102444799) for _ in range(300)]
    results = run_cases([{"kind": "timestamp", "epoch_ms": e * 1000} for e in epochs])
    for epoch, got in zip(epochs, results, strict=True):
        assert got["timestamp"] == format_timestamp(epoch), epoch
        assert parse_timestamp(got["timestamp"]) == epoch

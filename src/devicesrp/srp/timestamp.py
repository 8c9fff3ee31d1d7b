"""The TIMESTAMP of PASSWORD_VERIFIER answers: canonical rendering and Java-like lenient parsing.

Canonical form ``EEE MMM d HH:mm:ss 'UTC' yyyy`` in English and UTC, day without a leading zero,
24-hour zero-padded time (amazon-cognito-identity-js ``DateHelper``; doc §3). Rendering never
uses ``strftime``: ``%a``/``%b`` follow the process locale.

Parsing imitates Java's lenient ``SimpleDateFormat("EEE MMM d HH:mm:ss z yyyy", Locale.US)``, the
way the service reads the field: day-of-week is read but ignored, English month and day names
(short or long, any case), fields out of range roll over (``Feb 29 2023`` is ``Mar 1``,
``24:00:00`` is the next midnight), and the zone may be ``UTC``, ``GMT``, ``UT``, ``Z``,
``GMT+hh:mm``-style or ``+hhmm``. The caller verifies the signature over
``format_timestamp(parse_timestamp(text))``, so any non-canonical spelling fails as a wrong
signature while unparsable text is an ``InvalidTimestampError``. Project decisions (not
established by any source): named zones other than UTC/GMT/UT/Z are unparsable; years are
1970..9999 with four digits; day and time fields have one or two digits; fields are separated by
single spaces; text is ASCII and at most 64 characters.
"""

from __future__ import annotations

import re

from ..errors import InvalidTimestampError, InvalidTypeError

__all__ = [
    "MAX_TIMESTAMP_LEN",
    "canonical_timestamp",
    "format_timestamp",
    "parse_timestamp",
]

MAX_TIMESTAMP_LEN = 64
_MIN_EPOCH = 0
_MAX_EPOCH = 253402300799  # 9999-12-31 23:59:59 UTC

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_NAMES = {
    name.lower()
    for short, long_ in zip(
        _DAYS,
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        strict=True,
    )
    for name in (short, long_)
}
_MONTH_NUMBERS: dict[str, int] = {}
for _n, (_short, _long) in enumerate(
    zip(
        _MONTHS,
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        strict=True,
    ),
    start=1,
):
    _MONTH_NUMBERS[_short.lower()] = _n
    _MONTH_NUMBERS[_long] = _n

_PATTERN = re.compile(
    r"(?P<dow>[A-Za-z]{3,9}) (?P<mon>[A-Za-z]{3,9}) (?P<day>[0-9]{1,2}) "
    r"(?P<h>[0-9]{1,2}):(?P<m>[0-9]{1,2}):(?P<s>[0-9]{1,2}) "
    r"(?P<zone>[A-Za-z]{1,3}(?:[+-][0-9]{1,2}(?::?[0-9]{2})?)?|[+-][0-9]{4}) "
    r"(?P<year>[0-9]{4})"
)
_OFFSET = re.compile(r"(?P<sign>[+-])(?P<h>[0-9]{1,2})(?::?(?P<m>[0-9]{2}))?")


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count since 1970-01-01 (H. Hinnant's civil_from_days)."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def format_timestamp(epoch_seconds: int) -> str:
    """The canonical TIMESTAMP: ``EEE MMM d HH:mm:ss UTC yyyy``, English, UTC.

    Example: 1546322769 -> ``Tue Jan 1 06:06:09 UTC 2019`` (Amplify's DateHelper test).
    """
    if isinstance(epoch_seconds, bool) or not isinstance(epoch_seconds, int):
        raise InvalidTypeError("epoch_seconds", "int", epoch_seconds)
    if not _MIN_EPOCH <= epoch_seconds <= _MAX_EPOCH:
        raise InvalidTimestampError("outside the years 1970..9999")
    days, rest = divmod(epoch_seconds, 86400)
    year, month, day = _civil_from_days(days)
    hh, rest = divmod(rest, 3600)
    mm, ss = divmod(rest, 60)
    weekday = _DAYS[(days + 3) % 7]  # 1970-01-01 was a Thursday
    return f"{weekday} {_MONTHS[month - 1]} {day} {hh:02d}:{mm:02d}:{ss:02d} UTC {year:04d}"


def _zone_offset(zone: str) -> int:
    """Seconds east of UTC for the accepted zone spellings; anything else is unparsable."""
    upper = zone.upper()
    if upper in ("UTC", "GMT", "UT", "Z"):
        return 0
    for prefix in ("UTC", "GMT", "UT", ""):
        rest = upper[len(prefix) :]
        if upper.startswith(prefix) and rest[:1] in ("+", "-"):
            match = _OFFSET.fullmatch(rest)
            if match is None:
                break
            hours = int(match["h"])
            minutes = int(match["m"] or 0)
            if hours > 23 or minutes > 59:
                break
            sign = 1 if match["sign"] == "+" else -1
            return sign * (hours * 3600 + minutes * 60)
    raise InvalidTimestampError("unknown time zone")


def parse_timestamp(text: str) -> int:
    """Epoch seconds of a TIMESTAMP read like Java's lenient ``EEE MMM d HH:mm:ss z yyyy``.

    Unparsable text raises ``InvalidTimestampError`` (the service's ``InvalidParameterException``).
    The error never echoes the text.
    """
    if not isinstance(text, str):
        raise InvalidTypeError("TIMESTAMP", "str", text)
    if len(text) > MAX_TIMESTAMP_LEN:
        raise InvalidTimestampError(f"longer than {MAX_TIMESTAMP_LEN} characters")
    if not text.isascii():
        raise InvalidTimestampError("must be ASCII")
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise InvalidTimestampError("format should be EEE MMM d HH:mm:ss z yyyy in English")
    if match["dow"].lower() not in _DAY_NAMES:
        raise InvalidTimestampError("unknown day of week")
    month = _MONTH_NUMBERS.get(match["mon"].lower())
    if month is None:
        raise InvalidTimestampError("unknown month")
    offset = _zone_offset(match["zone"])
    year = int(match["year"])
    # Lenient like Java: day, hour, minute and second overflow roll into the next unit.
    seconds = (
        (_days_from_civil(year, month, 1) + int(match["day"]) - 1) * 86400
        + int(match["h"]) * 3600
        + int(match["m"]) * 60
        + int(match["s"])
        - offset
    )
    if not _MIN_EPOCH <= seconds <= _MAX_EPOCH:
        raise InvalidTimestampError("outside the years 1970..9999")
    return seconds


def canonical_timestamp(text: str) -> str:
    """format_timestamp(parse_timestamp(text)): the string the claim signature is checked over."""
    return format_timestamp(parse_timestamp(text))

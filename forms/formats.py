"""Our own format checker: date, date-time (a UTC offset is required) and phone."""

from __future__ import annotations

import re
from datetime import date, datetime

from jsonschema import FormatChecker

FORMAT_CHECKER = FormatChecker(formats=())

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})", re.ASCII
)
# Digits with the usual separators, then an optional extension: "0311-8766 5432 转 801".
_PHONE = re.compile(
    r"(\+?[\d\s()（）-]+?)\s*(?:(?:转|分机|ext\.?|x|#)\s*\d{1,6})?", re.ASCII | re.IGNORECASE
)


@FORMAT_CHECKER.checks("date")
def is_date(value: object) -> bool:
    """YYYY-MM-DD, a real calendar day."""
    if not isinstance(value, str):
        return True  # the type keyword reports non-strings
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("date-time")
def is_date_time(value: object) -> bool:
    """RFC 3339 with a "T" and a UTC offset ("Z" or ±HH:MM); seconds may be left out."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None


@FORMAT_CHECKER.checks("phone")
def is_phone(value: object) -> bool:
    """A mainland landline, mobile or service number: 5 to 20 digits, separators allowed."""
    if not isinstance(value, str):
        return True
    match = _PHONE.fullmatch(value.strip())
    if not match:
        return False
    digits = sum(ch.isdigit() for ch in match.group(1))
    return 5 <= digits <= 20

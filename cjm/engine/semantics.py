"""What every engine must compute alike, to the bit, defined once.

Each engine implements these in its own terms (SQL, Spark columns); the contract tests
(tests/test_engine_contract.py) hold each engine to the definitions here.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction

from cjm.engine.rows import OutcomeSums
from cjm.errors import DataError

# The timestamps an event may have: Python (and so every output) knows the years 1 to 9999
# only; a day's margin keeps any time zone inside them.
EARLIEST_EVENT = datetime(1, 1, 2, tzinfo=UTC)
LATEST_EVENT = datetime(9999, 12, 30, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def instant(micros: int | None) -> datetime | None:
    """The UTC datetime of microseconds since 1970."""
    if micros is None:
        return None
    return _EPOCH + timedelta(microseconds=int(micros))


def micros_of(moment: datetime) -> int:
    """Microseconds since 1970 of an aware (or UTC) datetime: instant's inverse."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


# Outcome values that mark success, and those that mark its absence (trimmed, lower case).
TRUTHY = ("true", "1", "yes", "y", "t", "success", "succeeded", "converted", "won",
          "purchased", "1.0")
FALSY = ("false", "0", "no", "n", "f", "failure", "failed", "lost", "churned", "0.0")


def quantile_position(n: int, q: float) -> float:
    """The 0-based position of quantile ``q`` among ``n`` sorted values."""
    return float(n - 1) * q


def quantile_cont(lo: float, hi: float, n: int, q: float) -> float:
    """Quantile ``q`` of ``n`` values from the values at the floor (``lo``) and ceiling
    (``hi``) of its position: ``lo*(1 - d) + hi*d`` rounded once (a fused multiply-add), as
    DuckDB's quantile_cont and median compute it."""
    rn = quantile_position(n, q)
    if math.floor(rn) == math.ceil(rn):
        return float(lo)
    d = rn - math.floor(rn)
    lo, hi = float(lo), float(hi)
    return float(Fraction(lo) * Fraction(1.0 - d) + Fraction(hi * d))


def epoch_seconds(micros: int) -> float:
    """The epoch seconds of an instant given in microseconds: whole milliseconds over 1,000
    plus the rest over 1,000,000, as doubles (DuckDB's epoch())."""
    millis = micros // 1000
    return millis / 1000.0 + (micros - millis * 1000) / 1e6


def pseudonym(value: str | None, key: str) -> str | None:
    """The pseudonym of an id under ``key``: ``p-`` and the first 16 hex digits of
    SHA-256(key, 0x1f, id); empty values stay as they are."""
    if value is None or not value.strip():
        return value
    digest = hashlib.sha256((key + chr(31) + value).encode("utf-8")).hexdigest()
    return "p-" + digest[:16]


def open_from(log_end: float, still_active_seconds: float) -> float:
    """The epoch seconds from which a journey's last event makes it still active ('open'):
    the log's end less the span, subtracted exactly and rounded once."""
    return float(Decimal(repr(float(log_end))) - Decimal(repr(float(still_active_seconds))))


# Costs and numeric outcomes are added as decimals, exactly, so that a sum is the same
# whatever order an engine adds the values in (doubles added in another order differ in
# their last bits). A value is a number written as NUMBER (after trimming; anything else is
# no number: a missing cost, no outcome), rounded half away from zero to DECIMAL_PLACES
# decimal places; a number of DECIMAL_LIMIT or more in size (after rounding) is refused,
# never clipped. Sums of up to 10**12 such values fit the engines' 38-digit decimals.
NUMBER = r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"
DECIMAL_PLACES = 9
DECIMAL_DIGITS = 21  # digits in all: below DECIMAL_LIMIT, with DECIMAL_PLACES places
DECIMAL_LIMIT = 10 ** (DECIMAL_DIGITS - DECIMAL_PLACES)


def is_number(text: str) -> bool:
    """Whether trimmed ``text`` is a number (a cost, a numeric outcome)."""
    return re.fullmatch(NUMBER, text.strip(" ")) is not None


def decimal_value(text: str | None) -> Decimal | None:
    """The decimal that a cost or numeric outcome written as ``text`` counts as (None: no
    number); ValueError for a number too large to add exactly."""
    if text is None or not is_number(text):
        return None
    number = Decimal(text.strip(" "))
    if abs(number) >= DECIMAL_LIMIT:
        raise ValueError(text)
    value = number.quantize(Decimal(1).scaleb(-DECIMAL_PLACES), ROUND_HALF_UP,
                            Context(prec=DECIMAL_DIGITS + 1))
    if abs(value) >= DECIMAL_LIMIT:  # rounded up to the limit
        raise ValueError(text)
    return value


def exact_float(total: Decimal | int | None) -> float:
    """A decimal sum as the nearest double (0 for no values)."""
    return float(Fraction(total or 0))


def exact_mean(total: Decimal | int | None, n: int) -> float:
    """A decimal sum over ``n`` as the nearest double: divided exactly, rounded once."""
    return float(Fraction(total or 0) / n) if n else 0.0


def exact_squares(whole: Decimal | int | None, cross: Decimal | int | None,
                  fraction: Decimal | int | None) -> float:
    """The sum of the squares of values split as ``w + f`` (w the whole part, f the fraction
    in units of 10**-DECIMAL_PLACES), from the sums of w*w, w*f and f*f: exactly, rounded
    once (the engines add parts no wider than 38 digits)."""
    unit = 10 ** DECIMAL_PLACES
    return float(Fraction(whole or 0) + Fraction(cross or 0) * 2 / unit
                 + Fraction(fraction or 0) / (unit * unit))


def exact_outcomes(n: int, total: Decimal | None, whole: Decimal | int | None,
                   cross: Decimal | int | None, fraction: Decimal | int | None) -> OutcomeSums:
    """OutcomeSums of ``n`` journeys from the exact sums of their outcomes and of the parts
    of their squares (see exact_squares)."""
    return OutcomeSums(int(n), exact_float(total), exact_squares(whole, cross, fraction))


def unsummable(role: str, text: str, where: str) -> DataError:
    """The error for a cost or outcome ``text`` (at ``where``) too large to add exactly."""
    return DataError(f"{where}: the {role} {text!r} is too large to add exactly: cjm adds "
                     f"costs and numeric outcomes below {DECIMAL_LIMIT:,} in size, to "
                     f"{DECIMAL_PLACES} decimal places",
                     "Correct the value, or give the column in larger units (thousands).")


def exact_median(low: Decimal | None, high: Decimal | None, n: int) -> float:
    """The median of ``n`` decimal sums from those at the floor (``low``) and ceiling
    (``high``) of its position, each as the nearest double (0 for none)."""
    return quantile_cont(exact_float(low), exact_float(high), n, 0.5) if n else 0.0

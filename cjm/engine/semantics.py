"""What every engine must compute alike, to the bit, defined once.

Each engine implements these in its own terms (SQL, Spark columns); the contract tests
(tests/test_engine_contract.py) hold each engine to the definitions here.
"""

from __future__ import annotations

import hashlib
import math
from decimal import Decimal
from fractions import Fraction

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

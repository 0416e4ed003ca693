"""Moments of truth: the stages and transitions whose presence goes with better or worse
outcomes. Association, not cause: a journey that reaches checkout converts more often
because it got that far, not necessarily because of the checkout.

For a yes/no outcome (converted) each item compares the outcome rate of journeys with it
and without it; for a numeric outcome (an NPS score, the journey's last value) the means.
The difference has a 95% confidence interval (normal approximation: Wald for rates, Welch
for means); items seen in fewer than ``min_count`` journeys, or missed by fewer, are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cjm.engine import FALSY, TRUTHY
from cjm.errors import UsageError
from cjm.eventlog import EventLog
from cjm.readers.base import sql_name, sql_string

Z95 = 1.959963984540054
MIN_COUNT = 20


@dataclass(frozen=True)
class Moment:
    kind: str  # "stage" or "transition"
    name: str
    journeys_with: int
    journeys_without: int
    value_with: float  # outcome rate (0-1) or mean
    value_without: float
    difference: float
    low: float  # 95% confidence interval of the difference
    high: float

    @property
    def clear(self) -> bool:
        """The interval leaves out zero."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Moments:
    outcome_column: str
    kind: str  # "rate" or "mean"
    journeys: int  # with a known outcome
    overall: float
    items: list[Moment]  # the clearest and largest differences first


def _stats(n: int, total: float, squares: float) -> tuple[float, float]:
    mean = total / n
    variance = max(squares / n - mean * mean, 0.0) * n / (n - 1) if n > 1 else 0.0
    return mean, variance


def moments(log: EventLog, *, min_count: int = MIN_COUNT) -> Moments:
    """Moments of truth for the log's outcome column."""
    min_count = max(min_count, log.min_journeys)  # --min-journeys
    if "outcome" not in log.mapping:
        raise UsageError("the log has no outcome column", "Pass --outcome COLUMN.")
    column = log.mapping.column("outcome")
    engine = log.engine("_moments")
    values = engine.outcome_values("outcome", limit=1000)
    engine.prepare(None, None)
    raw = f"lower(trim(CAST({sql_name('outcome')} AS VARCHAR)))"
    if values and all(v in TRUTHY or v in FALSY for v in values):
        kind = "rate"
        truthy = ", ".join(sql_string(t) for t in TRUTHY)
        y_sql = (f"max(CASE WHEN {raw} IN ({truthy}) THEN 1.0 WHEN {raw} IS NULL OR {raw} = '' "
                 "THEN NULL ELSE 0.0 END)")
    elif values and all(_number(v) for v in values):
        kind = "mean"
        y_sql = f"arg_max(try_cast({sql_name('outcome')} AS DOUBLE), ts) FILTER (WHERE " \
                f"try_cast({sql_name('outcome')} AS DOUBLE) IS NOT NULL)"
    else:
        listing = ", ".join(repr(v) for v in values[:8])
        raise UsageError(f"--outcome: column {column!r} is neither yes/no nor numbers "
                         f"(values: {listing})")
    (n, total, squares), rows = engine.outcome_items(y_sql)
    total, squares = float(total or 0), float(squares or 0)
    if not n:
        raise UsageError(f"--outcome: no journey has a value in {column!r}")
    overall = total / n
    items = []
    for item_kind, name, n_with, sum_with, sq_with in rows:
        sum_with, sq_with = float(sum_with), float(sq_with)
        n_without = n - n_with
        if n_with < min_count or n_without < min_count:
            continue
        mean_with, var_with = _stats(n_with, sum_with, sq_with)
        mean_without, var_without = _stats(n_without, total - sum_with, squares - sq_with)
        if kind == "rate":  # Wald: the variance of a share is p(1 - p)
            var_with, var_without = mean_with * (1 - mean_with), mean_without * (1 - mean_without)
        error = math.sqrt(var_with / n_with + var_without / n_without)
        difference = mean_with - mean_without
        items.append(Moment(item_kind, name, n_with, n_without, mean_with, mean_without,
                            difference, difference - Z95 * error, difference + Z95 * error))
    items.sort(key=lambda m: (not m.clear, -abs(m.difference), m.kind, m.name))
    return Moments(column, kind, n, overall, items)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

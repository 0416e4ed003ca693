"""Moments of truth: the stages and transitions whose presence goes with better or worse
outcomes. Association, not cause: a journey that reaches checkout converts more often
because it got that far, not necessarily because of the checkout.

For a yes/no outcome (converted) each item compares the outcome rate of journeys with it
and without it; for a numeric outcome (an NPS score, the journey's last value) the means.
The difference has a 95% confidence interval (normal approximation: Wald for rates, Welch
for means); items seen in fewer than ``min_count`` journeys, or missed by fewer, are left out.
Hundreds of items are tested at once, so chance alone would put one interval in twenty off
zero: an item is *clear* only when its p-value (from the same normal approximation),
adjusted with Holm's method over all the items tested, is below 5%.

``before_goal`` looks only at what journeys do before reaching a goal: each is cut at its
first goal event (that event and all after it left out), so that what follows a purchase
is not taken for a reason to purchase.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cjm.compare import ALPHA, holm
from cjm.engine.protocol import Log
from cjm.engine.semantics import FALSY, TRUTHY, is_number
from cjm.errors import UsageError

Z95 = 1.959963984540054
MIN_COUNT = 20
CORRECTION = "holm"


@dataclass(frozen=True)
class Moment:
    kind: str  # "stage" or "transition"
    name: str
    journeys_with: int
    journeys_without: int
    value_with: float  # outcome rate (0-1) or mean
    value_without: float
    difference: float
    low: float  # 95% confidence interval of the difference, for this item alone
    high: float
    p_value: float  # two-sided, for this item alone
    adjusted_p: float  # Holm-adjusted over every item tested

    @property
    def clear(self) -> bool:
        """The difference holds up among all the items tested (adjusted p below 5%)."""
        return self.adjusted_p < ALPHA


@dataclass(frozen=True)
class Moments:
    outcome_column: str
    kind: str  # "rate" or "mean"
    journeys: int  # with a known outcome
    overall: float
    items: list[Moment]  # the clearest and largest differences first
    goals: tuple[str, ...] = ()  # with before_goal: where each journey was cut
    goals_source: str | None = None  # "flag" or "inferred", with before_goal
    correction: str = CORRECTION  # of the p-values, over the items tested
    alpha: float = ALPHA

    @property
    def before_goal(self) -> bool:
        return bool(self.goals)

    @property
    def tests(self) -> int:
        return len(self.items)


def _stats(n: int, total: float, squares: float) -> tuple[float, float]:
    mean = total / n
    variance = max(squares / n - mean * mean, 0.0) * n / (n - 1) if n > 1 else 0.0
    return mean, variance


def moments(log: Log, *, min_count: int = MIN_COUNT, goals: Sequence[str] = (),
            before_goal: bool = False) -> Moments:
    """Moments of truth for the log's outcome column.

    With ``before_goal``, each journey is cut at its first event at a goal stage: ``goals``,
    or as cjm.discover decides them when none are given (the config's, else inferred).
    """
    min_count = max(min_count, log.min_journeys)  # --min-journeys
    if "outcome" not in log.mapping:
        raise UsageError("the log has no outcome column", "Pass --outcome COLUMN.")
    if goals and not before_goal:
        raise UsageError("--goal goes with --before-goal: the goals are where journeys are cut",
                         "Pass --before-goal too, or leave out --goal.")
    cut = _goals(log, goals) if before_goal else None
    column = log.mapping.column("outcome")
    engine = log.engine("_moments")
    values = engine.outcome_values("outcome", limit=1000)
    engine.prepare(None, None)
    if values and all(v in TRUTHY or v in FALSY for v in values):
        kind = "rate"
    elif values and all(is_number(v) for v in values):
        kind = "mean"
    else:
        listing = ", ".join(repr(v) for v in values[:8])
        raise UsageError(f"--outcome: column {column!r} is neither yes/no nor numbers "
                         f"(values: {listing})")
    overall_sums, rows = engine.outcome_sums(kind, cut.stages if cut else ())
    n, total, squares = overall_sums.journeys, overall_sums.total, overall_sums.squares
    if not n:
        raise UsageError(f"--outcome: no journey has a value in {column!r}")
    overall = total / n
    items = []
    for item in rows:
        item_kind, name = item.kind, item.name
        n_with, sum_with, sq_with = item.sums.journeys, item.sums.total, item.sums.squares
        n_without = n - n_with
        if n_with < min_count or n_without < min_count:
            continue
        mean_with, var_with = _stats(n_with, sum_with, sq_with)
        mean_without, var_without = _stats(n_without, total - sum_with, squares - sq_with)
        if kind == "rate":  # Wald: the variance of a share is p(1 - p)
            var_with, var_without = mean_with * (1 - mean_with), mean_without * (1 - mean_without)
        error = math.sqrt(var_with / n_with + var_without / n_without)
        difference = mean_with - mean_without
        items.append((item_kind, name, n_with, n_without, mean_with, mean_without,
                      difference, difference - Z95 * error, difference + Z95 * error,
                      _p_value(difference, error)))
    adjusted = holm([item[-1] for item in items])
    tested = [Moment(*item, q) for item, q in zip(items, adjusted, strict=True)]
    tested.sort(key=lambda m: (not m.clear, -abs(m.difference), m.kind, m.name))
    return Moments(column, kind, n, overall, tested, cut.stages if cut else (),
                   cut.source if cut else None)


def _p_value(difference: float, error: float) -> float:
    """Two-sided p-value of the difference under the normal approximation."""
    if error == 0:  # every journey of both groups has the same outcome
        return 1.0 if difference == 0 else 0.0
    return math.erfc(abs(difference) / error / math.sqrt(2))


def _goals(log: Log, goals: Sequence[str]):
    """The goal stages to cut journeys at: those given (which must exist), else the config's
    goals, else inferred."""
    from cjm.journeys import GOAL_SHARE, discover

    found = discover(log, goals=goals or None, use_outcome=False, buckets=1).goals
    if not found.stages:
        raise UsageError("--before-goal: no goal stage given, and none found (no stage ends "
                         f"at least {GOAL_SHARE:.0%} of the journeys that reach it)",
                         "Pass --goal STAGE: the stage that counts as success.")
    return found

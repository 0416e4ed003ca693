"""Time to goal: the Kaplan-Meier estimate, its quantiles and the log-rank test.

Pure statistics on weighted observations (a time, whether the goal was reached then or the
journey was censored, and how many journeys share both), so that millions of journeys cost
as much as their distinct times. The figures are those of lifelines (KaplanMeierFitter with
its exponential Greenwood band, qth_survival_time on the estimate and on each side of the
band, multivariate_logrank_test), which the tests check to 1e-9.

- Survival S(t) is the share of journeys that have not reached the goal by t; the share that
  has is 1 - S(t). At each distinct time, S is multiplied by 1 - reached / at risk.
- The 95% band: exp(-exp(log(-log S) ± z·sqrt(V) / log S)), V Greenwood's sum of
  reached / (at risk · (at risk - reached)); 1 where S is 1.
- The time by which a share q of the journeys has reached the goal is the first time where
  S <= 1 - q; its interval is that time on each side of the band. When the curve (or a side
  of the band) never gets there, the time is None: not reached, never guessed.
- The log-rank test compares the reaching of two or more groups over the whole curve:
  observed minus expected reachings under one common curve, chi-square with groups - 1
  degrees of freedom.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Protocol

CONFIDENCE = 0.95
Z = NormalDist().inv_cdf(1 - (1 - CONFIDENCE) / 2)
SHARES = (0.5, 0.9)  # the quantiles reported: median and 90th percentile time to goal
# A pivot this small next to the largest counts as zero when solving the log-rank system:
# as lifelines' pseudo-inverse does, a group no one was at risk in at any reaching adds nothing.
PIVOT_TOLERANCE = 1e-12


class Observed(Protocol):
    """A weighted observation: ``journeys`` journeys that reached the goal at ``seconds`` (or
    were censored then, when ``reached`` is false)."""

    @property
    def seconds(self) -> float: ...
    @property
    def reached(self) -> bool: ...
    @property
    def journeys(self) -> int: ...


@dataclass(frozen=True)
class Step:
    """The curve at one distinct time (and the band around it)."""

    seconds: float
    at_risk: int  # journeys that had neither reached the goal nor been censored before
    reached: int  # journeys that reached the goal at this time
    censored: int  # journeys censored at this time (their end, or the log's)
    survival: float  # share of journeys that have not reached the goal yet
    low: float  # 95% band of survival
    high: float

    @property
    def waiting(self) -> int:
        """Journeys still at risk just after this time."""
        return self.at_risk - self.reached - self.censored

    # The same as shares of the journeys that have reached the goal (1 - survival).
    @property
    def share_reached(self) -> float:
        return 1 - self.survival

    @property
    def share_low(self) -> float:
        return 1 - self.high

    @property
    def share_high(self) -> float:
        return 1 - self.low


@dataclass(frozen=True)
class Quantile:
    """The time by which ``share`` of the journeys reached the goal; None: not reached."""

    share: float
    seconds: float | None
    low: float | None  # 95% interval; high None: the band's upper side never gets there
    high: float | None


@dataclass(frozen=True)
class Curve:
    journeys: int
    reached: int  # journeys that reached the goal
    censored: int  # journeys that did not (yet)
    steps: list[Step]  # at 0 and at each distinct time, in time order
    quantiles: list[Quantile]  # for SHARES, in that order

    def quantile(self, share: float) -> Quantile:
        return next(q for q in self.quantiles if q.share == share)

    def at(self, seconds: float) -> Step | None:
        """The curve as it stands at ``seconds``: its last step at or before then; None past
        its last step, where no journey was followed."""
        if not self.steps or seconds > self.steps[-1].seconds:
            return None
        return [s for s in self.steps if s.seconds <= seconds][-1]


@dataclass(frozen=True)
class LogRank:
    chi_square: float
    df: int
    p_value: float


def _table(observations: Iterable[Observed]) -> list[tuple[float, int, int]]:
    """(time, reached, censored) per distinct time, in time order, with a row at 0."""
    rows: dict[float, list[int]] = {0.0: [0, 0]}
    for o in observations:
        if o.seconds < 0:
            raise ValueError(f"a negative time to goal ({o.seconds}s)")
        row = rows.setdefault(float(o.seconds), [0, 0])
        row[0 if o.reached else 1] += int(o.journeys)
    return [(t, reached, censored) for t, (reached, censored) in sorted(rows.items())]


def kaplan_meier(observations: Iterable[Observed],
                 shares: Sequence[float] = SHARES) -> Curve:
    """The Kaplan-Meier curve of the time to goal, its 95% band and quantiles."""
    table = _table(observations)
    at_risk = sum(r + c for _, r, c in table)
    log_s = greenwood = 0.0
    steps = []
    for t, reached, censored in table:
        if at_risk:
            log_s += math.log(at_risk - reached) - math.log(at_risk) \
                if reached < at_risk else -math.inf
            # The last reaching of all at risk adds nothing, as in lifelines (its term is 1/0).
            if reached < at_risk:
                greenwood += reached / (at_risk * (at_risk - reached))
        survival = math.exp(log_s)
        steps.append(Step(t, at_risk, reached, censored, survival, *_band(log_s, greenwood)))
        at_risk -= reached + censored
    reached = sum(s.reached for s in steps)
    return Curve(steps[0].at_risk, reached, steps[0].at_risk - reached, steps,
                 [_quantile(steps, q) for q in shares])


def _band(log_s: float, greenwood: float) -> tuple[float, float]:
    """The exponential Greenwood (log-log) 95% band around S = exp(log_s)."""
    if log_s == 0:
        return 1.0, 1.0
    if log_s == -math.inf:
        return 0.0, 0.0
    spread = Z * math.sqrt(greenwood) / log_s
    return (math.exp(-math.exp(math.log(-log_s) - spread)),
            math.exp(-math.exp(math.log(-log_s) + spread)))


def _first_at_or_below(steps: list[Step], survival: list[float], level: float) -> float | None:
    return next((s.seconds for s, v in zip(steps, survival, strict=True) if v <= level), None)


def _quantile(steps: list[Step], share: float) -> Quantile:
    level = 1 - share
    return Quantile(share, _first_at_or_below(steps, [s.survival for s in steps], level),
                    _first_at_or_below(steps, [s.low for s in steps], level),
                    _first_at_or_below(steps, [s.high for s in steps], level))


def logrank(groups: Sequence[Iterable[Observed]]) -> LogRank:
    """The log-rank test that two or more groups reach the goal along one curve."""
    tables = [dict((t, (r, c)) for t, r, c in _table(g)) for g in groups]
    if len(tables) < 2:
        raise ValueError("the log-rank test needs two groups or more")
    k = len(tables)
    at_risk = [sum(r + c for r, c in table.values()) for table in tables]
    observed_minus_expected = [0.0] * k
    variance = [[0.0] * k for _ in range(k)]
    for t in sorted(set().union(*tables)):
        rows = [table.get(t, (0, 0)) for table in tables]
        total = sum(at_risk)
        reached = sum(r for r, _ in rows)
        if reached:
            # Hypergeometric variance of the reachings among the groups at risk.
            spread = (total - reached) / (total - 1) if total > 1 else 1.0
            factor = spread * reached / total ** 2
            for i in range(k):
                observed_minus_expected[i] += rows[i][0] - at_risk[i] * reached / total
                for j in range(k):
                    share = at_risk[i] * (total if i == j else 0) - at_risk[i] * at_risk[j]
                    variance[i][j] += factor * share
        for i, (r, c) in enumerate(rows):
            at_risk[i] -= r + c
    # Any k - 1 groups carry the whole test (the differences sum to zero).
    chi_square = _quadratic_form([row[:-1] for row in variance[:-1]],
                                 observed_minus_expected[:-1])
    return LogRank(chi_square, k - 1, chi2_survival(chi_square, k - 1))


def _quadratic_form(matrix: list[list[float]], vector: list[float]) -> float:
    """z' V⁺ z for z in the range of the symmetric matrix V: z · x for any solution of
    V x = z, found by Gauss-Jordan elimination that leaves out zero pivots."""
    n = len(vector)
    rows = [[*matrix[i], vector[i]] for i in range(n)]
    scale = max((abs(v) for row in matrix for v in row), default=0.0)
    solution = [0.0] * n
    used: list[tuple[int, int]] = []  # (row, column) of each pivot
    free = list(range(n))
    for column in range(n):
        pivot = max((i for i in free), key=lambda i: abs(rows[i][column]), default=None)
        if pivot is None or abs(rows[pivot][column]) <= PIVOT_TOLERANCE * scale:
            continue
        free.remove(pivot)
        used.append((pivot, column))
        for i in range(n):
            if i != pivot and rows[i][column]:
                ratio = rows[i][column] / rows[pivot][column]
                rows[i] = [a - ratio * b for a, b in zip(rows[i], rows[pivot], strict=True)]
    for row, column in used:
        solution[column] = rows[row][n] / rows[row][column]
    return max(sum(z * x for z, x in zip(vector, solution, strict=True)), 0.0)


def chi2_survival(x: float, df: int) -> float:
    """P(X >= x) for X chi-square with ``df`` (a whole number) degrees of freedom: the upper
    regularised gamma Q(df/2, x/2), in closed form for whole and half-whole shapes."""
    if df < 1:
        raise ValueError("degrees of freedom must be 1 or more")
    if x <= 0:
        return 1.0
    y = x / 2
    if df % 2 == 0:  # Q(m, y) = e^-y · sum of y^i / i! for i < m
        term = total = math.exp(-y)
        for i in range(1, df // 2):
            term *= y / i
            total += term
        return min(total, 1.0)
    # Q(m + 1/2, y) = erfc(sqrt y) + e^-y · sum of y^(i + 1/2) / Γ(i + 3/2) for i < m
    total = math.erfc(math.sqrt(y))
    term = math.exp(-y) * math.sqrt(y) / math.gamma(1.5)
    for i in range(df // 2):
        total += term
        term *= y / (i + 1.5)
    return min(total, 1.0)

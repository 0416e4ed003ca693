"""Time to goal statistics (cjm.survival) checked against lifelines to 1e-9."""

from __future__ import annotations

import math
import random
import warnings
from dataclasses import dataclass

import pytest

from cjm.survival import chi2_survival, kaplan_meier, logrank

TOLERANCE = 1e-9


@dataclass(frozen=True)
class Obs:
    seconds: float
    reached: bool
    journeys: int = 1


def _lifelines():
    return pytest.importorskip(
        "lifelines", reason="lifelines (the dev extra) is the reference these tests compare to")


def _arrays(observations):
    return ([o.seconds for o in observations], [o.reached for o in observations],
            [o.journeys for o in observations])


def _fit(observations):
    lifelines = _lifelines()
    durations, events, weights = _arrays(observations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifelines.KaplanMeierFitter().fit(durations, events, weights=weights)


def _time(value: float) -> float | None:
    return None if math.isinf(value) else float(value)


def _check_curve(observations):
    """Every step, the band and both quantiles with their intervals, as lifelines has them."""
    _lifelines()
    from lifelines.utils import qth_survival_time

    curve = kaplan_meier(observations)
    fitted = _fit(observations)
    sf = fitted.survival_function_.iloc[:, 0]
    band = fitted.confidence_interval_survival_function_
    table = fitted.event_table
    assert [s.seconds for s in curve.steps] == pytest.approx(list(sf.index), abs=0)
    for step, survival, low, high, at_risk, observed, censored in zip(
            curve.steps, sf, band.iloc[:, 0], band.iloc[:, 1], table["at_risk"],
            table["observed"], table["censored"], strict=True):
        assert (step.at_risk, step.reached, step.censored) == (at_risk, observed, censored)
        assert step.survival == pytest.approx(survival, abs=TOLERANCE)
        assert step.low == pytest.approx(low, abs=TOLERANCE)
        assert step.high == pytest.approx(high, abs=TOLERANCE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for share in (0.5, 0.9):
            q = curve.quantile(share)
            expected = [_time(qth_survival_time(1 - share, column))
                        for column in (sf, band.iloc[:, 0], band.iloc[:, 1])]
            assert [q.seconds, q.low, q.high] == expected
    assert curve.quantile(0.5).seconds == _time(fitted.median_survival_time_)
    return curve


def _check_logrank(groups):
    _lifelines()
    import numpy as np
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    durations, events, weights, labels = [], [], [], []
    for index, group in enumerate(groups):
        d, e, w = _arrays(group)
        durations += d
        events += e
        weights += w
        labels += [index] * len(group)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = multivariate_logrank_test(np.array(durations), np.array(labels),
                                             np.array(events), weights=np.array(weights))
        if len(groups) == 2:
            (d_a, e_a, w_a), (d_b, e_b, w_b) = (map(np.array, _arrays(g)) for g in groups)
            pair = logrank_test(d_a, d_b, e_a, e_b, weights_A=w_a, weights_B=w_b)
            assert pair.test_statistic == pytest.approx(expected.test_statistic, abs=1e-12)
    result = logrank(groups)
    assert result.df == expected.degrees_of_freedom == len(groups) - 1
    assert result.chi_square == pytest.approx(expected.test_statistic, abs=TOLERANCE)
    assert result.p_value == pytest.approx(expected.p_value, abs=TOLERANCE)
    return result


def _synthetic(seed: int, n: int, scale: float, censor_share: float, whole: bool = True):
    rng = random.Random(seed)
    observations = []
    for _ in range(n):
        seconds = rng.expovariate(1 / scale)
        # Whole minutes make many ties, between reachings and censorings alike.
        seconds = float(round(seconds / 60) * 60) if whole else seconds
        observations.append(Obs(seconds, rng.random() >= censor_share))
    return observations


def test_ties_and_censoring_match_lifelines():
    curve = _check_curve(_synthetic(1, 400, 3600, 0.3))
    assert curve.journeys == 400
    assert curve.reached + curve.censored == 400
    _check_curve(_synthetic(2, 50, 600, 0.6, whole=False))


def test_weights_match_lifelines_and_the_unweighted_fit():
    weighted = [Obs(60.0, True, 3), Obs(60.0, False, 2), Obs(120.0, True, 5),
                Obs(300.0, False, 4), Obs(300.0, True, 1), Obs(900.0, True, 7),
                Obs(0.0, True, 2), Obs(1800.0, False, 6)]
    curve = _check_curve(weighted)
    unrolled = [Obs(o.seconds, o.reached) for o in weighted for _ in range(o.journeys)]
    assert kaplan_meier(unrolled) == curve
    assert curve.steps[0].seconds == 0 and curve.steps[0].reached == 2


def test_a_curve_that_never_gets_there_says_not_reached():
    # A third reach the goal, the rest are censored after them: the median is not reached.
    observations = [Obs(float(60 * i), True) for i in range(1, 11)] + [Obs(3600.0, False, 20)]
    curve = _check_curve(observations)
    assert curve.quantile(0.5).seconds is None
    assert curve.quantile(0.9).seconds is None
    # Everybody reaches the goal: survival goes to 0 and its band with it.
    everyone = _check_curve([Obs(10.0, True), Obs(20.0, True, 2), Obs(30.0, True)])
    assert everyone.steps[-1].survival == 0 == everyone.steps[-1].high
    assert everyone.quantile(0.5).seconds == 20.0


def test_logrank_matches_lifelines_for_two_and_more_groups():
    a = _synthetic(3, 200, 3600, 0.3)
    b = _synthetic(4, 150, 7200, 0.2)
    c = _synthetic(5, 100, 1800, 0.5)
    two = _check_logrank([a, b])
    assert two.p_value < 0.05  # twice as slow: the test sees it
    _check_logrank([a, b, c])
    same = _check_logrank([a, _synthetic(6, 200, 3600, 0.3)])
    assert same.p_value > 0.05


def test_logrank_with_a_group_that_never_reaches_the_goal():
    a = _synthetic(7, 120, 3600, 0.3)
    never = [Obs(o.seconds, False, o.journeys) for o in _synthetic(8, 80, 3600, 0)]
    _check_logrank([a, never])
    _check_logrank([never, a, _synthetic(9, 60, 900, 0.1)])
    # A group censored before anyone reaches the goal adds nothing, as lifelines has it.
    early = [Obs(0.0, False, 5)]
    _check_logrank([a, _synthetic(10, 90, 3600, 0.3), early])
    _check_logrank([early, a, _synthetic(10, 90, 3600, 0.3)])


def test_weighted_logrank_matches_lifelines():
    a = [Obs(60.0, True, 3), Obs(60.0, False, 2), Obs(300.0, True, 5), Obs(900.0, False, 4)]
    b = [Obs(60.0, True, 1), Obs(120.0, True, 6), Obs(300.0, False, 2), Obs(600.0, True, 3)]
    _check_logrank([a, b])


def test_no_reaching_at_all_gives_no_difference():
    result = logrank([[Obs(10.0, False)], [Obs(20.0, False, 3)]])
    assert (result.chi_square, result.df, result.p_value) == (0.0, 1, 1.0)


def test_chi_square_tail_matches_scipy():
    from scipy.stats import chi2

    for df in range(1, 9):
        for x in (0.01, 0.5, 1.0, 3.84, 12.0, 60.0, 300.0):
            assert chi2_survival(x, df) == pytest.approx(chi2.sf(x, df), rel=1e-12, abs=1e-300)


def test_bad_input():
    with pytest.raises(ValueError, match="negative"):
        kaplan_meier([Obs(-1.0, True)])
    with pytest.raises(ValueError, match="two groups"):
        logrank([[Obs(1.0, True)]])

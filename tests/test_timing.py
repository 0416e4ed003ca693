"""Time to goal on real DuckDB: the engine's goal times, cjm.timing and `cjm timing`."""

from __future__ import annotations

from datetime import timedelta

import pytest

import cjm
from cjm.engine.rows import GoalTime
from cjm.errors import DataError, UsageError
from cjm.segments import by_segment
from cjm.timing import timing
from tests.conftest import SHARED_DATA
from tests.journey_logs import write_journeys
from tests.test_survival import _check_curve, _check_logrank

STEP = timedelta(minutes=10)


def _goal_times(log, goals=("Buy",), still_active=None, outcome=None):
    engine = log.engine("_t")
    engine.prepare(None, outcome)
    return engine.goal_times(goals, still_active, use_outcome=outcome is not None)


def test_goal_times_reached_censored_and_open(tmp_path):
    # Journeys start a day apart; events every 10 minutes.
    journeys = {
        "a": ["Visit", "Cart", "Buy", "Visit"],  # reaches Buy at 20m (first time only)
        "b": ["Visit", "Buy", "Buy"],  # 10m
        "c": ["Buy"],  # at its first event: 0s
        "d": ["Visit", "Cart", "Cart"],  # never: censored at its last event, 20m
        "e": ["Visit", "Cart", "Cart", "Cart"],  # never: censored at 30m
        "f": ["Visit", "Visit"],  # never: censored at 10m; the log's last journey
    }
    with cjm.read_log(write_journeys(tmp_path / "t.csv", journeys)) as log:
        rows = _goal_times(log)
        assert rows == [GoalTime(0.0, True, 1), GoalTime(600.0, False, 1),
                        GoalTime(600.0, True, 1), GoalTime(1200.0, False, 1),
                        GoalTime(1200.0, True, 1), GoalTime(1800.0, False, 1)]
        # The log ends with f's last event (day 5, 9:10); d and e end within two days of it:
        # still active, so censored at the log's end (not at their last event).
        rows = _goal_times(log, still_active=2 * 86400.0)
        day = 86400.0
        assert rows == [GoalTime(0.0, True, 1), GoalTime(600.0, False, 1),
                        GoalTime(600.0, True, 1), GoalTime(1200.0, True, 1),
                        GoalTime(day + 600, False, 1), GoalTime(2 * day + 600, False, 1)]
        assert sum(r.journeys for r in rows) == 6


def test_goal_times_from_the_outcome_column(tmp_path):
    journeys = {"a": ["Visit", "Cart", "Pay"], "b": ["Visit", "Cart"]}
    extra = {"a": {"converted": "yes"}, "b": {"converted": "no"}}
    with cjm.read_log(write_journeys(tmp_path / "o.csv", journeys, extra),
                      columns={"outcome": "converted"}) as log:
        rows = _goal_times(log, goals=(), outcome="outcome")
        # The outcome is on every event of a: reached at its first.
        assert rows == [GoalTime(0.0, True, 1), GoalTime(600.0, False, 1)]


def test_goal_times_with_a_goal_missing_from_the_log(tmp_path):
    with cjm.read_log(write_journeys(tmp_path / "m.csv", {"a": ["Visit", "Cart"]})) as log:
        assert _goal_times(log, goals=("Nowhere",)) == [GoalTime(600.0, False, 1)]


def test_goal_time_rows_are_typed():
    row = GoalTime(1.5, True, 3)
    assert (row.seconds, row.reached, row.journeys) == (1.5, True, 3)
    with pytest.raises(AttributeError):
        row.seconds = 2.0  # type: ignore[misc]


# --- cjm.timing on logs ---------------------------------------------------------------------

RECEIPT = SHARED_DATA / "receipt.csv"
RECEIPT_GOAL = "T10 Determine necessity to stop indication"

def _receipt():
    if not RECEIPT.exists():
        pytest.skip(f"the shared real logs are not here ({SHARED_DATA}; see data/README.md)")
    return cjm.read_log(RECEIPT)


def test_real_log_curve_and_logrank_match_lifelines():
    """Durations from a real log (receipt.csv, its journeys timed to T10 by the engine)."""
    with _receipt() as log:
        rows = _goal_times(log, goals=(RECEIPT_GOAL,))
        assert sum(r.journeys for r in rows) == 1434
        curve = _check_curve(rows)
        result = timing(log, goals=[RECEIPT_GOAL])
        assert result.curve == curve
        parts = by_segment(log, "channel")
        groups = [_goal_times(part, goals=(RECEIPT_GOAL,)) for part in parts]
        by_channel = timing(log, goals=[RECEIPT_GOAL], by="channel")
        assert by_channel.logrank == _check_logrank(groups)
        assert [g.curve.journeys for g in by_channel.groups] == [p.journeys for p in parts]


def test_timing_reads_the_curve_at_checkpoints(tmp_path):
    journeys = {f"r{i}": ["Visit"] * (i % 5 + 1) + ["Buy"] for i in range(40)}
    journeys |= {f"n{i}": ["Visit", "Cart"] for i in range(10)}
    with cjm.read_log(write_journeys(tmp_path / "c.csv", journeys)) as log:
        result = timing(log, goals=["Buy"])
        assert (result.curve.journeys, result.curve.reached) == (50, 40)
        # Buy comes 10 to 50 minutes in: read at 5m (none yet), 15m, 30m.
        assert [p.seconds for p in result.checkpoints] == [300.0, 900.0, 1800.0]
        assert [p.steps[0].share_reached for p in result.checkpoints] == \
            [0.0, pytest.approx(8 / 50), pytest.approx(1 - (1 - 8 / 50) * (1 - 8 / 32) *
                                                       (1 - 8 / 24))]
        median = result.curve.quantile(0.5)
        assert median.seconds == 1800.0
        assert result.groups == [] and result.logrank is None


def test_timing_without_goals_says_which_stages_come_near(tmp_path):
    # Visit and Cart each end half the journeys that reach them: neither is a goal.
    journeys = {f"j{i}": ["Visit", "Cart"] if i % 2 else ["Cart", "Visit"] for i in range(10)}
    with cjm.read_log(write_journeys(tmp_path / "n.csv", journeys)) as log:
        with pytest.raises(UsageError, match="no goal stage") as caught:
            timing(log)
        assert "--goal STAGE" in caught.value.hint
        with pytest.raises(UsageError, match="--by or --period"):
            timing(log, goals=["Cart"], by="channel", period="month")


def test_min_journeys_applies_to_every_group_and_cuts_the_tail(tmp_path):
    journeys = {f"a{i}": ["Visit"] * (i + 1) + ["Buy"] for i in range(12)}
    journeys |= {f"b{i}": ["Visit", "Buy"] for i in range(3)}
    extra = {j: {"segment": j[0]} for j in journeys}
    path = write_journeys(tmp_path / "k.csv", journeys, extra)
    with cjm.read_log(path, min_journeys=5) as log:
        result = timing(log, goals=["Buy"], by="segment")
        assert [g.label for g in result.groups] == ["segment = a"]  # b: 3 journeys
        assert result.logrank is None and "no log-rank test" in result.notes[0]
        shown = result.groups[0].curve
        assert shown.journeys == 12 and min(s.at_risk for s in shown.steps) >= 5
        # The figures stay those of every journey: half of them reach Buy within an hour.
        assert shown.quantile(0.5).seconds == 6 * 600.0
        assert shown.quantile(0.9).seconds == 11 * 600.0  # past the cut, at 80m
    with cjm.read_log(path, min_journeys=100) as log, pytest.raises(DataError, match="fewer"):
        timing(log, goals=["Buy"])


def test_an_outcome_on_every_event_gives_a_note(tmp_path):
    journeys = {f"j{i}": ["Visit", "Cart"] if i % 3 else ["Cart", "Visit"] for i in range(6)}
    extra = {j: {"converted": "yes" if i % 2 else "no"} for i, j in enumerate(journeys)}
    path = write_journeys(tmp_path / "o.csv", journeys, extra)
    with cjm.read_log(path) as log, pytest.raises(UsageError, match="no goal stage"):
        timing(log)  # an outcome column found, not named: goal stages only
    with cjm.read_log(path, columns={"outcome": "converted"}) as log:
        result = timing(log)
        assert result.goals.source == "outcome" and result.curve.reached == 3
        assert "--goal STAGE" in result.notes[0]

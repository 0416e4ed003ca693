"""Moments of truth on hand-made logs; the interval's error checked against scipy."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

import cjm
from cjm.cli import app
from cjm.errors import DataError, UsageError
from cjm.moments import Z95, moments
from tests.journey_logs import write_journeys


def _log(tmp_path, outcome: dict[str, str], journeys: dict[str, list[str]]):
    extra = {j: {"outcome": v} for j, v in outcome.items()}
    return cjm.read_log(write_journeys(tmp_path / "m.csv", journeys, extra))


def test_rate_with_and_without_a_stage(tmp_path):
    # 30 journeys with Chat (10 convert), 30 without (24 convert).
    journeys = {f"c{i}": ["Visit", "Chat"] for i in range(30)}
    journeys |= {f"n{i}": ["Visit", "Buy"] for i in range(30)}
    outcome = {f"c{i}": "yes" if i < 10 else "no" for i in range(30)}
    outcome |= {f"n{i}": "yes" if i < 24 else "no" for i in range(30)}
    with _log(tmp_path, outcome, journeys) as log:
        result = moments(log, min_count=10)
        assert (result.kind, result.journeys) == ("rate", 60)
        assert result.overall == pytest.approx(34 / 60)
        chat = next(m for m in result.items if m.name == "Chat")
        assert (chat.journeys_with, chat.journeys_without) == (30, 30)
        assert (chat.value_with, chat.value_without) == pytest.approx((1 / 3, 0.8))
        error = math.sqrt((1 / 3) * (2 / 3) / 30 + 0.8 * 0.2 / 30)
        assert chat.low == pytest.approx(1 / 3 - 0.8 - Z95 * error)
        assert chat.clear
        assert all(m.name != "Visit" for m in result.items)  # every journey has it


def test_numeric_outcome_uses_the_last_value_and_welch(tmp_path):
    from scipy.stats import ttest_ind

    scores_with = [9, 8, 10, 7, 9, 6, 10, 8, 9, 9, 8, 7]
    scores_without = [3, 5, 6, 4, 7, 2, 5, 6, 4, 3, 5, 6]
    journeys = {f"w{i}": ["Visit", "Help"] for i in range(12)}
    journeys |= {f"o{i}": ["Visit", "Leave"] for i in range(12)}
    outcome = {f"w{i}": str(s) for i, s in enumerate(scores_with)}
    outcome |= {f"o{i}": str(s) for i, s in enumerate(scores_without)}
    with _log(tmp_path, outcome, journeys) as log:
        result = moments(log, min_count=5)
        help_ = next(m for m in result.items if m.name == "Help")
        assert result.kind == "mean"
        t = ttest_ind(scores_with, scores_without, equal_var=False).statistic
        error = (help_.high - help_.low) / (2 * Z95)
        assert help_.difference / error == pytest.approx(t)


def test_numeric_outcomes_are_exact_decimals(tmp_path):
    """A journey's outcome is its last number in journey order (at one timestamp, the later
    line's); the mean is the exact decimal one; 'nan' is no number; a value too large to add
    exactly is refused with its line."""
    head = "journey_id,stage,timestamp,outcome\n"
    rows = "".join(f"j{i},visit,2024-01-01T10:00:00Z,{v}\nj{i},buy,2024-01-01T10:00:00Z,0.1\n"
                   for i, v in enumerate(["9", "0.7", "0.2"] * 10))
    (tmp_path / "m.csv").write_text(head + rows, encoding="utf-8")
    with cjm.read_log(tmp_path / "m.csv") as log:
        result = moments(log)
    assert (result.kind, result.journeys, result.overall) == ("mean", 30, 0.1)
    (tmp_path / "m.csv").write_text(head + rows.replace(",0.2", ",nan"), encoding="utf-8")
    with cjm.read_log(tmp_path / "m.csv") as log, \
            pytest.raises(UsageError, match="neither yes/no nor numbers"):
        moments(log)
    (tmp_path / "m.csv").write_text(head + rows.replace(",0.2", ",-1e15"), encoding="utf-8")
    with cjm.read_log(tmp_path / "m.csv") as log, \
            pytest.raises(DataError, match=r"m.csv:6: the outcome '-1e15' is too large"):
        moments(log)


def test_outcome_errors(tmp_path):
    with _log(tmp_path, {"a": "maybe", "b": "perhaps"}, {"a": ["V"], "b": ["V"]}) as log, \
            pytest.raises(UsageError, match="neither yes/no nor numbers"):
        moments(log)


def test_moments_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    journeys = {f"j{i}": ["Visit", "Buy" if i % 2 else "Leave"] for i in range(50)}
    write_journeys(tmp_path / "m.csv", journeys,
                   {f"j{i}": {"converted": "true" if i % 2 else "false"} for i in range(50)})
    result = CliRunner().invoke(app, ["moments", "m.csv", "--json", "-"],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "cjm.moments/1"
    assert data["items"][0]["difference"] == 1.0
    missing = CliRunner().invoke(app, ["moments", "m.csv", "--outcome", "nope"],
                                 env={"NO_COLOR": "1"})
    assert missing.exit_code == 2


def _noise(seed: int) -> tuple[dict[str, list[str]], dict[str, str]]:
    """300 journeys through random stages, converting at random: every difference is chance."""
    import random

    rng = random.Random(seed)
    stages = [f"S{i:02}" for i in range(24)]
    journeys = {f"j{i:03}": ["Visit", *rng.sample(stages, rng.randint(1, 6))] for i in range(300)}
    outcome = {j: "yes" if rng.random() < 0.4 else "no" for j in journeys}
    return journeys, outcome


def _check_p_values(items) -> None:
    """Independently: each p-value from the interval's own z (scipy's normal), then Holm's
    step-down written as its definition: max over the smaller p-values of (m - rank) * p."""
    from scipy.stats import norm

    raw = []
    for m in items:
        error = (m.high - m.low) / (2 * Z95)
        raw.append(2 * norm.sf(abs(m.difference) / error) if error else float(not m.difference))
    assert [m.p_value for m in items] == pytest.approx(raw, rel=1e-9, abs=1e-300)
    ranked = sorted(raw)
    expected = [min(1.0, max((len(raw) - r) * ranked[r] for r in range(len(raw))
                             if ranked[r] <= p)) for p in raw]
    assert [m.adjusted_p for m in items] == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_many_tests_are_holm_adjusted_so_chance_is_not_clear(tmp_path):
    journeys, outcome = _noise(3)
    with _log(tmp_path, outcome, journeys) as log:
        result = moments(log, min_count=10)
    items = result.items
    assert (result.correction, result.tests, result.alpha) == ("holm", len(items), 0.05)
    _check_p_values(items)
    # Chance alone puts some 95% intervals off zero; none survives the correction.
    assert sum(m.low > 0 or m.high < 0 for m in items) >= 2
    assert not [m for m in items if m.clear]


def test_a_real_difference_stays_clear_after_the_correction(tmp_path):
    journeys, outcome = _noise(3)
    journeys |= {f"h{i}": ["Visit", "Help"] for i in range(60)}
    outcome |= {f"h{i}": "yes" if i < 55 else "no" for i in range(60)}
    with _log(tmp_path, outcome, journeys) as log:
        result = moments(log, min_count=10)
    clear = [m.name for m in result.items if m.clear]
    assert clear[:2] == ["Help", "Visit → Help"]
    help_ = result.items[0]
    assert help_.p_value < help_.adjusted_p < 0.05


def _shop() -> tuple[dict[str, list[str]], dict[str, str]]:
    # Buyers give payment details after purchasing; half of them chatted, before or after.
    journeys = {f"b{i}": ["Visit", "Cart", *(["Chat"] if i % 4 == 0 else []), "Purchase",
                          "Payment Details", *(["Chat"] if i % 4 == 1 else [])]
                for i in range(40)}
    journeys |= {f"n{i}": ["Visit", "Cart" if i % 2 else "Browse", *(["Chat"] if i % 5 == 0
                                                                      else [])]
                 for i in range(60)}
    outcome = {j: "yes" if j.startswith("b") else "no" for j in journeys}
    return journeys, outcome


def test_before_goal_cuts_each_journey_at_its_first_goal(tmp_path):
    journeys, outcome = _shop()
    with _log(tmp_path, outcome, journeys) as log:
        whole = moments(log, min_count=5)
        cut = moments(log, min_count=5, goals=["Purchase"], before_goal=True)
    assert "Purchase → Payment Details" in {m.name for m in whole.items}
    assert (whole.goals, whole.before_goal) == ((), False)
    assert (cut.goals, cut.goals_source, cut.before_goal) == (("Purchase",), "flag", True)
    names = {m.name for m in cut.items}
    assert not {n for n in names if "Purchase" in n or "Payment" in n}
    chat = next(m for m in cut.items if m.name == "Chat")
    # Chat before the purchase: 10 buyers (i % 4 == 0) and 12 non-buyers; after it: not counted.
    assert (chat.journeys_with, chat.value_with) == (22, pytest.approx(10 / 22))
    assert cut.journeys == whole.journeys == 100  # outcomes still read from whole journeys


def test_before_goal_infers_the_goals_or_says_what_to_pass(tmp_path):
    journeys, outcome = _shop()
    with _log(tmp_path, outcome, journeys) as log:
        with pytest.raises(UsageError, match="Did you mean 'Purchase'"):
            moments(log, goals=["Purchse"], before_goal=True)
        with pytest.raises(UsageError, match="--goal goes with --before-goal"):
            moments(log, goals=["Purchase"])
    # Half end at A, half at B, and each reaches both: nothing is inferred as a goal.
    spread = {f"j{i}": ["Visit", *(["A", "B"] if i % 2 else ["B", "A"])] for i in range(100)}
    with _log(tmp_path, {j: "yes" if int(j[1:]) % 2 else "no" for j in spread}, spread) as log, \
            pytest.raises(UsageError, match="--before-goal: no goal stage") as caught:
        moments(log, before_goal=True)
    assert "--goal STAGE" in (caught.value.hint or "")


def test_moments_cli_states_the_correction_and_the_cut(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    journeys, outcome = _shop()
    write_journeys(tmp_path / "s.csv", journeys, {j: {"converted": v == "yes"}
                                                 for j, v in outcome.items()})
    env = {"NO_COLOR": "1", "COLUMNS": "120"}
    shown = CliRunner().invoke(app, ["moments", "s.csv", "--min-count", "5", "--before-goal",
                                     "--goal", "Purchase"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "Holm" in shown.stdout
    assert "before the first goal (Purchase)" in shown.stdout
    result = CliRunner().invoke(app, ["moments", "s.csv", "--min-count", "5", "--before-goal",
                                      "--goal", "Purchase", "--json", "-"], env=env)
    data = json.loads(result.stdout)
    assert (data["correction"], data["alpha"], data["tests"]) == ("holm", 0.05, len(data["items"]))
    assert data["before_goal"] == {"goals": ["Purchase"], "source": "flag"}
    first = data["items"][0]
    assert first["p_value"] <= first["adjusted_p"]
    assert first["clear"] == (first["adjusted_p"] < 0.05)
    alone = CliRunner().invoke(app, ["moments", "s.csv", "--goal", "Purchase"], env=env)
    assert alone.exit_code == 2
    assert "--before-goal" in alone.output


def test_holm_on_a_real_log(shared_data):
    # Sepsis: low blood pressure (Hypotensie) against each stage and transition.
    with cjm.read_log(shared_data / "sepsis.csv", columns={"outcome": "Hypotensie"}) as log:
        result = moments(log)
    _check_p_values(result.items)
    apart = [m for m in result.items if m.low > 0 or m.high < 0]
    clear = [m for m in result.items if m.clear]
    assert (result.tests, len(apart), len(clear)) == (70, 28, 20)
    assert set(clear) <= set(apart)
